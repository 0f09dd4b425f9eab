package instrument

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/train"
)

// DefaultPerImageEvery is the paper's schedule: a measurement every 2
// training batches (THEORY §5).
const DefaultPerImageEvery = 2

// FirstTestClass, as PerImage.Class, selects the class of test image 0.
const FirstTestClass = -1

// PerImage is the paper's own instrument (THEORY §5): on a fixed held-out
// test image x_a and a second test image x_b of the same class c it records
//
//	g          ‖∇_θ ℓ(f(x_a), y_a)‖²   (the gradient on x_a alone)
//	lambda_min, lambda_max of J Jᵀ for x_a (K×K, J = ∂f(x_a)/∂θ), kappa = λ_max/λ_min
//	F          g·κ, the indicator
//	R          ℓ(f(x_b), y_b), and residual_b = ‖e_y − softmax(f(x_b))‖₂
//	loss_a     ℓ(f(x_a), y_a)
//
// and log2 of g, κ, F and R, so that log₂F can be correlated with log₂R along
// training (package stats). x_a is the first test image of class c and x_b
// the next one; with a bias on the output layer J Jᵀ contains the identity,
// so λ_min ≥ 1.
//
// Build one with NewPerImage; the zero value is not ready for use.
type PerImage struct {
	every int
	// Class is c; FirstTestClass takes the class of test image 0.
	class int
	// lossName is ℓ: "softmax" (cross-entropy, the paper's) unless set.
	lossName string

	ready  bool
	l      loss.Loss
	ia, ib int // test indices of x_a and x_b
	ya     int
	xa, xb *nn.Mat[float64]
	// rep is x_a repeated K times and seed the K×K identity: the seeded
	// backward pass of THEORY §6 for one image.
	rep, seed *nn.Mat[float64]
	gram      []float64 // H_a, K×K row-major
	eigA      []float64 // the eigensolver's copy of H_a
	ev        []float64
	p, r, q   []float64 // length K scratch and the one-hot target
	// twin, when set (OnStep), is a second float64 model of the run's
	// architecture that Measure runs the pass on x_b on, concurrently.
	twin        nn.Layer[float64]
	twinChecked bool
	zb, za      []float64 // f(x_b) when computed on the model itself, f(x_a) of the split pass
	// split is the seed-split pass (passSplit), splitOn whether Measure
	// takes it on splitModel; forceSplit (tests) overrides the choice.
	split      *seedSplit
	splitModel nn.Layer[float64]
	splitOn    bool
	forceSplit *bool
	sideCPU    func(a, b time.Duration) // benchmarks: seedSplit.sideCPU
}

// NewPerImage returns the instrument measuring every `every` steps (≤ 0:
// DefaultPerImageEvery) on two test images of class `class` (FirstTestClass:
// the class of test image 0), with the loss named lossName ("" is softmax
// cross-entropy, the paper's choice; another loss.Names() entry measures the
// same quantities for that loss; residual_b stays ‖e_y − softmax‖₂ as in the
// paper).
func NewPerImage(every, class int, lossName string) (*PerImage, error) {
	if every <= 0 {
		every = DefaultPerImageEvery
	}
	if lossName == "" {
		lossName = "softmax"
	}
	l, err := loss.New(lossName)
	if err != nil {
		return nil, fmt.Errorf("instrument: per-image: %w", err)
	}
	if class < FirstTestClass {
		return nil, fmt.Errorf("instrument: per-image: class %d, want ≥ 0 or FirstTestClass (−1)", class)
	}
	return &PerImage{every: every, class: class, lossName: lossName, l: l}, nil
}

// Name is the record kind, "per_image".
func (h *PerImage) Name() string { return "per_image" }

// Every is the measurement period in optimiser steps.
func (h *PerImage) Every() int { return h.every }

// Images returns the test indices of x_a and x_b (valid after the first
// OnStep, or after Select).
func (h *PerImage) Images() (a, b int) { return h.ia, h.ib }

// Select picks x_a and x_b from test: the first two images of the
// configured class, in the order of the test split.
func (h *PerImage) Select(test *data.Dataset) error {
	if test == nil || test.N == 0 {
		return fmt.Errorf("instrument: per-image: no test split to draw x_a and x_b from")
	}
	c := h.class
	if c == FirstTestClass {
		c = test.Labels[0]
	}
	if c >= test.K {
		return fmt.Errorf("instrument: per-image: class %d, but %s has %d classes", c, test.Name, test.K)
	}
	h.ia, h.ib = -1, -1
	for i, y := range test.Labels {
		if y != c {
			continue
		}
		if h.ia < 0 {
			h.ia = i
		} else {
			h.ib = i
			break
		}
	}
	if h.ib < 0 {
		return fmt.Errorf("instrument: per-image: %s has fewer than 2 images of class %d", test.Name, c)
	}
	h.class = c
	h.ya = c
	h.xa = data.Gather[float64](test, []int{h.ia}, nil)
	h.xb = data.Gather[float64](test, []int{h.ib}, nil)
	K := test.K
	h.p, h.r, h.q = make([]float64, K), make([]float64, K), make([]float64, K)
	loss.Target(h.q, c, K, 0)
	h.rep = nn.NewMat[float64](K, h.xa.Cols)
	h.seed = nn.NewMat[float64](K, K)
	for k := 0; k < K; k++ {
		copy(h.rep.Row(k), h.xa.Data)
		h.seed.Row(k)[k] = 1
	}
	h.gram, h.eigA = make([]float64, K*K), make([]float64, K*K)
	h.ev = make([]float64, K)
	h.split, h.splitModel = nil, nil
	h.ready = true
	return nil
}

// Prepare picks x_a and x_b from the run's test split before the run starts
// (train.Preparer), so a class the split lacks stops the run before anything
// is written.
func (h *PerImage) Prepare(s *train.StepInfo) error {
	if h.ready {
		return nil
	}
	return h.Select(s.Test)
}

// OnStep measures the model of this step (train.Hook). For a model whose
// forward pass costs many multiply-adds per parameter (convolutions) it
// builds, on first use, a twin of the run's architecture for Measure's pass
// on x_b, when the float64 products run on the calling goroutine
// (linalg.SerialGemm: fenchel's kernels, or OpenBLAS with
// FENCHEL_OPENBLAS_SPLIT=1). A multi-threaded OpenBLAS called from the two
// sides at once makes its threads contend for the cores: on Model d one
// measurement took 35 ms with the twin against 14 ms without it (2 cores),
// and 7-9 ms on fenchel's kernels or a one-thread OpenBLAS with it.
func (h *PerImage) OnStep(s *train.StepInfo) (any, error) {
	if !h.ready {
		if err := h.Select(s.Test); err != nil {
			return nil, err
		}
	}
	m, err := s.Model64()
	if err != nil {
		return nil, err
	}
	if !h.twinChecked {
		h.twinChecked = true
		if forwardWork(m) >= twinWork*nn.NumParams(m) && linalg.SerialGemm[float64]() {
			if t, err := models.Build[float64](s.Config.Model); err == nil && len(t.Params()) == len(m.Params()) {
				h.twin = t
			}
		}
	}
	return h.Measure(m)
}

// twinWork is the number of forward multiply-adds per parameter from which
// Measure runs x_b's forward pass on a twin model, beside the pass on x_a:
// copying the weights into the twin costs about a parameter's worth of
// memory traffic, the pass on x_b runs on a core the mostly one-sample
// products of the pass on x_a leave idle part of the time. Model d: ~110,
// Model a (dense only): 1.
const twinWork = 8

// forwardWork estimates the multiply-adds of one sample's forward pass:
// each Dense weight once, each Conv2D weight once per output position.
func forwardWork(l nn.Layer[float64]) int {
	switch l := l.(type) {
	case *nn.Conv2D[float64]:
		out := l.OutShape()
		return nn.NumParams[float64](l) * out[1] * out[2]
	case *nn.Dense[float64]:
		return nn.NumParams[float64](l)
	case nn.Chain[float64]:
		w := 0
		for _, c := range l.Chain() {
			w += forwardWork(c)
		}
		return w
	case nn.Branches[float64]:
		w := 0
		for _, c := range l.Branches() {
			w += forwardWork(c)
		}
		return w
	}
	return 0
}

// copyValues copies the parameter values of src into dst, reporting false
// (nothing copied) when their parameter lists do not match.
func copyValues(dst, src nn.Layer[float64]) bool {
	dp, sp := dst.Params(), src.Params()
	if len(dp) != len(sp) {
		return false
	}
	for i := range dp {
		if len(dp[i].Value) != len(sp[i].Value) {
			return false
		}
	}
	for i := range dp {
		copy(dp[i].Value, sp[i].Value)
	}
	return true
}

// Measure computes the record's fields for model (float64) on x_a and x_b;
// Select must have run. The model's Param.Grad values are zeroed if its
// layers had to compute them (nn.BackwardDeltas), else left alone.
//
// Cost: one forward pass on x_b (on the twin model OnStep may have built,
// concurrently with the rest) and one forward and backward pass on x_a
// replicated K times (the forward products on x_a alone), which yields both
// f(x_a) and H_a = J Jᵀ (THEORY §6, n = 1). A convolutional model (splitFor)
// takes the seed-split pass instead: two passes, each a forward pass on x_a
// alone and a backward pass of about K/2 seeds on its activations, on the
// model and the twin at once, and the pass on x_b on the model. g is then read off H_a instead of taking a further backward pass:
// with r_a = ∂ℓ/∂z = p − q (THEORY §1), ∇_θ ℓ = Jᵀ r_a, so
// g = ‖Jᵀ r_a‖² = r_aᵀ H_a r_a exactly (bound (A) of THEORY §3 with n = 1,
// where it is an equality). Since H_a ⪰ λ_min I, the relative rounding of g
// is at most a few K·ε·κ.
func (h *PerImage) Measure(m nn.Layer[float64]) (*PerImageMeasurement, error) {
	if !h.ready {
		panic("instrument: per-image: Measure before Select")
	}
	K := len(h.q)
	if m.OutShape().Size() != K || m.InShape().Size() != h.xa.Cols {
		return nil, fmt.Errorf("instrument: per-image: the model maps %v to %v, the test images have %d features and %d classes",
			m.InShape(), m.OutShape(), h.xa.Cols, K)
	}

	var za, zb []float64
	if h.splitFor(m) {
		za, zb = h.passSplit(m)
	} else {
		za, zb = h.passBroadcast(m)
	}
	if err := finiteRow("x_a", za); err != nil {
		return nil, err
	}
	lossA := h.l.Value(za, h.q)
	h.l.Predict(h.p, za)
	label := h.ya
	if !h.l.OnSimplex() {
		label = -1
	}
	loss.Residual(h.r, h.p, h.q, label)
	linalg.Symmetrize(K, h.gram, K)

	g := 0.0
	for i := 0; i < K; i++ {
		s := 0.0
		for j := 0; j < K; j++ {
			s += h.gram[i*K+j] * h.r[j]
		}
		g += h.r[i] * s
	}
	g = math.Max(g, 0) // H_a is PSD; a rounding-negative g means g ≈ 0

	if err := finiteRow("x_b", zb); err != nil {
		return nil, err
	}
	lossB := h.l.Value(zb, h.q)
	loss.Softmax{}.Predict(h.p, zb)
	loss.Residual(h.r, h.p, h.q, h.ya)
	residualB := norm(h.r)

	// The eigensolver destroys its input; h.gram stays H_a.
	copy(h.eigA, h.gram)
	if err := linalg.SymEigenvaluesGo(context.Background(), K, h.eigA, h.ev); err != nil {
		return nil, fmt.Errorf("instrument: per-image: eigenvalues of the %d×%d J Jᵀ: %w", K, K, err)
	}
	lmin, lmax := h.ev[0], h.ev[K-1]
	kappa := lmax / lmin
	if !(lmin > 0) {
		kappa = math.Inf(1)
	}
	f := g * kappa
	jf := func(v float64) jsonfloat.Float { return jsonfloat.Float(v) }
	return &PerImageMeasurement{
		Class: h.class, IndexA: h.ia, IndexB: h.ib,
		G: jf(g), LambdaMin: jf(lmin), LambdaMax: jf(lmax), Kappa: jf(kappa), F: jf(f),
		R: jf(lossB), ResidualB: jf(residualB), LossA: jf(lossA),
		Log2G: jf(math.Log2(g)), Log2Kappa: jf(math.Log2(kappa)), Log2F: jf(math.Log2(f)), Log2R: jf(math.Log2(lossB)),
	}, nil
}

// splitFor reports whether Measure takes the seed-split pass
// (perimage_split.go) on m: for a model of Sequential and Residual blocks
// whose forward pass costs at least twinWork multiply-adds per parameter,
// with K ≥ 2. The choice depends on the model alone (not on the twin or
// GOMAXPROCS), so the values do not either.
func (h *PerImage) splitFor(m nn.Layer[float64]) bool {
	if h.forceSplit != nil {
		return *h.forceSplit
	}
	if m != h.splitModel {
		h.splitModel = m
		h.splitOn = len(h.q) >= 2 && splitLayers(m) && forwardWork(m) >= twinWork*nn.NumParams(m)
	}
	return h.splitOn
}

// passSplit runs the seed-split pass on m and, when there is one, the twin
// (on two goroutines; without the twin, one side after the other on m),
// leaves the upper triangle of H_a in h.gram and returns f(x_a) and f(x_b)
// (x_b's forward pass on m before side A's pass).
func (h *PerImage) passSplit(m nn.Layer[float64]) (za, zb []float64) {
	if h.split == nil {
		h.split = newSeedSplit(h.xa, len(h.q))
	}
	h.split.sideCPU = h.sideCPU
	mb := m
	if h.twin != nil && copyValues(h.twin, m) {
		mb = h.twin
	}
	h.split.run(m, mb,
		func(z []float64) { h.za = append(h.za[:0], z...) },
		func() { h.zb = append(h.zb[:0], m.Forward(h.xb).Row(0)...) })
	clear(h.gram)
	h.split.sum(h.gram)
	return h.za, h.zb
}

// passBroadcast runs the pass on x_a replicated K times (row k seeded with
// e_k at the logits, so every layer holds δ_{l,k}(x_a) and AddGram adds
// H_a; the forward products run on x_a once, nn.ForwardBroadcast), leaves
// the upper triangle of H_a in h.gram unless f(x_a) is not finite, and
// returns f(x_a) and f(x_b), the latter on the twin concurrently when there
// is one.
func (h *PerImage) passBroadcast(m nn.Layer[float64]) (za, zb []float64) {
	K := len(h.q)
	fb := make(chan []float64, 1)
	if h.twin != nil && copyValues(h.twin, m) {
		go func() { fb <- h.twin.Forward(h.xb).Row(0) }()
	} else {
		// A copy: the pass on x_a reuses the model's output buffer.
		h.zb = append(h.zb[:0], m.Forward(h.xb).Row(0)...)
		fb <- h.zb
	}
	za = nn.ForwardBroadcast(m, h.rep, K).Row(0)
	if finiteRow("x_a", za) == nil {
		// Only the δ's are needed (no parameter gradients, no input gradient).
		if _, touched := nn.BackwardDeltas(m, h.seed, false); touched {
			defer nn.ZeroGrad(m)
		}
		clear(h.gram)
		m.AddGram(h.gram, K, K)
	}
	return za, <-fb
}

func finiteRow(what string, z []float64) error {
	for k, v := range z {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("instrument: per-image: logit %d of %s is %v", k, what, v)
		}
	}
	return nil
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// PerImageMeasurement is what Measure computes for one model (THEORY §5):
// the class and test indices of x_a and x_b, g = ‖∇_θ ℓ(x_a)‖², the extreme
// eigenvalues of J Jᵀ at x_a and κ = λ_max/λ_min (+Inf when λ_min ≤ 0),
// F = g·κ, R = ℓ(x_b), ‖e_y − softmax(f(x_b))‖, ℓ(x_a), and the base-2
// logarithms the figures plot. It is the hook's record: metrics.jsonl holds
// its fields after the loop's kind, step and epoch.
type PerImageMeasurement struct {
	Class     int             `json:"class"`
	IndexA    int             `json:"index_a"`
	IndexB    int             `json:"index_b"`
	G         jsonfloat.Float `json:"g"`
	LambdaMin jsonfloat.Float `json:"lambda_min"`
	LambdaMax jsonfloat.Float `json:"lambda_max"`
	Kappa     jsonfloat.Float `json:"kappa"`
	F         jsonfloat.Float `json:"F"`
	R         jsonfloat.Float `json:"R"`
	ResidualB jsonfloat.Float `json:"residual_b"`
	LossA     jsonfloat.Float `json:"loss_a"`
	Log2G     jsonfloat.Float `json:"log2_g"`
	Log2Kappa jsonfloat.Float `json:"log2_kappa"`
	Log2F     jsonfloat.Float `json:"log2_F"`
	Log2R     jsonfloat.Float `json:"log2_R"`
}

// PerImageRecord is a "per_image" line of metrics.jsonl read back typed: the
// loop's step and epoch and the measurement.
type PerImageRecord struct {
	Step  int `json:"step"`
	Epoch int `json:"epoch"`
	PerImageMeasurement
}
