//go:build !openblas || !cgo

package linalg

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
)

// SymEigen computes the eigenvalues of the n×n symmetric row-major matrix a,
// in ascending order into w (len ≥ n), using gonum's LAPACK Dsyev (pure Go;
// with -tags openblas, LAPACK dsyevd). Only the upper triangle of a is
// referenced. If vectors is true, a is overwritten with the orthonormal
// eigenvectors, column j holding the vector of w[j] (as gonum's
// mat.EigenSym); otherwise a is destroyed.
func SymEigen(n int, a []float64, w []float64, vectors bool) error {
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	jobz := lapack.EVNone
	if vectors {
		jobz = lapack.EVCompute
	}
	var impl gonum.Implementation
	var q [1]float64
	impl.Dsyev(jobz, blas.Upper, n, a, n, w, q[:], -1)
	work := make([]float64, int(q[0]))
	if ok := impl.Dsyev(jobz, blas.Upper, n, a, n, w, work, len(work)); !ok {
		return fmt.Errorf("linalg: SymEigen: Dsyev failed to converge for n = %d", n)
	}
	return nil
}
