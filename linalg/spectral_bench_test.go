package linalg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// randomGram returns a random n×n Gram matrix GGᵀ/n (G n×2n), positive
// definite like the structural matrices the engine diagonalises.
func randomGram(n int) []float64 {
	rnd := rand.New(rand.NewPCG(1, 2))
	g := make([]float64, n*2*n)
	for i := range g {
		g[i] = rnd.NormFloat64()
	}
	a := make([]float64, n*n)
	Syrk(false, n, 2*n, 1/float64(n), g, 2*n, 0, a, n)
	Symmetrize(n, a, n)
	return a
}

func BenchmarkSymEigenvalues(b *testing.B) {
	for _, n := range []int{1000, 2000, 5000} {
		var a []float64 // built by the first sub-benchmark that runs
		w := make([]float64, n)
		solvers := withCtx(eigenSolvers)
		if n <= 2000 {
			// gonum's Dsyev (unblocked symv-bound reduction).
			solvers = append(solvers, eigenSolver{"gonumDsyev", func(_ context.Context, n int, a, w []float64) error {
				copy(w, oracleEigenvalues(n, a))
				return nil
			}})
		}
		for _, s := range solvers {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				if a == nil {
					a = randomGram(n)
				}
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					if err := s.f(context.Background(), n, slices.Clone(a), w); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}

// BenchmarkSymEigenvaluesStages times the one-stage and two-stage reductions
// (with dsterf) against each other, the two-stage at several bandwidths.
func BenchmarkSymEigenvaluesStages(b *testing.B) {
	for _, n := range []int{30, 60, 100, 150, 200, 400, 700, 1000, 2000, 5000} {
		var a []float64 // built by the first sub-benchmark that runs
		w := make([]float64, n)
		e := make([]float64, n)
		run := func(name string, f func(a []float64) error) {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				if a == nil {
					a = randomGram(n)
				}
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					c := slices.Clone(a)
					if err := f(c); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
		run("oneStage", func(c []float64) error { return symTridiagonalize(context.Background(), n, c, n, w, e) })
		for _, nb := range []int{32, 64} {
			run(fmt.Sprintf("twoStage%d", nb), func(c []float64) error {
				return symTridiagonalize2Stage(context.Background(), n, c, n, nb, w, e)
			})
		}
	}
}

// BenchmarkTwoStageParts times the band reduction, the bulge chasing and
// sterf apart (wall seconds per call of each, and CPU seconds per call of
// the whole).
func BenchmarkTwoStageParts(b *testing.B) {
	grams := map[int][]float64{}
	for _, c := range []struct{ n, nb int }{{2000, 32}, {2000, 48}, {2000, 64}, {5000, 32}, {5000, 48}, {5000, 64}} {
		n, nb := c.n, c.nb
		b.Run(fmt.Sprintf("n=%d/nb=%d", n, nb), func(b *testing.B) {
			if grams[n] == nil {
				grams[n] = randomGram(n)
			}
			a := grams[n]
			cpu0 := cputime.Process().Seconds()
			w, e := make([]float64, n), make([]float64, n)
			var band, chase, tri time.Duration
			ctx := context.Background()
			for b.Loop() {
				c := slices.Clone(a)
				t0 := time.Now()
				if err := symToBand(ctx, n, c, n, nb, new(bandWork)); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := bandFromRows(n, nb, c, n).tridiagonalize(ctx, w, e); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				sterf(w, e[:n-1])
				band, chase, tri = band+t1.Sub(t0), chase+t2.Sub(t1), tri+time.Since(t2)
			}
			N := float64(b.N)
			b.ReportMetric(band.Seconds()/N, "band-s/op")
			b.ReportMetric(chase.Seconds()/N, "chase-s/op")
			b.ReportMetric(tri.Seconds()/N, "sterf-s/op")
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/N, "cpu-s/op")
		})
	}
}

func BenchmarkCholesky(b *testing.B) {
	for _, n := range []int{2000, 5000} {
		a := randomGram(n)
		for _, c := range choleskies {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				for b.Loop() {
					if err := c.f(context.Background(), n, slices.Clone(a), n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkCholeskySolve(b *testing.B) {
	n := 5000
	u := randomGram(n)
	if err := CholeskyGo(context.Background(), n, u, n); err != nil {
		b.Fatal(err)
	}
	for _, r := range []int{1, 2, 4} {
		x := make([]float64, n*r)
		for _, s := range solvers {
			b.Run(fmt.Sprintf("%s/n=%d/r=%d", s.name, n, r), func(b *testing.B) {
				for b.Loop() {
					for i := range x {
						x[i] = 1
					}
					s.lower(n, r, u, n, x, r)
					s.u(n, r, u, n, x, r)
				}
			})
		}
	}
}

// BenchmarkBulgeChasing times stage two alone (band to tridiagonal).
func BenchmarkBulgeChasing(b *testing.B) {
	const n = 5000
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, nb := range []int{32, 48, 64} {
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < min(n, i+nb+1); j++ {
				a[i*n+j] = rnd.NormFloat64()
			}
		}
		d, e := make([]float64, n), make([]float64, n)
		b.Run(fmt.Sprintf("nb=%d", nb), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				if err := bandFromRows(n, nb, a, n).tridiagonalize(context.Background(), d, e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}
