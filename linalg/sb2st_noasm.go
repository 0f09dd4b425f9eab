//go:build !amd64 || purego

package linalg

// bandAsmBuilt reports that this build has no assembly kernels; the
// functions below are never called.
const bandAsmBuilt = false

func bandAxpyDot(n int, x, y, z *float64, alpha float64) float64  { panic("linalg: no assembly") }
func bandAxpy2(n int, x, y, d *float64, a, b float64)             { panic("linalg: no assembly") }
func bandGemv(rows, cols int, b *float64, ldb int, x, y *float64) { panic("linalg: no assembly") }
func bandGer(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64) {
	panic("linalg: no assembly")
}
func bandDotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64) {
	panic("linalg: no assembly")
}
