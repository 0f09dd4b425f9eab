package linalg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
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
		a := randomGram(n)
		w := make([]float64, n)
		solvers := eigenSolvers[:2]
		if n <= 2000 {
			// gonum's Dsyev (unblocked symv-bound reduction), the previous engine path.
			solvers = append(solvers, struct {
				name string
				f    func(ctx context.Context, n int, a, w []float64) error
			}{"gonumDsyev", func(_ context.Context, n int, a, w []float64) error {
				copy(w, oracleEigenvalues(n, a))
				return nil
			}})
		}
		for _, s := range solvers {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				for b.Loop() {
					if err := s.f(context.Background(), n, slices.Clone(a), w); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
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
