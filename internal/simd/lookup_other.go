//go:build !amd64 || purego

package simd

func lookup32AVX2(dst *float32, src *uint8, lut *float32, n int) { panic("simd: no assembly") }
func prefetchAsm(p *byte, n int)                                 { panic("simd: no assembly") }
