package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBackwardDeltasMatchesBackward checks, for every layer of the
// conformance table plus containers mixing layers with and without
// DeltaBackwarder, that BackwardDeltas leaves the layers in the state
// Backward does for the structural quantities (AddGram and PerSampleGrad
// give the same bits), returns the same dL/dx when asked, and leaves every
// Param.Grad untouched exactly when it reports so.
func TestBackwardDeltasMatchesBackward(t *testing.T) {
	cases := append(conformanceCases(), containerCases()...)
	for _, tc := range cases {
		for _, wantDx := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, 8))
				l := tc.make()
				for _, p := range l.Params() {
					fillNormal(rng, p.Value, 0.5)
				}
				const rows = 4
				x := randomInput(rng, rows, l.InShape().Size())
				dy := NewMat[float64](rows, l.OutShape().Size())
				fillNormal(rng, dy.Data, 1)
				n := NumParams(l)

				ZeroGrad(l)
				l.Forward(x)
				dxWant := slices.Clone(l.Backward(dy).Data)
				psWant := NewMat[float64](rows, n)
				l.PerSampleGrad(psWant, 0)
				gramWant := make([]float64, rows*rows)
				l.AddGram(gramWant, rows, 1)

				// Leave stale state from another dy, so a layer that forgot to
				// record the new dy would show.
				other := NewMat[float64](rows, l.OutShape().Size())
				fillNormal(rng, other.Data, 1)
				l.Forward(x)
				l.Backward(other)
				// Sentinel gradients: any write shows.
				for _, p := range l.Params() {
					for i := range p.Grad {
						p.Grad[i] = math.Pi
					}
				}
				l.Forward(x)
				dx, touched := BackwardDeltas(l, dy, wantDx)
				changed := false
				for _, p := range l.Params() {
					for _, g := range p.Grad {
						changed = changed || g != math.Pi
					}
				}
				if changed && !touched {
					t.Fatalf("wantDx=%v: Param.Grad changed but touchedGrads = false", wantDx)
				}
				if wantDx && !slices.Equal(dx.Data, dxWant) {
					t.Fatalf("wantDx: dL/dx %v, Backward gave %v", dx.Data, dxWant)
				}
				if !wantDx && dx != nil {
					t.Fatalf("wantDx=false returned dL/dx")
				}
				ps := NewMat[float64](rows, n)
				l.PerSampleGrad(ps, 0)
				if !slices.Equal(ps.Data, psWant.Data) {
					t.Fatalf("wantDx=%v: per-sample gradients after BackwardDeltas differ from those after Backward", wantDx)
				}
				gram := make([]float64, rows*rows)
				l.AddGram(gram, rows, 1)
				if !slices.Equal(gram, gramWant) {
					t.Fatalf("wantDx=%v: AddGram after BackwardDeltas differs from after Backward", wantDx)
				}
			})
		}
	}
	// Dense, Conv2D, ReLU and the containers keep the gradients: a
	// fallback-free model must report touchedGrads = false.
	l := must(NewSequential[float64](must(NewConv2D[float64](Shape{1, 2, 2}, 1, 1, 1, 0, true)), NewFlatten[float64](Shape{1, 2, 2}), NewDense[float64](4, 6), NewReLU[float64](Shape{6}),
		must(NewResidual[float64](must(NewSequential[float64](NewDense[float64](6, 6), NewReLU[float64](Shape{6}))), nil, true)), NewDense[float64](6, 3)))
	x := NewMat[float64](2, 4)
	l.Forward(x)
	if _, touched := BackwardDeltas(l, NewMat[float64](2, 3), false); touched {
		t.Errorf("conv/dense/relu/residual model reports touched gradients")
	}
}
