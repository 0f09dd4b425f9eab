package linalg

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"

	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// TestGemmDotTeamBits checks the few-column A·Bᵀ products between
// parallelFlops and gemmParallelFlops, which gemmDot splits in two halves
// for the team's worker when it is spinning, and runs as two halves on the
// caller otherwise: right after a fork-join of the team and with the
// worker parked, Kernels' GEMM gives the bits of gemmDot on all rows at once, in
// float32 (and float64 where a set has dot kernels for it), with every
// kernel set this machine can run that has them; C holds NaN before.
func TestGemmDotTeamBits(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	rng := rand.New(rand.NewPCG(15, 16))
	shapes := [][3]int{{128, 10, 1000}, {129, 7, 1200}, {70, 12, 1300}}
	for _, im := range impls() {
		if im.set == nil || im.set.k32 == nil || len(im.set.k32.dots) == 0 {
			continue
		}
		restore := im.use()
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			if f := m * n * k; f < parallelFlops || f >= gemmParallelFlops {
				t.Fatalf("%v: %d flops outside the shared range", s, f)
			}
			a, b := make([]float64, m*k), make([]float64, n*k)
			for i := range a {
				a[i] = rng.NormFloat64()
			}
			for i := range b {
				b[i] = rng.NormFloat64()
			}
			a32, b32 := to32(a), to32(b)
			want32, want64 := make([]float32, m*n), make([]float64, m*n)
			gemmDot(kernel32, m, n, k, 0.5, a32, k, b32, k, want32, n, 1, false)
			dots64 := kernel64 != nil && len(kernel64.dots) > 0
			if dots64 {
				gemmDot(kernel64, m, n, k, 0.5, a, k, b, k, want64, n, 1, false)
			}
			var c32 [2][]float32
			var c64 [2][]float64
			for i, awake := range []bool{false, true} {
				c32[i], c64[i] = make([]float32, m*n), make([]float64, m*n)
				for j := range c32[i] {
					c32[i][j], c64[i][j] = float32(math.NaN()), math.NaN()
				}
				if awake {
					parallel.Team(2, func(int) {})
				} else {
					waitParked()
				}
				im.f32.Sgemm(blas.NoTrans, blas.Trans, m, n, k, 0.5, a32, k, b32, k, 0, c32[i], n)
				if awake {
					parallel.Team(2, func(int) {})
				} else {
					waitParked()
				}
				im.f64.Dgemm(blas.NoTrans, blas.Trans, m, n, k, 0.5, a, k, b, k, 0, c64[i], n)
			}
			for i, how := range []string{"worker parked", "worker spinning"} {
				for j := range want32 {
					if math.Float32bits(c32[i][j]) != math.Float32bits(want32[j]) {
						t.Fatalf("%s %v float32, %s: C[%d] = %v, all rows at once %v", im.name, s, how, j, c32[i][j], want32[j])
					}
					if dots64 && math.Float64bits(c64[i][j]) != math.Float64bits(want64[j]) {
						t.Fatalf("%s %v float64, %s: C[%d] = %v, all rows at once %v", im.name, s, how, j, c64[i][j], want64[j])
					}
				}
			}
		}
		restore()
	}
}

// waitParked lets the team's workers park (they spin for less than this).
func waitParked() { time.Sleep(2 * time.Millisecond) }
