//go:build !amd64 || purego

package simd

// useAsm is false: this build has no assembly.
var useAsm = false

func reluMask32AVX2(dst, v, x *float32, n int)         { panic("simd: no assembly") }
func reluMask64AVX2(dst, v, x *float64, n int)         { panic("simd: no assembly") }
func addRows32AVX2(dst, a *float32, rows, cols, n int) { panic("simd: no assembly") }
func addRows64AVX2(dst, a *float64, rows, cols, n int) { panic("simd: no assembly") }
func widenAVX2(dst *float64, src *float32, n int)      { panic("simd: no assembly") }
func nonFinite32AVX2(x *float32, n int) bool           { panic("simd: no assembly") }
func nonFinite64AVX2(x *float64, n int) bool           { panic("simd: no assembly") }
func maxPool3Row32AVX2(x *float32, w int, y *float32, arg *int32, at, n int) {
	panic("simd: no assembly")
}
