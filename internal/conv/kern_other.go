//go:build !amd64 || purego

package conv

// useAsm is false: this build has no assembly tiles.
var useAsm = false

func gemm8x16(k int, a *float32, offs *int32, b, c *float32, ldc int) { panic("conv: no assembly") }
func gemm8x32(k int, a *float32, offs *int32, b, c *float32, ldc int) { panic("conv: no assembly") }
func gemm8x48(k int, a *float32, offs *int32, b, c *float32, ldc int) { panic("conv: no assembly") }
func dot4x6(n16, ns int, a *float32, lda, aadj int, b *float32, offs *int32, badj int, acc *float32) {
	panic("conv: no assembly")
}
func copy2D(dst *float32, ldd int, src *float32, lds, rows, cols int) { panic("conv: no assembly") }
func copy2DBias(dst *float32, ldd int, src *float32, lds, rows, cols int, b float32) {
	panic("conv: no assembly")
}
func split2(e, o *float32, ldd int, src *float32, lds, rows, cols int) { panic("conv: no assembly") }
func interleave2(dst *float32, ldd int, e, o *float32, lds, rows, cols int) {
	panic("conv: no assembly")
}
func copy2DWide(dst *float32, ldd int, src *float32, lds, rows, cols int) { panic("conv: no assembly") }
func copy2DBiasWide(dst *float32, ldd int, src *float32, lds, rows, cols int, b float32) {
	panic("conv: no assembly")
}
func split2Wide(e, o *float32, ldd int, src *float32, lds, rows, cols int) {
	panic("conv: no assembly")
}
