//go:build !purego

package simd

// unpad3Args32AVX2 is Unpad3Args32 for n, a positive multiple of 8, elements.
//
//go:noescape
func unpad3Args32AVX2(dst, src *int32, n int, t0, k, w2 int32)
