package linalg

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/fenchel-ml/fenchel/linalg/internal/kern"
)

// symvParallelMin is the order below which Symv runs on one goroutine: under
// it the product is a few µs, the cost of waking a second goroutine.
const symvParallelMin = 256

// SymvWork holds the per-goroutine accumulators of Symv so that repeated
// products (Lanczos, tridiagonalisation) do not allocate. The zero value is
// ready to use; it is not safe for concurrent use.
type SymvWork struct{ acc [][]float64 }

// Symv sets y = A·x for the n×n symmetric matrix A whose upper triangle is
// stored row-major in a with stride lda (the lower triangle is not read).
// Each stored entry is read once: row r adds A[r, r:]·x[r:] to y[r] and
// A[r, r+1:]ᵀ·x[r] to y[r+1:], four rows fused per sweep so that x and y are
// loaded once per four rows (the product is memory-bound). Rows are split
// over GOMAXPROCS goroutines in ranges of equal triangle area, each
// accumulating into its own vector of w, summed at the end.
func Symv(n int, a []float64, lda int, x, y []float64, w *SymvWork) {
	if n == 0 {
		return
	}
	if lda < n || len(a) < (n-1)*lda+n || len(x) < n || len(y) < n {
		panic("linalg: Symv: short a, x or y, or lda < n")
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), n/symvParallelMin))
	if w == nil {
		w = new(SymvWork)
	}
	for len(w.acc) < workers {
		w.acc = append(w.acc, nil)
	}
	if workers == 1 {
		clear(y[:n])
		symvRows(a, lda, n, x, y, 0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		// Rows [r0, r1) hold 1/workers of the triangle's area.
		r0 := int(float64(n) * (1 - math.Sqrt(1-float64(k)/float64(workers))))
		r1 := int(float64(n) * (1 - math.Sqrt(1-float64(k+1)/float64(workers))))
		if k == workers-1 {
			r1 = n
		}
		acc := y[:n]
		if k > 0 {
			w.acc[k] = grow(w.acc[k], n)
			acc = w.acc[k]
		}
		// Rows from r0 on only touch acc[r0:].
		clear(acc[r0:n])
		wg.Add(1)
		go func() {
			defer wg.Done()
			symvRows(a, lda, n, x, acc, r0, r1)
		}()
	}
	wg.Wait()
	var g gonum.Implementation
	for k := 1; k < workers; k++ {
		r0 := int(float64(n) * (1 - math.Sqrt(1-float64(k)/float64(workers))))
		g.Daxpy(n-r0, 1, w.acc[k][r0:n], 1, y[r0:n], 1)
	}
}

// SymvBatch sets ys[j] = A·xs[j] for every j in one pass over the upper
// triangle of the n×n symmetric matrix A (row-major, stride lda; the lower
// triangle is not read): each four-row panel is applied to every vector
// while it is in cache, so a Lanczos run over several operators reads A once
// per step. Rows are split over GOMAXPROCS goroutines (one per 64 rows at
// most) in ranges of equal triangle area, each accumulating into its own
// vectors; the goroutines' vectors are added in order, so the result does
// not depend on timing.
func SymvBatch(n int, a []float64, lda int, xs, ys [][]float64) {
	if len(xs) != len(ys) {
		panic("linalg: SymvBatch: different numbers of xs and ys")
	}
	if n == 0 || len(xs) == 0 {
		return
	}
	if lda < n || len(a) < (n-1)*lda+n {
		panic("linalg: SymvBatch: short a, or lda < n")
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), n/64))
	acc := make([][][]float64, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		r0 := int(float64(n) * (1 - math.Sqrt(1-float64(k)/float64(workers))))
		r1 := int(float64(n) * (1 - math.Sqrt(1-float64(k+1)/float64(workers))))
		if k == workers-1 {
			r1 = n
		}
		acc[k] = make([][]float64, len(xs))
		for j := range xs {
			if len(xs[j]) < n || len(ys[j]) < n {
				panic("linalg: SymvBatch: short x or y")
			}
			acc[k][j] = make([]float64, n)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := r0; r < r1; r += 4 {
				for j, x := range xs {
					symvRows(a, lda, n, x, acc[k][j], r, min(r+4, r1))
				}
			}
		}()
	}
	wg.Wait()
	for j, y := range ys {
		copy(y[:n], acc[0][j])
		for k := 1; k < workers; k++ {
			for i, v := range acc[k][j] {
				y[i] += v
			}
		}
	}
}

// symvRows adds the contribution of the upper-triangle rows [r, rb) of A to
// y. Four-row panels run kern.SymvPanel4AVX512 on their off-diagonal
// columns when vecAsm is set: fused multiply-adds and eight-lane partial
// sums of the row products, so the last bits differ from the Go loop,
// which is its twin (within the n·ε·Σ|a x| of any summation order).
func symvRows(a []float64, lda, n int, x, y []float64, r, rb int) {
	var g gonum.Implementation
	for ; r+4 <= rb; r += 4 {
		a0 := a[r*lda : r*lda+n]
		a1 := a[(r+1)*lda : (r+1)*lda+n]
		a2 := a[(r+2)*lda : (r+2)*lda+n]
		a3 := a[(r+3)*lda : (r+3)*lda+n]
		u0, u1, u2, u3 := x[r], x[r+1], x[r+2], x[r+3]
		// The 4×4 diagonal tile, read from its upper triangle.
		s0 := a0[r]*u0 + a0[r+1]*u1 + a0[r+2]*u2 + a0[r+3]*u3
		s1 := a0[r+1]*u0 + a1[r+1]*u1 + a1[r+2]*u2 + a1[r+3]*u3
		s2 := a0[r+2]*u0 + a1[r+2]*u1 + a2[r+2]*u2 + a2[r+3]*u3
		s3 := a0[r+3]*u0 + a1[r+3]*u1 + a2[r+3]*u2 + a3[r+3]*u3
		c0 := r + 4
		if vecAsm && n-c0 >= 8 {
			// The first (n−c0)&^7 columns in AVX-512, the rest below.
			m := (n - c0) &^ 7
			var t [4]float64
			kern.SymvPanel4AVX512(m, &a0[c0], lda, &x[c0], &y[c0], &x[r], &t[0])
			s0, s1, s2, s3 = s0+t[0], s1+t[1], s2+t[2], s3+t[3]
			c0 += m
		}
		yy := y[c0:n]
		b0, b1, b2, b3, xx := a0[c0:n], a1[c0:n], a2[c0:n], a3[c0:n], x[c0:n]
		b0, b1, b2, b3, xx = b0[:len(yy)], b1[:len(yy)], b2[:len(yy)], b3[:len(yy)], xx[:len(yy)]
		for c := range yy {
			x0, x1, x2, x3, v := b0[c], b1[c], b2[c], b3[c], xx[c]
			s0 += x0 * v
			s1 += x1 * v
			s2 += x2 * v
			s3 += x3 * v
			yy[c] += u0*x0 + u1*x1 + u2*x2 + u3*x3
		}
		y[r] += s0
		y[r+1] += s1
		y[r+2] += s2
		y[r+3] += s3
	}
	for ; r < rb; r++ {
		row := a[r*lda+r : r*lda+n]
		y[r] += g.Ddot(n-r, row, 1, x[r:n], 1)
		if r+1 < n {
			g.Daxpy(n-r-1, x[r], row[1:], 1, y[r+1:n], 1)
		}
	}
}
