//go:build !openblas || !cgo

package linalg

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
)

// SymEigen computes the eigenvalues of the n×n symmetric row-major matrix a,
// in ascending order into w (len ≥ n): values only by SymEigenvalues, with
// vectors by gonum's LAPACK Dsyev (pure Go; with -tags openblas, LAPACK
// dsyevd with vectors). Only the upper
// triangle of a is referenced. If vectors is true, a is overwritten with the orthonormal eigenvectors, column j
// holding the vector of w[j] (as gonum's mat.EigenSym); otherwise a is
// destroyed.
func SymEigen(n int, a []float64, w []float64, vectors bool) error {
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if !vectors {
		return SymEigenvalues(context.Background(), n, a, w)
	}
	var impl gonum.Implementation
	var q [1]float64
	impl.Dsyev(lapack.EVCompute, blas.Upper, n, a, n, w, q[:], -1)
	work := make([]float64, int(q[0]))
	if ok := impl.Dsyev(lapack.EVCompute, blas.Upper, n, a, n, w, work, len(work)); !ok {
		return fmt.Errorf("linalg: SymEigen: Dsyev failed to converge for n = %d", n)
	}
	return nil
}

// SymEigenvalues computes every eigenvalue of the n×n symmetric matrix in
// the upper triangle of the row-major a, ascending into w (len ≥ n),
// without eigenvectors; a is destroyed. A cancelled ctx stops it within one
// panel of the reduction or a group of sweeps of the bulge chasing (well
// under a second at n = 5000). Pure Go: SymEigenvaluesGo; with -tags
// openblas, LAPACK dsyevd below n = 1000 and SymEigenvaluesGo from it
// (lapack_openblas.go).
func SymEigenvalues(ctx context.Context, n int, a []float64, w []float64) error {
	return SymEigenvaluesGo(ctx, n, a, w)
}

// Cholesky factors the n×n symmetric positive definite matrix in the upper
// triangle of the row-major a (stride lda) as A = UᵀU, U overwriting the
// upper triangle. A pivot ≤ 0 returns *NotPositiveDefiniteError. Pure Go:
// CholeskyGo; with -tags openblas, LAPACK dpotrf.
func Cholesky(ctx context.Context, n int, a []float64, lda int) error {
	return CholeskyGo(ctx, n, a, lda)
}

// SolveUpperT solves Uᵀ·X = B in place (B n×r row-major, stride ldb) for the
// upper triangular U that Cholesky leaves in u; SolveUpper solves U·X = B.
// With -tags openblas they are cblas_dtrsm.
func SolveUpperT(n, r int, u []float64, ldu int, b []float64, ldb int) {
	SolveUpperTGo(n, r, u, ldu, b, ldb)
}

// SolveUpper solves U·X = B in place; see SolveUpperT.
func SolveUpper(n, r int, u []float64, ldu int, b []float64, ldb int) {
	SolveUpperGo(n, r, u, ldu, b, ldb)
}
