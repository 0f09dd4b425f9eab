//go:build !purego

package linalg

import "golang.org/x/sys/cpu"

//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, alpha float32)

//go:noescape
func dgemmKernel6x8(k int, a, b, c *float64, ldc int, alpha float64)

// asmTile32 and asmTile64 bounds-check the panels and the C tile before
// handing raw pointers to the assembly kernels.
func asmTile32(k int, a, b, c []float32, ldc int, alpha float32) {
	_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
	sgemmKernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha)
}

func asmTile64(k int, a, b, c []float64, ldc int, alpha float64) {
	_, _, _ = a[6*k-1], b[8*k-1], c[5*ldc+7]
	dgemmKernel6x8(k, &a[0], &b[0], &c[0], ldc, alpha)
}

// hasAVX2FMA reports whether the assembly kernels can run on this CPU.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// pickKernels returns the fastest micro-kernels this CPU supports.
func pickKernels() (microKernel[float32], microKernel[float64], string) {
	if hasAVX2FMA {
		return microKernel[float32]{mr: 6, nr: 16, tile: asmTile32},
			microKernel[float64]{mr: 6, nr: 8, tile: asmTile64},
			"amd64 AVX2/FMA 6×16 f32, 6×8 f64"
	}
	return goKernel32, goKernel64, "Go 4×4"
}
