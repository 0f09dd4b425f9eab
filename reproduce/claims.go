package reproduce

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/stats"
	"github.com/fenchel-ml/fenchel/structural"
)

// The thresholds of docs/CLAIMS.md. They are the contract: never tuned
// after seeing results.
const (
	P2MinRhoInit     = 0.9  // ρ(width, λ_min/λ_mean at init) ≥
	P2MaxRhoFit      = -0.9 // ρ(width, final E_f) ≤
	P2MinWidths      = 6
	P3RankFraction   = 0.5  // rank(H_S) at init ≤ ½·n(K−1)
	P3FitRatio       = 10   // E_f(symmetric) ≥ 10·E_f(pytorch)
	P3GradFall       = 0.1  // final ‖∇R‖ ≤ 0.1·initial, symmetric
	P3MaxRhoEps      = -0.8 // ρ(ε, final E_f) ≤
	P5MaxSlope       = -0.25
	P6GradFall       = 10 // ‖∇R‖ falls by ≥ 10×
	P6MinRho         = 0.8
	INDMinFraction   = 0.75 // of the models: global Pearson(log₂F, log₂R) > 0
	notRunNoRuns     = "no finished runs"
	figIndicator     = "indicator_curves"
	figIndicatorLoc  = "indicator_local"
	figDepth         = "depth"
	figWidth         = "width"
	figConcentration = "width_concentration"
	figInit          = "init"
	figLosses        = "losses"
	figDynamics      = "dynamics"
)

func notRun(id, statement, threshold, why string) report.Claim {
	return report.Claim{ID: id, Statement: statement, Threshold: threshold, Status: report.StatusNotRun, Measured: why}
}

func verdict(ok bool) report.Status {
	if ok {
		return report.StatusPass
	}
	return report.StatusFail
}

// leRel is a ≤ b up to structural.BoundRelTol relative (an infinite b
// always holds): the engine's test without its rounding floors.
func leRel(a, b float64) bool { return structural.LessEq(a, b, 0) }

// BoundViolations counts the bounds of one probe record that fail: the
// engine's own verdict (holds, which uses its rounding floors for the Gram
// terms) and an independent re-check of the links the engine checks without
// a floor: (B) middle ≤ value, (C) value ≤ middle ≤ upper. (C) is checked only
// where it exists (valid).
func BoundViolations(r *ProbeRecord) int {
	bad := 0
	for _, name := range []string{"A", "B", "C", "Cr"} {
		b := r.bound(name)
		if b == nil || ((name == "C" || name == "Cr") && !b.Valid) {
			continue
		}
		ok := b.Holds
		switch name {
		case "B":
			ok = ok && leRel(b.Middle, b.Value)
		case "C", "Cr":
			if !math.IsNaN(b.Middle) {
				ok = ok && leRel(b.Value, b.Middle) && leRel(b.Middle, b.Upper)
			} else {
				ok = ok && leRel(b.Value, b.Upper)
			}
		}
		if !ok {
			bad++
		}
	}
	return bad
}

// ClaimP1 checks bounds (A)(B)(C) on every probe record of every run.
func ClaimP1(runs []*RunData) report.Claim {
	const st = "P1 sandwich: bounds (A), (B), (C where it exists) hold at every probe of every run"
	const th = "0 violations beyond relative 1e-6, ≥ 1 probe"
	probes, bad := 0, 0
	var where []string
	for _, d := range runs {
		for i := range d.NSample {
			probes++
			if v := BoundViolations(&d.NSample[i]); v > 0 {
				bad += v
				where = append(where, fmt.Sprintf("%s@%v", d.Spec.ID, d.NSample[i].Step))
			}
		}
	}
	if probes == 0 {
		return notRun("P1", st, th, notRunNoRuns)
	}
	m := fmt.Sprintf("%d violations in %d probes of %d runs", bad, probes, len(runs))
	if len(where) > 0 {
		m += " (" + strings.Join(where[:min(5, len(where))], ", ") + ")"
	}
	return report.Claim{ID: "P1", Statement: st, Threshold: th, Measured: m, Status: verdict(bad == 0),
		Figure: figDynamics, Numbers: map[string]float64{"violations": float64(bad), "probes": float64(probes)}}
}

// widthPoint aggregates the seeds of one (family, width).
type widthPoint struct {
	family           string
	width, params    int
	floorInit        []float64 // λ_min/λ_mean of H_S at init, per seed
	floorEnd         []float64
	fitEnd           []float64
	lminPerP         []float64 // λ_min(H_S)/P at init, per seed
	lminInit, lmeanI []float64
}

func widthPoints(runs []*RunData) map[string][]*widthPoint {
	by := map[string]map[int]*widthPoint{}
	for _, d := range runs {
		f, l := d.First(), d.Last()
		if f == nil {
			continue
		}
		p := d.Spec.Params
		if by[p.Family] == nil {
			by[p.Family] = map[int]*widthPoint{}
		}
		w := by[p.Family][p.Width]
		if w == nil {
			w = &widthPoint{family: p.Family, width: p.Width, params: f.P}
			by[p.Family][p.Width] = w
		}
		w.floorInit = append(w.floorInit, f.hs().NormFloor)
		w.floorEnd = append(w.floorEnd, l.hs().NormFloor)
		w.fitEnd = append(w.fitEnd, l.FittingError)
		w.lminPerP = append(w.lminPerP, f.hs().Min/float64(f.P))
	}
	out := map[string][]*widthPoint{}
	for fam, m := range by {
		for _, w := range m {
			out[fam] = append(out[fam], w)
		}
		sort.Slice(out[fam], func(i, j int) bool { return out[fam][i].width < out[fam][j].width })
	}
	return out
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// relSpread is the sample standard deviation over the mean.
func relSpread(v []float64) float64 {
	m := mean(v)
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s/float64(len(v)-1)) / math.Abs(m)
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// ClaimP2 checks that the normalised λ_min at init rises and the final E_f
// falls with width, per family.
func ClaimP2(runs []*RunData) report.Claim { return claimP2(runs, P2MinWidths) }

func claimP2(runs []*RunData, minWidths int) report.Claim {
	const st = "P2 width: λ_min(H_S)/λ_mean at init rises and final E_f falls with width"
	th := fmt.Sprintf("per family over ≥ %d widths: ρ(width, λ_min/λ_mean at init) ≥ %g and ρ(width, final E_f) ≤ %g", minWidths, P2MinRhoInit, P2MaxRhoFit)
	pts := widthPoints(runs)
	if len(pts) == 0 {
		return notRun("P2", st, th, notRunNoRuns)
	}
	ok := true
	nums := map[string]float64{}
	var parts []string
	for _, fam := range sortedKeys(pts) {
		ws := pts[fam]
		var w, fi, fe, ef []float64
		for _, p := range ws {
			w = append(w, float64(p.width))
			fi = append(fi, mean(p.floorInit))
			fe = append(fe, mean(p.floorEnd))
			ef = append(ef, mean(p.fitEnd))
		}
		rInit, e1 := spearman(w, fi)
		rFit, e2 := spearman(w, ef)
		rEnd, _ := spearman(w, fe)
		good := e1 == nil && e2 == nil && len(ws) >= minWidths && rInit >= P2MinRhoInit && rFit <= P2MaxRhoFit
		ok = ok && good
		nums[fam+"_rho_init"], nums[fam+"_rho_fit"], nums[fam+"_rho_after_budget"] = rInit, rFit, rEnd
		nums[fam+"_widths"] = float64(len(ws))
		parts = append(parts, fmt.Sprintf("%s: %d widths, ρ_init %.3f, ρ_Ef %.3f (ρ after budget %.3f)", fam, len(ws), rInit, rFit, rEnd))
	}
	return report.Claim{ID: "P2", Statement: st, Threshold: th, Measured: strings.Join(parts, "; "),
		Status: verdict(ok), Figure: figWidth, Numbers: nums}
}

// spearman is stats.Spearman that returns NaN with its error.
func spearman(x, y []float64) (float64, error) {
	r, err := stats.Spearman(x, y)
	if err != nil {
		return math.NaN(), err
	}
	return r, nil
}

// ClaimP5 fits the relative seed spread of λ_min(H_S)/P against P on log axes.
func ClaimP5(runs []*RunData) (report.Claim, []float64, []float64, float64, float64) {
	const st = "P5 concentration: the relative seed spread of λ_min(H_S)/P shrinks with P"
	th := fmt.Sprintf("slope of log spread on log P ≤ %g", P5MaxSlope)
	var ps, sp []float64
	for _, fam := range sortedKeys(widthPoints(runs)) {
		for _, p := range widthPoints(runs)[fam] {
			if len(p.lminPerP) >= 2 {
				ps = append(ps, float64(p.params))
				sp = append(sp, relSpread(p.lminPerP))
			}
		}
	}
	if len(ps) < 2 {
		return notRun("P5", st, th, "fewer than 2 widths with ≥ 2 seeds"), nil, nil, 0, 0
	}
	slope, icpt, r2, err := stats.LogLogSlope(ps, sp)
	if err != nil {
		c := report.Claim{ID: "P5", Statement: st, Threshold: th, Status: report.StatusFail, Figure: figConcentration,
			Measured: "slope undefined: " + err.Error()}
		return c, ps, sp, math.NaN(), math.NaN()
	}
	c := report.Claim{ID: "P5", Statement: st, Threshold: th, Status: verdict(slope <= P5MaxSlope), Figure: figConcentration,
		Measured: fmt.Sprintf("slope %.3f (r² %.2f) over %d (family, width) points", slope, r2, len(ps)),
		Numbers:  map[string]float64{"slope": slope, "r2": r2, "points": float64(len(ps))}}
	return c, ps, sp, slope, icpt
}

// ClaimP3 checks rank collapse at symmetric init and the ε interpolation.
func ClaimP3(runs []*RunData) report.Claim {
	const st = "P3 independence: symmetric init collapses rank(H_S), stalls with small ‖∇R‖ and large E_f; noise ε interpolates"
	th := fmt.Sprintf("rank ≤ %g·n(K−1) and λ_min ≤ rank tol at init; E_f,sym ≥ %g·E_f,pytorch; ‖∇R‖ final ≤ %g·initial; ρ(ε, E_f) ≤ %g",
		P3RankFraction, float64(P3FitRatio), P3GradFall, P3MaxRhoEps)
	var sym, ref *RunData
	var eps, fit []float64
	for _, d := range runs {
		if d.First() == nil {
			continue
		}
		switch d.Spec.Params.Scheme {
		case initializer.Symmetric:
			sym = d
			eps, fit = append(eps, 0), append(fit, d.Last().FittingError)
		case initializer.PyTorch:
			ref = d
		case initializer.SymmetricNoise:
			eps, fit = append(eps, d.Spec.Params.Eps), append(fit, d.Last().FittingError)
		}
	}
	if sym == nil || ref == nil {
		return notRun("P3", st, th, "needs the symmetric and pytorch runs")
	}
	f, l := sym.First(), sym.Last()
	n, K := float64(f.N), float64(f.K)
	rank, lmin, lmax, tol := f.hsRank(), f.hs().Min, f.hs().Max, f.hs().RankTol
	fitSym, fitRef := l.FittingError, ref.Last().FittingError
	g0, g1 := f.GradNorm, l.GradNorm
	rho, err := spearman(eps, fit)
	a := rank >= 0 && rank <= P3RankFraction*n*(K-1) && lmin <= tol*lmax
	b := fitSym >= P3FitRatio*fitRef
	c := g1 <= P3GradFall*g0
	d := err == nil && rho <= P3MaxRhoEps
	m := fmt.Sprintf("rank %g of n(K−1) = %g, λ_min %.3g (tol·λ_max %.3g) [%s]; E_f sym %.4g vs pytorch %.4g = %.1f× [%s]; ‖∇R‖ %.3g → %.3g [%s]; ρ(ε, E_f) %.3f over %d levels [%s]",
		rank, n*(K-1), lmin, tol*lmax, pf(a), fitSym, fitRef, fitSym/fitRef, pf(b), g0, g1, pf(c), rho, len(eps), pf(d))
	return report.Claim{ID: "P3", Statement: st, Threshold: th, Measured: m, Status: verdict(a && b && c && d), Figure: figInit,
		Numbers: map[string]float64{"rank": rank, "lambda_min": lmin, "fit_sym": fitSym, "fit_pytorch": fitRef,
			"grad_init": g0, "grad_final": g1, "rho_eps": rho}}
}

func pf(ok bool) string {
	if ok {
		return "ok"
	}
	return "fails"
}

// ClaimP4 compares skip on and off at the deepest depth of each family.
func ClaimP4(runs []*RunData) report.Claim {
	const st = "P4 skips: at the deepest settings, skip on has larger normalised λ_min(H_S) at init and lower final E_f"
	const th = "both strict inequalities, every family run"
	type key struct {
		fam   string
		depth int
		skip  bool
	}
	by := map[key]*RunData{}
	deepest := map[string]int{}
	for _, d := range runs {
		if d.First() == nil {
			continue
		}
		p := d.Spec.Params
		by[key{p.Family, p.Depth, p.Skip}] = d
	}
	for k := range by {
		if by[key{k.fam, k.depth, !k.skip}] != nil && k.depth > deepest[k.fam] {
			deepest[k.fam] = k.depth
		}
	}
	if len(deepest) == 0 {
		return notRun("P4", st, th, "no depth with both skip settings")
	}
	ok := true
	nums := map[string]float64{}
	var parts []string
	for _, fam := range sortedKeys(deepest) {
		k := deepest[fam]
		on, off := by[key{fam, k, true}], by[key{fam, k, false}]
		fOn, fOff := on.First().hs().NormFloor, off.First().hs().NormFloor
		eOn, eOff := on.Last().FittingError, off.Last().FittingError
		good := fOn > fOff && eOn < eOff
		ok = ok && good
		nums[fam+"_floor_skip"], nums[fam+"_floor_noskip"], nums[fam+"_fit_skip"], nums[fam+"_fit_noskip"] = fOn, fOff, eOn, eOff
		parts = append(parts, fmt.Sprintf("%s k=%d: λ_min/λ_mean %.3g vs %.3g, E_f %.4g vs %.4g [%s]", fam, k, fOn, fOff, eOn, eOff, pf(good)))
	}
	return report.Claim{ID: "P4", Statement: st, Threshold: th, Measured: strings.Join(parts, "; "), Status: verdict(ok),
		Figure: figDepth, Numbers: nums}
}

// ClaimP6 checks the dynamics run.
func ClaimP6(runs []*RunData) report.Claim {
	const st = "P6 dynamics: ‖∇R‖ falls, E_f stays within its bounds, and late E_f follows ‖∇R‖²"
	th := fmt.Sprintf("‖∇R‖ falls ≥ %g×; 0 bound violations; second half ρ(log E_f, log ‖∇R‖²) ≥ %g", float64(P6GradFall), P6MinRho)
	if len(runs) == 0 || len(runs[0].NSample) < 3 {
		return notRun("P6", st, th, notRunNoRuns)
	}
	d := runs[0]
	g0, g1 := d.First().GradNorm, d.Last().GradNorm
	bad := 0
	for i := range d.NSample {
		bad += BoundViolations(&d.NSample[i])
	}
	last := float64(d.Last().Step)
	var le, lg []float64
	for _, r := range d.NSample {
		if float64(r.Step) >= last/2 {
			le = append(le, math.Log(r.FittingError))
			g := r.GradNorm
			lg = append(lg, math.Log(g*g))
		}
	}
	rho, err := spearman(le, lg)
	a, b, c := g1*P6GradFall <= g0, bad == 0, err == nil && rho >= P6MinRho
	m := fmt.Sprintf("‖∇R‖ %.3g → %.3g (%.1f×) [%s]; %d violations in %d probes [%s]; ρ %.3f over %d late probes [%s]",
		g0, g1, g0/g1, pf(a), bad, len(d.NSample), pf(b), rho, len(le), pf(c))
	return report.Claim{ID: "P6", Statement: st, Threshold: th, Measured: m, Status: verdict(a && b && c), Figure: figDynamics,
		Numbers: map[string]float64{"grad_init": g0, "grad_final": g1, "violations": float64(bad), "rho_late": rho}}
}

// indicatorStats are the correlations of one per-image run (THEORY §5).
type indicatorStats struct {
	model                            string
	n                                int
	pearsonF, pearsonG, pearsonKappa float64 // global Pearson with log₂R
	pearsonLossA                     float64 // log₂ of the loss on x_a with log₂R
	localF                           []float64
	localSteps                       []float64
	localMeanF, localMeanG           float64
}

func indicatorOf(d *RunData, window int) indicatorStats {
	s := indicatorStats{model: d.Spec.Params.Family}
	var f, g, k, la, r, steps []float64
	for _, rec := range d.PerImage {
		v := []float64{float64(rec.Log2F), float64(rec.Log2G), float64(rec.Log2Kappa), math.Log2(float64(rec.LossA)), float64(rec.Log2R)}
		finite := true
		for _, x := range v {
			finite = finite && !math.IsNaN(x) && !math.IsInf(x, 0)
		}
		if !finite {
			continue
		}
		f, g, k, la, r = append(f, v[0]), append(g, v[1]), append(k, v[2]), append(la, v[3]), append(r, v[4])
		steps = append(steps, float64(rec.Step))
	}
	s.n = len(r)
	pearson := func(x []float64) float64 {
		v, err := stats.Pearson(x, r)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	s.pearsonF, s.pearsonG, s.pearsonKappa, s.pearsonLossA = pearson(f), pearson(g), pearson(k), pearson(la)
	s.localMeanF, s.localMeanG = math.NaN(), math.NaN()
	w := min(window, len(r))
	if w >= 2 {
		if loc, err := stats.SlidingPearson(f, r, w); err == nil {
			s.localF = loc
			for i := range loc {
				s.localSteps = append(s.localSteps, steps[i+w-1])
			}
			s.localMeanF = nanMean(loc)
		}
		if loc, err := stats.SlidingPearson(g, r, w); err == nil {
			s.localMeanG = nanMean(loc)
		}
	}
	return s
}

func nanMean(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// ClaimIndicator checks the per-image protocol: global Pearson(log₂F, log₂R) > 0.
func ClaimIndicator(all []indicatorStats) report.Claim {
	const st = "IND (THEORY §5): log₂F tracks log₂R along training, per image"
	th := fmt.Sprintf("global Pearson(log₂F, log₂R) > 0 for ≥ %g of the models (3 of 4)", INDMinFraction)
	if len(all) == 0 {
		return notRun("IND", st, th, notRunNoRuns)
	}
	pos := 0
	nums := map[string]float64{}
	var parts []string
	for _, s := range all {
		if s.pearsonF > 0 {
			pos++
		}
		nums["model_"+s.model+"_pearson"] = s.pearsonF
		parts = append(parts, fmt.Sprintf("%s %.3f", s.model, s.pearsonF))
	}
	need := int(math.Ceil(INDMinFraction * float64(len(all))))
	return report.Claim{ID: "IND", Statement: st, Threshold: th, Status: verdict(pos >= need), Figure: figIndicator,
		Measured: fmt.Sprintf("%d of %d positive (%s)", pos, len(all), strings.Join(parts, ", ")), Numbers: nums}
}
