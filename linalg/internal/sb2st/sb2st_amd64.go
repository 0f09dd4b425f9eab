//go:build !purego

// Package sb2st holds the AVX-512F kernels of linalg's bulge chasing (band
// to tridiagonal, LAPACK dsytrd_sb2st): loops over 8-element chunks of
// float64 vectors and column-major blocks, the last chunk under a mask.
// They live apart from linalg because a package using cgo (linalg's
// OpenBLAS build) cannot hold Go assembly. The callers guarantee the bounds.
package sb2st

// Built reports that this build has the assembly kernels.
const Built = true

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

// SymvLower sets w[p] += Σ_q D(p,q)·v[q], p, q < m, for the symmetric D
// whose lower triangle is column-major at d (D(p,q) = d[q·ldd+p], p ≥ q).
//
//go:noescape
func SymvLower(m int, d *float64, ldd int, v, w *float64)

// Syr2Lower sets D(p,q) −= v[p]·w[q] + w[p]·v[q] for q ≤ p < m, D's lower
// triangle column-major at d as in SymvLower.
//
//go:noescape
func Syr2Lower(m int, d *float64, ldd int, v, w *float64)

// GerDotAxpyCols sets, for each column q < cols, b[q·ldb+p] += alpha·x[q]·y[p]
// as Ger does, then b[q·ldb+p] −= s·v[p] with s = τ·Σ_p v[p]·b[q·ldb+p]
// as DotAxpyCols does, p < rows (rows ≥ 1): the two in one pass over b.
//
//go:noescape
func GerDotAxpyCols(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64, v *float64, tau float64)
