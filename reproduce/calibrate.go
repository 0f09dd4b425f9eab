package reproduce

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// Calibration of the symmetric initialisation (THEORY §4 P3: "pick the
// constant small enough that λ_max (and so the stable step size) stays
// comparable to the random init's, so that step-size instability does not
// masquerade as rank collapse").
const (
	// CalibMaxRatio is the factor within which λ_max(H_S) of the symmetric
	// net at init must match the PyTorch default's; calibration fails
	// (an error, no run starts) when it cannot get there.
	CalibMaxRatio = 2.0
	// calibTolRatio is the factor the search aims for; it stops there.
	calibTolRatio = 1.1
	// calibMaxEvals bounds the λ_max evaluations of the search.
	calibMaxEvals = 60
	// calibStream is the second PCG word of the first reference draw
	// (draw i uses calibStream+i, first word the run's seed).
	calibStream = 0xca11b
	// CalibRefDraws is the number of independent PyTorch-default draws of
	// the net whose mean λ_max(H_S) is the calibration target. One draw
	// fluctuates by tens of percent (λ_max of Model a depends mostly on the
	// 640 output weights), so the target is the mean, the random init's
	// typical λ_max, not one draw's.
	CalibRefDraws = 5
)

// InitCalibration records how the init experiment's symmetric constant and
// its ε ladder were fixed. It is computed by CalibrateInit before the runs
// and stored in reproduce.json of every symmetric run.
type InitCalibration struct {
	// Constant is initializer.Options.Constant of the symmetric runs: every
	// weight is Constant/fan_in.
	Constant float64 `json:"constant"`
	// LambdaMaxSymmetric and LambdaMaxReference are λ_max(H_S) at init on
	// the probe set for the symmetric net with Constant and the mean over
	// CalibRefDraws PyTorch-default draws; their ratio is within
	// CalibMaxRatio. LambdaMaxDraws are the draws' values.
	LambdaMaxSymmetric float64   `json:"lambda_max_symmetric"`
	LambdaMaxReference float64   `json:"lambda_max_reference"`
	LambdaMaxDraws     []float64 `json:"lambda_max_draws"`
	// Evaluations is the number of λ_max evaluations of the search.
	Evaluations int `json:"evaluations"`
	// WeightScale σ is the root-mean-square standard deviation of the
	// PyTorch default weights, √(Σ_l n_l/(3·fan_in_l) / Σ_l n_l) over the
	// weight tensors l with n_l entries (U(±1/√fan_in) has variance
	// 1/(3·fan_in)). The ε ladder is given in units of σ.
	WeightScale float64 `json:"weight_scale"`
	ProbeN      int     `json:"probe_n"`
	Seed        uint64  `json:"seed"`
}

// CalibrateInit chooses the symmetric constant c for the net and loss of
// ref (the PyTorch-default run of the init experiment) so that λ_max(H_S)
// at init, on the first probeN samples of trainSet, is within calibTolRatio
// (at worst CalibMaxRatio) of the mean over CalibRefDraws PyTorch-default
// draws. The search is a
// log-scale bisection on c: starting at c = 1 it multiplies or divides by 4
// until log(λ_max(c)/λ_ref) changes sign, then halves the log-bracket. Every
// step is deterministic, so the same inputs give the same constant.
func CalibrateInit(ref train.Config, probeN int, trainSet *data.Dataset) (InitCalibration, error) {
	return calibrateInit(context.Background(), ref, probeN, trainSet)
}

// calibrateInit is CalibrateInit stopping, with an error wrapping
// context.Cause(ctx), within an evaluation of ctx being done.
func calibrateInit(ctx context.Context, ref train.Config, probeN int, trainSet *data.Dataset) (InitCalibration, error) {
	cal := InitCalibration{ProbeN: probeN, Seed: ref.Seed}
	if trainSet == nil || probeN < 1 || probeN > trainSet.N {
		return cal, fmt.Errorf("reproduce: calibrate init: probe size %d for a training set of %d samples", probeN, setSize(trainSet))
	}
	spec := ref.Model
	if len(spec.Input) == 0 {
		spec.Input = append(nn.Shape(nil), trainSet.Shape...)
	}
	if spec.Classes == 0 {
		spec.Classes = trainSet.K
	}
	model, err := models.Build[float64](spec)
	if err != nil {
		return cal, fmt.Errorf("reproduce: calibrate init: build %s: %w", spec, err)
	}
	d, err := trainSet.First(probeN)
	if err != nil {
		return cal, fmt.Errorf("reproduce: calibrate init: %w", err)
	}
	probe, err := instrument.NewProbe(d, ref.Smoothing)
	if err != nil {
		return cal, fmt.Errorf("reproduce: calibrate init: %w", err)
	}
	l, err := loss.New(ref.Loss)
	if err != nil {
		return cal, fmt.Errorf("reproduce: calibrate init: %w", err)
	}
	lambdaMax := func(o initializer.Options, rng *rand.Rand) (float64, error) {
		if err := initializer.Apply(model.Params(), o, rng); err != nil {
			return 0, err
		}
		rep, err := structural.Analyze(model, probe, l, structural.Options{Ctx: ctx})
		if err != nil {
			return 0, err
		}
		s := rep.HS
		if s == nil {
			s = rep.H
		}
		if !(s.Max > 0) || math.IsInf(s.Max, 0) {
			return 0, fmt.Errorf("λ_max %v, want finite and > 0", s.Max)
		}
		return s.Max, nil
	}
	for i := range CalibRefDraws {
		lm, err := lambdaMax(initializer.Options{Scheme: initializer.PyTorch}, rand.New(rand.NewPCG(ref.Seed, calibStream+uint64(i))))
		if err != nil {
			return cal, fmt.Errorf("reproduce: calibrate init: pytorch reference draw %d: %w", i, err)
		}
		cal.LambdaMaxDraws = append(cal.LambdaMaxDraws, lm)
		cal.LambdaMaxReference += lm / CalibRefDraws
	}
	cal.WeightScale = weightScale(model.Params())

	// f(c) = log(λ_max(c)/λ_ref); the symmetric scheme draws nothing, the
	// generator only satisfies Apply's signature.
	f := func(c float64) (float64, error) {
		cal.Evaluations++
		lm, err := lambdaMax(initializer.Options{Scheme: initializer.Symmetric, Constant: c}, rand.New(rand.NewPCG(0, 0)))
		if err != nil {
			return 0, fmt.Errorf("reproduce: calibrate init: symmetric constant %g: %w", c, err)
		}
		return math.Log(lm / cal.LambdaMaxReference), nil
	}
	tol := math.Log(calibTolRatio)
	best, bestF := initializer.DefaultConstant, 0.0
	if bestF, err = f(best); err != nil {
		return cal, err
	}
	// Bracket a sign change of f in log c.
	lo, hi, fLo, fHi := best, best, bestF, bestF
	down := bestF > 0 // λ_max too large at c = 1: search smaller constants
	for math.Abs(bestF) > tol && (fLo > 0) == (fHi > 0) && cal.Evaluations < calibMaxEvals {
		c, fc := hi*4, 0.0
		if down {
			c = lo / 4
		}
		if fc, err = f(c); err != nil {
			return cal, err
		}
		if down {
			lo, fLo = c, fc
		} else {
			hi, fHi = c, fc
		}
		if math.Abs(fc) < math.Abs(bestF) {
			best, bestF = c, fc
		}
	}
	// Bisect log c inside the bracket.
	for math.Abs(bestF) > tol && (fLo > 0) != (fHi > 0) && cal.Evaluations < calibMaxEvals {
		c := math.Sqrt(lo * hi)
		fc, err := f(c)
		if err != nil {
			return cal, err
		}
		if (fc > 0) == (fHi > 0) {
			hi, fHi = c, fc
		} else {
			lo, fLo = c, fc
		}
		if math.Abs(fc) < math.Abs(bestF) {
			best, bestF = c, fc
		}
	}
	cal.Constant = best
	cal.LambdaMaxSymmetric = cal.LambdaMaxReference * math.Exp(bestF)
	if math.Abs(bestF) > math.Log(CalibMaxRatio) {
		return cal, fmt.Errorf("reproduce: calibrate init: best symmetric constant %g gives λ_max(H_S) %.4g against the pytorch default's %.4g, not within a factor %g after %d evaluations",
			best, cal.LambdaMaxSymmetric, cal.LambdaMaxReference, CalibMaxRatio, cal.Evaluations)
	}
	return cal, nil
}

func setSize(d *data.Dataset) int {
	if d == nil {
		return 0
	}
	return d.N
}

// weightScale is the root-mean-square std of the PyTorch default weights
// (biases excluded): √(Σ n_l/(3·fan_in_l) / Σ n_l).
func weightScale(params []*nn.Param[float64]) float64 {
	var v, n float64
	for _, p := range params {
		if p.Bias || p.FanIn <= 0 {
			continue
		}
		v += float64(p.Len()) / (3 * float64(p.FanIn))
		n += float64(p.Len())
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Sqrt(v / n)
}

// needsCalibration reports whether some run of experiment exp asks for the
// init calibration.
func needsCalibration(runs []RunSpec, exp string) bool {
	for _, r := range runs {
		if r.CalibrateInit && r.Experiment == exp {
			return true
		}
	}
	return false
}

// calibrationRef returns the config the calibration of experiment exp
// (ExpInit or ExpFitInit) matches: its pytorch run, as planned for mode
// (independent of sharding), and its probe size.
func calibrationRef(mode Mode, exp string) (train.Config, int, error) {
	runs, err := Plan(mode, []string{exp})
	if err != nil {
		return train.Config{}, 0, err
	}
	for _, r := range runs {
		if r.Params.Scheme == initializer.PyTorch {
			for _, h := range r.Hooks {
				if h.Kind == HookNSample {
					return r.Config, h.N, nil
				}
			}
		}
	}
	return train.Config{}, 0, fmt.Errorf("reproduce: mode %s: experiment %s has no pytorch run with a probe to calibrate against", mode, exp)
}

// applyTo applies c to the runs of experiment exp only.
func (c InitCalibration) applyTo(runs []RunSpec, exp string) []RunSpec {
	out := slices.Clone(runs)
	for i, r := range runs {
		if r.Experiment == exp {
			out[i] = c.Apply([]RunSpec{r})[0]
		}
	}
	return out
}

// Apply resolves the runs that ask for calibration: the symmetric constant
// becomes c.Constant, and the ε of a symmetric+noise run becomes its
// relative level times c.WeightScale. Other runs are returned unchanged.
func (c InitCalibration) Apply(runs []RunSpec) []RunSpec {
	out := make([]RunSpec, len(runs))
	for i, r := range runs {
		if r.CalibrateInit {
			cal := c
			r.Calibration = &cal
			r.Config.Init.Constant = c.Constant
			if r.Config.Init.Scheme == initializer.SymmetricNoise {
				r.Config.Init.Eps = r.Params.EpsRel * c.WeightScale
				r.Params.Eps = r.Config.Init.Eps
			}
		}
		out[i] = r
	}
	return out
}
