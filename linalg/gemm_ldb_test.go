package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmInPlaceBBits checks that the one-slab products reading B's panels
// in place (microKernel.tileLdb, storeLdb) are bit for bit the products on
// packed panels, float32, A transposed or not, beta 0 and 1, shapes with
// edge tiles in both directions (a partial last panel of B, A's last rows),
// and the weight gradient of MLP 784-1000-10 at batch 128, on one and two
// goroutines. A zero row of A checks the sign of zero.
func TestGemmInPlaceBBits(t *testing.T) {
	direct := kernel32
	if direct == nil || direct.tileLdb == nil {
		t.Skip("no in-place B kernels on this machine/build")
	}
	packed := *direct
	packed.tileLdb, packed.storeLdb = nil, nil
	savedFlops := gemmParallelFlops
	defer func() { gemmParallelFlops = savedFlops }()
	gemmParallelFlops = 0
	rng := rand.New(rand.NewPCG(17, 18))
	for _, s := range [][3]int{{37, 70, 5}, {24, 64, 16}, {13, 33, 9}, {100, 784, 128}, {1000, 784, 128}} {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []bool{false, true} {
			a, b := make([]float32, m*k), make([]float32, k*n)
			for _, x := range [][]float32{a, b} {
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
			}
			for p := 0; p < k; p++ { // row 1 of op(A) is zero
				if tA {
					a[p*m+1] = 0
				} else {
					a[1*k+p] = 0
				}
			}
			lda := k
			if tA {
				lda = m
			}
			for _, beta := range []float32{0, 1} {
				for _, workers := range []int{1, 2} {
					name := fmt.Sprintf("%v tA=%v beta=%v w%d", s, tA, beta, workers)
					got, want := make([]float32, m*n), make([]float32, m*n)
					for i := range got {
						got[i] = float32(rng.NormFloat64())
						want[i] = got[i]
					}
					gemm(direct, tA, false, m, n, k, -0.75, a, lda, b, n, beta, got, n, workers)
					gemm(&packed, tA, false, m, n, k, -0.75, a, lda, b, n, beta, want, n, workers)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: C[%d] = %v with B in place, %v packed", name, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
