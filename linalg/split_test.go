package linalg

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
)

// refGemm is C = alpha·op(A)·op(B) + beta·C by the triple loop, one sum
// per entry in k order, so any split of C gives the same bits.
func refGemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var av, bv float64
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
}

func TestTriangleSplit(t *testing.T) {
	for _, c := range []struct{ n, w int }{{10, 2}, {7, 3}, {1000, 2}, {1000, 3}, {5, 8}, {64, 4}} {
		b := triangleSplit(c.n, c.w)
		if b[0] != 0 || b[len(b)-1] != c.n || len(b) > c.w+1 || !slices.IsSorted(b) {
			t.Fatalf("n=%d w=%d: bounds %v", c.n, c.w, b)
		}
		for j := 1; j < len(b); j++ {
			if b[j] == b[j-1] {
				t.Fatalf("n=%d w=%d: empty range in %v", c.n, c.w, b)
			}
		}
		if c.n >= 64 && len(b) == c.w+1 {
			// Each share within one row of n/... : areas within 1 % + a row of the mean.
			mean := float64(c.n*(c.n+1)/2) / float64(c.w)
			for j := 0; j+1 < len(b); j++ {
				area := 0
				for i := b[j]; i < b[j+1]; i++ {
					area += c.n - i
				}
				if d := float64(area) - mean; d > float64(c.n) || d < -float64(c.n) {
					t.Errorf("n=%d w=%d: share %d has area %d, mean %.0f (bounds %v)", c.n, c.w, j, area, mean, b)
				}
			}
		}
	}
}

// TestSplitGemmSyrk checks that splitting a product across workers gives
// exactly the unsplit result (with a split-invariant reference callback),
// for both split directions, all transposes and strides wider than the matrix.
func TestSplitGemmSyrk(t *testing.T) {
	old := splitWorkers
	defer func() { splitWorkers = old }()
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	for _, w := range []int{2, 3} {
		splitWorkers = w
		for _, sz := range [][3]int{{40, 300, 100}, {300, 40, 100}, {129, 131, 70}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				tA, tB := tr[0], tr[1]
				lda, ldb, ldc := k+3, n+2, n+5
				ar := m
				if tA {
					ar, lda = k, m+3
				}
				br := k
				if tB {
					br, ldb = n, k+2
				}
				a, b := fill(ar*lda), fill(br*ldb)
				c0 := fill(m * ldc)
				want := append([]float64(nil), c0...)
				refGemm(tA, tB, m, n, k, 0.7, a, lda, b, ldb, -0.3, want, ldc)
				got := append([]float64(nil), c0...)
				var calls atomic.Int32 // the blocks run concurrently
				splitGemm(tA, tB, m, n, k, lda, ldb, ldc, a, b, got, func(mm, nn int, aa, bb, cc []float64) {
					calls.Add(1)
					refGemm(tA, tB, mm, nn, k, 0.7, aa, lda, bb, ldb, -0.3, cc, ldc)
				})
				if calls.Load() < 2 {
					t.Errorf("w=%d %dx%dx%d: %d calls, want a split", w, m, n, k, calls.Load())
				}
				if !slices.Equal(got, want) {
					t.Errorf("w=%d %dx%dx%d tA=%v tB=%v: split GEMM differs from the unsplit product", w, m, n, k, tA, tB)
				}
			}
		}
		for _, trans := range []bool{false, true} {
			n, k := 150, 60
			lda := k + 1
			if trans {
				lda = n + 1
			}
			rows := n
			if trans {
				rows = k
			}
			a := fill(rows * lda)
			ldc := n + 3
			c0 := fill(n * ldc)
			want := append([]float64(nil), c0...)
			// Reference: the full product's upper triangle; the lower is untouched.
			full := append([]float64(nil), c0...)
			refGemm(trans, !trans, n, n, k, 1.5, a, lda, a, lda, 0.5, full, ldc)
			for i := 0; i < n; i++ {
				copy(want[i*ldc+i:i*ldc+n], full[i*ldc+i:i*ldc+n])
			}
			got := append([]float64(nil), c0...)
			t.Run(fmt.Sprintf("syrk w=%d trans=%v", w, trans), func(t *testing.T) {
				syrk := func(nn int, aa, cc []float64) {
					tmp := make([]float64, nn*ldc)
					for i := 0; i < nn; i++ {
						copy(tmp[i*ldc:i*ldc+nn], cc[i*ldc:i*ldc+nn])
					}
					refGemm(trans, !trans, nn, nn, k, 1.5, aa, lda, aa, lda, 0.5, tmp, ldc)
					for i := 0; i < nn; i++ {
						copy(cc[i*ldc+i:i*ldc+nn], tmp[i*ldc+i:i*ldc+nn])
					}
				}
				gemm := func(tA, tB bool, mm, nn int, aa, bb, cc []float64, ldb int) {
					refGemm(tA, tB, mm, nn, k, 1.5, aa, lda, bb, ldb, 0.5, cc, ldc)
				}
				splitSyrk(true, trans, n, k, lda, ldc, a, got, syrk, gemm)
				if !slices.Equal(got, want) {
					t.Errorf("split SYRK differs from the upper triangle of the full product")
				}
			})
		}
	}
}
