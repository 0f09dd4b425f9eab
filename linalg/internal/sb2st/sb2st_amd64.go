//go:build !purego

// Package sb2st holds the AVX-512F kernels of linalg's bulge chasing (band
// to tridiagonal, LAPACK dsytrd_sb2st): loops over 8-element chunks of
// float64 vectors and column-major blocks, the last chunk under a mask.
// They live apart from linalg because a package using cgo (linalg's
// OpenBLAS build) cannot hold Go assembly. The callers guarantee the bounds.
package sb2st

// Built reports that this build has the assembly kernels.
const Built = true

// AxpyDot returns Σ x[i]·y[i] and sets z[i] += alpha·x[i], i < n.
//
//go:noescape
func AxpyDot(n int, x, y, z *float64, alpha float64) float64

// Axpy2 sets d[i] −= a·x[i] + b·y[i], i < n.
//
//go:noescape
func Axpy2(n int, x, y, d *float64, a, b float64)

// Gemv sets y[p] = Σ_q x[q]·b[q·ldb+p], p < rows, q < cols.
//
//go:noescape
func Gemv(rows, cols int, b *float64, ldb int, x, y *float64)

// Ger sets b[q·ldb+p] += alpha·x[q]·y[p], p < rows, q < cols.
//
//go:noescape
func Ger(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64)

// DotAxpyCols sets, for each column q < cols, b[q·ldb+p] −= s·v[p] with
// s = τ·Σ_p v[p]·b[q·ldb+p], p < rows (rows ≥ 1).
//
//go:noescape
func DotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64)
