package reproduce

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/optim"
	"github.com/fenchel-ml/fenchel/train"
)

// Mode selects the size of every experiment.
type Mode string

// The modes. Full is the paper's protocol (THEORY §5); Quick a reduced
// version of every experiment that still decides every claim; Tiny a
// seconds-long version on the committed MNIST fixture, for tests.
const (
	Full  Mode = "full"
	Quick Mode = "quick"
	Tiny  Mode = "tiny"
)

// The two regimes of THEORY §7: the paper's mini-batch Adam protocol
// (THEORY §5) and the fit regime, full-batch gradient descent on the probe
// set itself, where the claims P1–P6 are decided.
const (
	RegimePaper = "paper"
	RegimeFit   = "fit"
)

// RegimeName is the label of a regime in figures and tables.
func RegimeName(regime string) string {
	if regime == RegimeFit {
		return "fit regime (full-batch GD on the probe set)"
	}
	return "paper regime (mini-batch Adam)"
}

// Experiment names, in the order they run. The fit-* experiments are the
// fit regime's; the others the paper regime's.
const (
	ExpIndicator        = "indicator"
	ExpFitWidth         = "fit-width"
	ExpFitConcentration = "fit-concentration"
	ExpFitInit          = "fit-init"
	ExpFitDepth         = "fit-depth"
	ExpFitLosses        = "fit-losses"
	ExpFitDynamics      = "fit-dynamics"
	ExpDepth            = "depth"
	ExpWidth            = "width"
	ExpInit             = "init"
	ExpLosses           = "losses"
	ExpDynamics         = "dynamics"
)

// Experiments lists the experiments in run order.
func Experiments() []string {
	return []string{ExpIndicator, ExpFitWidth, ExpFitConcentration, ExpFitInit, ExpFitDepth, ExpFitLosses, ExpFitDynamics,
		ExpDepth, ExpWidth, ExpInit, ExpLosses, ExpDynamics}
}

// ExperimentRegime is the regime an experiment runs in.
func ExperimentRegime(exp string) string {
	if strings.HasPrefix(exp, "fit-") {
		return RegimeFit
	}
	return RegimePaper
}

// Hook kinds a run may attach.
const (
	HookPerImage = "per_image" // instrument.PerImage (THEORY §5)
	HookNSample  = "nsample"   // instrument.NSample (THEORY §2–§3)
	// HookInitDraws marks a run that does not train: Execute draws
	// InitDraws.Seeds initialisations and records the spectrum of H_S of
	// each (kind "init_draw", THEORY §4 P5).
	HookInitDraws = "init_draw"
)

// HookSpec says which instrument a run attaches and how often.
type HookSpec struct {
	Kind  string `json:"kind"`
	Every int    `json:"every"`
	N     int    `json:"n,omitempty"` // probe size of HookNSample
}

// Params are the swept values of a run, used to group runs into claims and
// figures. Fields an experiment does not sweep are zero.
type Params struct {
	Family string             `json:"family"` // model family: "a", "b", "c", "d", "resmlp", "mlp1", "mlp2"
	Depth  int                `json:"depth,omitempty"`
	Width  int                `json:"width,omitempty"`
	Skip   bool               `json:"skip,omitempty"`
	Seed   uint64             `json:"seed"`
	Scheme initializer.Scheme `json:"scheme,omitempty"`
	Eps    float64            `json:"eps,omitempty"`
	// EpsRel is ε in units of the PyTorch default weight scale σ
	// (InitCalibration.WeightScale): ε = EpsRel·σ.
	EpsRel float64 `json:"eps_rel,omitempty"`
	Loss   string  `json:"loss,omitempty"`
}

// RunSpec is one independent run of an experiment: a training config, the
// instruments attached to it and a stable id naming its directory
// "<experiment>/<name>".
type RunSpec struct {
	ID         string `json:"id"`
	Experiment string `json:"experiment"`
	Mode       Mode   `json:"mode"`
	// Regime is RegimeFit or RegimePaper (empty in runs written before the
	// fit regime existed: the paper regime).
	Regime string `json:"regime,omitempty"`
	// InitDraws, for a HookInitDraws run, is the number of initialisation
	// draws (seeds Config.Seed, Config.Seed+1, …) measured without training.
	InitDraws int          `json:"init_draws,omitempty"`
	Config    train.Config `json:"config"`
	Hooks     []HookSpec   `json:"hooks"`
	Params    Params       `json:"params"`
	// CalibrateInit marks the symmetric runs of the init experiment, whose
	// constant (and ε) Execute fixes with CalibrateInit before running;
	// Calibration records the result.
	CalibrateInit bool             `json:"calibrate_init,omitempty"`
	Calibration   *InitCalibration `json:"calibration,omitempty"`
}

// settings are the sizes of one mode.
type settings struct {
	nTrain, nTest int // 0 = whole split
	source        string
	probeN        int // n of the n-sample probe
	probeNConv    int // n for the expensive conv Models b and d
	mlpWidth      int // width of Model a and the MLP experiments

	indModels []string
	indSteps  int // 0 = one epoch
	indEvery  int

	cDepths, dDepths, resDepths []int
	depthSteps, dDepthSteps     int

	widths1, widths2 []int
	seeds            []uint64
	widthSteps       int

	initSteps  int
	initEvery  int
	initEpsRel []float64 // ε/σ of the symmetric+noise runs (see epsLadder)
	losses     []string
	lossSteps  int
	lossEvery  int
	dynSteps   int
	dynEvery   int
	ckptEvery  int
	slidingWin int

	fit fitSettings
}

// fitSettings are the sizes of the fit regime (THEORY §7): training set =
// probe set = the first n training images, full-batch GD, float64.
type fitSettings struct {
	n, nTest int
	nConv    int // n of Model d, whose per-sample Jacobian is the costliest
	lr       float64
	lrOther  float64 // step size of sparsemax, entmax15 and squared (see lossLR)

	widths                  []int
	seeds                   []uint64
	widthSteps, widthEvery  int
	concSeeds               int
	initSteps, initEvery    int
	cDepths, dDepths        []int
	resDepths               []int
	depthSteps, dDepthSteps int
	lossSteps, lossEvery    int
	dynSteps, dynEvery      int
}

func settingsFor(m Mode) (settings, error) {
	switch m {
	case Full:
		return settings{source: "mnist", probeN: 50, probeNConv: 50, mlpWidth: 64,
			indModels: []string{models.ModelA, models.ModelB, models.ModelC, models.ModelD}, indSteps: 0, indEvery: 2,
			cDepths: []int{1, 2, 3, 4, 5, 6}, dDepths: []int{1, 2, 3, 4, 5, 6}, resDepths: []int{1, 2, 4, 8, 16},
			widths1: []int{8, 32, 128, 512, 1024, 2048}, widths2: []int{8, 32, 128, 512, 1024, 2048},
			seeds: []uint64{1, 2, 3, 4, 5}, widthSteps: 0,
			initEpsRel: epsLadder, losses: loss.Names(),
			dynEvery: 25, lossEvery: 50, initEvery: 100, ckptEvery: 200, slidingWin: 50,
			fit: fitSettings{n: 100, nTest: 1000, nConv: 100, lr: fitLR, lrOther: fitLROther,
				widths: fitWidths, seeds: []uint64{1, 2, 3}, widthSteps: 500, widthEvery: 250, concSeeds: 20,
				initSteps: 1000, initEvery: 500, cDepths: []int{1, 2, 3, 4, 5, 6}, dDepths: []int{1, 2}, resDepths: []int{1, 2, 4, 8, 16},
				depthSteps: 500, dDepthSteps: 150, lossSteps: 1000, lossEvery: 500, dynSteps: 1000, dynEvery: 50}}, nil
	case Quick:
		return settings{source: "mnist", nTrain: 2000, nTest: 500, probeN: 50, probeNConv: 10, mlpWidth: 64,
			indModels: []string{models.ModelA, models.ModelB, models.ModelC, models.ModelD}, indSteps: 150, indEvery: 2,
			cDepths: []int{1, 3, 6}, dDepths: []int{1, 3}, resDepths: []int{2, 8, 16}, depthSteps: 150, dDepthSteps: 30,
			widths1: []int{8, 32, 128, 512, 1024, 2048}, widths2: []int{8, 32, 128, 512, 1024, 2048},
			seeds: []uint64{1, 2, 3}, widthSteps: 100,
			initSteps: 200, initEvery: 50, initEpsRel: epsLadder, losses: loss.Names(),
			lossSteps: 200, lossEvery: 20, dynSteps: 400, dynEvery: 20, ckptEvery: 100, slidingWin: 50,
			fit: fitSettings{n: 50, nTest: 500, nConv: 10, lr: fitLR, lrOther: fitLROther,
				widths: fitWidths, seeds: []uint64{1}, widthSteps: 300, widthEvery: 100, concSeeds: 5,
				initSteps: 400, initEvery: 100, cDepths: []int{1, 6}, dDepths: []int{1}, resDepths: []int{2, 16},
				depthSteps: 300, dDepthSteps: 30, lossSteps: 400, lossEvery: 50, dynSteps: 400, dynEvery: 20}}, nil
	case Tiny:
		return settings{source: "fixture", nTrain: 200, nTest: 100, probeN: 5, probeNConv: 3, mlpWidth: 8,
			indModels: []string{models.ModelA}, indSteps: 16, indEvery: 2,
			cDepths: nil, dDepths: nil, resDepths: []int{1, 2}, depthSteps: 6, dDepthSteps: 6,
			widths1: []int{4, 8, 16}, widths2: []int{4, 8}, seeds: []uint64{1, 2}, widthSteps: 6,
			initSteps: 6, initEvery: 3, initEpsRel: []float64{1e-2}, losses: []string{"softmax", "squared"},
			lossSteps: 6, lossEvery: 3, dynSteps: 8, dynEvery: 2, ckptEvery: 4, slidingWin: 5,
			fit: fitSettings{n: 5, nTest: 50, nConv: 3, lr: fitLR, lrOther: fitLROther,
				widths: []int{4, 8, 16}, seeds: []uint64{1}, widthSteps: 6, widthEvery: 3, concSeeds: 3,
				initSteps: 6, initEvery: 3, resDepths: []int{1, 2}, depthSteps: 6, lossSteps: 6, lossEvery: 3, dynSteps: 8, dynEvery: 2}}, nil
	}
	return settings{}, fmt.Errorf("reproduce: mode %q: want %s, %s or %s", m, Full, Quick, Tiny)
}

// epsLadder is the noise ladder of the init experiment in units of the
// PyTorch default weight std σ (InitCalibration.WeightScale): one level per
// decade from negligible to dominant, so the figure shows the interpolation
// THEORY §4 P3 describes. At ε = σ the noise alone is a default-scale random
// init (the calibrated constant c/fan_in is of the same order as σ); 10⁻⁶σ
// (≈ 2·10⁻⁸ for Model a) is still ≈ 10 float32 ulps of the weights, so the
// lowest level is represented, not rounded away. The earlier absolute ladder
// 10⁻⁴…10⁻¹ started at ≈ 5·10⁻³σ, where the runs already trained like
// random init (docs/CLAIMS.md, protocol changes).
var epsLadder = []float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1}

// fitWidths are the widths of the fit regime's width sweep: every factor 2
// from 8 to 2048 (docs/CLAIMS.md, P2 over ≥ 9 widths).
var fitWidths = []int{8, 16, 32, 64, 128, 256, 512, 1024, 2048}

// The fit regime's constant step sizes (THEORY §7). Softmax: 0.05 is stable
// for every width of the sweep (λ_max(H_S) at init ≤ 2·10⁴ for n = 100, and
// the softmax Hessian in z is ≤ ½ and ≈ 1/K at init, so (η/n)·λ_max·1/K ≈ 1
// at the widest net). The other losses have a Hessian in z up to 1
// (squared: exactly I), so they take a 5× smaller step.
const (
	fitLR      = 0.05
	fitLROther = 0.01
)

// mnistTrainSize is the number of MNIST training images.
const mnistTrainSize = 60000

// baseConfig is the paper's training setting (THEORY §5): Adam, lr 0.002,
// batch 64, step decay ×0.1 every 2 epochs, seed 1, PyTorch default init.
func (s settings) baseConfig(steps int) train.Config {
	c := train.DefaultConfig()
	c.Optim = optim.Config{Name: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	c.LR, c.LRGamma, c.LRDecayEvery = 0.002, 0.1, 2
	if s.nTrain > 0 {
		// The paper decays after 2 epochs of the 60000 MNIST images; on a
		// subset, decay after the same number of samples, not after 2 passes
		// of the subset (which would shrink the rate 1000× within a quick run).
		c.LRDecayEvery = (2*mnistTrainSize + s.nTrain - 1) / s.nTrain
	}
	c.Batch, c.Seed = 64, 1
	c.Epochs, c.MaxSteps = 1, 0
	if steps > 0 {
		c.Epochs, c.MaxSteps = 0, steps
	}
	c.Init = initializer.Options{Scheme: initializer.PyTorch}
	c.Data = train.DataConfig{Source: s.source, Normalize: "standard", NTrain: s.nTrain, NTest: s.nTest}
	c.LogEvery = 10
	c.CheckpointEvery = s.ckptEvery
	return c
}

// fitConfig is the fit regime of THEORY §7: training set = probe set = the
// first n training images, full-batch gradient descent (SGD without
// momentum, batch n, constant step lr), float64, seed 1, PyTorch default
// init. nTest test images give the (reported, not claimed) test accuracy.
func (f fitSettings) config(n, steps int, lr float64, source string, ckpt int) train.Config {
	c := train.DefaultConfig()
	c.Optim = optim.Config{Name: "sgd"}
	c.LR, c.LRGamma, c.LRDecayEvery = lr, 1, 0
	c.Batch, c.Seed = n, 1
	c.Epochs, c.MaxSteps = 0, steps
	c.DType = "float64"
	c.Init = initializer.Options{Scheme: initializer.PyTorch}
	c.Data = train.DataConfig{Source: source, Normalize: "standard", NTrain: n, NTest: f.nTest}
	c.LogEvery = max(1, steps/20)
	c.CheckpointEvery = ckpt
	return c
}

// lossLR is the fit regime's step size for a loss.
func (f fitSettings) lossLR(l string) float64 {
	if l == "softmax" {
		return f.lr
	}
	return f.lrOther
}

// Plan returns the deterministic list of runs of the named experiments (all
// when names is empty), in Experiments() order.
func Plan(mode Mode, names []string) ([]RunSpec, error) {
	s, err := settingsFor(mode)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !slices.Contains(Experiments(), n) {
			return nil, fmt.Errorf("reproduce: unknown experiment %q (valid: %s)", n, strings.Join(Experiments(), ", "))
		}
	}
	want := func(exp string) bool { return len(names) == 0 || slices.Contains(names, exp) }
	p := &planner{mode: mode, s: s}
	if want(ExpIndicator) {
		p.indicator()
	}
	p.runs = append(p.runs, planFit(mode, s, want)...)
	for _, e := range []struct {
		name string
		plan func()
	}{{ExpDepth, p.depth}, {ExpWidth, p.width}, {ExpInit, p.init}, {ExpLosses, p.losses}, {ExpDynamics, p.dynamics}} {
		if want(e.name) {
			e.plan()
		}
	}
	for _, r := range p.runs {
		if err := r.Config.Validate(); err != nil {
			return nil, fmt.Errorf("reproduce: run %s: %w", r.ID, err) // a bug in the plan
		}
	}
	return p.runs, nil
}

// planner collects the paper-regime runs of one Plan call, one method per
// experiment.
type planner struct {
	mode Mode
	s    settings
	runs []RunSpec
}

// endOnly is a probe period no run reaches: the probe runs at step 0 and
// after the last step.
const endOnly = 1 << 30

func (p *planner) add(exp, name string, cfg train.Config, params Params, hooks ...HookSpec) {
	p.runs = append(p.runs, RunSpec{ID: exp + "/" + name, Experiment: exp, Mode: p.mode, Regime: ExperimentRegime(exp),
		Config: cfg, Hooks: hooks, Params: params})
}

func probeHook(every, n int) HookSpec { return HookSpec{Kind: HookNSample, Every: every, N: n} }

func (p *planner) indicator() {
	s := p.s
	for _, m := range s.indModels {
		cfg := s.baseConfig(s.indSteps)
		cfg.Model = models.Spec{Name: m, Depth: 1, Skip: true}
		if m == models.ModelA {
			cfg.Model.Width = s.mlpWidth
		}
		p.add(ExpIndicator, "model"+m+"-k1", cfg, Params{Family: m, Depth: 1, Skip: true, Seed: cfg.Seed},
			HookSpec{Kind: HookPerImage, Every: s.indEvery})
	}
}

func (p *planner) depth() {
	s := p.s
	fams := []struct {
		name   string
		depths []int
		steps  int
		n      int
	}{{models.ModelC, s.cDepths, s.depthSteps, s.probeN}, {models.ModelD, s.dDepths, s.dDepthSteps, s.probeNConv},
		{models.ResMLP, s.resDepths, s.depthSteps, s.probeN}}
	for _, f := range fams {
		for _, k := range f.depths {
			for _, skip := range []bool{true, false} {
				cfg := s.baseConfig(f.steps)
				cfg.Model = models.Spec{Name: f.name, Depth: k, Skip: skip}
				if f.name == models.ResMLP {
					cfg.Model.Width = s.mlpWidth
				}
				p.add(ExpDepth, fmt.Sprintf("%s-k%d-%s", f.name, k, skipName(skip)), cfg,
					Params{Family: f.name, Depth: k, Skip: skip, Seed: cfg.Seed}, probeHook(endOnly, f.n))
			}
		}
	}
}

func (p *planner) width() {
	s := p.s
	for _, fam := range []struct {
		name   string
		widths []int
		layers int
	}{{"mlp1", s.widths1, 1}, {"mlp2", s.widths2, 2}} {
		for _, w := range fam.widths {
			for _, seed := range s.seeds {
				cfg := s.baseConfig(s.widthSteps)
				cfg.Model = models.Spec{Name: models.MLP, Hidden: slices.Repeat([]int{w}, fam.layers)}
				cfg.Seed = seed
				p.add(ExpWidth, fmt.Sprintf("%s-w%d-s%d", fam.name, w, seed), cfg,
					Params{Family: fam.name, Width: w, Seed: seed}, probeHook(endOnly, s.probeN))
			}
		}
	}
}

func (p *planner) init() {
	s := p.s
	schemes := []initializer.Scheme{initializer.PyTorch, initializer.Uniform, initializer.KaimingUniform, initializer.XavierUniform,
		initializer.Normal, initializer.KaimingNormal, initializer.XavierNormal, initializer.Orthogonal, initializer.Symmetric}
	if p.mode == Tiny {
		schemes = []initializer.Scheme{initializer.PyTorch, initializer.Symmetric}
	}
	model := models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}
	for _, sc := range schemes {
		cfg := s.baseConfig(s.initSteps)
		cfg.Model, cfg.Init = model, initializer.Options{Scheme: sc}
		p.add(ExpInit, string(sc), cfg, Params{Family: models.ModelA, Scheme: sc, Seed: cfg.Seed}, probeHook(s.initEvery, s.probeN))
		if sc == initializer.Symmetric {
			p.runs[len(p.runs)-1].CalibrateInit = true
		}
	}
	// The symmetric constant and ε = EpsRel·σ are fixed by Execute
	// (CalibrateInit), from data; the plan holds the relative levels.
	for _, rel := range s.initEpsRel {
		cfg := s.baseConfig(s.initSteps)
		cfg.Model, cfg.Init = model, initializer.Options{Scheme: initializer.SymmetricNoise}
		p.add(ExpInit, "symmetric+eps"+strconv.FormatFloat(rel, 'g', -1, 64)+"sigma", cfg,
			Params{Family: models.ModelA, Scheme: initializer.SymmetricNoise, EpsRel: rel, Seed: cfg.Seed}, probeHook(s.initEvery, s.probeN))
		p.runs[len(p.runs)-1].CalibrateInit = true
	}
}

func (p *planner) losses() {
	s := p.s
	for _, l := range s.losses {
		cfg := s.baseConfig(s.lossSteps)
		cfg.Model, cfg.Loss = models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}, l
		p.add(ExpLosses, l, cfg, Params{Family: models.ModelA, Loss: l, Seed: cfg.Seed}, probeHook(s.lossEvery, s.probeN))
	}
}

func (p *planner) dynamics() {
	s := p.s
	cfg := s.baseConfig(s.dynSteps)
	cfg.Model = models.Spec{Name: models.ModelA, Depth: 1, Width: s.mlpWidth}
	p.add(ExpDynamics, "modela-k1", cfg, Params{Family: models.ModelA, Depth: 1, Seed: cfg.Seed}, probeHook(s.dynEvery, s.probeN))
}

func skipName(skip bool) string {
	if skip {
		return "skip"
	}
	return "noskip"
}

// ParseShard reads "i/N" with 0 ≤ i < N.
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			n, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("reproduce: shard %q: want i/N, e.g. 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("reproduce: shard %q: want 0 ≤ i < N and N ≥ 1", s)
	}
	return i, n, nil
}

// Shard keeps the runs whose index in runs is ≡ i (mod n).
func Shard(runs []RunSpec, i, n int) ([]RunSpec, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("reproduce: shard %d/%d: want 0 ≤ i < N and N ≥ 1", i, n)
	}
	var out []RunSpec
	for j, r := range runs {
		if j%n == i {
			out = append(out, r)
		}
	}
	return out, nil
}
