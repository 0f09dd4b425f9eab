package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// smallSpecs holds one small model of every kind (and both skip settings),
// for the forward and gradient checks.
func smallSpecs() []Spec {
	img := nn.Shape{1, 6, 6}
	return []Spec{
		{Name: MLP, Hidden: []int{5, 4}, Input: img, Classes: 3},
		{Name: ModelA, Depth: 2, Width: 5, Input: img, Classes: 3},
		{Name: ModelA, Depth: 1, Width: 5, Input: img, Classes: 3, LogitReLU: true},
		{Name: ModelB, Depth: 2, Input: img, Classes: 3},
		{Name: ModelB, Depth: 1, Input: nn.Shape{2, 5, 4}, Classes: 3},
		{Name: ModelC, Depth: 2, Skip: true, Input: img, Classes: 3},
		{Name: ModelC, Depth: 2, Input: img, Classes: 3},
		{Name: ModelD, Depth: 2, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3},
		{Name: ModelD, Depth: 1, Input: nn.Shape{1, 8, 8}, Classes: 3},
		{Name: ResMLP, Depth: 2, Width: 5, Skip: true, Input: img, Classes: 3},
		{Name: ResMLP, Depth: 2, Width: 5, Input: img, Classes: 3},
	}
}

// TestForwardFullSize runs every model at its default size on a batch of 3:
// output shape [10], finite, and the same for two builds with one seed.
func TestForwardFullSize(t *testing.T) {
	specs := []Spec{
		{Name: MLP, Hidden: []int{100}},
		{Name: ModelA, Depth: 2},
		{Name: ModelB, Depth: 1},
		{Name: ModelC, Depth: 2, Skip: true},
		{Name: ModelD, Depth: 1, Skip: true},
		{Name: ModelD, Depth: 1},
		{Name: ResMLP, Depth: 3, Skip: true},
	}
	for _, s := range specs {
		t.Run(s.String(), func(t *testing.T) {
			x := randomBatch(rand.New(rand.NewPCG(4, 4)), 3, 784)
			var first []float64
			for run := range 2 {
				l := build(t, s)
				if !l.OutShape().Equal(nn.Shape{10}) {
					t.Fatalf("output shape %v, want [10]", l.OutShape())
				}
				initPyTorch(t, l, 9)
				y := l.Forward(x)
				if y.Rows != 3 || y.Cols != 10 {
					t.Fatalf("output %d×%d, want 3×10", y.Rows, y.Cols)
				}
				for _, v := range y.Data {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("non-finite output %v", v)
					}
				}
				if run == 0 {
					first = append([]float64(nil), y.Data...)
					continue
				}
				for i := range first {
					if first[i] != y.Data[i] {
						t.Fatalf("output %d differs between identical builds: %g vs %g", i, first[i], y.Data[i])
					}
				}
			}
		})
	}
}

// TestGradient checks Backward (dL/dθ) and Tangent (forward mode) of whole
// models against central finite differences of L = Σ c ∘ f(x) on two random
// inputs, for a handful of randomly chosen parameters.
func TestGradient(t *testing.T) {
	const checks = 12
	for _, s := range smallSpecs() {
		t.Run(s.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			l := build(t, s)
			// Biases of PyTorch's init plus small noise on every parameter,
			// so no parameter (and no ReLU input) sits at 0.
			initPyTorch(t, l, 5)
			for _, p := range l.Params() {
				for i := range p.Value {
					p.Value[i] += 0.05 * rng.NormFloat64()
				}
			}
			x := randomBatch(rng, 2, s.withDefaults().Input.Size())
			k := l.OutShape().Size()
			c := randomBatch(rng, 2, k)
			loss := func() float64 {
				y := l.Forward(x)
				sum := 0.0
				for i, v := range y.Data {
					sum += c.Data[i] * v
				}
				return sum
			}
			loss()
			nn.ZeroGrad(l)
			l.Backward(c)

			// ReLU and max-pool make L piecewise smooth in each parameter,
			// and a kink within fdStep of the point spoils the difference
			// quotient (it happens: dead ReLUs and pooled ties abound). A
			// parameter counts as smooth when the quotients at fdStep and
			// fdStep/4 agree; a wrong gradient disagrees with both, so only
			// smooth parameters are compared, and too few of them fail.
			ps := l.Params()
			quotient := func(p *nn.Param[float64], j int, h float64) float64 {
				old := p.Value[j]
				p.Value[j] = old + h
				up := loss()
				p.Value[j] = old - h
				down := loss()
				p.Value[j] = old
				return (up - down) / (2 * h)
			}
			smooth := 0
			for try := 0; try < 3*checks && smooth < checks; try++ {
				p := ps[rng.IntN(len(ps))]
				j := rng.IntN(p.Len())
				fd := quotient(p, j, fdStep)
				if fine := quotient(p, j, fdStep/4); math.Abs(fd-fine) > fdRel*math.Abs(fd)+fdAbs {
					continue // a kink within fdStep
				}
				smooth++
				if g := p.Grad[j]; math.Abs(g-fd) > fdRel*math.Abs(fd)+fdAbs {
					t.Errorf("%s[%d]: backward %.12g, finite difference %.12g", p.Name, j, g, fd)
				}
			}
			if smooth < checks {
				t.Errorf("only %d of %d tries were away from kinks", smooth, 3*checks)
			}

			// Forward mode along a random parameter direction v:
			// <c, Tangent> must equal <∇L, v> from Backward.
			want := 0.0
			for _, p := range ps {
				p.Tangent = make([]float64, p.Len())
				for i := range p.Tangent {
					p.Tangent[i] = rng.NormFloat64()
					want += p.Tangent[i] * p.Grad[i]
				}
			}
			loss()
			dy := l.Tangent(nil)
			got := 0.0
			for i, v := range dy.Data {
				got += c.Data[i] * v
			}
			for _, p := range ps {
				p.Tangent = nil
			}
			if math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
				t.Errorf("tangent <c, J v> = %.12g, backward <∇L, v> = %.12g", got, want)
			}
		})
	}
}
