//go:build !amd64 || purego

// Package kern holds linalg's assembly micro-kernels. They live apart from
// package linalg because Go does not allow assembly in a package using cgo
// (the OpenBLAS backend).
package kern

// Assembly, AVX2 and AVX512 are false: there are no assembly kernels in this
// build, and the functions below are never called.
const (
	Assembly = false
	AVX2     = false
	AVX512   = false
)

func noAsm() { panic("kern: no assembly kernels in this build") }

// Sgemm6x16 is not available in this build.
func Sgemm6x16(k int, a, b, c *float32, ldc int, alpha float32) { noAsm() }

// Dgemm6x8 is not available in this build.
func Dgemm6x8(k int, a, b, c *float64, ldc int, alpha float64) { noAsm() }

// Sgemm12x32AVX512 is not available in this build.
func Sgemm12x32AVX512(k int, a, b, c *float32, ldc int, alpha float32) { noAsm() }

// Dgemm12x16AVX512 is not available in this build.
func Dgemm12x16AVX512(k int, a, b, c *float64, ldc int, alpha float64) { noAsm() }

// Transpose16x16S is not available in this build.
func Transpose16x16S(n int, src *float32, lds int, dst *float32, ldd int) { noAsm() }

// Transpose8x8D is not available in this build.
func Transpose8x8D(n int, src *float64, lds int, dst *float64, ldd int) { noAsm() }
