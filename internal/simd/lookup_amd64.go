//go:build !purego

package simd

//go:noescape
func lookup32AVX2(dst *float32, src *uint8, lut *float32, n int)

//go:noescape
func prefetchAsm(p *byte, n int)
