package reproduce

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
)

// planFit lists the runs of the fit-regime experiments (THEORY §7) that
// want selects: every run trains (or, fit-concentration, only initialises)
// on the first n training images with full-batch GD and probes exactly
// those n images.
func planFit(mode Mode, s settings, want func(string) bool) []RunSpec {
	f := s.fit
	var runs []RunSpec
	add := func(exp, name string, n, steps int, lr float64, p Params, every int) *RunSpec {
		cfg := f.config(n, steps, lr, s.source, s.ckptEvery)
		cfg.Seed = p.Seed
		runs = append(runs, RunSpec{ID: exp + "/" + name, Experiment: exp, Mode: mode, Regime: RegimeFit, Config: cfg, Params: p,
			Hooks: []HookSpec{{Kind: HookNSample, Every: every, N: n}}})
		return &runs[len(runs)-1]
	}
	families := []struct {
		name   string
		layers int
	}{{"mlp1", 1}, {"mlp2", 2}}
	if want(ExpFitWidth) {
		for _, fam := range families {
			for _, w := range f.widths {
				for _, seed := range f.seeds {
					r := add(ExpFitWidth, fmt.Sprintf("%s-w%d-s%d", fam.name, w, seed), f.n, f.widthSteps, f.lr,
						Params{Family: fam.name, Width: w, Seed: seed}, f.widthEvery)
					r.Config.Model = models.Spec{Name: models.MLP, Hidden: slices.Repeat([]int{w}, fam.layers)}
				}
			}
		}
	}
	if want(ExpFitConcentration) {
		// One run per (family, width) holding concSeeds initialisation-only
		// draws; it never trains (MaxSteps 1 only satisfies Config.Validate).
		for _, fam := range families {
			for _, w := range f.widths {
				r := add(ExpFitConcentration, fmt.Sprintf("%s-w%d", fam.name, w), f.n, 1, f.lr,
					Params{Family: fam.name, Width: w, Seed: 1}, 1)
				r.Config.Model = models.Spec{Name: models.MLP, Hidden: slices.Repeat([]int{w}, fam.layers)}
				r.Hooks = []HookSpec{{Kind: HookInitDraws, Every: 1, N: f.n}}
				r.InitDraws = f.concSeeds
			}
		}
	}
	if want(ExpFitInit) {
		schemes := []initializer.Scheme{initializer.PyTorch, initializer.Uniform, initializer.KaimingUniform, initializer.XavierUniform,
			initializer.Normal, initializer.KaimingNormal, initializer.XavierNormal, initializer.Orthogonal, initializer.Symmetric}
		if mode == Tiny {
			schemes = []initializer.Scheme{initializer.PyTorch, initializer.Symmetric}
		}
		model := models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}
		for _, sc := range schemes {
			r := add(ExpFitInit, string(sc), f.n, f.initSteps, f.lr, Params{Family: models.ModelA, Scheme: sc, Seed: 1}, f.initEvery)
			r.Config.Model, r.Config.Init = model, initializer.Options{Scheme: sc}
			r.CalibrateInit = sc == initializer.Symmetric
		}
		for _, rel := range s.initEpsRel {
			r := add(ExpFitInit, "symmetric+eps"+strconv.FormatFloat(rel, 'g', -1, 64)+"sigma", f.n, f.initSteps, f.lr,
				Params{Family: models.ModelA, Scheme: initializer.SymmetricNoise, EpsRel: rel, Seed: 1}, f.initEvery)
			r.Config.Model, r.Config.Init = model, initializer.Options{Scheme: initializer.SymmetricNoise}
			r.CalibrateInit = true
		}
	}
	if want(ExpFitDepth) {
		fams := []struct {
			name   string
			depths []int
			steps  int
			n      int
			every  int
		}{{models.ModelC, f.cDepths, f.depthSteps, f.n, endOnlyEvery},
			// P4 reads only the probes at init and at the end (each probe of
			// Model d, with its per-sample Jacobian, is the costliest of the plan).
			{models.ModelD, f.dDepths, f.dDepthSteps, f.nConv, endOnlyEvery},
			{models.ResMLP, f.resDepths, f.depthSteps, f.n, endOnlyEvery}}
		for _, fm := range fams {
			for _, k := range fm.depths {
				for _, skip := range []bool{true, false} {
					r := add(ExpFitDepth, fmt.Sprintf("%s-k%d-%s", fm.name, k, skipName(skip)), fm.n, fm.steps, f.lr,
						Params{Family: fm.name, Depth: k, Skip: skip, Seed: 1}, fm.every)
					r.Config.Model = models.Spec{Name: fm.name, Depth: k, Skip: skip}
					if fm.name == models.ResMLP {
						r.Config.Model.Width = s.mlpWidth
					}
				}
			}
		}
	}
	if want(ExpFitLosses) {
		for _, l := range s.losses {
			r := add(ExpFitLosses, l, f.n, f.lossSteps, f.lossLR(l), Params{Family: models.ModelA, Loss: l, Seed: 1}, f.lossEvery)
			r.Config.Model, r.Config.Loss = models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}, l
		}
	}
	if want(ExpFitDynamics) {
		r := add(ExpFitDynamics, "modela-k1", f.n, f.dynSteps, f.lr, Params{Family: models.ModelA, Depth: 1, Seed: 1}, f.dynEvery)
		r.Config.Model = models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}
	}
	return runs
}

// endOnlyEvery is a probe period no run reaches: the probe runs at step 0
// and after the last step.
const endOnlyEvery = 1 << 30
