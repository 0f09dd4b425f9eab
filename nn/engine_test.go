package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAddGramTermsMatchesPerSampleGrads checks the layerwise Gram formula
// against the per-sample gradients it avoids forming: for a Dense layer
// whose dy rows come in groups of rep sharing one input, AddGramTerms of
// its GramTerm must equal G Gᵀ with G the brute-force per-sample gradient
// rows (upper triangle), for several terms summed.
func TestAddGramTermsMatchesPerSampleGrads(t *testing.T) {
	const tol = 1e-12 // relative to the largest entry: a few roundings of O(in·out) sums
	rng := rand.New(rand.NewPCG(3, 9))
	for _, c := range []struct{ n, rep, in, out int }{{3, 1, 4, 5}, {4, 3, 2, 6}, {2, 10, 7, 3}} {
		m := c.n * c.rep
		var terms []GramTerm[float64]
		want := make([]float64, m*m)
		for term := 0; term < 2; term++ {
			x := NewMat[float64](c.n, c.in)
			dy := NewMat[float64](m, c.out)
			for i := range x.Data {
				x.Data[i] = rng.NormFloat64()
			}
			for i := range dy.Data {
				dy.Data[i] = rng.NormFloat64()
			}
			d := NewDense[float64](c.in, c.out)
			terms = append(terms, d.GramTerm(x, dy, c.rep))
			// Row r of G: vec(dy_r x_{r/rep}ᵀ) and the bias gradient dy_r.
			g := make([][]float64, m)
			for r := 0; r < m; r++ {
				xr := x.Row(r / c.rep)
				for _, v := range dy.Row(r) {
					for _, xv := range xr {
						g[r] = append(g[r], v*xv)
					}
					g[r] = append(g[r], v)
				}
			}
			for a := 0; a < m; a++ {
				for b := a; b < m; b++ {
					s := 0.0
					for i := range g[a] {
						s += g[a][i] * g[b][i]
					}
					want[a*m+b] += s
				}
			}
		}
		got := make([]float64, m*m)
		AddGramTerms(got, m, c.rep, terms, nil)
		scale := 0.0
		for _, v := range want {
			scale = math.Max(scale, math.Abs(v))
		}
		for a := 0; a < m; a++ {
			for b := 0; b < m; b++ {
				w := want[a*m+b]
				if b < a {
					w = 0 // lower triangle untouched
				}
				if math.Abs(got[a*m+b]-w) > tol*scale {
					t.Fatalf("%+v: H[%d][%d] = %v, per-sample gradients give %v", c, a, b, got[a*m+b], w)
				}
			}
		}
	}
}
