package linalg

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestGemmSplitInvariant checks that Gemm gives bit for bit the same C on 1,
// 2 and 3 goroutines and that GemmSerial gives it too, on shapes of the
// convolution layers, including a row split whose last block has ≤ smallM
// rows (m = 16 = 12 + 4, a conv stem's weight gradient): such a block once
// took the unpacked path and rounded differently from the whole product.
func TestGemmSplitInvariant(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	saved := gemmParallelFlops
	defer func() { gemmParallelFlops = saved }()
	gemmParallelFlops = 0 // split every product
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct {
		tA, tB  bool
		m, n, k int
	}{
		{false, true, 16, 9, 29008}, {false, true, 16, 144, 1568}, {true, false, 144, 1568, 16},
		{false, false, 16, 784, 144}, {false, false, 64, 49, 576}, {true, false, 576, 441, 64},
		{false, false, 3, 5000, 300}, {false, true, 28, 5, 9000},
	} {
		name := fmt.Sprintf("tA=%v tB=%v %dx%dx%d", s.tA, s.tB, s.m, s.n, s.k)
		a, b := make([]float32, s.m*s.k), make([]float32, s.k*s.n)
		c0 := make([]float32, s.m*s.n)
		for _, v := range [][]float32{a, b, c0} {
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		}
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		var want []float32
		for _, procs := range []int{1, 2, 3, 0} {
			c := append([]float32(nil), c0...)
			if procs > 0 {
				runtime.GOMAXPROCS(procs)
				Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 1, c, s.n)
			} else {
				runtime.GOMAXPROCS(2)
				GemmSerial(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, b, ldb, 1, c, s.n)
			}
			if want == nil {
				want = c
				continue
			}
			for i := range c {
				if c[i] != want[i] {
					t.Fatalf("%s: GOMAXPROCS %d (0: GemmSerial) C[%d] = %v, want %v (GOMAXPROCS 1)", name, procs, i, c[i], want[i])
				}
			}
		}
	}
}
