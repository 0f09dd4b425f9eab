//go:build !purego

package simd

// sum8AVX2 adds v[i] into lane i mod 8 of p for i < n (n a positive
// multiple of 8), starting from zero.
//
//go:noescape
func sum8AVX2(v *float32, n int, p *[8]float32)
