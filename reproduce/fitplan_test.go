package reproduce

import (
	"slices"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
)

// The fit regime's plan (THEORY §7, docs/CLAIMS.md "The fit regime"):
// training set = probe set, full-batch GD without momentum at a constant
// step, float64; the width sweep, the draws of P5 and the init sweep have
// the sizes the claims need.
func TestFitRegimePlan(t *testing.T) {
	for _, m := range []Mode{Full, Quick, Tiny} {
		runs, err := Plan(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		widths := map[string][]int{}
		seeds := map[uint64]bool{}
		schemes := map[initializer.Scheme]bool{}
		var eps []float64
		draws := 0
		exps := map[string]bool{}
		for _, r := range runs {
			exps[r.Experiment] = true
			if (r.Regime == RegimeFit) != (ExperimentRegime(r.Experiment) == RegimeFit) || r.Regime == "" {
				t.Errorf("%s %s: regime %q", m, r.ID, r.Regime)
			}
			if r.Regime != RegimeFit {
				continue
			}
			c := r.Config
			if len(r.Hooks) != 1 {
				t.Fatalf("%s %s: hooks %v", m, r.ID, r.Hooks)
			}
			n := r.Hooks[0].N
			switch {
			case c.Optim.Name != "sgd" || c.Optim.Momentum != 0:
				t.Errorf("%s %s: optimiser %+v, want SGD without momentum", m, r.ID, c.Optim)
			case c.LRGamma != 1 || c.LRDecayEvery != 0:
				t.Errorf("%s %s: step size not constant (γ %g every %d)", m, r.ID, c.LRGamma, c.LRDecayEvery)
			case c.Batch != n || c.Data.NTrain != n:
				t.Errorf("%s %s: batch %d, training set %d, probe %d: want all equal (full batch on the probe set)", m, r.ID, c.Batch, c.Data.NTrain, n)
			case c.DType != "float64":
				t.Errorf("%s %s: dtype %s", m, r.ID, c.DType)
			case r.Hooks[0].Kind == HookNSample && r.InitDraws != 0:
				t.Errorf("%s %s: a training run with init draws", m, r.ID)
			}
			if m == Full && n < 100 {
				t.Errorf("full %s: n = %d, want ≥ 100", r.ID, n)
			}
			switch r.Experiment {
			case ExpFitWidth:
				if !slices.Contains(widths[r.Params.Family], r.Params.Width) {
					widths[r.Params.Family] = append(widths[r.Params.Family], r.Params.Width)
				}
				seeds[r.Params.Seed] = true
			case ExpFitConcentration:
				if r.Hooks[0].Kind != HookInitDraws {
					t.Errorf("%s %s: hook %s, want %s", m, r.ID, r.Hooks[0].Kind, HookInitDraws)
				}
				draws = r.InitDraws
			case ExpFitInit:
				schemes[r.Params.Scheme] = true
				if r.Params.Scheme == initializer.SymmetricNoise {
					eps = append(eps, r.Params.EpsRel)
				}
			}
		}
		for _, e := range Experiments() {
			if !exps[e] {
				t.Errorf("%s: experiment %s has no runs", m, e)
			}
		}
		if m == Tiny {
			continue
		}
		for _, fam := range []string{"mlp1", "mlp2"} {
			w := widths[fam]
			if len(w) < P2FitMinWidths || w[0] != 8 || w[len(w)-1] != 2048 || !slices.Contains(w, 16) || !slices.Contains(w, 64) || !slices.Contains(w, 256) {
				t.Errorf("%s %s: widths %v", m, fam, w)
			}
		}
		if m == Full && (len(seeds) < 3 || draws < 20) {
			t.Errorf("full: %d training seeds, %d init draws; want ≥ 3 and ≥ 20", len(seeds), draws)
		}
		for _, sc := range []initializer.Scheme{initializer.PyTorch, initializer.Uniform, initializer.KaimingUniform, initializer.XavierUniform,
			initializer.Normal, initializer.KaimingNormal, initializer.XavierNormal, initializer.Orthogonal, initializer.Symmetric} {
			if !schemes[sc] {
				t.Errorf("%s: fit-init lacks %s", m, sc)
			}
		}
		if len(eps) < 5 || !slices.IsSorted(eps) || eps[0] > 1e-5 || eps[len(eps)-1] < 1 {
			t.Errorf("%s: ε ladder %v does not span 10⁻⁵σ…σ", m, eps)
		}
	}
}

// The calibration of the fit regime matches its own probe (n of the fit
// regime), not the paper regime's.
func TestFitCalibrationRef(t *testing.T) {
	for _, m := range []Mode{Full, Quick} {
		s, _ := settingsFor(m)
		_, n, err := calibrationRef(m, ExpFitInit)
		if err != nil || n != s.fit.n {
			t.Errorf("%s: fit-init calibration probe %d (%v), want %d", m, n, err, s.fit.n)
		}
		_, n, err = calibrationRef(m, ExpInit)
		if err != nil || n != s.probeN {
			t.Errorf("%s: init calibration probe %d (%v), want %d", m, n, err, s.probeN)
		}
	}
}
