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
