package linalg

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkZZSmall(b *testing.B) {
	rnd := rand.New(rand.NewPCG(7, 8))
	shapes := []gemmShape{
		{"fwd2_128x1000·(10x1000)T", false, true, 128, 10, 1000},
		{"wgrad2_(128x10)T·128x1000", true, false, 10, 1000, 128},
		{"igrad2_128x10·10x1000", false, false, 128, 1000, 10},
	}
	for _, s := range shapes {
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		a, bm, c := randSlice(rnd, s.m*s.k), randSlice(rnd, s.k*s.n), make([]float64, s.m*s.n)
		a32, b32, c32 := to32(a), to32(bm), to32(c)
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/w%d", s.name, w), func(b *testing.B) {
				c0 := cpuSeconds()
				for b.Loop() {
					gemm(kernel32, s.tA, s.tB, s.m, s.n, s.k, 1, a32, lda, b32, ldb, 0, c32, s.n, w)
				}
				b.ReportMetric((cpuSeconds()-c0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
