// Package report renders the results of fenchel's experiments: multi-panel
// figures (PNG and SVG through gonum/plot) and a report (report.md,
// report.html, document.json) whose claims table says which of the claims of
// THEORY §4 (P1–P6) and the protocol of THEORY §5 were met.
//
// The package knows nothing about training. A caller describes what to draw
// with plain values — a Document holds Claims, Figures and Tables; a Figure
// holds Panels; a Panel holds Series of (x, y) points — and Write draws it:
//
//	doc := report.Document{Title: "fenchel reproduction", Claims: claims, Figures: figs}
//	if err := report.Write("results", doc); err != nil { ... }
//
// Write stores the Document itself as document.json, so Read followed by Write
// rebuilds every figure and page without recomputing anything (this is what
// `fenchel report DIR` does).
//
// Colours identify models across the whole report: every Series with the same
// Group (or, without a Group, the same Label) gets the same colour of a fixed
// palette in every figure written by one call of Write, assigned in order of
// first appearance. Series of one Group inside one panel are told apart by
// dash pattern and glyph shape. Log axes skip non-positive values; NaN and ±Inf
// values are skipped everywhere and break a line into separate pieces.
package report
