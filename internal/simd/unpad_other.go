//go:build !amd64 || purego

package simd

func unpad3Args32AVX2(dst, src *int32, n int, t0, k, w2 int32) { panic("simd: no assembly") }
