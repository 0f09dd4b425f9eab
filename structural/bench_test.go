package structural

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
)

// benchStructuralMLP measures StructuralMatrix plus the extremes of H_S on
// range(Π) (Lanczos on the Helmert-restricted operator applied through H, as
// Analyze runs it) for an MLP 784-width-10 at random init on random inputs:
// the n-sample probe of THEORY §2 at MNIST scale. It reports the seconds of
// each phase of the last iteration.
func benchStructuralMLP(b *testing.B, width, n, block int) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, width, 10)
	x := randomX(rng, n, 784)
	b.ResetTimer()
	var tH, tL float64
	for it := 0; it < b.N; it++ {
		t0 := time.Now()
		h := StructuralMatrix(model, x)
		t1 := time.Now()
		rs, _ := lockstepExtremes(context.Background(), h, []hOperator{sumZeroOp(n*10, 10)}, DefaultLanczosTol, block, rand.New(rand.NewPCG(2, 2)))
		r := rs[0]
		if r.err != nil {
			b.Fatal(r.err)
		}
		tH, tL = t1.Sub(t0).Seconds(), time.Since(t1).Seconds()
		if it == 0 {
			b.ReportMetric(float64(r.iters), "lanczos-vectors")
			b.ReportMetric(float64(r.steps), "passes")
			b.ReportMetric(r.hi/r.lo, "cond")
		}
	}
	b.ReportMetric(tH, "s-H")
	b.ReportMetric(tL, "s-lanczos")
}

func BenchmarkStructuralMLP1000(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchStructuralMLP(b, 1000, n, DefaultBlockSize) })
	}
}

// BenchmarkBlockSize is BenchmarkStructuralMLP1000 at n = 500 for several
// Lanczos block sizes (1 = plain Lanczos).
func BenchmarkBlockSize(b *testing.B) {
	for _, bs := range []int{1, 4, 6, 8} {
		b.Run(fmt.Sprintf("block=%d", bs), func(b *testing.B) { benchStructuralMLP(b, 1000, 500, bs) })
	}
}

// BenchmarkAnalyzeMLP1000 is the whole Analyze (softmax: spectra of H, H_S
// and H_p, all by Lanczos in lock step at n = 500) on the same MLP.
func BenchmarkAnalyzeMLP1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, 1000, 10)
	n := 500
	probe := Probe{X: randomX(rng, n, 784), Labels: randomLabels(rng, n, 10)}
	l, err := loss.New("softmax")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rep *Report
	for it := 0; it < b.N; it++ {
		if rep, err = Analyze(model, probe, l, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, k := range []string{"H", "spectra lanczos"} {
		b.ReportMetric(rep.Timings[k], "s-"+strings.ReplaceAll(k, " ", "-"))
	}
	b.ReportMetric(float64(max(rep.H.Passes, rep.HS.Passes, rep.HP.Passes)), "passes")
	b.Logf("passes: H %d, H_S %d, H_p %d; timings %v", rep.H.Passes, rep.HS.Passes, rep.HP.Passes, rep.Timings)
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

// BenchmarkStructuralModelD times the generic (non-MLP) StructuralMatrix path
// and one matrix-free product Hv on Model d (THEORY §5: ResNet, k = 1 block
// per stage, skips on) at n = 50 MNIST-sized inputs, K = 10.
func BenchmarkStructuralModelD(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	model, err := models.Build[float64](models.Spec{Name: models.ModelD, Depth: 1, Skip: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range model.Params() {
		sd := 1 / math.Sqrt(float64(max(1, p.FanIn)))
		for i := range p.Value {
			p.Value[i] = sd * rng.NormFloat64()
		}
	}
	n := 50
	x := randomX(rng, n, model.InShape().Size())
	b.Run("H", func(b *testing.B) {
		for it := 0; it < b.N; it++ {
			StructuralMatrix(model, x)
		}
	})
	b.Run("MulH", func(b *testing.B) {
		op, err := NewJacobianOperator(model, x)
		if err != nil {
			b.Fatal(err)
		}
		v, dst := randomVec(rng, n*10), make([]float64, n*10)
		for it := 0; it < b.N; it++ {
			op.MulH(dst, v)
		}
	})
}

// BenchmarkAnalyzeProbe100 is the probe a training run takes (train
// --probe-n 100): Analyze of MLP 784-256-10 on 100 samples (dim 1000), with
// the seconds of building H and of the spectra in the last iteration.
func BenchmarkAnalyzeProbe100(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, 256, 10)
	n := 100
	probe := Probe{X: randomX(rng, n, 784), Labels: randomLabels(rng, n, 10)}
	l, err := loss.New("softmax")
	if err != nil {
		b.Fatal(err)
	}
	for _, method := range []Method{MethodAuto, MethodDense} {
		b.Run(string(method), func(b *testing.B) {
			var rep *Report
			for b.Loop() {
				if rep, err = Analyze(model, probe, l, Options{Method: method}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rep.H.Rank), "rank-H")
			for _, k := range []string{"H", "spectra lanczos"} {
				if v, ok := rep.Timings[k]; ok {
					b.ReportMetric(v, "s-"+strings.ReplaceAll(k, " ", "-"))
				}
			}
		})
	}
}

// BenchmarkSingularRank compares the two ways of finding the numerical rank
// of a singular H (dim 2000, rank 1200): the dense spectrum and pivotedRank
// (pivoted Cholesky with its two checks), as auto chooses below and above
// DenseMax.
func BenchmarkSingularRank(b *testing.B) {
	const m, rank = 2000, 1200
	h := randomPSD(rngFor(5), m, rank)
	_, top, _, err := LanczosExtremes(SymMul(h), m, DefaultLanczosTol, m, rngFor(6))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("dense", func(b *testing.B) {
		for b.Loop() {
			s, err := denseSpectrum(context.Background(), h, false, DefaultRankTol)
			if err != nil || s.Rank != rank {
				b.Fatalf("rank %d, %v", s.Rank, err)
			}
		}
	})
	b.Run("pivoted", func(b *testing.B) {
		work := make([]float64, m*m)
		w := extremeWant{kind: "H", op: identityOp(m)}
		for b.Loop() {
			k, err := pivotedRank(context.Background(), h.RawSymmetric().Data, m, 10, nil, w, top, DefaultRankTol, work, rngFor(7))
			if err != nil || k != rank {
				b.Fatalf("rank %d, %v", k, err)
			}
		}
	})
}
