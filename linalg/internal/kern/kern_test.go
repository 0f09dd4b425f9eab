package kern

import (
	"math"
	"testing"
)

// TestKernels checks both micro-kernels against a direct sum on a full tile
// with stride ldc > NR (the linalg conformance tests cover them end to end).
func TestKernels(t *testing.T) {
	if !Available {
		t.Log("no assembly kernels in this build; nothing to check")
		return
	}
	const k, ldc = 13, 21
	a := make([]float64, 6*k)
	b := make([]float64, 16*k)
	for i := range a {
		a[i] = float64(i%7) - 3
	}
	for i := range b {
		b[i] = float64(i%5) - 2
	}
	a32, b32 := make([]float32, len(a)), make([]float32, len(b))
	for i := range a {
		a32[i] = float32(a[i])
	}
	for i := range b {
		b32[i] = float32(b[i])
	}
	c32 := make([]float32, 6*ldc)
	c64 := make([]float64, 6*ldc)
	for i := range c32 {
		c32[i], c64[i] = 1, 1
	}
	b8 := make([]float64, 8*k) // first 8 columns of b, packed 8 wide
	for p := 0; p < k; p++ {
		copy(b8[p*8:p*8+8], b[p*16:p*16+8])
	}
	Sgemm6x16(k, &a32[0], &b32[0], &c32[0], ldc, 0.5)
	Dgemm6x8(k, &a[0], &b8[0], &c64[0], ldc, 0.5)
	for i := 0; i < 6; i++ {
		for j := 0; j < ldc; j++ {
			var s float64
			for p := 0; p < k && j < 16; p++ {
				s += a[p*6+i] * b[p*16+j]
			}
			want := 1 + 0.5*s
			if j >= 16 {
				want = 1
			}
			if got := float64(c32[i*ldc+j]); got != want {
				t.Errorf("Sgemm6x16: C[%d,%d] = %v, want %v", i, j, got, want)
			}
			if j >= 8 {
				want = 1
			}
			if got := c64[i*ldc+j]; math.Abs(got-want) > 0 {
				t.Errorf("Dgemm6x8: C[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
}

// BenchmarkKernels measures the single-core throughput of the micro-kernels
// on L1-resident panels (the upper bound for the blocked GEMM).
func BenchmarkKernels(b *testing.B) {
	if !Available {
		b.Skip("no assembly kernels in this build")
	}
	const k = 256
	a32, b32, c32 := make([]float32, 6*k), make([]float32, 16*k), make([]float32, 6*16)
	a64, b64, c64 := make([]float64, 6*k), make([]float64, 8*k), make([]float64, 6*8)
	b.Run("Sgemm6x16", func(b *testing.B) {
		for b.Loop() {
			Sgemm6x16(k, &a32[0], &b32[0], &c32[0], 16, 1)
		}
		b.ReportMetric(2*6*16*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("Dgemm6x8", func(b *testing.B) {
		for b.Loop() {
			Dgemm6x8(k, &a64[0], &b64[0], &c64[0], 8, 1)
		}
		b.ReportMetric(2*6*8*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
