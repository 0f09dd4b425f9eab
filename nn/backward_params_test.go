package nn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// containerCases are Sequentials that start with parameterless layers, mix
// layer kinds or hold a Residual: the paths of BackwardParams and
// BackwardDeltas that a single layer does not reach.
func containerCases() []layerCase {
	return []layerCase{
		{"flatten then dense", func() Layer[float64] {
			return must(NewSequential[float64](NewFlatten[float64](Shape{2, 3, 2}), NewDense[float64](12, 4), NewReLU[float64](Shape{4}), NewDense[float64](4, 3)))
		}},
		{"relu then conv", func() Layer[float64] {
			return must(NewSequential[float64](NewReLU[float64](Shape{2, 4, 4}), must(NewConv2D[float64](Shape{2, 4, 4}, 3, 3, 1, 1, true))))
		}},
		{"conv then dense", func() Layer[float64] {
			return must(NewSequential[float64](must(NewConv2D[float64](Shape{2, 4, 4}, 3, 3, 1, 1, true)), NewReLU[float64](Shape{3, 4, 4}),
				NewFlatten[float64](Shape{3, 4, 4}), NewDense[float64](48, 5)))
		}},
		{"residual dense block", func() Layer[float64] {
			body := must(NewSequential[float64](NewDense[float64](6, 6), NewReLU[float64](Shape{6})))
			return must(NewSequential[float64](NewDense[float64](4, 6), NewReLU[float64](Shape{6}), must(NewResidual[float64](body, nil, true)), NewDense[float64](6, 3)))
		}},
		{"parameterless only", func() Layer[float64] {
			return must(NewSequential[float64](NewReLU[float64](Shape{5}), NewTanh[float64](Shape{5})))
		}},
	}
}

// TestBackwardParamsMatchesBackward checks, for every layer of the
// conformance table plus Sequentials that start with parameterless layers,
// that BackwardParams adds exactly (bit for bit) the parameter gradients
// Backward adds, and that the per-sample gradients read afterwards agree.
func TestBackwardParamsMatchesBackward(t *testing.T) {
	cases := append(conformanceCases(), containerCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			l := tc.make()
			for _, p := range l.Params() {
				fillNormal(rng, p.Value, 0.5)
			}
			const rows = 3
			x := randomInput(rng, rows, l.InShape().Size())
			dy := NewMat[float64](rows, l.OutShape().Size())
			fillNormal(rng, dy.Data, 1)
			n := NumParams(l)

			ZeroGrad(l)
			l.Forward(x)
			l.Backward(dy)
			var want [][]float64
			for _, p := range l.Params() {
				want = append(want, slices.Clone(p.Grad))
			}
			psWant := NewMat[float64](rows, n)
			l.PerSampleGrad(psWant, 0)

			ZeroGrad(l)
			l.Forward(x)
			BackwardParams(l, dy)
			for i, p := range l.Params() {
				if !slices.Equal(p.Grad, want[i]) {
					t.Fatalf("%s: BackwardParams gradient %v, Backward gave %v", p.Name, p.Grad, want[i])
				}
			}
			ps := NewMat[float64](rows, n)
			l.PerSampleGrad(ps, 0)
			if !slices.Equal(ps.Data, psWant.Data) {
				t.Fatalf("per-sample gradients after BackwardParams differ from those after Backward")
			}
		})
	}
}
