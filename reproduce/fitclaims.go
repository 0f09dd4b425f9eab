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

// The fit-regime thresholds of docs/CLAIMS.md ("The fit regime"): the same
// numbers as the paper regime's, with P2 over ≥ 9 widths. Never tuned after
// seeing results.
const (
	P2FitMinWidths = 9
	fitPrefix      = "[fit regime] "
)

// Fit-regime figure names.
const (
	figFitWidth         = "fit_width"
	figFitConcentration = "fit_width_concentration"
	figFitInit          = "fit_init"
	figFitDepth         = "fit_depth"
	figFitLosses        = "fit_losses"
	figFitDynamics      = "fit_dynamics"
	figFitSlack         = "fit_bound_slack"
)

// smokeNote is appended to a quick-mode claim: the same arithmetic on fewer
// and shorter runs, so a PASS there is a smoke check, not the verdict.
func smokeNote(runs []*RunData, what string) string {
	for _, d := range runs {
		if d.Spec.Mode != Full {
			return " — " + string(d.Spec.Mode) + " mode, only a smoke check: " + what
		}
	}
	return ""
}

// ClaimP2Fit is P2 on the fit-width runs (≥ P2FitMinWidths widths).
func ClaimP2Fit(runs []*RunData) report.Claim {
	c := claimP2(runs, P2FitMinWidths)
	c.Statement = fitPrefix + c.Statement
	c.Figure = figFitWidth
	if c.Status != report.StatusNotRun {
		c.Measured += smokeNote(runs, "one training seed per width and a 300-step budget on n = 50")
	}
	return c
}

// ClaimP3Fit is P3 on the fit-init runs: (a) also requires the rank
// collapse to persist after training.
func ClaimP3Fit(runs []*RunData) report.Claim {
	c := ClaimP3(runs)
	c.Statement, c.Figure = fitPrefix+c.Statement, figFitInit
	if c.Status == report.StatusNotRun {
		return c
	}
	var sym *RunData
	for _, d := range runs {
		if d.Spec.Params.Scheme == initializer.Symmetric && d.First() != nil {
			sym = d
		}
	}
	l := sym.Last()
	rankEnd, n, K := l.hsRank(), float64(l.N), float64(l.K)
	after := rankEnd >= 0 && rankEnd <= P3RankFraction*n*(K-1)
	distinct := l.HiddenUnits - l.DuplicateUnits
	c.Numbers["rank_end"] = rankEnd
	c.Numbers["distinct_units_end"] = float64(distinct)
	c.Measured = fmt.Sprintf("rank after training %g of %g, %d distinct of %d hidden units [%s]; final trend: %s; ",
		rankEnd, n*(K-1), distinct, l.HiddenUnits, pf(after), trendText(sym.lastTrend())) + c.Measured
	if !after {
		c.Status = report.StatusFail
	}
	c.Measured += smokeNote(runs, "a 400-step budget on n = 50")
	return c
}

// ClaimP4Fit is P4 on the fit-depth runs.
func ClaimP4Fit(runs []*RunData) report.Claim {
	c := ClaimP4(runs)
	c.Statement, c.Figure = fitPrefix+c.Statement, figFitDepth
	if c.Status != report.StatusNotRun {
		acc := ""
		for _, d := range runs {
			if d.Spec.Params.Family == "d" && d.Spec.Mode != Full {
				acc += fmt.Sprintf(" %s test accuracy %.2f;", d.Spec.ID, d.Summary.TestAccuracy)
			}
		}
		c.Measured += smokeNote(runs, "Model d at 30 GD steps on n = 10 ("+strings.TrimSuffix(strings.TrimSpace(acc), ";")+"), fewer depths")
	}
	return c
}

// ClaimP6Fit is P6 on the fit-dynamics run.
func ClaimP6Fit(runs []*RunData) report.Claim {
	c := ClaimP6(runs)
	c.Statement, c.Figure = fitPrefix+c.Statement, figFitDynamics
	if c.Status != report.StatusNotRun {
		states := map[string]int{}
		for _, t := range runs[0].Trends {
			states[t.State]++
		}
		var parts []string
		for _, s := range sortedKeys(states) {
			parts = append(parts, fmt.Sprintf("%s ×%d", s, states[s]))
		}
		c.Measured += "; trend diagnosis along the run: " + strings.Join(parts, ", ")
		c.Measured += smokeNote(runs, "n = 50")
	}
	return c
}

// ClaimP1Fit is P1 over every probe of every fit-regime run, (C_r) included.
func ClaimP1Fit(runs []*RunData) report.Claim {
	c := ClaimP1(runs)
	c.Statement = fitPrefix + "P1 sandwich: bounds (A), (B), (C) and (C_r) (where they exist) hold at every probe of every run"
	c.Figure = figFitDynamics
	return c
}

// drawPoint is one (family, width) of fit-concentration.
type drawPoint struct {
	family   string
	width, P int
	lminPerP []float64
	floor    []float64
}

func drawPoints(runs []*RunData) map[string][]drawPoint {
	out := map[string][]drawPoint{}
	for _, d := range runs {
		if len(d.Draws) == 0 {
			continue
		}
		p := drawPoint{family: d.Spec.Params.Family, width: d.Spec.Params.Width, P: d.Draws[0].P}
		for _, r := range d.Draws {
			p.lminPerP = append(p.lminPerP, r.HS.Min/float64(r.P))
			p.floor = append(p.floor, r.HS.NormFloor)
		}
		out[p.family] = append(out[p.family], p)
	}
	for f := range out {
		sort.Slice(out[f], func(i, j int) bool { return out[f][i].width < out[f][j].width })
	}
	return out
}

// ClaimP5Fit fits the relative spread over the initialisation-only draws of
// λ_min(H_S)/P against P on log axes.
func ClaimP5Fit(runs []*RunData) (report.Claim, []float64, []float64, float64, float64) {
	st := fitPrefix + "P5 concentration: the relative spread over initialisation draws of λ_min(H_S)/P shrinks with P"
	th := fmt.Sprintf("slope of log spread on log P ≤ %g (20 draws per width in full mode)", P5MaxSlope)
	var ps, sp []float64
	draws := 0
	for _, fam := range sortedKeys(drawPoints(runs)) {
		for _, p := range drawPoints(runs)[fam] {
			if len(p.lminPerP) >= 2 {
				ps, sp = append(ps, float64(p.P)), append(sp, relSpread(p.lminPerP))
				draws = len(p.lminPerP)
			}
		}
	}
	if len(ps) < 2 {
		return notRun("P5", st, th, "fewer than 2 widths with ≥ 2 draws"), nil, nil, 0, 0
	}
	slope, icpt, r2, err := stats.LogLogSlope(ps, sp)
	if err != nil {
		return report.Claim{ID: "P5", Statement: st, Threshold: th, Status: report.StatusFail, Figure: figFitConcentration,
			Measured: "slope undefined: " + err.Error()}, ps, sp, math.NaN(), math.NaN()
	}
	c := report.Claim{ID: "P5", Statement: st, Threshold: th, Status: verdict(slope <= P5MaxSlope), Figure: figFitConcentration,
		Measured: fmt.Sprintf("slope %.3f (r² %.2f) over %d (family, width) points, %d draws each", slope, r2, len(ps), draws) +
			smokeNote(runs, fmt.Sprintf("%d draws per width instead of 20", draws)),
		Numbers: map[string]float64{"slope": slope, "r2": r2, "points": float64(len(ps)), "draws": float64(draws)}}
	return c, ps, sp, slope, icpt
}

// slackStats summarises the bound slacks of the fit-regime probes
// (THEORY §7): how loose (C) is, which of its two steps makes the slack,
// and whether (C_r) is tighter.
type slackStats struct {
	probes, cFinite, cInfinite, cVacuous  int
	crFinite, crInfinite, crVacuous       int
	crTighter, crEqual                    int
	step1, step2, cSlack, crSlack, bSlack []float64
	gain                                  []float64 // (C) upper / (C_r) upper where both finite
}

func collectSlack(runs []*RunData) slackStats {
	var s slackStats
	for _, d := range runs {
		for i := range d.NSample {
			r := &d.NSample[i]
			c, cr := r.bound("C"), r.bound("Cr")
			if c == nil || !c.Valid || r.Loss != "softmax" {
				continue
			}
			s.probes++
			if b := r.bound("B"); b != nil && !math.IsNaN(b.LowerSlack) {
				s.bSlack = append(s.bSlack, b.LowerSlack)
			}
			if math.IsInf(c.Upper, 1) {
				s.cInfinite++
			} else {
				s.cFinite++
				s.cSlack = append(s.cSlack, c.UpperSlack)
				s.step2 = append(s.step2, c.Step2Slack)
			}
			s.step1 = append(s.step1, c.Step1Slack)
			if c.Vacuous {
				s.cVacuous++
			}
			if cr == nil || !cr.Valid {
				continue
			}
			if math.IsInf(cr.Upper, 1) {
				s.crInfinite++
			} else {
				s.crFinite++
				s.crSlack = append(s.crSlack, cr.UpperSlack)
			}
			if cr.Vacuous {
				s.crVacuous++
			}
			switch {
			case !math.IsInf(c.Upper, 1) && !math.IsInf(cr.Upper, 1):
				s.gain = append(s.gain, c.Upper/cr.Upper)
				if cr.Upper < c.Upper*(1-structural.BoundRelTol) {
					s.crTighter++
				} else {
					s.crEqual++
				}
			case math.IsInf(c.Upper, 1) && !math.IsInf(cr.Upper, 1):
				s.crTighter++
			default:
				s.crEqual++
			}
		}
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	w := append([]float64(nil), v...)
	sort.Float64s(w)
	if len(w)%2 == 1 {
		return w[len(w)/2]
	}
	return (w[len(w)/2-1] + w[len(w)/2]) / 2
}

func slackTable(s slackStats) report.Table {
	row := func(name string, v []float64, note string) []string {
		lo, hi := minMax(v)
		if len(v) == 0 {
			lo, hi = math.NaN(), math.NaN()
		}
		return []string{name, fmt.Sprint(len(v)), f4(median(v)), f4(lo), f4(hi), note}
	}
	return report.Table{
		Title:  "Bound slack over every softmax probe of the fit regime (THEORY §7): how far each bound sits from E_f",
		Header: []string{"ratio", "probes (finite)", "median", "min", "max", "note"},
		Rows: [][]string{
			row("(B) E_f / lower", s.bSlack, "lower bound (B)"),
			row("(C) upper / E_f", s.cSlack, fmt.Sprintf("(C) infinite at %d of %d probes, vacuous (≥ E_f of the uniform prediction, or infinite) at %d", s.cInfinite, s.probes, s.cVacuous)),
			row("(C) step 1: (χ²/n) / E_f  [KL ≤ χ²]", s.step1, "the divergence step"),
			row("(C) step 2: upper / (χ²/n)  [χ² ≤ n‖∇R‖²/λ_min(H_p)]", s.step2, "the spectral step (finite (C) only)"),
			row("(C_r) upper / E_f", s.crSlack, fmt.Sprintf("(C_r) infinite at %d, vacuous at %d", s.crInfinite, s.crVacuous)),
			row("(C) upper / (C_r) upper", s.gain, fmt.Sprintf("(C_r) strictly tighter at %d probes, equal (or both infinite) at %d", s.crTighter, s.crEqual)),
		}}
}
