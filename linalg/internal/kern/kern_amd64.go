//go:build !purego

// Package kern holds linalg's assembly micro-kernels. They live apart from
// package linalg because Go does not allow assembly in a package using cgo
// (the OpenBLAS backend).
package kern

import "golang.org/x/sys/cpu"

// Available reports whether the kernels can run: amd64 with AVX2 and FMA3.
var Available = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Sgemm6x16 computes C[0:6, 0:16] += alpha · Σ_p a[p·6+i]·b[p·16+j] for
// p < k, with C row-major of stride ldc. The caller guarantees the bounds.
//
//go:noescape
func Sgemm6x16(k int, a, b, c *float32, ldc int, alpha float32)

// Dgemm6x8 computes C[0:6, 0:8] += alpha · Σ_p a[p·6+i]·b[p·8+j] for p < k,
// with C row-major of stride ldc. The caller guarantees the bounds.
//
//go:noescape
func Dgemm6x8(k int, a, b, c *float64, ldc int, alpha float64)
