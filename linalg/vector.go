package linalg

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// Dot, Axpy, Scal, Nrm2 and Gemv are the level-1/2 operations of the
// engine's Krylov methods, through the backend in Float64 (both backends
// use gonum's SIMD kernels for these), so that linalg stays the engine's one
// BLAS seam.

// Dot returns xᵀy.
func Dot(x, y []float64) float64 { return Float64.Ddot(len(x), x, 1, y[:len(x)], 1) }

// Axpy sets y += alpha·x.
func Axpy(alpha float64, x, y []float64) { Float64.Daxpy(len(x), alpha, x, 1, y[:len(x)], 1) }

// Scal sets x *= alpha.
func Scal(alpha float64, x []float64) { Float64.Dscal(len(x), alpha, x, 1) }

// Nrm2 returns ‖x‖₂ (scaled, without overflow).
func Nrm2(x []float64) float64 { return Float64.Dnrm2(len(x), x, 1) }

// Gemv sets y = alpha·A·x + beta·y for the m×n row-major A (stride lda).
func Gemv(m, n int, alpha float64, a []float64, lda int, x []float64, beta float64, y []float64) {
	Float64.Dgemv(blas.NoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1)
}

// TridiagEigen computes every eigenvalue of the symmetric tridiagonal
// matrix with diagonal d (n) and off-diagonal e (n−1), ascending into d, and
// the orthonormal eigenvectors into the columns of the n×n row-major z, by
// implicit QL/QR (LAPACK dsteqr, gonum's). e is destroyed. It reports
// whether the iteration converged. The Lanczos tridiagonals it serves are a
// few hundred wide, where it takes microseconds to milliseconds.
func TridiagEigen(d, e, z []float64) bool {
	n := len(d)
	work := make([]float64, max(1, 2*n-2))
	return lapackgonum.Implementation{}.Dsteqr(lapack.EVTridiag, n, d, e, z, n, work)
}
