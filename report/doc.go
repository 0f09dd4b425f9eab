// Package report renders the results of fenchel's experiments: multi-panel
// figures (PNG and SVG through gonum/plot) and a report (report.md,
// report.html, document.json) that gives each claim of THEORY §4 (P1–P6) and
// the protocol of THEORY §5 a section of its own.
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
// `fenchel report DIR` does). RunDocument builds the page of one training run
// from its probes (RunTrace): E_f between its bounds, ‖∇R‖, the spectrum, the
// per-image indicator and the diagnosis along training.
//
// # The page
//
// An index of the claims comes first, then one section per claim: its
// statement, verdict, Measured and Threshold, its Quantities (named numbers
// with units, thresholds and whether each is met) and, beside them, the figure
// it names (a figure shared by claims is drawn once). Tables, the figures no
// claim names and notes follow; the raw Numbers of every claim, the
// environment and the timings sit in a folded appendix.
//
// # Figures
//
// A figure fits a screen: at most maxFigureWidth (1800 px at the PNG's 144
// dpi). Panels fill a grid of Figure.Columns columns (2 by default), fewer when
// wider would not fit, and are lettered (a), (b), … when there are several.
// One legend serves the whole figure: in an empty cell of the grid when there
// is one, else beside the grid, else below it. Linear axes are labelled as
// plain numbers ("2000", not "2e+03"); a linear y axis whose positive values
// span more than three decades is drawn logarithmic. Characters the figure
// font lacks are replaced (‖∇R‖ is written ‖grad R‖).
//
// Colours identify models across the whole report: a Group (or, without a
// Group, a Label) drawn in several figures keeps one colour of a fixed
// palette in all of them; the groups of a single figure take the first
// colours those leave free. Series of one Group inside one panel are told
// apart by dash pattern and glyph shape.
//
// Log axes skip non-positive values and NaN values are gaps that break a line;
// the legend says how many values a log axis could not draw. A +∞ (−∞) value,
// such as a bound that does not hold a finite value at some probe (THEORY §3),
// is drawn as a ▲ on the top (▼ on the bottom) edge of the panel at its x, and
// the legend counts them: an infinite bound never vanishes silently.
//
// Golden images in testdata/ keep the figures from regressing:
// `go test ./report -update` rewrites them (look at them before committing).
package report
