//go:build !purego

// Package kern holds linalg's assembly micro-kernels. They live apart from
// package linalg because Go does not allow assembly in a package using cgo
// (the OpenBLAS backend).
package kern

import "golang.org/x/sys/cpu"

//go:generate go run gen_avx512.go

// AVX2 reports whether the AVX2+FMA3 kernels (Sgemm6x16, Dgemm6x8) can run.
var AVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// AVX512 reports whether the AVX-512F kernels (the *AVX512 functions) can
// run. x/sys/cpu sets HasAVX512F only when the OS also saves the zmm and
// opmask state (XGETBV), so a kernel never faults on a CPU with AVX-512 under
// an OS that disabled it.
var AVX512 = cpu.X86.HasAVX512F

// Assembly reports that this build has the assembly kernels.
const Assembly = true

// Sgemm6x16 computes C[0:6, 0:16] += alpha · Σ_p a[p·6+i]·b[p·16+j] for
// p < k, with C row-major of stride ldc (AVX2+FMA3). The caller guarantees
// the bounds.
//
//go:noescape
func Sgemm6x16(k int, a, b, c *float32, ldc int, alpha float32)

// Dgemm6x8 computes C[0:6, 0:8] += alpha · Σ_p a[p·6+i]·b[p·8+j] for p < k,
// with C row-major of stride ldc (AVX2+FMA3). The caller guarantees the
// bounds.
//
//go:noescape
func Dgemm6x8(k int, a, b, c *float64, ldc int, alpha float64)
