package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmBiasBits checks that GemmBias (C holding NaN before) is bit for
// bit bias copied into every row of C and Gemm with beta = 1, for float32
// and float64, every transpose, shapes with edge tiles in both directions,
// one or several k slabs, the few-row and few-column paths, k = 0, alpha = 0
// and one or two goroutines, with every kernel set this machine can run,
// and through the installed backend. The bias holds −0 and a large value;
// alpha = −0.75 rounds alpha·Σ.
func TestGemmBiasBits(t *testing.T) {
	saved, savedFlops := blockSizes, gemmParallelFlops
	defer func() { blockSizes, gemmParallelFlops = saved, savedFlops }()
	gemmParallelFlops = 0 // w2 splits every product
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{37, 70, 5}, {128, 100, 130}, {24, 64, 16}, {3, 50, 20}, {20, 10, 64}, {13, 40, 0}}
	for _, bs := range []blocking{saved, {kc: 7, mc: 24, nc: 64}} {
		blockSizes = bs
		for _, im := range impls() {
			if im.set == nil {
				continue
			}
			restore := im.use()
			for _, s := range shapes {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, workers := range []int{1, 2} {
						for _, alpha := range []float64{-0.75, 0} {
							name := fmt.Sprintf("%s %+v %v %v w%d alpha %v", im.name, bs, s, tr, workers, alpha)
							checkGemmBiasBits(t, name, rng, tr[0], tr[1], s[0], s[1], s[2], workers, alpha, false)
						}
					}
				}
			}
			restore()
		}
	}
	blockSizes = saved
	// A dense layer's forward product (MLP 784-1000-10 at batch 128), and
	// the exported function on the installed backend.
	for _, workers := range []int{1, 2} {
		checkGemmBiasBits(t, fmt.Sprintf("MLP forward w%d", workers), rng, false, true, 128, 1000, 784, workers, 1, false)
	}
	for _, s := range shapes {
		checkGemmBiasBits(t, fmt.Sprintf("GemmBias %v", s), rng, false, true, s[0], s[1], s[2], 0, -0.75, true)
	}
}

// checkGemmBiasBits compares gemmBias with the bias (or GemmBias, public)
// against the copy and gemm with beta = 1 (Gemm, public).
func checkGemmBiasBits(t *testing.T, name string, rng *rand.Rand, tA, tB bool, m, n, k, workers int, alpha float64, public bool) {
	t.Helper()
	a, b, bias := make([]float64, m*k), make([]float64, k*n), make([]float64, n)
	for _, s := range [][]float64{a, b, bias} {
		for i := range s {
			s[i] = rng.NormFloat64()
		}
	}
	bias[0], bias[n-1] = math.Copysign(0, -1), 1e6
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	lda, ldb = max(lda, 1), max(ldb, 1)
	if kernel64 != nil || public {
		got, want := make([]float64, m*n), make([]float64, m*n)
		for i := range got {
			got[i] = math.NaN()
			want[i] = bias[i%n]
		}
		if public {
			GemmBias(tA, tB, m, n, k, alpha, a, lda, b, ldb, bias, got, n)
			Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, 1, want, n)
		} else {
			gemmBias(kernel64, tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, bias, got, n, workers, nil)
			gemm(kernel64, tA, tB, m, n, k, alpha, a, lda, b, ldb, 1, want, n, workers)
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s f64: C[%d] = %v with the bias, %v copied then beta 1", name, i, got[i], want[i])
			}
		}
	}
	if kernel32 != nil || public {
		a32, b32, bias32 := to32(a), to32(b), to32(bias)
		got, want := make([]float32, m*n), make([]float32, m*n)
		for i := range got {
			got[i] = float32(math.NaN())
			want[i] = bias32[i%n]
		}
		if public {
			GemmBias(tA, tB, m, n, k, float32(alpha), a32, lda, b32, ldb, bias32, got, n)
			Gemm(tA, tB, m, n, k, float32(alpha), a32, lda, b32, ldb, 1, want, n)
		} else {
			gemmBias(kernel32, tA, tB, m, n, k, float32(alpha), a32, lda, b32, ldb, 0, bias32, got, n, workers, nil)
			gemm(kernel32, tA, tB, m, n, k, float32(alpha), a32, lda, b32, ldb, 1, want, n, workers)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s f32: C[%d] = %v with the bias, %v copied then beta 1", name, i, got[i], want[i])
			}
		}
	}
}
