package linalg

import (
	"math"
	"os"
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/linalg/internal/kern"
)

// vecKernels is a kernel set's level-2 kernels (linalg/internal/kern) for
// Symv, SymvBatch and the narrow triangular solves.
type vecKernels struct {
	name  string
	symv4 func(m int, a *float64, lda int, x, y, u, s *float64)
	axpy  func(k, m int, u *float64, ldu int, xi, x *float64)
	dot   func(k, m int, u *float64, ldu int, x, s *float64)
}

var (
	vecAVX512 = &vecKernels{"avx512", kern.SymvPanel4AVX512, kern.AxpyRowsAVX512, kern.DotRowsAVX512}
	vecAVX2   = &vecKernels{"avx2", kern.SymvPanel4AVX2, kern.AxpyRowsAVX2, kern.DotRowsAVX2}
)

// vec holds the level-2 kernels of the kernel set in use; nil runs their Go
// twins. useKernels switches it with the set.
var vec = func() *vecKernels {
	s, _, _, _ := chooseKernels(os.Getenv("FENCHEL_KERNELS"))
	return s.vec
}()

// narrowRHS is the column count up to which the solves skip GEMM: with a
// few right-hand sides a GEMM pads B to a full micro-tile width and packs
// every block of U, doubling the memory traffic of what is a memory-bound
// pass over U (Lanczos on A⁻¹ solves with 1–3 columns per step). The
// narrow solves copy B's columns into contiguous vectors so that each block
// of U, read once from memory, meets every column from cache.
const narrowRHS = 8

// trsvCols is the column width of the blocks of U that the forward solve's
// update applies to every right-hand side in turn: trsmBlock×trsvCols
// float64 (256 KiB) stay in L2 between the columns of X.
const trsvCols = 128

// trsvSub is the row block of the substitution within a diagonal block:
// rows are solved trsvSub at a time, then applied to the rest of the
// block by axpyRows.
const trsvSub = 8

// narrowColumns returns the r columns of B (n×r, stride ldb) as the
// contiguous vectors x_c = xs[c·n : (c+1)·n], or b itself when it is one
// contiguous column.
func narrowColumns(n, r int, b []float64, ldb int) []float64 {
	if r == 1 && ldb == 1 {
		return b[:n]
	}
	xs := make([]float64, r*n)
	for i := 0; i < n; i++ {
		for c, v := range b[i*ldb : i*ldb+r] {
			xs[c*n+i] = v
		}
	}
	return xs
}

// narrowBack copies the columns of narrowColumns back into B.
func narrowBack(n, r int, xs, b []float64, ldb int) {
	if r == 1 && ldb == 1 {
		return
	}
	for i := 0; i < n; i++ {
		row := b[i*ldb : i*ldb+r]
		for c := range row {
			row[c] = xs[c*n+i]
		}
	}
}

// solveUpperTNarrow is SolveUpperTGo for few right-hand sides: forward
// substitution (LAPACK dtrsv 'U', 'T' in its row-major form, the
// column-oriented AXPY variant), per row block of U the diagonal block in
// steps of trsvSub rows, then X[i1:] −= U[i0:i1, i1:]ᵀX[i0:i1] with the
// columns of that panel split over goroutines. Every x[p] receives
// x[p] = fma(−x[i], u[i,p], x[p]) for i = 0, …, p−1 in that order and then
// x[p] /= u[p,p], so the result is that of the plain loop whatever the
// blocks, the kernels or GOMAXPROCS.
func solveUpperTNarrow(n, r int, u []float64, ldu int, b []float64, ldb int) {
	xs := narrowColumns(n, r, b, ldb)
	for i0 := 0; i0 < n; i0 += trsmBlock {
		i1 := min(i0+trsmBlock, n)
		for s0 := i0; s0 < i1; s0 += trsvSub {
			s1 := min(s0+trsvSub, i1)
			for c := 0; c < r; c++ {
				x := xs[c*n : (c+1)*n]
				for i := s0; i < s1; i++ {
					x[i] /= u[i*ldu+i]
					xi, row := -x[i], u[i*ldu:i*ldu+s1]
					for p := i + 1; p < s1; p++ {
						x[p] = math.FMA(xi, row[p], x[p])
					}
				}
				if s1 < i1 {
					axpyRows(s1-s0, i1-s1, u[s0*ldu+s1:], ldu, x[s0:s1], x[s1:i1])
				}
			}
		}
		if i1 == n {
			break
		}
		splitWork(i1, n, 8, r*(i1-i0)*(n-i1), func(p0, p1 int) {
			for q0 := p0; q0 < p1; q0 += trsvCols {
				q1 := min(q0+trsvCols, p1)
				for c := 0; c < r; c++ {
					x := xs[c*n : (c+1)*n]
					axpyRows(i1-i0, q1-q0, u[i0*ldu+q0:], ldu, x[i0:i1], x[q0:q1])
				}
			}
		})
	}
	narrowBack(n, r, xs, b, ldb)
}

// solveUpperNarrow is SolveUpperGo for few right-hand sides: back
// substitution in dot-product form (LAPACK dtrsv 'U', 'N', row-major), per
// row block from the bottom X[i0:i1] −= U[i0:i1, i1:]·X[i1:] by dotRows
// (rows split over goroutines, four rows of U applied to every column while
// in cache), then the block from its bottom in steps of trsvSub rows: their
// dot products with the solved rows of the block, then substitution. Each
// dot product is summed the same way whichever goroutine or row group
// computes it, so the result depends on trsmBlock and trsvSub only.
func solveUpperNarrow(n, r int, u []float64, ldu int, b []float64, ldb int) {
	xs := narrowColumns(n, r, b, ldb)
	for i1 := n; i1 > 0; i1 -= trsmBlock {
		i0 := max(i1-trsmBlock, 0)
		if i1 < n {
			splitWork(i0, i1, 4, r*(i1-i0)*(n-i1), func(q0, q1 int) {
				var t [4]float64
				for q := q0; q < q1; q += 4 {
					k := min(4, q1-q)
					for c := 0; c < r; c++ {
						x := xs[c*n : (c+1)*n]
						dotRows(k, n-i1, u[q*ldu+i1:], ldu, x[i1:n], t[:k])
						for j, v := range t[:k] {
							x[q+j] -= v
						}
					}
				}
			})
		}
		var t [trsvSub]float64
		for s1 := i1; s1 > i0; s1 -= trsvSub {
			s0 := max(s1-trsvSub, i0)
			for c := 0; c < r; c++ {
				x := xs[c*n : (c+1)*n]
				if s1 < i1 {
					dotRows(s1-s0, i1-s1, u[s0*ldu+s1:], ldu, x[s1:i1], t[:s1-s0])
					for j, v := range t[:s1-s0] {
						x[s0+j] -= v
					}
				}
				for i := s1 - 1; i >= s0; i-- {
					v, row := x[i], u[i*ldu:i*ldu+s1]
					for p := i + 1; p < s1; p++ {
						v = math.FMA(-row[p], x[p], v)
					}
					x[i] = v / u[i*ldu+i]
				}
			}
		}
	}
	narrowBack(n, r, xs, b, ldb)
}

// trsvParallelMin is the work (multiply-adds) of a solve's update below
// which it runs on one goroutine: a few µs, the cost of waking another.
const trsvParallelMin = 1 << 17

// splitWork runs f on about equal sub-ranges of [lo, hi) whose interior
// boundaries are lo plus multiples of align, one per GOMAXPROCS goroutine
// (the caller's included), or on the whole range when work is below
// trsvParallelMin. The solves' results do not depend on the split.
func splitWork(lo, hi, align, work int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, work/trsvParallelMin), (hi-lo+align-1)/align)
	if workers <= 1 {
		f(lo, hi)
		return
	}
	chunk := ((hi-lo+workers-1)/workers + align - 1) / align * align
	parallel.Run((hi-lo+chunk-1)/chunk, func(t int) {
		a := lo + t*chunk
		f(a, min(a+chunk, hi))
	})
}

// axpyRows sets x[p] = fma(−xi[i], u[i·ldu+p], x[p]) for i = 0, …, k−1 in
// that order, for p < m: k rows of U applied to the m entries of x.
func axpyRows(k, m int, u []float64, ldu int, xi, x []float64) {
	if k == 0 || m == 0 {
		return
	}
	_, _, _ = u[(k-1)*ldu+m-1], xi[k-1], x[m-1]
	p := 0
	if vec != nil && m >= 8 {
		p = m &^ 7
		vec.axpy(k, p, &u[0], ldu, &xi[0], &x[0])
	}
	axpyRowsGo(k, p, m, u, ldu, xi, x)
}

// axpyRowsGo is axpyRows on the columns [p0, m), the Go twin of
// the AxpyRows kernels (the same fused operations in the same order).
func axpyRowsGo(k, p0, m int, u []float64, ldu int, xi, x []float64) {
	if p0 >= m {
		return
	}
	x = x[p0:m]
	for i := 0; i < k; i++ {
		v, row := -xi[i], u[i*ldu+p0:i*ldu+m]
		row = row[:len(x)]
		for p, w := range row {
			x[p] = math.FMA(v, w, x[p])
		}
	}
}

// dotRows sets s[q] = Σ_{p<m} u[q·ldu+p]·x[p] for q < k: the first m&^7
// columns summed as the DotRows kernels do (or their Go twin dot8Go),
// then the last m mod 8 by fused steps in order.
func dotRows(k, m int, u []float64, ldu int, x, s []float64) {
	if k == 0 {
		return
	}
	s = s[:k]
	if m == 0 {
		clear(s)
		return
	}
	_, _ = u[(k-1)*ldu+m-1], x[m-1]
	m8 := m &^ 7
	if vec != nil && m8 > 0 {
		vec.dot(k, m8, &u[0], ldu, &x[0], &s[0])
	} else {
		for q := range s {
			s[q] = dot8Go(u[q*ldu:q*ldu+m8], x[:m8])
		}
	}
	for q := range s {
		t, row := s[q], u[q*ldu:q*ldu+m]
		for p := m8; p < m; p++ {
			t = math.FMA(row[p], x[p], t)
		}
		s[q] = t
	}
}

// dot8Go is Σ a[p]·x[p] for len(a) a multiple of 8, the Go twin of one row
// of the DotRows kernels: two eight-lane fused accumulators over sixteen
// columns at a time, a last group of eight into the first, then the two
// added and reduced by reduce8.
func dot8Go(a, x []float64) float64 {
	var s0, s1 [8]float64
	x = x[:len(a)]
	c := 0
	for ; c+16 <= len(a); c += 16 {
		for l := range 8 {
			s0[l] = math.FMA(a[c+l], x[c+l], s0[l])
			s1[l] = math.FMA(a[c+8+l], x[c+8+l], s1[l])
		}
	}
	if c+8 <= len(a) {
		for l := range 8 {
			s0[l] = math.FMA(a[c+l], x[c+l], s0[l])
		}
	}
	for l := range 8 {
		s0[l] += s1[l]
	}
	return reduce8(s0)
}

// reduce8 sums eight lanes in the order of the kernels (level2_amd64.s):
// (s₀+s₄ + s₂+s₆) + (s₁+s₅ + s₃+s₇), pairs first.
func reduce8(s [8]float64) float64 {
	t0, t1, t2, t3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	return (t0 + t2) + (t1 + t3)
}

// solveDiagT solves the diagonal block U[i0:i1, i0:i1]ᵀ·X = B[i0:i1] of a
// wide forward solve in place (B n×r, stride ldb), left-looking: row p of B
// receives the solved rows above it in the block by axpyRows (U's column p
// gathered), then is divided by u[p,p].
func solveDiagT(i0, i1, r int, u []float64, ldu int, b []float64, ldb int) {
	var col [256]float64
	coef := col[:0]
	if i1-i0 > len(col) {
		coef = make([]float64, 0, i1-i0)
	}
	for p := i0; p < i1; p++ {
		bp := b[p*ldb : p*ldb+r]
		axpyRows(p-i0, r, b[i0*ldb:], ldb, coef, bp)
		d := u[p*ldu+p]
		for c := range bp {
			bp[c] /= d
		}
		if p+1 < i1 {
			coef = coef[:p-i0+1]
			for j := range coef {
				coef[j] = u[(i0+j)*ldu+p+1]
			}
		}
	}
}

// solveDiag solves the diagonal block U[i0:i1, i0:i1]·X = B[i0:i1] of a
// wide back solve in place: row i of B, from the bottom, receives the
// solved rows below it in the block by axpyRows (with U's row i), then is
// divided by u[i,i].
func solveDiag(i0, i1, r int, u []float64, ldu int, b []float64, ldb int) {
	for i := i1 - 1; i >= i0; i-- {
		bi := b[i*ldb : i*ldb+r]
		if i+1 < i1 {
			axpyRows(i1-i-1, r, b[(i+1)*ldb:], ldb, u[i*ldu+i+1:i*ldu+i1], bi)
		}
		d := u[i*ldu+i]
		for c := range bi {
			bi[c] /= d
		}
	}
}
