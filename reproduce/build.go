package reproduce

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/version"
	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/structural"
)

// Build reads every finished run below dir and returns the report: the
// claims of docs/CLAIMS.md (NOT RUN where runs are missing), the figures,
// tables, environment and timings. Per-experiment time is the sum of the
// runs' own wall-clock times (summary.json), so it is the same whether the
// runs came from one process or from merged shards.
func Build(dir string) (report.Document, error) {
	runs, damaged, err := LoadRunsChecked(dir)
	if err != nil {
		return report.Document{}, err
	}
	byExp := map[string][]*RunData{}
	modes := map[Mode]bool{}
	for _, d := range runs {
		byExp[d.Spec.Experiment] = append(byExp[d.Spec.Experiment], d)
		modes[d.Spec.Mode] = true
	}
	doc := report.Document{
		Title:             "fenchel reproduction of Qi, Gong, Li (arXiv 2503.23016)",
		Created:           time.Now().UTC(),
		Version:           version.Version,
		Environment:       environment(),
		ExperimentSeconds: map[string]float64{},
	}
	for _, d := range runs {
		t := d.Summary.Seconds["total"]
		doc.ExperimentSeconds[d.Spec.Experiment] += t
		doc.TotalSeconds += t
	}
	var ms []string
	for m := range modes {
		ms = append(ms, string(m))
	}
	sort.Strings(ms)
	doc.Notes = append(doc.Notes,
		fmt.Sprintf("%d finished runs, mode %s. Claims, checks and thresholds: docs/CLAIMS.md (fixed before running).", len(runs), strings.Join(ms, "+")),
		"Times are the sums of the runs' own wall-clock times (summary.json), so sharded and unsharded runs report alike.")
	for _, e := range Experiments() {
		if len(byExp[e]) == 0 {
			doc.Notes = append(doc.Notes, fmt.Sprintf("experiment %s: no finished runs", e))
		}
	}
	for _, d := range damaged {
		id, _ := filepath.Rel(dir, d.Dir)
		doc.Notes = append(doc.Notes, fmt.Sprintf("damaged run %s, left out of the claims: %v", id, d.Err))
	}

	var all []*RunData
	for _, e := range Experiments() {
		all = append(all, byExp[e]...)
	}
	// The verdict: P1–P6 in the fit regime, IND in the paper regime
	// (THEORY §7); the paper regime's P1–P6 go into the second table.
	var ind, p5 report.Claim
	inRegime(&doc, RegimePaper, "", func(d *report.Document) { ind = indicatorPart(d, byExp[ExpIndicator]) })
	claims := fitParts(&doc, byExp)
	inRegime(&doc, RegimePaper, "", func(d *report.Document) {
		depthPart(d, byExp[ExpDepth])
		p5 = widthPart(d, byExp[ExpWidth])
		initPart(d, byExp[ExpInit])
		lossesPart(d, byExp[ExpLosses])
		dynamicsPart(d, byExp[ExpDynamics])
	})
	var paperRuns []*RunData
	for _, d := range all {
		if ExperimentRegime(d.Spec.Experiment) == RegimePaper {
			paperRuns = append(paperRuns, d)
		}
	}
	paper := []report.Claim{ClaimP1(paperRuns), ClaimP2(byExp[ExpWidth]), ClaimP3(byExp[ExpInit]), ClaimP4(byExp[ExpDepth]),
		p5, ClaimP6(byExp[ExpDynamics])}
	paperSmokeNotes(paper, byExp[ExpDepth], byExp[ExpIndicator])
	doc.Tables = append(doc.Tables, paperClaimsTable(paper))
	ind.Statement = "[paper regime] " + ind.Statement
	if ind.Status != report.StatusNotRun {
		ind.Measured += smokeNote(byExp[ExpIndicator], "150 Adam steps on 2000 images per model instead of one epoch of 60000")
	}
	claims = append(claims, ind)
	// A claim may name only a figure the document holds.
	figs := map[string]bool{}
	for _, f := range doc.Figures {
		figs[f.Name] = true
	}
	for i := range claims {
		if !figs[claims[i].Figure] {
			claims[i].Figure = ""
		}
	}
	for i := range claims {
		claims[i] = withQuantities(claims[i])
	}
	doc.Claims = claims
	return doc, nil
}

func environment() map[string]string {
	env := map[string]string{
		"go":      runtime.Version(),
		"os/arch": runtime.GOOS + "/" + runtime.GOARCH,
		"blas":    linalg.Backend,
		"cores":   strconv.Itoa(runtime.NumCPU()),
		"version": version.Version,
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				env["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	return env
}

// series extracts (step, value) from records, skipping NaN values.
func series[R any](recs []R, step func(*R) int, value func(*R) float64) (x, y []float64) {
	for i := range recs {
		v := value(&recs[i])
		if math.IsNaN(v) {
			continue // ±Inf stays: the report marks it on the panel's edge
		}
		x, y = append(x, float64(step(&recs[i]))), append(y, v)
	}
	return x, y
}

func probeStep(r *ProbeRecord) int { return r.Step }

// Quantities of a probe record plotted over training.
var (
	fittingError = func(r *ProbeRecord) float64 { return r.FittingError }
	gradNorm     = func(r *ProbeRecord) float64 { return r.GradNorm }
	lowerB       = func(r *ProbeRecord) float64 {
		return r.boundField("B", func(b *structural.Bound) float64 { return b.Lower })
	}
	upperC = func(r *ProbeRecord) float64 {
		return r.boundField("C", func(b *structural.Bound) float64 { return b.Upper })
	}
)

func line(label, group string, recs []ProbeRecord, value func(*ProbeRecord) float64) report.Series {
	x, y := series(recs, probeStep, value)
	return report.Series{Label: label, Group: group, X: x, Y: y}
}

func perImageLine(label, group string, recs []instrument.PerImageRecord, value func(*instrument.PerImageRecord) float64) report.Series {
	x, y := series(recs, func(r *instrument.PerImageRecord) int { return r.Step }, value)
	return report.Series{Label: label, Group: group, X: x, Y: y}
}

func f4(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func f4s(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = f4(x)
	}
	return strings.Join(s, ", ")
}

func indicatorPart(doc *report.Document, runs []*RunData) report.Claim {
	if len(runs) == 0 {
		return ClaimIndicator(nil)
	}
	var curves, local []report.Panel
	var all []indicatorStats
	tab := report.Table{Title: "Indicator (THEORY §5): Pearson correlation with log₂R on x_b",
		Header: []string{"model", "measurements", "log₂F global", "log₂F local (mean)", "log₂g global", "log₂g local (mean)", "log₂κ global", "log₂ loss(x_a) global"}}
	loc := report.Panel{Title: "local Pearson(log₂F, log₂R), sliding window", XLabel: "training step", YLabel: "Pearson"}
	for _, d := range runs {
		s, _ := settingsFor(d.Spec.Mode)
		st := indicatorOf(d, s.slidingWin)
		all = append(all, st)
		name := "Model " + d.Spec.Params.Family
		curves = append(curves, report.Panel{Title: name, XLabel: "training step (batches)", YLabel: "log₂ value",
			Series: []report.Series{perImageLine("log₂F", "log2 F", d.PerImage, func(r *instrument.PerImageRecord) float64 { return float64(r.Log2F) }),
				perImageLine("log₂R", "log2 R", d.PerImage, func(r *instrument.PerImageRecord) float64 { return float64(r.Log2R) })}})
		loc.Series = append(loc.Series, report.Series{Label: name, Group: "model " + d.Spec.Params.Family, X: st.localSteps, Y: st.localF})
		tab.Rows = append(tab.Rows, []string{name, strconv.Itoa(st.n), f4(st.pearsonF), f4(st.localMeanF), f4(st.pearsonG), f4(st.localMeanG), f4(st.pearsonKappa), f4(st.pearsonLossA)})
	}
	local = append(local, loc)
	doc.Figures = append(doc.Figures,
		report.Figure{Name: figIndicator, Title: "Per-image indicator F = g·λ_max/λ_min and loss R on x_b (THEORY §5)", Panels: curves},
		report.Figure{Name: figIndicatorLoc, Title: "Local Pearson correlation of log₂F and log₂R", Panels: local, Columns: 1})
	doc.Tables = append(doc.Tables, tab)
	return ClaimIndicator(all)
}

func depthPart(doc *report.Document, runs []*RunData) {
	if len(runs) == 0 {
		return
	}
	type key struct {
		fam  string
		skip bool
	}
	by := map[key][]*RunData{}
	for _, d := range runs {
		p := d.Spec.Params
		by[key{p.Family, p.Skip}] = append(by[key{p.Family, p.Skip}], d)
	}
	pFloor := report.Panel{Title: "normalised λ_min(H_S) at init", XLabel: "depth k", YLabel: "λ_min/λ_mean", LogY: true}
	pFit := report.Panel{Title: "final E_f on the probe set", XLabel: "depth k", YLabel: "E_f", LogY: true}
	pAcc := report.Panel{Title: "final test accuracy", XLabel: "depth k", YLabel: "accuracy"}
	tab := report.Table{Title: "Depth sweep (P4)", Header: []string{"run", "P", "λ_min/λ_mean init", "λ_min/λ_mean end", "E_f end", "final loss", "test acc"}}
	var keys []key
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].fam != keys[j].fam {
			return keys[i].fam < keys[j].fam
		}
		return keys[i].skip && !keys[j].skip
	})
	for _, k := range keys {
		ds := by[k]
		sort.Slice(ds, func(i, j int) bool { return ds[i].Spec.Params.Depth < ds[j].Spec.Params.Depth })
		label := "Model " + k.fam + " " + skipName(k.skip)
		if k.fam == "resmlp" {
			label = "residual MLP " + skipName(k.skip)
		}
		var x, fl, ef, acc []float64
		for _, d := range ds {
			if d.First() == nil {
				continue
			}
			x = append(x, float64(d.Spec.Params.Depth))
			fl = append(fl, d.First().hs().NormFloor)
			ef = append(ef, d.Last().FittingError)
			acc = append(acc, d.Summary.TestAccuracy)
			tab.Rows = append(tab.Rows, []string{d.Spec.ID, strconv.Itoa(d.Summary.Params), f4(d.First().hs().NormFloor),
				f4(d.Last().hs().NormFloor), f4(d.Last().FittingError), f4(d.Summary.FinalTrainLoss), f4(d.Summary.TestAccuracy)})
		}
		g := "model " + k.fam
		pFloor.Series = append(pFloor.Series, report.Series{Label: label, Group: g, X: x, Y: fl, Style: report.StyleLinePoints})
		pFit.Series = append(pFit.Series, report.Series{Label: label, Group: g, X: x, Y: ef, Style: report.StyleLinePoints})
		pAcc.Series = append(pAcc.Series, report.Series{Label: label, Group: g, X: x, Y: acc, Style: report.StyleLinePoints})
	}
	doc.Figures = append(doc.Figures, report.Figure{Name: figDepth, Title: "Depth sweep with and without skip connections (P4)",
		Panels: []report.Panel{pFloor, pFit, pAcc}, Columns: 3})
	doc.Tables = append(doc.Tables, tab)
}

func widthPart(doc *report.Document, runs []*RunData) report.Claim {
	claim, ps, sp, slope, icpt := ClaimP5(runs)
	if len(runs) == 0 {
		return claim
	}
	pts := widthPoints(runs)
	pInit := report.Panel{Title: "λ_min(H_S)/λ_mean at init", XLabel: "width", YLabel: "λ_min/λ_mean", LogX: true, LogY: true}
	pEnd := report.Panel{Title: "λ_min(H_S)/λ_mean after the budget", XLabel: "width", YLabel: "λ_min/λ_mean", LogX: true, LogY: true}
	pFit := report.Panel{Title: "final E_f on the probe set", XLabel: "width", YLabel: "E_f", LogX: true, LogY: true}
	tab := report.Table{Title: "Width sweep (P2, P5): seed means", Header: []string{"family", "width", "P", "seeds", "λ_min/λ_mean init", "λ_min/λ_mean end", "E_f end", "rel. spread λ_min/P"}}
	for _, fam := range sortedKeys(pts) {
		var w, fi, fe, ef []float64
		for _, p := range pts[fam] {
			w = append(w, float64(p.width))
			fi, fe, ef = append(fi, mean(p.floorInit)), append(fe, mean(p.floorEnd)), append(ef, mean(p.fitEnd))
			spread := math.NaN()
			if len(p.lminPerP) > 1 {
				spread = relSpread(p.lminPerP)
			}
			tab.Rows = append(tab.Rows, []string{fam, strconv.Itoa(p.width), strconv.Itoa(p.params), strconv.Itoa(len(p.floorInit)),
				f4(mean(p.floorInit)), f4(mean(p.floorEnd)), f4(mean(p.fitEnd)), f4(spread)})
		}
		lab := map[string]string{"mlp1": "MLP 784-w-10", "mlp2": "MLP 784-w-w-10"}[fam]
		if lab == "" {
			lab = fam
		}
		pInit.Series = append(pInit.Series, report.Series{Label: lab, Group: fam, X: w, Y: fi, Style: report.StyleLinePoints})
		pEnd.Series = append(pEnd.Series, report.Series{Label: lab, Group: fam, X: w, Y: fe, Style: report.StyleLinePoints})
		pFit.Series = append(pFit.Series, report.Series{Label: lab, Group: fam, X: w, Y: ef, Style: report.StyleLinePoints})
	}
	doc.Figures = append(doc.Figures, report.Figure{Name: figWidth, Title: "Width sweep (P2)", Panels: []report.Panel{pInit, pEnd, pFit}, Columns: 3})
	if len(ps) > 0 {
		conc := report.Panel{Title: "relative seed spread of λ_min(H_S)/P at init", XLabel: "parameters P", YLabel: "std/mean over seeds", LogX: true, LogY: true,
			Series: []report.Series{{Label: "(family, width)", Group: "measured", X: ps, Y: sp, Style: report.StylePoints}}}
		if !math.IsNaN(slope) {
			lo, hi := minMax(ps)
			conc.Series = append(conc.Series, report.Series{Label: fmt.Sprintf("fit: slope %.2f", slope), Group: "fit",
				X: []float64{lo, hi}, Y: []float64{math.Exp(icpt) * math.Pow(lo, slope), math.Exp(icpt) * math.Pow(hi, slope)}})
			conc.Series = append(conc.Series, report.Series{Label: "slope −½ (LLN)", Group: "reference",
				X: []float64{lo, hi}, Y: []float64{math.Exp(icpt) * math.Pow(lo, slope), math.Exp(icpt) * math.Pow(lo, slope) * math.Pow(hi/lo, -0.5)}})
		}
		doc.Figures = append(doc.Figures, report.Figure{Name: figConcentration, Title: "Concentration of λ_min(H_S)/P across seeds (P5)", Panels: []report.Panel{conc}, Columns: 1})
	}
	doc.Tables = append(doc.Tables, tab)
	return claim
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func initLabel(d *RunData) string {
	if d.Spec.Params.Scheme == "symmetric+noise" {
		if d.Spec.Params.EpsRel > 0 {
			return "symmetric+ε " + strconv.FormatFloat(d.Spec.Params.EpsRel, 'g', -1, 64) + "σ"
		}
		return "symmetric+ε " + strconv.FormatFloat(d.Spec.Params.Eps, 'g', -1, 64)
	}
	return string(d.Spec.Params.Scheme)
}

func initPart(doc *report.Document, runs []*RunData) {
	if len(runs) == 0 {
		return
	}
	pFit := report.Panel{Title: "E_f on the probe set", XLabel: "training step", YLabel: "E_f", LogY: true}
	pGrad := report.Panel{Title: "‖∇R‖", XLabel: "training step", YLabel: "‖∇R‖", LogY: true}
	pEps := report.Panel{Title: "final E_f against the noise ε of symmetric+ε", XLabel: "ε", YLabel: "final E_f", LogX: true, LogY: true}
	tab := report.Table{Title: "Initialisers (P3), Model a k = 1", Header: []string{"init", "constant", "ε", "rank(H_S) init", "n(K−1)", "λ_min(H_S) init", "λ_max(H_S) init", "‖∇R‖ init", "‖∇R‖ final", "E_f final", "test acc"}}
	var ex, ey []float64
	var cal *InitCalibration
	// Rows and legend in id order, except the ε ladder ascending in ε.
	runs = slices.Clone(runs)
	sort.Slice(runs, func(i, j int) bool {
		a, b := runs[i].Spec.Params, runs[j].Spec.Params
		if a.Scheme == "symmetric+noise" && b.Scheme == "symmetric+noise" {
			return a.Eps < b.Eps
		}
		return runs[i].Spec.ID < runs[j].Spec.ID // the ε runs share one id prefix, so they stay one block
	})
	for _, d := range runs {
		f, l := d.First(), d.Last()
		if f == nil {
			continue
		}
		lab := initLabel(d)
		pFit.Series = append(pFit.Series, line(lab, lab, d.NSample, fittingError))
		pGrad.Series = append(pGrad.Series, line(lab, lab, d.NSample, gradNorm))
		constant, eps := "", ""
		if sc := d.Spec.Params.Scheme; sc == "symmetric" || sc == "symmetric+noise" {
			constant = f4(d.Spec.Config.Init.Constant)
			if constant == "0" {
				constant = "1 (default)"
			}
		}
		if d.Spec.Params.Scheme == "symmetric+noise" {
			eps = f4(d.Spec.Params.Eps)
		}
		tab.Rows = append(tab.Rows, []string{lab, constant, eps, f4(f.hsRank()), f4(float64(f.N * (f.K - 1))), f4(f.hs().Min), f4(f.hs().Max),
			f4(f.GradNorm), f4(l.GradNorm), f4(l.FittingError), f4(d.Summary.TestAccuracy)})
		if d.Spec.Calibration != nil && cal == nil {
			cal = d.Spec.Calibration
		}
		switch d.Spec.Params.Scheme {
		case "symmetric+noise":
			ex, ey = append(ex, d.Spec.Params.Eps), append(ey, l.FittingError)
		case "symmetric":
			pEps.HLines = append(pEps.HLines, report.HLine{Y: l.FittingError, Label: "symmetric (ε = 0)"})
		case "pytorch":
			pEps.HLines = append(pEps.HLines, report.HLine{Y: l.FittingError, Label: "pytorch default"})
		}
	}
	idx := make([]int, len(ex))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ex[idx[a]] < ex[idx[b]] })
	var sx, sy []float64
	for _, i := range idx {
		sx, sy = append(sx, ex[i]), append(sy, ey[i])
	}
	pEps.Series = append(pEps.Series, report.Series{Label: "symmetric+ε", Group: "symmetric+noise", X: sx, Y: sy, Style: report.StyleLinePoints})
	if cal != nil {
		pEps.Title += fmt.Sprintf(" (σ = %.3g)", cal.WeightScale)
	}
	doc.Figures = append(doc.Figures, report.Figure{Name: figInit, Title: "Initialisers: independence of the parameters (P3)", Panels: []report.Panel{pFit, pGrad, pEps}, Columns: 3})
	doc.Tables = append(doc.Tables, tab)
	if cal != nil {
		doc.Tables = append(doc.Tables, report.Table{Title: "Symmetric-init calibration (P3, THEORY §4): constant chosen so λ_max(H_S) at init matches the PyTorch default's",
			Header: []string{"constant c (weights c/fan_in)", "λ_max(H_S) symmetric", "λ_max(H_S) pytorch (mean of reference draws)", "reference draws", "ratio", "evaluations", "probe n", "weight scale σ (ε unit)"},
			Rows: [][]string{{f4(cal.Constant), f4(cal.LambdaMaxSymmetric), f4(cal.LambdaMaxReference), f4s(cal.LambdaMaxDraws), f4(cal.LambdaMaxSymmetric / cal.LambdaMaxReference),
				strconv.Itoa(cal.Evaluations), strconv.Itoa(cal.ProbeN), f4(cal.WeightScale)}}})
	}
}

func lossesPart(doc *report.Document, runs []*RunData) {
	if len(runs) == 0 {
		return
	}
	var panels []report.Panel
	for _, d := range runs {
		l := d.Spec.Params.Loss
		p := report.Panel{Title: l, XLabel: "training step", YLabel: "E_f and its bounds", LogY: true}
		p.Series = append(p.Series, line("E_f", "E_f", d.NSample, fittingError),
			line("lower bound (B)", "lower bound", d.NSample, lowerB))
		if len(d.NSample) > 0 && d.NSample[0].bound("C") != nil && d.NSample[0].bound("C").Valid {
			p.Series = append(p.Series, line("upper bound (C)", "upper bound", d.NSample, upperC))
		} else {
			p.Title += " (no upper bound (C) exists, THEORY §3)"
		}
		panels = append(panels, p)
	}
	doc.Figures = append(doc.Figures, report.Figure{Name: figLosses, Title: "E_f between its bounds for four Fenchel-Young losses (P1)", Panels: panels})
}

func dynamicsPart(doc *report.Document, runs []*RunData) {
	if len(runs) == 0 {
		return
	}
	d := runs[0]
	spec := func(r *ProbeRecord) *structural.Spectrum { return r.hs() }
	if len(d.NSample) > 0 && d.NSample[0].HS == nil {
		spec = func(r *ProbeRecord) *structural.Spectrum { return spectrumOrMissing(r.H) }
	}
	pFit := report.Panel{Title: "E_f between bounds (B) and (C)", XLabel: "training step", YLabel: "E_f", LogY: true,
		Series: []report.Series{line("E_f", "E_f", d.NSample, fittingError), line("lower bound (B)", "lower bound", d.NSample, lowerB),
			line("upper bound (C)", "upper bound", d.NSample, upperC)}}
	pGrad := report.Panel{Title: "gradient norm", XLabel: "training step", YLabel: "‖∇R‖", LogY: true,
		Series: []report.Series{line("‖∇R‖", "grad", d.NSample, gradNorm)}}
	pSpec := report.Panel{Title: "spectrum of H_S", XLabel: "training step", YLabel: "eigenvalue", LogY: true,
		Series: []report.Series{line("λ_min", "lambda_min", d.NSample, func(r *ProbeRecord) float64 { return spec(r).Min }),
			line("λ_max", "lambda_max", d.NSample, func(r *ProbeRecord) float64 { return spec(r).Max })}}
	doc.Figures = append(doc.Figures, report.Figure{Name: figDynamics, Title: "Training dynamics of Model a (P6)", Panels: []report.Panel{pFit, pGrad, pSpec}, Columns: 3})
}
