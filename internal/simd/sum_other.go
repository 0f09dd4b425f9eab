//go:build !amd64 || purego

package simd

func sum8AVX2(v *float32, n int, p *[8]float32) { panic("simd: no assembly") }
