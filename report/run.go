package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Probe is one n-sample probe of a training run (THEORY §2–§3), as the
// single-run page draws it. A bound that exists but is infinite at a probe
// is ±Inf (drawn as a mark on the panel's edge); one that does not exist
// (the upper bound (C) of a loss without one, THEORY §3) and unknown values
// are NaN.
type Probe struct {
	Step         float64
	FittingError float64 // E_f
	GradNorm     float64 // ‖∇R‖
	LowerB       float64 // lower end of bound (B)
	UpperC       float64 // upper end of bound (C)
	// LambdaMin and LambdaMax are the extreme eigenvalues of Spectrum.
	LambdaMin, LambdaMax float64
	Rank                 float64 // numerical rank of Spectrum (NaN: unknown)
	Diagnosis            []string
}

// Indicator is one measurement of the paper's per-image indicator
// (THEORY §5).
type Indicator struct {
	Step         float64
	Log2F, Log2R float64
}

// RunTrace is what one training run recorded, in step order.
type RunTrace struct {
	Name  string // the run's directory
	Model string // e.g. "mlp-64"
	// Setting describes the training in a line (loss, optimiser, data).
	Setting string
	// Spectrum names the matrix of LambdaMin/LambdaMax ("H_S", or "H" for
	// losses without the sum-zero projection).
	Spectrum   string
	Probes     []Probe
	Indicators []Indicator
	// TrainSteps and TrainLoss are the logged mini-batch losses.
	TrainSteps, TrainLoss []float64
	// TrivialFittingError is E_f of the uniform prediction (all logits
	// equal), 0 when unknown: an upper bound above it says nothing.
	TrivialFittingError float64
	Notes               []string
}

// RunFigure is the name of the single-run figure.
const RunFigure = "run"

// RunDocument is the page of one training run: why it reached, or did not
// reach, a global optimum. It shows E_f between its bounds, ‖∇R‖, the
// spectrum, the per-image indicator (or the training loss without one), the
// diagnosis at the last probe and wherever it changed along training.
func RunDocument(t RunTrace) Document {
	doc := Document{Title: "Training run " + t.Name, Created: time.Now().UTC()}
	if t.Model != "" {
		doc.Title += ": " + t.Model
	}
	if t.Setting != "" {
		doc.Notes = append(doc.Notes, t.Setting)
	}
	doc.Notes = append(doc.Notes, t.Notes...)
	if len(t.Probes) == 0 {
		doc.Notes = append(doc.Notes, "The run has no n-sample probes (train with --probe-every N): E_f, ‖∇R‖, the bounds and the spectrum were not measured.")
	}
	spec := t.Spectrum
	if spec == "" {
		spec = "H_S"
	}
	var steps, ef, lower, upper, grad, lmin, lmax []float64
	for _, p := range t.Probes {
		steps = append(steps, p.Step)
		ef, lower, upper = append(ef, p.FittingError), append(lower, p.LowerB), append(upper, p.UpperC)
		grad, lmin, lmax = append(grad, p.GradNorm), append(lmin, p.LambdaMin), append(lmax, p.LambdaMax)
	}

	if n := len(t.Probes); n > 0 {
		last := t.Probes[n-1]
		doc.Tables = append(doc.Tables, Table{
			Title:  fmt.Sprintf("Where the run ended (probe at step %s)", plainNumber(last.Step)),
			Header: []string{"quantity", "value"},
			Rows: [][]string{
				{"diagnosis", strings.Join(last.Diagnosis, "; ")},
				{"fitting error E_f", formatNumber(last.FittingError)},
				{"gradient norm ‖∇R‖", formatNumber(last.GradNorm)},
				{"lower bound (B)", formatNumber(last.LowerB) + slack(last.FittingError, last.LowerB, false)},
				{"upper bound (C)", formatNumber(last.UpperC) + slack(last.FittingError, last.UpperC, true) + vacuous(last.UpperC, t.TrivialFittingError)},
				{"λ_min(" + spec + ")", formatNumber(last.LambdaMin)},
				{"λ_max(" + spec + ")", formatNumber(last.LambdaMax)},
				{"condition number κ(" + spec + ")", formatNumber(last.LambdaMax / last.LambdaMin)},
				{"rank(" + spec + ")", formatNumber(last.Rank)},
			},
		})
		changes := Table{Title: "Diagnosis along training (rows where it changes)", Header: []string{"step", "E_f", "‖∇R‖", "diagnosis"}}
		prev := "\x00"
		for _, p := range t.Probes {
			d := strings.Join(p.Diagnosis, "; ")
			// The words, not the numbers in them, say whether it changed.
			if k := numbers.ReplaceAllString(d, "#"); k == prev {
				continue
			} else {
				prev = k
			}
			changes.Rows = append(changes.Rows, []string{plainNumber(p.Step), formatNumber(p.FittingError), formatNumber(p.GradNorm), d})
		}
		doc.Tables = append(doc.Tables, changes)
	}

	bounds := Panel{Title: "E_f between its bounds (B) and (C)", XLabel: "training step", YLabel: "E_f", LogY: true,
		Series: []Series{{Label: "E_f", Group: "E_f", X: steps, Y: ef, Style: StyleLinePoints},
			{Label: "lower bound (B)", Group: "lower bound", X: steps, Y: lower}}}
	hasUpper := false
	for _, u := range upper {
		hasUpper = hasUpper || !math.IsNaN(u)
	}
	if hasUpper {
		bounds.Series = append(bounds.Series, Series{Label: "upper bound (C)", Group: "upper bound", X: steps, Y: upper})
		if t.TrivialFittingError > 0 {
			bounds.HLines = append(bounds.HLines, HLine{Y: t.TrivialFittingError, Label: "E_f of the uniform prediction: (C) above it is vacuous"})
		}
	} else {
		bounds.Title = "E_f above its lower bound (B); this loss has no (C)"
	}
	panels := []Panel{
		bounds,
		{Title: "gradient norm", XLabel: "training step", YLabel: "‖∇R‖", LogY: true,
			Series: []Series{{Label: "‖∇R‖", Group: "grad", X: steps, Y: grad, Style: StyleLinePoints}}},
		{Title: "spectrum of " + spec, XLabel: "training step", YLabel: "eigenvalue", LogY: true,
			Series: []Series{{Label: "λ_min(" + spec + ")", Group: "lambda_min", X: steps, Y: lmin},
				{Label: "λ_max(" + spec + ")", Group: "lambda_max", X: steps, Y: lmax}}},
	}
	if len(t.Indicators) > 0 {
		var x, f, r []float64
		for _, m := range t.Indicators {
			x, f, r = append(x, m.Step), append(f, m.Log2F), append(r, m.Log2R)
		}
		panels = append(panels, Panel{Title: "per-image indicator (THEORY §5)", XLabel: "training step", YLabel: "log₂ value",
			Series: []Series{{Label: "log₂F", Group: "log2 F", X: x, Y: f}, {Label: "log₂R", Group: "log2 R", X: x, Y: r}}})
	} else if len(t.TrainSteps) > 0 {
		panels = append(panels, Panel{Title: "training loss (mini-batch)", XLabel: "training step", YLabel: "loss", LogY: true,
			Series: []Series{{Label: "training loss", Group: "train loss", X: t.TrainSteps, Y: t.TrainLoss}}})
	}
	doc.Figures = []Figure{{Name: RunFigure, Title: "Why the run went where it went", Panels: panels,
		Caption: "E_f is squeezed between (B) and (C) (THEORY §3); a bound marked ▲ is infinite there. " +
			"A small ‖∇R‖ with a large E_f means a stationary point that is not global; the spectrum says whether " + spec + " is degenerate there."}}
	return doc
}

// vacuous says when an upper bound is no better than the uniform
// prediction's E_f.
func vacuous(upper, trivial float64) string {
	if trivial > 0 && !math.IsNaN(upper) && upper >= trivial {
		return ", vacuous: above E_f = " + formatNumber(trivial) + " of the uniform prediction"
	}
	return ""
}

// numbers matches the numbers inside a diagnosis.
var numbers = regexp.MustCompile(`[-+−]?[0-9][0-9.]*(e[-+]?[0-9]+)?`)

// slack says how far a bound is from E_f: "(E_f/lower = 12.3×)" or
// "(upper/E_f = 4.5e3×)", or that it is infinite.
func slack(ef, bound float64, upper bool) string {
	switch {
	case math.IsInf(bound, 0):
		return " (infinite: no finite bound here)"
	case math.IsNaN(bound) || math.IsNaN(ef) || bound <= 0 || ef <= 0:
		return ""
	case upper:
		return " (upper/E_f = " + strconv.FormatFloat(bound/ef, 'g', 3, 64) + "×)"
	}
	return " (E_f/lower = " + strconv.FormatFloat(ef/bound, 'g', 3, 64) + "×)"
}

// plainNumber writes a step count without an exponent.
func plainNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return formatNumber(v)
}
