package linalg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// gemmShape is one product of MLP 784-1000-10 training at batch 128.
type gemmShape struct {
	name    string
	tA, tB  bool
	m, n, k int
}

var gemmShapes = []gemmShape{
	{"fwd_128x784·(1000x784)T", false, true, 128, 1000, 784},
	{"wgrad_(128x1000)T·128x784", true, false, 1000, 784, 128},
	{"igrad_128x1000·1000x784", false, false, 128, 784, 1000},
}

// benchImpls are the implementations benchmarked: the installed backend,
// the pure-Go kernels with each set of assembly micro-kernels this machine
// can run (kernels=avx512, kernels=avx2), and gonum's own, so the speed-ups
// are measured in one run.
func benchImpls() []impl {
	ims := []impl{{name: "installed", f32: Float32, f64: Float64}}
	for _, s := range availableKernelSets() {
		if s.k32 != nil {
			ims = append(ims, impl{name: "kernels=" + s.name, f32: Kernels{}, f64: Kernels{}, set: &s})
		}
	}
	return append(ims, impl{name: "gonum", f32: gonum.Implementation{}, f64: gonum.Implementation{}})
}

// report records wall-clock GFLOP/s and GFLOP per CPU-second (summed over
// threads; with OpenBLAS includes its spinning threads) for b.N products.
func report(b *testing.B, flops, cpu0 float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cputime.Process().Seconds() - cpu0; cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/cpu-s")
	}
}

func randSlice(rnd *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 2*rnd.Float64() - 1
	}
	return x
}

func BenchmarkGemm(b *testing.B) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for _, s := range gemmShapes {
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		a, bm, c := randSlice(rnd, s.m*s.k), randSlice(rnd, s.k*s.n), make([]float64, s.m*s.n)
		a32, b32, c32 := to32(a), to32(bm), to32(c)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, im := range benchImpls() {
			b.Run(fmt.Sprintf("%s/f32/%s", im.name, s.name), func(b *testing.B) {
				defer im.use()()
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					im.f32.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a32, lda, b32, ldb, 0, c32, s.n)
				}
				report(b, flops, cpu0)
			})
			b.Run(fmt.Sprintf("%s/f64/%s", im.name, s.name), func(b *testing.B) {
				defer im.use()()
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					im.f64.Dgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				report(b, flops, cpu0)
			})
		}
	}
}

// BenchmarkSyrk is the structural engine's H = J Jᵀ for n = 500 samples and
// K = 10 classes (5000 rows) with 1000 parameters, in float64.
func BenchmarkSyrk(b *testing.B) {
	const n, k = 5000, 1000
	rnd := rand.New(rand.NewPCG(9, 10))
	a, c := randSlice(rnd, n*k), make([]float64, n*n)
	flops := float64(n) * float64(n+1) * float64(k) // upper triangle only
	for _, im := range benchImpls() {
		b.Run(im.name+"/f64/5000x1000", func(b *testing.B) {
			defer im.use()()
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				im.f64.Dsyrk(blas.Upper, blas.NoTrans, n, k, 1, a, k, 0, c, n)
			}
			report(b, flops, cpu0)
		})
	}
}
