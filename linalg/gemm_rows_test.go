package linalg

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestGemmRowsDone checks GemmRows' contract on the packed path: C is bit for
// bit gemm's, the ranges passed to done cover [0, m) exactly once, and when
// done(lo, hi) runs rows [lo, hi) of C already hold their final bits. Shapes
// cover a row split (the MLP's weight gradient), a column split, several k
// slabs and column blocks, the small-m and dot paths, beta 0 and 1, one and
// two goroutines, with every kernel set this machine can run.
func TestGemmRowsDone(t *testing.T) {
	saved, savedFlops := blockSizes, gemmParallelFlops
	defer func() { blockSizes, gemmParallelFlops = saved, savedFlops }()
	gemmParallelFlops = 0
	rng := rand.New(rand.NewPCG(5, 6))
	for _, bs := range []blocking{saved, {kc: 7, mc: 24, nc: 64}} {
		blockSizes = bs
		for _, im := range impls() {
			if im.set == nil {
				continue
			}
			restore := im.use()
			if kernel32 == nil {
				restore()
				continue
			}
			for _, s := range [][3]int{{1000, 784, 128}, {128, 1000, 78}, {37, 70, 5}, {3, 50, 20}, {64, 10, 100}, {200, 130, 300}} {
				for _, tr := range [][2]bool{{true, false}, {false, true}, {false, false}} {
					for _, beta := range []float32{0, 1} {
						for _, workers := range []int{1, 2} {
							name := fmt.Sprintf("%s %+v %v %v beta %v w%d", im.name, bs, s, tr, beta, workers)
							checkGemmRows(t, name, rng, tr[0], tr[1], s[0], s[1], s[2], beta, workers)
						}
					}
				}
			}
			restore()
		}
	}
}

func checkGemmRows(t *testing.T, name string, rng *rand.Rand, tA, tB bool, m, n, k int, beta float32, workers int) {
	t.Helper()
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c0 := make([]float32, m*n)
	for _, v := range [][]float32{a, b, c0} {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	want := append([]float32(nil), c0...)
	gemm(kernel32, tA, tB, m, n, k, -0.75, a, lda, b, ldb, beta, want, n, workers)
	got := append([]float32(nil), c0...)
	var mu sync.Mutex
	seen := make([]int, m)
	bad := 0
	gemmDone(kernel32, tA, tB, m, n, k, -0.75, a, lda, b, ldb, beta, got, n, workers, func(lo, hi int) {
		mu.Lock()
		defer mu.Unlock()
		for i := lo; i < hi; i++ {
			seen[i]++
			for j := 0; j < n; j++ {
				if got[i*n+j] != want[i*n+j] {
					bad++
				}
			}
		}
	})
	for i, s := range seen {
		if s != 1 {
			t.Fatalf("%s: row %d reported %d times", name, i, s)
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d elements not final when their rows were reported", name, bad)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: C[%d] = %v, gemm gives %v", name, i, got[i], want[i])
		}
	}
}

// TestGemmRowsBackend checks GemmRows through the installed backend: C as
// Gemm's and every row reported once.
func TestGemmRowsBackend(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m, n, k := 600, 300, 64 // C large enough for doneRows to split when the backend is not Kernels
	a, b := make([]float32, k*m), make([]float32, k*n)
	for _, v := range [][]float32{a, b} {
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	}
	want, got := make([]float32, m*n), make([]float32, m*n)
	Gemm(true, false, m, n, k, 1, a, m, b, n, 0, want, n)
	var mu sync.Mutex
	seen := make([]int, m)
	GemmRows(true, false, m, n, k, 1, a, m, b, n, 0, got, n, func(lo, hi int) {
		mu.Lock()
		defer mu.Unlock()
		for i := lo; i < hi; i++ {
			seen[i]++
		}
	})
	for i, s := range seen {
		if s != 1 {
			t.Fatalf("row %d reported %d times", i, s)
		}
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("C[%d] = %v, Gemm gives %v", i, got[i], want[i])
		}
	}
}
