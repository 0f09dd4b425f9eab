//go:build !amd64 || purego

package sb2st

// Built reports that this build has no assembly kernels; the functions
// below are never called.
const Built = false

func Gemv(rows, cols int, b *float64, ldb int, x, y *float64) { noAsm() }

func Ger(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64) { noAsm() }

func DotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64) { noAsm() }

func SymvLower(m int, d *float64, ldd int, v, w *float64) { noAsm() }

func Syr2Lower(m int, d *float64, ldd int, v, w *float64) { noAsm() }

func GerDotAxpyCols(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64, v *float64, tau float64) {
	noAsm()
}

func noAsm() { panic("sb2st: no assembly in this build") }
