package linalg

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// TestCholeskyGoRecursion checks CholeskyGo against gonum's Dpotrf with the
// trailing update split into many row blocks, and that its bits do not
// depend on GOMAXPROCS (the triangular solve's column blocks and the
// update's tiles are fixed, whichever goroutine computes them).
func TestCholeskyGoRecursion(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	saved := cholUpdateFlops
	t.Cleanup(func() { cholUpdateFlops = saved })
	cholUpdateFlops = 1e5 // row blocks of 256 rows, the minimum
	rnd := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{129, 700, 1100} {
		lda := n + 5
		full, a := spd(rnd, n, lda, 1e4)
		want := slices.Clone(full)
		if !(lapackgonum.Implementation{}).Dpotrf(blas.Upper, n, want, n) {
			t.Fatal("oracle Dpotrf failed")
		}
		var first []float64
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			got := slices.Clone(a)
			if err := CholeskyGo(context.Background(), n, got, lda); err != nil {
				t.Fatalf("n=%d GOMAXPROCS %d: %v", n, procs, err)
			}
			// Forward error of a Cholesky factor: |ΔU| ≲ cond(A)·n·ε·|U| (Higham §10.1).
			tol := 1e4 * float64(n) * 0x1p-52
			for i := 0; i < n; i++ {
				for j := i; j < n; j++ {
					g, w := got[i*lda+j], want[i*n+j]
					if math.Abs(g-w) > tol*math.Sqrt(full[j*n+j]) {
						t.Fatalf("n=%d GOMAXPROCS %d: U[%d,%d] = %v, Dpotrf %v", n, procs, i, j, g, w)
					}
				}
			}
			if first == nil {
				first = got
				continue
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(first[i]) && !(math.IsNaN(got[i]) && math.IsNaN(first[i])) {
					t.Fatalf("n=%d: GOMAXPROCS %d differs from GOMAXPROCS 1 at %d: %v vs %v", n, procs, i, got[i], first[i])
				}
			}
		}
	}
}

// BenchmarkCholeskyRate reports CholeskyGo's GFLOP/s (n³/3 flops) beside a
// GEMM of the same flop count on the same core count, the rate it tends to.
func BenchmarkCholeskyRate(b *testing.B) {
	for _, n := range []int{4000, 8000} {
		rnd := rand.New(rand.NewPCG(13, 14))
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := 2*rnd.Float64() - 1
				a[i*n+j], a[j*n+i] = v, v
			}
			a[i*n+i] = float64(n) // diagonally dominant: positive definite
		}
		flops := float64(n) * float64(n) * float64(n) / 3
		c := make([]float64, n*n)
		b.Run(fmt.Sprintf("CholeskyGo/n=%d", n), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				copy(c, a)
				if err := CholeskyGo(context.Background(), n, c, n); err != nil {
					b.Fatal(err)
				}
			}
			report(b, flops, cpu0)
		})
		b.Run(fmt.Sprintf("Gemm/n=%d,k=%d", n, n/6), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				Gemm(false, true, n, n, n/6, -1, a, n, a, n, 1, c, n)
			}
			report(b, 2*float64(n)*float64(n)*float64(n/6), cpu0)
		})
	}
}

// BenchmarkCholeskySmall is CholeskyGo at the orders of a training probe's
// factor (n = 100 samples, K = 10: 1000) and of the sum-zero Schur complement.
func BenchmarkCholeskySmall(b *testing.B) {
	for _, n := range []int{100, 500, 1000, 2000} {
		rnd := rand.New(rand.NewPCG(13, 14))
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := 2*rnd.Float64() - 1
				a[i*n+j], a[j*n+i] = v, v
			}
			a[i*n+i] = float64(n)
		}
		c := make([]float64, n*n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				copy(c, a)
				if err := CholeskyGo(context.Background(), n, c, n); err != nil {
					b.Fatal(err)
				}
			}
			report(b, float64(n)*float64(n)*float64(n)/3, cpu0)
		})
	}
}

// TestRestoreUpper: after Cholesky in place on a matrix stored in both
// triangles, RestoreUpper gives back every entry bit for bit.
func TestRestoreUpper(t *testing.T) {
	rnd := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 63, 64, 65, 300} {
		lda := n + 3
		full, a := spd(rnd, n, lda, 1e2)
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				a[i*lda+j] = full[i*n+j]
			}
		}
		want := slices.Clone(a)
		diag := make([]float64, n)
		for i := range diag {
			diag[i] = a[i*lda+i]
		}
		if err := Cholesky(context.Background(), n, a, lda); err != nil {
			t.Fatal(err)
		}
		RestoreUpper(n, a, lda, diag)
		for i := range want {
			if math.Float64bits(a[i]) != math.Float64bits(want[i]) {
				t.Fatalf("n=%d: entry %d = %v after RestoreUpper, want %v", n, i, a[i], want[i])
			}
		}
	}
}
