package linalg

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"
)

// symvParallelMin is the order below which Symv runs as one part: under it
// the product is a few µs, the cost of waking a second goroutine.
// SymvBatch's parts are at least symvBatchMin rows.
const (
	symvParallelMin = 256
	symvBatchMin    = 64
)

// symvMaxParts is the most parts the products split A's triangle into. The
// split depends on n only (not on GOMAXPROCS), each part accumulating into
// its own vectors added in a fixed order, so the bits do not depend on the
// number of goroutines that run the parts.
const symvMaxParts = 4

// symvParts returns the number of parts for order n with at least least rows
// a part.
func symvParts(n, least int) int { return max(1, min(symvMaxParts, n/least)) }

// symvPart returns the rows [r0, r1) of part k of p: 1/p of the triangle's
// area each, boundaries at multiples of 4 (the panel height).
func symvPart(n, p, k int) (r0, r1 int) {
	at := func(k int) int {
		if k >= p {
			return n
		}
		return int(float64(n)*(1-math.Sqrt(1-float64(k)/float64(p)))) &^ 3
	}
	return at(k), at(k + 1)
}

// runParts runs f(k) for every part k < p on min(GOMAXPROCS, p) goroutines,
// goroutine g taking parts g, g+w, g+2w, … (equal areas, so balanced when
// w divides p).
func runParts(p int, f func(k int)) {
	w := max(1, min(runtime.GOMAXPROCS(0), p))
	if w == 1 {
		for k := 0; k < p; k++ {
			f(k)
		}
		return
	}
	var wg sync.WaitGroup
	for g := 1; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := g; k < p; k += w {
				f(k)
			}
		}()
	}
	for k := 0; k < p; k += w {
		f(k)
	}
	wg.Wait()
}

// SymvWork holds the per-part accumulators of Symv so that repeated
// products (Lanczos, tridiagonalisation) do not allocate. The zero value is
// ready to use; it is not safe for concurrent use.
type SymvWork struct{ acc [][]float64 }

// Symv sets y = A·x for the n×n symmetric matrix A whose upper triangle is
// stored row-major in a with stride lda (the lower triangle is not read).
// Each stored entry is read once: row r adds A[r, r:]·x[r:] to y[r] and
// A[r, r+1:]ᵀ·x[r] to y[r+1:], four rows fused per sweep so that x and y are
// loaded once per four rows. Rows are split into up to symvMaxParts ranges
// of equal triangle area (a function of n), run on GOMAXPROCS goroutines,
// each accumulating into its own vector of w, added in order at the end: the
// result does not depend on GOMAXPROCS.
func Symv(n int, a []float64, lda int, x, y []float64, w *SymvWork) {
	if n == 0 {
		return
	}
	if lda < n || len(a) < (n-1)*lda+n || len(x) < n || len(y) < n {
		panic("linalg: Symv: short a, x or y, or lda < n")
	}
	p := symvParts(n, symvParallelMin)
	if w == nil {
		w = new(SymvWork)
	}
	for len(w.acc) < p {
		w.acc = append(w.acc, nil)
	}
	if p == 1 {
		clear(y[:n])
		symvRows(a, lda, n, x, y, 0, n)
		return
	}
	for k := 1; k < p; k++ {
		w.acc[k] = grow(w.acc[k], n)
	}
	runParts(p, func(k int) {
		r0, r1 := symvPart(n, p, k)
		acc := y[:n]
		if k > 0 {
			acc = w.acc[k]
		}
		// Rows from r0 on only touch acc[r0:].
		clear(acc[r0:n])
		symvRows(a, lda, n, x, acc, r0, r1)
	})
	for k := 1; k < p; k++ {
		r0, _ := symvPart(n, p, k)
		for i, v := range w.acc[k][r0:n] {
			y[r0+i] += v
		}
	}
}

// SymvBatch sets ys[j] = A·xs[j] for every j in one pass over the upper
// triangle of the n×n symmetric matrix A (row-major, stride lda; the lower
// triangle is not read): each four-row panel is applied to every vector
// while it is in cache, so a Lanczos run over several operators reads A once
// per step. Rows are split into up to symvMaxParts ranges of equal triangle
// area (a function of n, at least symvBatchMin rows each), run on
// GOMAXPROCS goroutines, each accumulating into its own vectors, added in
// order at the end: the result does not depend on GOMAXPROCS or timing.
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
	for j := range xs {
		if len(xs[j]) < n || len(ys[j]) < n {
			panic("linalg: SymvBatch: short x or y")
		}
	}
	p := symvParts(n, symvBatchMin)
	acc := make([][][]float64, p)
	for k := range acc {
		acc[k] = make([][]float64, len(xs))
		for j := range xs {
			acc[k][j] = make([]float64, n)
		}
	}
	runParts(p, func(k int) {
		r0, r1 := symvPart(n, p, k)
		for r := r0; r < r1; r += 4 {
			for j, x := range xs {
				symvRows(a, lda, n, x, acc[k][j], r, min(r+4, r1))
			}
		}
	})
	// ys are written only here, so they may alias xs.
	for j, y := range ys {
		copy(y[:n], acc[0][j])
		for k := 1; k < p; k++ {
			r0, _ := symvPart(n, p, k)
			for i, v := range acc[k][j][r0:n] {
				y[r0+i] += v
			}
		}
	}
}

// symvRows adds the contribution of the upper-triangle rows [r, rb) of A to
// y. Four-row panels run the SymvPanel4 kernel of vec on their
// off-diagonal columns: fused multiply-adds and eight-lane partial sums of
// the row products, so the last bits differ from the Go loop, which is its
// twin, and between the AVX-512 and AVX2 kernels (within the n·ε·Σ|a x| of
// any summation order).
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
		if vec != nil && n-c0 >= 8 {
			// The first (n−c0)&^7 columns by the kernel, the rest below.
			m := (n - c0) &^ 7
			var t [4]float64
			vec.symv4(m, &a0[c0], lda, &x[c0], &y[c0], &x[r], &t[0])
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
