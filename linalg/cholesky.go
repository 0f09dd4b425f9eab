package linalg

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/gonum"
)

// NotPositiveDefiniteError is returned by Cholesky when a pivot is not
// positive: the leading (Index+1)×(Index+1) block of A is not positive
// definite to working precision, so λ_min(A) ≤ O(n·ε·‖A‖).
type NotPositiveDefiniteError struct {
	Index int     // the failing pivot
	Pivot float64 // its value (≤ 0 or NaN)
}

func (e *NotPositiveDefiniteError) Error() string {
	return fmt.Sprintf("linalg: Cholesky: pivot %d = %.3g ≤ 0: matrix not positive definite", e.Index, e.Pivot)
}

// cholBlock is the panel height of CholeskyGo; cholInner the row block of
// its panel solve (rows beyond it are updated by GEMM). Variables so tests
// can shrink them to exercise every path on small matrices.
var (
	cholBlock = 192
	cholInner = 24
)

// CholeskyGo is the pure-Go Cholesky factorisation behind Cholesky in the
// default build: A = UᵀU for the n×n symmetric positive definite A in the
// upper triangle of the row-major a (stride lda), U overwriting it (the
// lower triangle is neither read nor written). It is LAPACK dpotrf's
// right-looking blocked algorithm (uplo 'L' of the column-major view): per
// panel of cholBlock rows, an unblocked factorisation of the diagonal block,
// a triangular solve for the panel's off-diagonal rows (GEMM between row
// blocks) and a SYRK update of the trailing triangle, which holds almost all
// of the n³/3 flops. ctx is checked between panels.
func CholeskyGo(ctx context.Context, n int, a []float64, lda int) error {
	if err := checkSquare("Cholesky", n, a, lda); err != nil {
		return err
	}
	var g gonum.Implementation
	for k0 := 0; k0 < n; k0 += cholBlock {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("linalg: Cholesky interrupted at row %d of %d: %w", k0, n, err)
		}
		k1 := min(k0+cholBlock, n)
		// Diagonal block, unblocked: row i of U, then the rank-1 update of the rows below it.
		for i := k0; i < k1; i++ {
			p := a[i*lda+i]
			if !(p > 0) {
				return &NotPositiveDefiniteError{Index: i, Pivot: p}
			}
			p = math.Sqrt(p)
			a[i*lda+i] = p
			g.Dscal(k1-i-1, 1/p, a[i*lda+i+1:i*lda+k1], 1)
			for r := i + 1; r < k1; r++ {
				g.Daxpy(k1-r, -a[i*lda+r], a[i*lda+r:i*lda+k1], 1, a[r*lda+r:r*lda+k1], 1)
			}
		}
		if k1 == n {
			break
		}
		// U₁₂ = U₁₁⁻ᵀ A₁₂, rows in blocks of cholInner: solve a block's rows,
		// then remove them from the panel's rows below by GEMM.
		m := n - k1
		for s0 := k0; s0 < k1; s0 += cholInner {
			s1 := min(s0+cholInner, k1)
			for i := s0; i < s1; i++ {
				row := a[i*lda+k1 : i*lda+n]
				g.Dscal(m, 1/a[i*lda+i], row, 1)
				for r := i + 1; r < s1; r++ {
					g.Daxpy(m, -a[i*lda+r], row, 1, a[r*lda+k1:r*lda+n], 1)
				}
			}
			if s1 < k1 {
				// A[s1:k1, k1:] −= U[s0:s1, s1:k1]ᵀ · U[s0:s1, k1:]
				Gemm(true, false, k1-s1, m, s1-s0, -1, a[s0*lda+s1:], lda, a[s0*lda+k1:], lda, 1, a[s1*lda+k1:], lda)
			}
		}
		// A₂₂ −= U₁₂ᵀ U₁₂.
		Syrk(true, m, k1-k0, -1, a[k0*lda+k1:], lda, 1, a[k1*lda+k1:], lda)
	}
	return nil
}

// checkSquare validates an n×n matrix argument with stride lda.
func checkSquare(fn string, n int, a []float64, lda int) error {
	switch {
	case n < 0:
		return fmt.Errorf("linalg: %s: negative order n = %d", fn, n)
	case n == 0:
		return nil
	case lda < n:
		return fmt.Errorf("linalg: %s: stride %d < n = %d", fn, lda, n)
	case len(a) < (n-1)*lda+n:
		return fmt.Errorf("linalg: %s: len(a) = %d < (n−1)·lda + n = %d", fn, len(a), (n-1)*lda+n)
	}
	return nil
}

// trsmBlock is the row block of the triangular solves; between blocks the
// update is a GEMM with the block's rows of U. A variable for the tests.
var trsmBlock = 256

// SolveUpperTGo solves Uᵀ·X = B in place of b (n×r row-major, stride ldb)
// for the n×n upper triangular U in the row-major u (stride ldu): forward
// substitution, one row block of U at a time, the rest of B updated by GEMM.
func SolveUpperTGo(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		solveUpperTNarrow(n, r, u, ldu, b, ldb)
		return
	}
	var g gonum.Implementation
	for i0 := 0; i0 < n; i0 += trsmBlock {
		i1 := min(i0+trsmBlock, n)
		for i := i0; i < i1; i++ {
			bi := b[i*ldb : i*ldb+r]
			g.Dscal(r, 1/u[i*ldu+i], bi, 1)
			for p := i + 1; p < i1; p++ {
				g.Daxpy(r, -u[i*ldu+p], bi, 1, b[p*ldb:p*ldb+r], 1)
			}
		}
		if i1 < n {
			// B[i1:] −= U[i0:i1, i1:]ᵀ · X[i0:i1]
			Gemm(true, false, n-i1, r, i1-i0, -1, u[i0*ldu+i1:], ldu, b[i0*ldb:], ldb, 1, b[i1*ldb:], ldb)
		}
	}
}

// SolveUpperGo solves U·X = B in place of b (n×r row-major, stride ldb) for
// the n×n upper triangular U in the row-major u (stride ldu): back
// substitution, one row block of U at a time from the bottom, each block's
// right-hand side first reduced by GEMM with the rows already solved.
func SolveUpperGo(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		solveUpperNarrow(n, r, u, ldu, b, ldb)
		return
	}
	var g gonum.Implementation
	for i1 := n; i1 > 0; i1 -= trsmBlock {
		i0 := max(i1-trsmBlock, 0)
		if i1 < n {
			// B[i0:i1] −= U[i0:i1, i1:] · X[i1:]
			Gemm(false, false, i1-i0, r, n-i1, -1, u[i0*ldu+i1:], ldu, b[i1*ldb:], ldb, 1, b[i0*ldb:], ldb)
		}
		for i := i1 - 1; i >= i0; i-- {
			bi := b[i*ldb : i*ldb+r]
			for p := i + 1; p < i1; p++ {
				g.Daxpy(r, -u[i*ldu+p], b[p*ldb:p*ldb+r], 1, bi, 1)
			}
			g.Dscal(r, 1/u[i*ldu+i], bi, 1)
		}
	}
}

// narrowRHS is the column count up to which the solves skip GEMM: with a
// few right-hand sides a GEMM pads B to a full micro-tile width and packs
// every block of U, doubling the memory traffic of what is a memory-bound
// pass over U (Lanczos on A⁻¹ solves with 1–3 columns per step). The
// narrow solves copy B's columns into contiguous vectors so that each row
// of U, read once from memory, meets every column in a SIMD AXPY or dot
// product from cache.
const narrowRHS = 4

// columns copies the r columns of B (n×r, stride ldb) into contiguous
// vectors, or back when back is true.
func columns(n, r int, b []float64, ldb int, cols [][]float64, back bool) {
	for i := 0; i < n; i++ {
		row := b[i*ldb : i*ldb+r]
		for c := range row {
			if back {
				row[c] = cols[c][i]
			} else {
				cols[c][i] = row[c]
			}
		}
	}
}

func narrowColumns(n, r int, b []float64, ldb int) [][]float64 {
	if r == 1 && ldb == 1 {
		return [][]float64{b[:n]}
	}
	cols := make([][]float64, r)
	for c := range cols {
		cols[c] = make([]float64, n)
	}
	columns(n, r, b, ldb, cols, false)
	return cols
}

// solveUpperTNarrow is SolveUpperTGo for r ≤ narrowRHS: per row block, the
// diagonal block by forward substitution, then X[i1:] −= U[i0:i1, i1:]ᵀX[i0:i1]
// with the columns of that panel split over goroutines.
func solveUpperTNarrow(n, r int, u []float64, ldu int, b []float64, ldb int) {
	var g gonum.Implementation
	cols := narrowColumns(n, r, b, ldb)
	for i0 := 0; i0 < n; i0 += trsmBlock {
		i1 := min(i0+trsmBlock, n)
		for i := i0; i < i1; i++ {
			row := u[i*ldu+i+1 : i*ldu+i1]
			for _, x := range cols {
				x[i] /= u[i*ldu+i]
				g.Daxpy(len(row), -x[i], row, 1, x[i+1:i1], 1)
			}
		}
		if i1 == n {
			break
		}
		parallelRange(i1, n, func(p0, p1 int) {
			for i := i0; i < i1; i++ {
				row := u[i*ldu+p0 : i*ldu+p1]
				for _, x := range cols {
					g.Daxpy(p1-p0, -x[i], row, 1, x[p0:p1], 1)
				}
			}
		})
	}
	if !(r == 1 && ldb == 1) {
		columns(n, r, b, ldb, cols, true)
	}
}

// solveUpperNarrow is SolveUpperGo for r ≤ narrowRHS: per row block from
// the bottom, X[i0:i1] −= U[i0:i1, i1:]·X[i1:] as dot products of rows of U
// (rows split over goroutines), then back substitution in the block.
func solveUpperNarrow(n, r int, u []float64, ldu int, b []float64, ldb int) {
	var g gonum.Implementation
	cols := narrowColumns(n, r, b, ldb)
	for i1 := n; i1 > 0; i1 -= trsmBlock {
		i0 := max(i1-trsmBlock, 0)
		if i1 < n {
			parallelRange(i0, i1, func(q0, q1 int) {
				for i := q0; i < q1; i++ {
					row := u[i*ldu+i1 : i*ldu+n]
					for _, x := range cols {
						x[i] -= g.Ddot(n-i1, row, 1, x[i1:n], 1)
					}
				}
			})
		}
		for i := i1 - 1; i >= i0; i-- {
			row := u[i*ldu+i+1 : i*ldu+i1]
			for _, x := range cols {
				x[i] = (x[i] - g.Ddot(len(row), row, 1, x[i+1:i1], 1)) / u[i*ldu+i]
			}
		}
	}
	if !(r == 1 && ldb == 1) {
		columns(n, r, b, ldb, cols, true)
	}
}

// parallelRange runs f on about equal sub-ranges of [lo, hi), one per
// GOMAXPROCS goroutine (the caller's included), or on the whole range when
// it is short.
func parallelRange(lo, hi int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if hi-lo < 512 || workers == 1 {
		f(lo, hi)
		return
	}
	chunk := (hi - lo + workers - 1) / workers
	var wg sync.WaitGroup
	for a := lo + chunk; a < hi; a += chunk {
		wg.Add(1)
		go func() { defer wg.Done(); f(a, min(a+chunk, hi)) }()
	}
	f(lo, min(lo+chunk, hi))
	wg.Wait()
}
