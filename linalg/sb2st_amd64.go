//go:build !purego

package linalg

// The AVX-512F kernels of sb2st_amd64.s; the callers guarantee the bounds.

// bandAsmBuilt reports that this build has the assembly kernels.
const bandAsmBuilt = true

// bandAxpyDot returns Σ x[i]·y[i] and sets z[i] += alpha·x[i], i < n.
//
//go:noescape
func bandAxpyDot(n int, x, y, z *float64, alpha float64) float64

// bandAxpy2 sets d[i] −= a·x[i] + b·y[i], i < n.
//
//go:noescape
func bandAxpy2(n int, x, y, d *float64, a, b float64)

// bandGemv sets y[p] = Σ_q x[q]·b[q·ldb+p], p < rows, q < cols.
//
//go:noescape
func bandGemv(rows, cols int, b *float64, ldb int, x, y *float64)

// bandGer sets b[q·ldb+p] += alpha·x[q]·y[p], p < rows, q < cols.
//
//go:noescape
func bandGer(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64)

// bandDotAxpyCols sets, for each column q < cols, b[q·ldb+p] −= s·v[p] with
// s = τ·Σ_p v[p]·b[q·ldb+p], p < rows (rows ≥ 1).
//
//go:noescape
func bandDotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64)
