package structural

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchStructuralMLP measures StructuralMatrix plus the extremes of H_S on
// range(Π) (RestrictSumZero + Lanczos) for an MLP 784-width-10 at random init
// on random inputs: the n-sample probe of THEORY §2 at MNIST scale.
func benchStructuralMLP(b *testing.B, width, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, width, 10)
	x := randomX(rng, n, 784)
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		h := StructuralMatrix(model, x)
		hs := RestrictSumZero(h, 10)
		lo, hi, steps, err := LanczosExtremes(SymMul(hs), hs.SymmetricDim(), DefaultLanczosTol, 1500, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			b.Fatal(err)
		}
		if it == 0 {
			b.ReportMetric(float64(steps), "lanczos-steps")
			b.ReportMetric(hi/lo, "cond")
		}
	}
}

func BenchmarkStructuralMLP1000(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchStructuralMLP(b, 1000, n) })
	}
}

// BenchmarkStructuralMatrixOnly isolates the H computation of the n = 500 case.
func BenchmarkStructuralMatrixOnly(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, 1000, 10)
	x := randomX(rng, 500, 784)
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		StructuralMatrix(model, x)
	}
}

// BenchmarkSpectrum compares the dense eigen-decomposition with Lanczos
// extremes on a real H_S (MLP 784-1000-10), to place DefaultDenseMax.
func BenchmarkSpectrum(b *testing.B) {
	for _, n := range []int{50, 100, 200} {
		rng := rand.New(rand.NewPCG(1, 1))
		model := mlp(rng, "relu", 784, 1000, 10)
		hs := RestrictSumZero(StructuralMatrix(model, randomX(rng, n, 784)), 10)
		dim := hs.SymmetricDim()
		b.Run(fmt.Sprintf("dense/dim=%d", dim), func(b *testing.B) {
			for it := 0; it < b.N; it++ {
				if _, err := DenseSpectrum(hs, false); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("lanczos/dim=%d", dim), func(b *testing.B) {
			for it := 0; it < b.N; it++ {
				if _, _, _, err := LanczosExtremes(SymMul(hs), dim, DefaultLanczosTol, dim, rand.New(rand.NewPCG(2, 2))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
