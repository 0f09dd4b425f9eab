package linalg

import (
	"context"
	"fmt"
	"math"

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
