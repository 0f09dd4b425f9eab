package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convGramTol bounds the relative difference (to the largest entry) of the
// spatial Gram from G Gᵀ of the explicit per-sample gradients: the same
// sums in another order.
const convGramTol = 1e-13

// TestConvGramForms checks both forms of Conv2D.AddGram, the spatial one and
// the im2col one (with its dot products for few rows and Syrk for more),
// against G Gᵀ of PerSampleGrad, for strides, paddings, bias on and off,
// groups of rep identical rows and several distinct inputs, and that
// gramForm picks the spatial form on Model d's 7×7 stage and the im2col form
// on its 28×28 one.
func TestConvGramForms(t *testing.T) {
	geoms := []struct {
		in                   Shape
		outC, k, stride, pad int
		bias                 bool
	}{
		{Shape{3, 5, 5}, 4, 3, 1, 1, true},
		{Shape{2, 7, 7}, 5, 3, 2, 1, false},
		{Shape{2, 4, 6}, 3, 2, 2, 0, true},
		{Shape{4, 3, 3}, 6, 3, 1, 1, false},
	}
	for _, gm := range geoms {
		for _, rep := range []int{1, 3, 10} {
			for _, n := range []int{1, 2} {
				t.Run(fmt.Sprintf("%v-%d-k%d-s%d-p%d-bias%v/rep=%d/n=%d", gm.in, gm.outC, gm.k, gm.stride, gm.pad, gm.bias, rep, n), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(rep), uint64(n)))
					c := must(NewConv2D[float64](gm.in, gm.outC, gm.k, gm.stride, gm.pad, gm.bias))
					for _, p := range c.Params() {
						fillNormal(rng, p.Value, 0.5)
					}
					m := n * rep
					distinct := randomInput(rng, n, c.InShape().Size())
					x := NewMat[float64](m, distinct.Cols)
					for r := range m {
						copy(x.Row(r), distinct.Row(r/rep))
					}
					dy := NewMat[float64](m, c.OutShape().Size())
					fillNormal(rng, dy.Data, 1)
					c.Forward(x)
					BackwardDeltas[float64](c, dy, false)
					g := NewMat[float64](m, NumParams[float64](c))
					c.PerSampleGrad(g, 0)
					want := make([]float64, m*m)
					for i := range m {
						for j := i; j < m; j++ {
							s := 0.0
							for q, v := range g.Row(i) {
								s += v * g.Row(j)[q]
							}
							want[i*m+j] = s
						}
					}
					spatial := make([]float64, m*m)
					c.addGramSpatial(spatial, m, rep)
					plain := make([]float64, m*m)
					defer func(f func(int, int) bool) { gramFormOverride = f }(gramFormOverride)
					gramFormOverride = func(int, int) bool { return false }
					c.AddGram(plain, m, rep)
					for name, got := range map[string][]float64{"spatial": spatial, "im2col": plain} {
						upper(got, m)
						if d := maxRelDiff(got, want); d > convGramTol {
							t.Errorf("%s form: max rel diff %.3g from G Gᵀ > %g", name, d, convGramTol)
						}
					}
				})
			}
		}
	}
	d1 := must(NewConv2D[float64](Shape{16, 28, 28}, 16, 3, 1, 1, false))
	d3 := must(NewConv2D[float64](Shape{64, 7, 7}, 64, 3, 1, 1, false))
	if d1.gramForm(1, 10) || !d3.gramForm(1, 10) {
		t.Errorf("gramForm: 16→16 at 28×28 spatial %v (want false), 64→64 at 7×7 spatial %v (want true)", d1.gramForm(1, 10), d3.gramForm(1, 10))
	}
}

// upper clears the strict lower triangle of the m×m matrix h.
func upper(h []float64, m int) {
	for i := range m {
		clear(h[i*m : i*m+i])
	}
}
