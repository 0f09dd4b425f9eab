package instrument

import (
	"fmt"
	"math"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
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
//	g          ‖∇_θ ℓ(f(x_a), y_a)‖²   (one backward pass on x_a alone)
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
	dz     *nn.Mat[float64]
	p, r   []float64 // length K scratch
	q      []float64
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
	h.dz = nn.NewMat[float64](1, K)
	h.ready = true
	return nil
}

// OnStep measures the model of this step (train.Hook).
func (h *PerImage) OnStep(s *train.StepInfo) (map[string]any, error) {
	if !h.ready {
		if err := h.Select(s.Test); err != nil {
			return nil, err
		}
	}
	m, err := s.Model64()
	if err != nil {
		return nil, err
	}
	return h.Measure(m)
}

// Measure computes the record's fields for model (float64) on x_a and x_b;
// Select must have run. The model's Param.Grad values are zeroed.
func (h *PerImage) Measure(m nn.Layer[float64]) (map[string]any, error) {
	if !h.ready {
		panic("instrument: per-image: Measure before Select")
	}
	K := len(h.q)
	if m.OutShape().Size() != K || m.InShape().Size() != h.xa.Cols {
		return nil, fmt.Errorf("instrument: per-image: the model maps %v to %v, the test images have %d features and %d classes",
			m.InShape(), m.OutShape(), h.xa.Cols, K)
	}

	// x_b first: R and ‖e_y − softmax(f(x_b))‖ need only a forward pass.
	zb := m.Forward(h.xb).Row(0)
	if err := finiteRow("x_b", zb); err != nil {
		return nil, err
	}
	lossB := h.l.Value(zb, h.q)
	loss.Softmax{}.Predict(h.p, zb)
	loss.Residual(h.r, h.p, h.q, h.ya)
	residualB := norm(h.r)

	// x_a: loss and g = ‖∇_θ ℓ‖² from one backward pass seeded with
	// ∂ℓ/∂z = p − q (THEORY §1), the target entry computed cancellation-free.
	za := m.Forward(h.xa).Row(0)
	if err := finiteRow("x_a", za); err != nil {
		return nil, err
	}
	lossA := h.l.Value(za, h.q)
	h.l.Predict(h.p, za)
	label := h.ya
	if !h.l.OnSimplex() {
		label = -1
	}
	loss.Residual(h.dz.Data, h.p, h.q, label)
	nn.ZeroGrad(m)
	m.Backward(h.dz)
	g := 0.0
	for _, p := range m.Params() {
		for _, v := range p.Grad {
			g += v * v
		}
	}
	nn.ZeroGrad(m)

	// λ_min, λ_max of J Jᵀ for x_a: K×K, dense eigen.
	spec, err := structural.DenseSpectrum(structural.StructuralMatrix(m, h.xa), false)
	if err != nil {
		return nil, fmt.Errorf("instrument: per-image: %w", err)
	}
	kappa := spec.Max / spec.Min
	if !(spec.Min > 0) {
		kappa = math.Inf(1)
	}
	f := g * kappa
	return map[string]any{
		"class": h.class, "index_a": h.ia, "index_b": h.ib,
		"g": g, "lambda_min": spec.Min, "lambda_max": spec.Max, "kappa": kappa, "F": f,
		"R": lossB, "residual_b": residualB, "loss_a": lossA,
		"log2_g": math.Log2(g), "log2_kappa": math.Log2(kappa), "log2_F": math.Log2(f), "log2_R": math.Log2(lossB),
	}, nil
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
