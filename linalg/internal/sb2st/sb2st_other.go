//go:build !amd64 || purego

package sb2st

// Built reports that this build has no assembly kernels; the functions
// below are never called.
const Built = false

func AxpyDot(n int, x, y, z *float64, alpha float64) float64 {
	panic("sb2st: no assembly in this build")
}
func Axpy2(n int, x, y, d *float64, a, b float64) { panic("sb2st: no assembly in this build") }
func Gemv(rows, cols int, b *float64, ldb int, x, y *float64) {
	panic("sb2st: no assembly in this build")
}
func Ger(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64) {
	panic("sb2st: no assembly in this build")
}
func DotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64) {
	panic("sb2st: no assembly in this build")
}
