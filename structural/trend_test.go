package structural

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// history builds probe points every `every` steps from E_f and ‖∇R‖ lists,
// all with the spectrum sp.
func history(every int, ef, grad []float64, sp Spectrum, upper float64) []ProbePoint {
	var h []ProbePoint
	for i := range ef {
		h = append(h, ProbePoint{Step: i * every, N: 100, P: 50890, FittingError: ef[i], GradNorm: grad[i],
			Spectrum: sp, SpectrumName: "H_S", Upper: upper, UpperExists: true, HiddenUnits: 64})
	}
	return h
}

var (
	fullRank  = Spectrum{Dim: 900, Min: 7, Max: 4e4, Mean: 600, Rank: 900, RankTol: DefaultRankTol, NormFloor: 7.0 / 600}
	collapsed = Spectrum{Dim: 900, Min: -1e-11, Max: 9e4, Mean: 500, Rank: 57, RankTol: DefaultRankTol, NormFloor: -2e-14}
)

func TestDiagnoseTrend(t *testing.T) {
	// The fitting GD run of MLP 784-256-10 on 100 images (lr 0.1, probe
	// every 20 steps): E_f 2.36 → 0.0053 in 200 steps.
	fitEf := []float64{2.361, 0.1588, 0.05018, 0.02704, 0.0179, 0.01317, 0.01031, 0.008426, 0.007092, 0.006104, 0.005345}
	fitGrad := []float64{2.04, 0.364, 0.141, 0.0817, 0.0564, 0.0425, 0.034, 0.0283, 0.0241, 0.0209, 0.0185}
	// Symmetric init under GD (all 64 hidden units identical): E_f creeps.
	symEf := []float64{2.303, 1.671, 1.55, 1.489, 1.443}
	symGrad := []float64{0.192, 0.167, 0.105, 0.0726, 0.0623}
	for _, tc := range []struct {
		name       string
		h          []ProbePoint
		state      string
		contains   []string
		notContain string
	}{
		{"fitting run, step 100 (E_f 0.013 falling)", history(20, fitEf[:6], fitGrad[:6], fullRank, 5e4), TrendFitting, []string{"still fitting", "more steps"}, "stalled"},
		{"fitting run, step 200", history(20, fitEf, fitGrad, fullRank, 5e4), TrendOptimum, []string{"certified by E_f itself", "(C) gives E_f ≤ 5e+04"}, ""},
		{"certified by (C)", history(20, fitEf, fitGrad, fullRank, 0.008), TrendOptimum, []string{"certified by (C)"}, ""},
		{"symmetric init", history(250, symEf, symGrad, collapsed, math.Inf(1)), TrendStalled, []string{"H_S rank-deficient", "rank 57 of 900"}, ""},
		{"flat E_f, large gradient", history(100, []float64{1.3, 1.28, 1.27}, []float64{1, 0.98, 0.97}, fullRank, 10), TrendNoGuarantee, []string{"neither small nor falling"}, ""},
		{"ill-conditioned stall", history(100, []float64{1.3, 1.29, 1.289}, []float64{1, 0.05, 0.01}, fullRank, 10), TrendStalled, []string{"H_S ill-conditioned"}, ""},
		{"first probe", history(20, fitEf[:1], fitGrad[:1], fullRank, math.Inf(1)), TrendNoGuarantee, []string{"one probe cannot tell", "infinite"}, "stalled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := DiagnoseTrend(tc.h, TrendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tr.State != tc.state {
				t.Errorf("state %q, want %q: %s", tr.State, tc.state, tr.Text)
			}
			for _, c := range tc.contains {
				if !strings.Contains(tr.Text, c) {
					t.Errorf("text lacks %q: %s", c, tr.Text)
				}
			}
			if tc.notContain != "" && strings.Contains(tr.Text, tc.notContain) {
				t.Errorf("text contains %q: %s", tc.notContain, tr.Text)
			}
		})
	}
	// A run that fits is never called stalled at any probe.
	for i := range fitEf {
		tr, err := DiagnoseTrend(history(20, fitEf[:i+1], fitGrad[:i+1], fullRank, 5e4), TrendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tr.State == TrendStalled {
			t.Errorf("fitting run called stalled at step %d: %s", 20*i, tr.Text)
		}
	}
}

func TestDiagnoseTrendErrors(t *testing.T) {
	h := history(10, []float64{1, 0.5}, []float64{1, 0.5}, fullRank, 1)
	for _, tc := range []struct {
		name string
		h    []ProbePoint
		o    TrendOptions
		want string
	}{
		{"empty", nil, TrendOptions{}, "empty probe history"},
		{"steps out of order", []ProbePoint{h[1], h[0]}, TrendOptions{}, "does not follow"},
		{"window 1", h, TrendOptions{Window: 1}, "Window = 1"},
		{"negative tolerance", h, TrendOptions{FitTol: -1}, "FitTol = -1"},
		{"grad fall ≤ 1", h, TrendOptions{GradFall: 0.5}, "GradFall = 0.5"},
	} {
		if _, err := DiagnoseTrend(tc.h, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// A model with dead hidden units says so in its trend diagnosis, whatever
// the state.
func TestDiagnoseTrendDeadUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	model := mlp(rng, "relu", 6, 12, 4)
	first := model.Layers[0].(*nn.Dense[float64])
	const dead = 5
	for j := 0; j < dead; j++ {
		first.B.Value[j] = -1e3 // never active on N(0, 1) inputs
	}
	x := randomX(rng, 10, 6)
	l, _ := loss.New("softmax")
	rep, err := Analyze(model, Probe{X: x, Labels: randomLabels(rng, 10, 4)}, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DeadUnits != dead {
		t.Fatalf("test setup: %d dead units, want %d", rep.DeadUnits, dead)
	}
	a, b := PointOf(0, rep), PointOf(50, rep)
	b.FittingError, b.GradNorm = a.FittingError*0.999, a.GradNorm*0.01
	for _, h := range [][]ProbePoint{{a}, {a, b}} {
		tr, err := DiagnoseTrend(h, TrendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(tr.Text, "dead ReLUs: 5 of 12 hidden units") {
			t.Errorf("%s: text does not name the dead units: %s", tr.State, tr.Text)
		}
	}
}
