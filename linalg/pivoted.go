package linalg

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/gonum"
)

// pivBlock is the panel height of PivotedCholesky (LAPACK dpstrf's NB);
// a variable so tests can exercise the blocked path on small matrices.
var pivBlock = 64

// PivotedCholesky computes the Cholesky factorisation with diagonal
// pivoting PᵀAP = UᵀU of the n×n symmetric positive semi-definite A in the
// upper triangle of the row-major a (stride lda), stopping at rank k as soon
// as the largest diagonal entry of the remaining Schur complement is ≤ tol
// (tol ≥ 0, absolute). It is LAPACK dpstrf's blocked algorithm (Hammarling,
// Higham and Lucas, "LAPACK-style codes for pivoted Cholesky and QR updating",
// 2007) in the row-major upper view: per panel of pivBlock rows, each step
// picks the largest updated diagonal (the panel's contributions to the
// diagonal kept in a running sum), swaps it to the front and computes its
// row of U from the panel rows above it; a SYRK updates the trailing
// triangle after each panel.
//
// On return piv[i] is the index in A of the i-th pivot ((PᵀAP)_ij =
// A[piv[i], piv[j]]), rows 0…k−1 of the upper triangle hold [U₁₁ U₁₂]
// (k×n, U₁₁ upper triangular with positive diagonal) and the trailing
// (n−k)×(n−k) upper triangle holds the Schur complement S = A₂₂ − U₁₂ᵀU₁₂
// of the permuted matrix, so that PᵀAP = [U₁₁ U₁₂]ᵀ[U₁₁ U₁₂] + (0 ⊕ S)
// exactly in exact arithmetic; max diag(S) ≤ tol when k < n. The lower
// triangle is neither read nor written. A NaN on the diagonal is an error.
// ctx is checked between panels.
func PivotedCholesky(ctx context.Context, n int, a []float64, lda int, piv []int, tol float64) (int, error) {
	if err := checkSquare("PivotedCholesky", n, a, lda); err != nil {
		return 0, err
	}
	if len(piv) < n {
		return 0, fmt.Errorf("linalg: PivotedCholesky: len(piv) = %d < n = %d", len(piv), n)
	}
	if !(tol >= 0) || math.IsInf(tol, 1) {
		return 0, fmt.Errorf("linalg: PivotedCholesky: tolerance %v, want finite ≥ 0", tol)
	}
	for i := 0; i < n; i++ {
		piv[i] = i
		if d := a[i*lda+i]; math.IsNaN(d) {
			return 0, fmt.Errorf("linalg: PivotedCholesky: diagonal entry %d is NaN", i)
		}
	}
	var g gonum.Implementation
	work := make([]float64, n) // Σ over the panel's rows of U[r, c]², c ≥ j
	for k0 := 0; k0 < n; k0 += pivBlock {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("linalg: PivotedCholesky interrupted at row %d of %d: %w", k0, n, err)
		}
		k1 := min(k0+pivBlock, n)
		clear(work[k0:])
		for j := k0; j < k1; j++ {
			p, best := j, a[j*lda+j]-work[j]
			for i := j + 1; i < n; i++ {
				if d := a[i*lda+i] - work[i]; d > best {
					p, best = i, d
				}
			}
			if math.IsNaN(best) {
				return 0, fmt.Errorf("linalg: PivotedCholesky: NaN in the Schur complement at step %d", j)
			}
			if !(best > tol) {
				// Apply the panel's pending rows to the trailing triangle: S.
				if j > k0 {
					Syrk(true, n-j, j-k0, -1, a[k0*lda+j:], lda, 1, a[j*lda+j:], lda)
				}
				return j, nil
			}
			if p != j {
				swapSymmetric(n, a, lda, j, p)
				work[j], work[p] = work[p], work[j]
				piv[j], piv[p] = piv[p], piv[j]
			}
			ajj := math.Sqrt(best)
			a[j*lda+j] = ajj
			if j+1 == n {
				continue
			}
			// Row j of U: A[j, j+1:] − U[k0:j, j]ᵀ U[k0:j, j+1:], then / U[j, j].
			row := a[j*lda+j+1 : j*lda+n]
			for r := k0; r < j; r++ {
				g.Daxpy(n-j-1, -a[r*lda+j], a[r*lda+j+1:r*lda+n], 1, row, 1)
			}
			g.Dscal(n-j-1, 1/ajj, row, 1)
			for c, v := range row {
				work[j+1+c] += v * v
			}
		}
		if k1 < n {
			// A₂₂ −= U₁₂ᵀ U₁₂ for the panel's rows.
			Syrk(true, n-k1, k1-k0, -1, a[k0*lda+k1:], lda, 1, a[k1*lda+k1:], lda)
		}
	}
	return n, nil
}

// swapSymmetric swaps rows and columns j < p of the symmetric matrix whose
// upper triangle from row j on is stored in a, and columns j and p of rows
// 0…j−1 (the factor rows computed so far), as dpstrf's DSWAPs do.
func swapSymmetric(n int, a []float64, lda, j, p int) {
	for r := 0; r < j; r++ {
		a[r*lda+j], a[r*lda+p] = a[r*lda+p], a[r*lda+j]
	}
	a[j*lda+j], a[p*lda+p] = a[p*lda+p], a[j*lda+j]
	for i := j + 1; i < p; i++ {
		a[j*lda+i], a[i*lda+p] = a[i*lda+p], a[j*lda+i]
	}
	for i := p + 1; i < n; i++ {
		a[j*lda+i], a[p*lda+i] = a[p*lda+i], a[j*lda+i]
	}
}
