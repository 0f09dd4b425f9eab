//go:build !amd64 || purego

// Package kern holds linalg's assembly micro-kernels. They live apart from
// package linalg because Go does not allow assembly in a package using cgo
// (the OpenBLAS backend).
package kern

// Available is false: there are no assembly kernels for this build.
const Available = false

// Sgemm6x16 is not available in this build.
func Sgemm6x16(k int, a, b, c *float32, ldc int, alpha float32) { panic("kern: no assembly kernels") }

// Dgemm6x8 is not available in this build.
func Dgemm6x8(k int, a, b, c *float64, ldc int, alpha float64) { panic("kern: no assembly kernels") }
