package structural

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// The trend diagnosis of THEORY §7: one probe cannot tell a run that is
// still fitting from one that has stalled (both can show a large E_f and a
// small ‖∇R‖), so the verdict reads the probe history: E_f and ‖∇R‖ over the
// last probes, their rates, and the spectrum of the latest probe.

// Trend states.
const (
	TrendFitting     = "still fitting"
	TrendOptimum     = "near a global optimum"
	TrendStalled     = "stalled at a non-global stationary point"
	TrendNoGuarantee = "no guarantee"
)

// Defaults of TrendOptions.
const (
	// DefaultTrendWindow is the number of latest probes the rates are
	// measured over.
	DefaultTrendWindow = 3
	// DefaultTrendHorizon: a run is still fitting when, at its current rate,
	// E_f reaches FitTol within Horizon × the steps taken so far. Softmax
	// E_f late in training decays like 1/t, for which the projected time is
	// t·ln(E_f/FitTol), so 10 accepts a 1/t decay from up to e^10·FitTol.
	DefaultTrendHorizon = 10
	// DefaultTrendGradFall: the gradient counts as small once it has fallen
	// this many times below its largest value in the history (the "falls"
	// of THEORY §4 P3, P6).
	DefaultTrendGradFall = 10
)

// TrendOptions tunes DiagnoseTrend; the zero value gives the defaults.
type TrendOptions struct {
	FitTol   float64 // E_f called small (DefaultFitTol)
	Window   int     // DefaultTrendWindow
	Horizon  float64 // DefaultTrendHorizon
	GradFall float64 // DefaultTrendGradFall
}

func (o *TrendOptions) fill() error {
	if o.FitTol == 0 {
		o.FitTol = DefaultFitTol
	}
	if o.Window == 0 {
		o.Window = DefaultTrendWindow
	}
	if o.Horizon == 0 {
		o.Horizon = DefaultTrendHorizon
	}
	if o.GradFall == 0 {
		o.GradFall = DefaultTrendGradFall
	}
	switch {
	case !(o.FitTol > 0):
		return fmt.Errorf("structural: trend options: FitTol = %v, must be positive", o.FitTol)
	case o.Window < 2:
		return fmt.Errorf("structural: trend options: Window = %d, want ≥ 2 probes", o.Window)
	case !(o.Horizon > 0):
		return fmt.Errorf("structural: trend options: Horizon = %v, must be positive", o.Horizon)
	case !(o.GradFall > 1):
		return fmt.Errorf("structural: trend options: GradFall = %v, must exceed 1", o.GradFall)
	}
	return nil
}

// ProbePoint is what the trend diagnosis needs of one probe.
type ProbePoint struct {
	Step                      int
	N, P                      int
	FittingError, GradNorm    float64
	Spectrum                  Spectrum // H_S (simplex losses) or H (squared)
	SpectrumName              string   // "H_S" or "H"
	Upper                     float64  // tightest upper bound on E_f from (C), (C_r); +Inf when none is finite
	UpperExists               bool     // whether (C) exists for the loss
	DeadUnits, DuplicateUnits int
	HiddenUnits               int
}

// PointOf extracts the ProbePoint of a report measured after step steps.
func PointOf(step int, rep *Report) ProbePoint {
	pt := ProbePoint{Step: step, N: rep.N, P: rep.P, FittingError: rep.FittingError, GradNorm: rep.GradNorm,
		Upper: math.Inf(1), DeadUnits: rep.DeadUnits, DuplicateUnits: rep.DuplicateUnits, HiddenUnits: rep.HiddenUnits}
	if rep.HS != nil {
		pt.Spectrum, pt.SpectrumName = *rep.HS, "H_S"
	} else if rep.H != nil {
		pt.Spectrum, pt.SpectrumName = *rep.H, "H"
	}
	pt.Spectrum.Values = nil
	for _, b := range rep.Bounds {
		if (b.Name == "C" || b.Name == "Cr") && b.Valid {
			pt.UpperExists = true
			pt.Upper = math.Min(pt.Upper, b.Upper)
		}
	}
	return pt
}

// Trend is the verdict on a probe history, with the numbers behind it.
type Trend struct {
	State string // one of the Trend* constants
	// Certificate says what certifies TrendOptimum: "(C)" when an upper
	// bound is ≤ FitTol, "E_f" when only the measured E_f is (its infimum is
	// 0, so a small E_f is itself the distance to the optimum).
	Certificate string
	// Reason names the cause of a stall ("H_S rank-deficient", "H_S
	// ill-conditioned") or why nothing is guaranteed.
	Reason string
	// Window is the number of probes the rates use, Steps the steps they span.
	Window, Steps int
	// FitFall and GradFall are E_f and ‖∇R‖ at the window's first probe over
	// their values at the last; GradFallMax is the largest ‖∇R‖ of the whole
	// history over the last.
	FitFall, GradFall, GradFallMax float64
	// FitRate is −d ln E_f/d step over the window; StepsToTol the projected
	// steps until E_f ≤ FitTol at that rate (+Inf when E_f is not falling).
	FitRate, StepsToTol float64
	Text                string
}

// DiagnoseTrend reads the probe history (ascending steps, latest last).
func DiagnoseTrend(history []ProbePoint, o TrendOptions) (Trend, error) {
	if err := o.fill(); err != nil {
		return Trend{}, err
	}
	if len(history) == 0 {
		return Trend{}, errors.New("structural: trend: empty probe history")
	}
	for i := 1; i < len(history); i++ {
		if history[i].Step <= history[i-1].Step {
			return Trend{}, fmt.Errorf("structural: trend: probe %d at step %d does not follow step %d", i, history[i].Step, history[i-1].Step)
		}
	}
	last := history[len(history)-1]
	w := min(o.Window, len(history))
	first := history[len(history)-w]
	t := Trend{Window: w, Steps: last.Step - first.Step, FitFall: math.NaN(), GradFall: math.NaN(),
		FitRate: math.NaN(), StepsToTol: math.NaN()}
	gmax := 0.0
	for _, h := range history {
		gmax = math.Max(gmax, h.GradNorm)
	}
	t.GradFallMax = ratio(gmax, last.GradNorm)
	if w >= 2 {
		t.FitFall, t.GradFall = ratio(first.FittingError, last.FittingError), ratio(first.GradNorm, last.GradNorm)
		t.FitRate = math.Log(t.FitFall) / float64(t.Steps)
		t.StepsToTol = math.Inf(1)
		if t.FitRate > 0 {
			t.StepsToTol = math.Max(0, math.Log(last.FittingError/o.FitTol)/t.FitRate)
		}
	}
	sp := last.Spectrum
	name := last.SpectrumName
	spec := fmt.Sprintf("%s: λ_min = %.3g, λ_max = %.3g, λ_min/λ_mean = %.3g", name, sp.Min, sp.Max, sp.NormFloor)
	if sp.Rank >= 0 {
		spec += fmt.Sprintf(", rank %d of %d", sp.Rank, sp.Dim)
	}
	rates := "one probe, no trend yet"
	if w >= 2 {
		rates = fmt.Sprintf("over the last %d probes (%d steps) %s and %s; %s from its largest value",
			w, t.Steps, change("E_f", t.FitFall), change("‖∇R‖", t.GradFall), change("‖∇R‖", t.GradFallMax))
	}
	upper := "no upper bound exists for this loss"
	if last.UpperExists {
		upper = "the upper bound (C) is infinite"
		if !math.IsInf(last.Upper, 1) {
			upper = fmt.Sprintf("(C) gives E_f ≤ %.3g", last.Upper)
		}
	}
	units := unitNotes(last, sp)

	nf := float64(max(last.N, 1))
	// The snapshot test of diagnose: the gradient would certify E_f ≤ FitTol
	// if H were as well conditioned as its mean eigenvalue allows.
	gradMeasure := nf / 2 * last.GradNorm * last.GradNorm / sp.Mean
	snapshotSmall := sp.Mean > 0 && gradMeasure <= o.FitTol
	switch {
	case last.FittingError <= o.FitTol:
		t.State, t.Certificate = TrendOptimum, "E_f"
		if last.Upper <= o.FitTol {
			t.Certificate = "(C)"
			t.Text = fmt.Sprintf("near a global optimum, certified by (C): E_f = %.3g ≤ %.3g ≤ %g", last.FittingError, last.Upper, o.FitTol)
		} else {
			t.Text = fmt.Sprintf("near a global optimum, certified by E_f itself: E_f = %.3g ≤ %g (its infimum is 0); %s", last.FittingError, o.FitTol, upper)
		}
	case w < 2:
		t.State, t.Reason = TrendNoGuarantee, "first probe: no trend yet"
		t.Text = fmt.Sprintf("no guarantee yet: E_f = %.3g, ‖∇R‖ = %.3g at the first probe (one probe cannot tell a fitting run from a stationary point); %s", last.FittingError, last.GradNorm, upper)
	case t.FitRate > 0 && t.StepsToTol <= o.Horizon*float64(max(last.Step, t.Steps)):
		t.State = TrendFitting
		t.Text = fmt.Sprintf("still fitting: E_f = %.3g, %s; at this rate E_f reaches %g in about %.0f more steps", last.FittingError, rates, o.FitTol, t.StepsToTol)
	case t.GradFallMax >= o.GradFall || snapshotSmall:
		t.State = TrendStalled
		if sp.Singular() {
			t.Reason = name + " rank-deficient"
		} else {
			t.Reason = name + " ill-conditioned"
		}
		t.Text = fmt.Sprintf("stalled at a non-global stationary point (%s): E_f = %.3g stays large (projected %.3g steps to %g) while ‖∇R‖ = %.3g is small ((n/2)‖∇R‖²/λ_mean = %.3g); %s; %s",
			t.Reason, last.FittingError, t.StepsToTol, o.FitTol, last.GradNorm, gradMeasure, rates, spec)
	default:
		t.State, t.Reason = TrendNoGuarantee, "E_f neither small nor falling fast enough, gradient not small"
		t.Text = fmt.Sprintf("no guarantee: E_f = %.3g is neither small nor falling fast enough (projected %.3g steps to %g) and ‖∇R‖ = %.3g is not small: %s; %s",
			last.FittingError, t.StepsToTol, o.FitTol, last.GradNorm, rates, spec)
	}
	if units != "" {
		t.Text += "; " + units
	}
	return t, nil
}

// unitNotes names what degrades the spectrum: too few parameters, duplicate
// or dead hidden units.
func unitNotes(pt ProbePoint, sp Spectrum) string {
	var s []string
	if pt.P > 0 && pt.P < sp.Dim {
		s = append(s, fmt.Sprintf("too few parameters: P = %d < %d", pt.P, sp.Dim))
	}
	if pt.DuplicateUnits > 0 {
		s = append(s, fmt.Sprintf("%d of %d hidden units duplicate an earlier unit (%d distinct)", pt.DuplicateUnits, pt.HiddenUnits, pt.HiddenUnits-pt.DuplicateUnits))
	}
	if pt.DeadUnits > 0 {
		s = append(s, fmt.Sprintf("dead ReLUs: %d of %d hidden units never active on the probe", pt.DeadUnits, pt.HiddenUnits))
	}
	return strings.Join(s, "; ")
}

// change says how a quantity moved by the factor f = before/after.
func change(name string, f float64) string {
	switch {
	case math.IsNaN(f):
		return name + " not measured"
	case f >= 1:
		return fmt.Sprintf("%s fell %.3g×", name, f)
	}
	return fmt.Sprintf("%s rose %.3g×", name, 1/f)
}
