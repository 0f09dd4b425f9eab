package reproduce

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/structural"
)

// regimeSuffix names the regime in a figure or table title.
func regimeSuffix(regime string) string { return " — " + RegimeName(regime) }

// inRegime runs part on a scratch document and moves its figures and tables
// into doc, renamed with prefix and titled with the regime, dropping the
// figures named in drop.
func inRegime(doc *report.Document, regime, prefix string, part func(*report.Document), drop ...string) {
	var tmp report.Document
	part(&tmp)
	for _, f := range tmp.Figures {
		skip := false
		for _, d := range drop {
			skip = skip || f.Name == d
		}
		if skip {
			continue
		}
		f.Name = prefix + f.Name
		f.Title += regimeSuffix(regime)
		doc.Figures = append(doc.Figures, f)
	}
	for _, t := range tmp.Tables {
		t.Title += regimeSuffix(regime)
		doc.Tables = append(doc.Tables, t)
	}
}

// boundEnd returns a record accessor for one field of bound name (NaN when
// the record has no such bound or it is not valid).
func boundEnd(name string, field func(*structural.Bound) float64) func(*ProbeRecord) float64 {
	return func(r *ProbeRecord) float64 {
		if b := r.bound(name); b != nil && b.Valid {
			return field(b)
		}
		return math.NaN()
	}
}

var (
	upperOf      = func(b *structural.Bound) float64 { return b.Upper }
	lowerOf      = func(b *structural.Bound) float64 { return b.Lower }
	upperSlackOf = func(b *structural.Bound) float64 { return b.UpperSlack }
	lowerSlackOf = func(b *structural.Bound) float64 { return b.LowerSlack }
	step1Of      = func(b *structural.Bound) float64 { return b.Step1Slack }
	step2Of      = func(b *structural.Bound) float64 { return b.Step2Slack }
)

// boundSeries draws an upper bound honestly (THEORY §7): the finite values as
// a line, the probes where it is +Inf as points at ceiling, labelled, so an
// infinite bound is never silently missing from the figure.
func boundSeries(label, group string, recs []ProbeRecord, value func(*ProbeRecord) float64, ceiling float64) []report.Series {
	var x, y, ix, iy []float64
	for i := range recs {
		v := value(&recs[i])
		switch {
		case math.IsInf(v, 1):
			ix, iy = append(ix, float64(recs[i].Step)), append(iy, ceiling)
		case !math.IsNaN(v):
			x, y = append(x, float64(recs[i].Step)), append(y, v)
		}
	}
	out := []report.Series{{Label: label, Group: group, X: x, Y: y}}
	if len(ix) > 0 {
		out = append(out, report.Series{Label: label + " = +∞ (drawn at the top)", Group: group + " infinite", X: ix, Y: iy, Style: report.StylePoints})
	}
	return out
}

// ceilingOf is a y value above every finite value of the accessors over
// recs: where an infinite bound is drawn.
func ceilingOf(recs []ProbeRecord, values ...func(*ProbeRecord) float64) float64 {
	hi := 0.0
	for i := range recs {
		for _, f := range values {
			if v := f(&recs[i]); !math.IsInf(v, 0) && !math.IsNaN(v) {
				hi = math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return 1
	}
	return 10 * hi
}

// trivialLine marks the fitting error of the uniform prediction: an upper
// bound at or above it is vacuous.
func trivialLine(recs []ProbeRecord) []report.HLine {
	if len(recs) == 0 || math.IsNaN(recs[0].TrivialFittingError) || recs[0].TrivialFittingError == 0 {
		return nil
	}
	return []report.HLine{{Y: recs[0].TrivialFittingError, Label: "E_f of the uniform prediction: an upper bound above it is vacuous"}}
}

// boundsPanel shows E_f between (B) and (C), (C_r), with infinite values
// marked and the vacuity line.
func boundsPanel(title string, recs []ProbeRecord) report.Panel {
	cU, crU := boundEnd("C", upperOf), boundEnd("Cr", upperOf)
	ceil := ceilingOf(recs, cU, crU, fittingError)
	p := report.Panel{Title: title, XLabel: "training step", YLabel: "E_f and its bounds", LogY: true,
		Series: []report.Series{line("E_f", "E_f", recs, fittingError), line("lower bound (B)", "lower bound", recs, boundEnd("B", lowerOf))},
		HLines: trivialLine(recs)}
	if len(recs) > 0 && recs[0].bound("C") != nil && recs[0].bound("C").Valid {
		p.Series = append(p.Series, boundSeries("upper bound (C)", "upper bound", recs, cU, ceil)...)
		if b := recs[0].bound("Cr"); b != nil && b.Valid {
			p.Series = append(p.Series, boundSeries("restricted bound (C_r)", "restricted bound", recs, crU, ceil)...)
		}
	} else {
		p.Title += " (no upper bound (C) exists, THEORY §3)"
	}
	return p
}

// slackPanel shows the slack ratios along a run (THEORY §7).
func slackPanel(recs []ProbeRecord) report.Panel {
	cS, crS, bS := boundEnd("C", upperSlackOf), boundEnd("Cr", upperSlackOf), boundEnd("B", lowerSlackOf)
	s1, s2 := boundEnd("C", step1Of), boundEnd("C", step2Of)
	ceil := ceilingOf(recs, cS, crS, bS, s1, s2)
	p := report.Panel{Title: "slack of the bounds (ratio ≥ 1; 1 is tight)", XLabel: "training step", YLabel: "ratio", LogY: true,
		Series: []report.Series{line("(B): E_f / lower", "lower bound", recs, bS)}}
	p.Series = append(p.Series, boundSeries("(C): upper / E_f", "upper bound", recs, cS, ceil)...)
	p.Series = append(p.Series, line("(C) step 1: χ²/n over E_f (KL ≤ χ²)", "step 1", recs, s1))
	p.Series = append(p.Series, boundSeries("(C) step 2: upper over χ²/n", "step 2", recs, s2, ceil)...)
	p.Series = append(p.Series, boundSeries("(C_r): upper / E_f", "restricted bound", recs, crS, ceil)...)
	return p
}

// fitParts adds the fit-regime figures and tables to doc and returns the
// fit-regime claims P1–P6.
func fitParts(doc *report.Document, byExp map[string][]*RunData) []report.Claim {
	reg := RegimeFit
	var all []*RunData
	for _, e := range Experiments() {
		if ExperimentRegime(e) == RegimeFit {
			all = append(all, byExp[e]...)
		}
	}
	widthRuns := byExp[ExpFitWidth]
	if len(widthRuns) > 0 {
		inRegime(doc, reg, "fit_", func(d *report.Document) { widthPart(d, widthRuns) }, figConcentration)
	}
	p5, ps, sp, slope, icpt := ClaimP5Fit(byExp[ExpFitConcentration])
	if len(ps) > 0 {
		conc := report.Panel{Title: "relative spread over init draws of λ_min(H_S)/P", XLabel: "parameters P", YLabel: "std/mean over draws", LogX: true, LogY: true,
			Series: []report.Series{{Label: "(family, width)", Group: "measured", X: ps, Y: sp, Style: report.StylePoints}}}
		if !math.IsNaN(slope) {
			lo, hi := minMax(ps)
			y0 := math.Exp(icpt) * math.Pow(lo, slope)
			conc.Series = append(conc.Series,
				report.Series{Label: fmt.Sprintf("fit: slope %.2f", slope), Group: "fit", X: []float64{lo, hi}, Y: []float64{y0, math.Exp(icpt) * math.Pow(hi, slope)}},
				report.Series{Label: "slope −½ (LLN)", Group: "reference", X: []float64{lo, hi}, Y: []float64{y0, y0 * math.Pow(hi/lo, -0.5)}})
		}
		doc.Figures = append(doc.Figures, report.Figure{Name: figFitConcentration, Title: "Concentration of λ_min(H_S)/P over initialisation draws (P5)" + regimeSuffix(reg),
			Panels: []report.Panel{conc}, Columns: 1})
		tab := report.Table{Title: "Initialisation-only draws (P5)" + regimeSuffix(reg), Header: []string{"family", "width", "P", "draws", "mean λ_min(H_S)/P", "rel. spread", "mean λ_min/λ_mean"}}
		pts := drawPoints(byExp[ExpFitConcentration])
		for _, fam := range sortedKeys(pts) {
			for _, p := range pts[fam] {
				tab.Rows = append(tab.Rows, []string{fam, strconv.Itoa(p.width), strconv.Itoa(p.P), strconv.Itoa(len(p.lminPerP)),
					f4(mean(p.lminPerP)), f4(relSpread(p.lminPerP)), f4(mean(p.floor))})
			}
		}
		doc.Tables = append(doc.Tables, tab)
	}
	initRuns := byExp[ExpFitInit]
	if len(initRuns) > 0 {
		inRegime(doc, reg, "fit_", func(d *report.Document) { initPart(d, initRuns) })
		tab := report.Table{Title: "Initialisers after training: rank, distinct units, trend diagnosis" + regimeSuffix(reg),
			Header: []string{"init", "rank(H_S) init", "rank(H_S) end", "n(K−1)", "distinct units init", "distinct units end", "dead units end", "E_f end", "‖∇R‖ end", "trend (end)"}}
		for _, d := range initRuns {
			f, l := d.First(), d.Last()
			if f == nil {
				continue
			}
			tab.Rows = append(tab.Rows, []string{initLabel(d), f4(f.hsRank()), f4(l.hsRank()), strconv.Itoa(f.N * (f.K - 1)),
				strconv.Itoa(f.HiddenUnits - f.DuplicateUnits), strconv.Itoa(l.HiddenUnits - l.DuplicateUnits), strconv.Itoa(l.DeadUnits),
				f4(l.FittingError), f4(l.GradNorm), trendText(d.lastTrend())})
		}
		doc.Tables = append(doc.Tables, tab)
	}
	if depthRuns := byExp[ExpFitDepth]; len(depthRuns) > 0 {
		inRegime(doc, reg, "fit_", func(d *report.Document) { depthPart(d, depthRuns) })
	}
	if lossRuns := byExp[ExpFitLosses]; len(lossRuns) > 0 {
		var panels []report.Panel
		for _, d := range lossRuns {
			panels = append(panels, boundsPanel(d.Spec.Params.Loss, d.NSample))
		}
		doc.Figures = append(doc.Figures, report.Figure{Name: figFitLosses, Title: "E_f between its bounds for four Fenchel-Young losses (P1)" + regimeSuffix(reg), Panels: panels})
	}
	if dyn := byExp[ExpFitDynamics]; len(dyn) > 0 {
		d := dyn[0]
		pGrad := report.Panel{Title: "gradient norm", XLabel: "training step", YLabel: "‖∇R‖", LogY: true,
			Series: []report.Series{line("‖∇R‖", "grad", d.NSample, gradNorm)}}
		pSpec := report.Panel{Title: "spectra: H_S, H_p and H_p|U (√p_i directions removed)", XLabel: "training step", YLabel: "eigenvalue", LogY: true,
			Series: []report.Series{line("λ_min(H_S)", "lambda_min", d.NSample, func(r *ProbeRecord) float64 { return r.hs().Min }),
				line("λ_max(H_S)", "lambda_max", d.NSample, func(r *ProbeRecord) float64 { return r.hs().Max }),
				line("λ_min(H_p)", "HP lambda_min", d.NSample, func(r *ProbeRecord) float64 { return spectrumOrMissing(r.HP).Min }),
				line("λ_min(H_p|U)", "HPU lambda_min", d.NSample, func(r *ProbeRecord) float64 { return spectrumOrMissing(r.HPU).Min })}}
		doc.Figures = append(doc.Figures, report.Figure{Name: figFitDynamics, Title: "Training dynamics of Model a (P6)" + regimeSuffix(reg),
			Panels: []report.Panel{boundsPanel("E_f between bounds (B), (C), (C_r)", d.NSample), pGrad, pSpec, slackPanel(d.NSample)}, Columns: 2})
		tab := report.Table{Title: "Bounds and trend diagnosis along the dynamics run (P6)" + regimeSuffix(reg),
			Header: []string{"step", "E_f", "‖∇R‖", "(B) E_f/lower", "(C) upper", "(C) step 1", "(C) step 2", "(C_r) upper", "(C) vacuous", "trend"}}
		for i := range d.NSample {
			r := &d.NSample[i]
			vac := "no (C)"
			if c := r.bound("C"); c != nil && c.Valid {
				vac = strconv.FormatBool(c.Vacuous)
			}
			tab.Rows = append(tab.Rows, []string{strconv.Itoa(r.Step), f4(r.FittingError), f4(r.GradNorm), f4(boundEnd("B", lowerSlackOf)(r)),
				f4(boundEnd("C", upperOf)(r)), f4(boundEnd("C", step1Of)(r)), f4(boundEnd("C", step2Of)(r)), f4(boundEnd("Cr", upperOf)(r)),
				vac, trendText(d.Trends[i])})
		}
		doc.Tables = append(doc.Tables, tab)
	}
	if len(all) > 0 {
		s := collectSlack(all)
		if s.probes > 0 {
			t := slackTable(s)
			t.Title += regimeSuffix(reg)
			doc.Tables = append(doc.Tables, t)
		}
		var slackPanels []report.Panel
		for _, d := range byExp[ExpFitLosses] {
			if len(d.NSample) > 0 && !math.IsNaN(boundEnd("C", upperOf)(&d.NSample[0])) {
				p := slackPanel(d.NSample)
				p.Title = d.Spec.Params.Loss + ": " + p.Title
				slackPanels = append(slackPanels, p)
			}
		}
		if len(slackPanels) > 0 {
			doc.Figures = append(doc.Figures, report.Figure{Name: figFitSlack, Title: "Slack of the bounds, (C) split into its two steps (THEORY §7)" + regimeSuffix(reg), Panels: slackPanels})
		}
	}
	return []report.Claim{ClaimP1Fit(all), ClaimP2Fit(widthRuns), ClaimP3Fit(initRuns), ClaimP4Fit(byExp[ExpFitDepth]), p5, ClaimP6Fit(byExp[ExpFitDynamics])}
}

// paperClaimsTable is the second table: the paper-regime results of P1–P6,
// reported beside the fit regime's verdict.
func paperClaimsTable(claims []report.Claim) report.Table {
	t := report.Table{Title: "Second table: P1–P6 in the paper regime (mini-batch Adam; the checks of docs/CLAIMS.md's first table) — not the verdict",
		Header: []string{"id", "status", "measured", "threshold"}}
	for _, c := range claims {
		t.Rows = append(t.Rows, []string{c.ID, string(c.Status), c.Measured, c.Threshold})
	}
	return t
}

// paperSmokeNotes marks the quick-mode paper-regime claims as smoke checks,
// naming the Model d runs' test accuracy after their few Adam steps.
func paperSmokeNotes(claims []report.Claim, depth, indicator []*RunData) {
	for i := range claims {
		if claims[i].Status == report.StatusNotRun {
			continue
		}
		what := "2000 training images and step caps"
		if claims[i].ID == "P4" {
			var acc []string
			for _, d := range depth {
				if d.Spec.Params.Family == "d" {
					acc = append(acc, fmt.Sprintf("%s %d steps: test accuracy %.2f", d.Spec.ID, d.Summary.Steps, d.Summary.TestAccuracy))
				}
			}
			if len(acc) > 0 {
				what += "; Model d is barely trained (" + strings.Join(acc, ", ") + ")"
			}
		}
		claims[i].Measured += smokeNote(append(append([]*RunData(nil), depth...), indicator...), what)
	}
}
