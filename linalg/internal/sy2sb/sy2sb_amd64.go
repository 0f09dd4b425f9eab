//go:build !purego

// Package sy2sb holds the AVX-512F kernels of linalg's band reduction (dense
// to band, LAPACK dsytrd_sy2sb): the symmetric product's blocks and their
// transposes straight from the row-major matrix, without packing. It lives apart from
// linalg because a package using cgo (linalg's OpenBLAS build) cannot hold
// Go assembly. The callers guarantee the bounds and the CPU.
package sy2sb

// Built reports that this build has the assembly kernels.
const Built = true

// MulA12x16 sets c[i·ldc+j] += Σ_p a[i·lda+p]·b[p·16+j] for i < 12,
// j < 16, p < k: a 12×16 tile of AB for twelve rows of the row-major A at
// a and a 16-wide panel of B packed row by row.
//
//go:noescape
func MulA12x16(k int, a *float64, lda int, b, c *float64, ldc int)

// SetAt12x16 sets c[i·ldc+j] = Σ_p a[p·lda+i]·b[p·16+j] for i < 12,
// j < 16, p < k (c's prior contents neither read nor needed): a 12×16 tile
// of AᵀB for the row-major A (k rows, 12 of its columns at a) and a 16-wide
// panel of B packed row by row.
//
//go:noescape
func SetAt12x16(k int, a *float64, lda int, b, c *float64, ldc int)

// SetA12x16 is MulA12x16 storing the tile over c[i·ldc+j] (its prior
// contents neither read nor needed) instead of adding to it.
//
//go:noescape
func SetA12x16(k int, a *float64, lda int, b, c *float64, ldc int)
