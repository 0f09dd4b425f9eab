package linalg

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSymvBatch is one Lanczos step of the structural probe's λ_max
// (four vectors through H, nK = 1000 for n = 100 and 5000 for n = 500).
func BenchmarkSymvBatch(b *testing.B) {
	rnd := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1000, 5000} {
		a := randSlice(rnd, n*n)
		const vecs = 4
		xs, ys := make([][]float64, vecs), make([][]float64, vecs)
		for j := range xs {
			xs[j], ys[j] = randSlice(rnd, n), make([]float64, n)
		}
		b.Run(fmt.Sprintf("n=%d/vecs=%d", n, vecs), func(b *testing.B) {
			for b.Loop() {
				SymvBatch(n, a, n, xs, ys)
			}
			b.ReportMetric(float64(vecs)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFMA/s")
		})
	}
}

// BenchmarkSolveNarrow is one step of Lanczos on A⁻¹ = U⁻¹U⁻ᵀ with r
// columns: a forward and a back solve with the n×n factor U.
func BenchmarkSolveNarrow(b *testing.B) {
	rnd := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{1000, 5000} {
		u := make([]float64, n*n)
		for i := 0; i < n; i++ {
			u[i*n+i] = 1 + rnd.Float64()
			for j := i + 1; j < n; j++ {
				u[i*n+j] = (2*rnd.Float64() - 1) / float64(n)
			}
		}
		for _, r := range []int{1, 2, 4, 8} {
			x0 := randSlice(rnd, n*r)
			x := make([]float64, n*r)
			b.Run(fmt.Sprintf("n=%d/r=%d", n, r), func(b *testing.B) {
				for b.Loop() {
					copy(x, x0)
					SolveUpperT(n, r, u, n, x, r)
					SolveUpper(n, r, u, n, x, r)
				}
				b.ReportMetric(float64(r)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFMA/s")
			})
		}
	}
}
