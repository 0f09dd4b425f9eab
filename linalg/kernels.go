package linalg

import "github.com/fenchel-ml/fenchel/linalg/internal/kern"

// asmTile32 and asmTile64 bounds-check the panels and the C tile before
// handing raw pointers to the assembly kernels.
func asmTile32(k int, a, b, c []float32, ldc int, alpha float32) {
	_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
	kern.Sgemm6x16(k, &a[0], &b[0], &c[0], ldc, alpha)
}

func asmTile64(k int, a, b, c []float64, ldc int, alpha float64) {
	_, _, _ = a[6*k-1], b[8*k-1], c[5*ldc+7]
	kern.Dgemm6x8(k, &a[0], &b[0], &c[0], ldc, alpha)
}

// pickKernels returns the assembly micro-kernels, or nils if this CPU or
// build has none.
func pickKernels() (*microKernel[float32], *microKernel[float64], string) {
	if kern.Available {
		return &microKernel[float32]{mr: 6, nr: 16, tile: asmTile32},
			&microKernel[float64]{mr: 6, nr: 8, tile: asmTile64},
			"amd64 AVX2/FMA 6×16 f32, 6×8 f64"
	}
	return nil, nil, "gonum fallback"
}
