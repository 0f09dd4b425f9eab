package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmBetaZeroBits checks that a product with beta = 0 (whose first k
// slab overwrites C through the kernel set's store kernel, C holding NaN
// before) is bit for bit the product with beta = 1 into a cleared C, for
// float32 and float64, every transpose, shapes with edge tiles in both
// directions, one or several k slabs and one or two goroutines, with every
// kernel set this machine can run. alpha = −0.75 rounds alpha·Σ, and a zero
// row of A gives Σ = 0 (the sign of zero must match too).
func TestGemmBetaZeroBits(t *testing.T) {
	saved, savedFlops := blockSizes, gemmParallelFlops
	defer func() { blockSizes, gemmParallelFlops = saved, savedFlops }()
	gemmParallelFlops = 0 // w2 splits every product
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bs := range []blocking{saved, {kc: 7, mc: 24, nc: 64}} {
		blockSizes = bs
		for _, im := range impls() {
			if im.set == nil {
				continue
			}
			restore := im.use()
			for _, s := range [][3]int{{37, 70, 5}, {128, 100, 130}, {24, 64, 16}, {100, 784, 128}} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, workers := range []int{1, 2} {
						name := fmt.Sprintf("%s %+v %v %v w%d", im.name, bs, s, tr, workers)
						checkBetaZeroBits(t, name, rng, tr[0], tr[1], s[0], s[1], s[2], workers)
					}
				}
			}
			restore()
		}
	}
}

func checkBetaZeroBits(t *testing.T, name string, rng *rand.Rand, tA, tB bool, m, n, k, workers int) {
	t.Helper()
	a := make([]float64, m*k)
	b := make([]float64, k*n)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	// Row 1 of op(A) is zero.
	for p := 0; p < k; p++ {
		if tA {
			a[p*m+1] = 0
		} else {
			a[1*k+p] = 0
		}
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	const alpha = -0.75
	if kernel64 != nil {
		got, want := make([]float64, m*n), make([]float64, m*n)
		for i := range got {
			got[i] = math.NaN()
		}
		gemm(kernel64, tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, got, n, workers)
		gemm(kernel64, tA, tB, m, n, k, alpha, a, lda, b, ldb, 1, want, n, workers)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s f64: C[%d] = %v with beta 0, %v with beta 1 on zero C", name, i, got[i], want[i])
			}
		}
	}
	if kernel32 != nil {
		a32, b32 := make([]float32, len(a)), make([]float32, len(b))
		for i, v := range a {
			a32[i] = float32(v)
		}
		for i, v := range b {
			b32[i] = float32(v)
		}
		got, want := make([]float32, m*n), make([]float32, m*n)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		gemm(kernel32, tA, tB, m, n, k, alpha, a32, lda, b32, ldb, 0, got, n, workers)
		gemm(kernel32, tA, tB, m, n, k, alpha, a32, lda, b32, ldb, 1, want, n, workers)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s f32: C[%d] = %v with beta 0, %v with beta 1 on zero C", name, i, got[i], want[i])
			}
		}
	}
}
