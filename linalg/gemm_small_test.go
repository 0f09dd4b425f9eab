package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmSmall64DotBits checks gemmSmall64's Bᵀ products bit for bit against
// a Go loop (dot8Go on the first k&^7 columns, then fused steps in order)
// with every kernel set, including widths with a tail and a zero width.
func TestGemmSmall64DotBits(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	vec0 := vec
	defer func() { vec = vec0 }()
	for _, s := range availableKernelSets() {
		vec = s.vec
		for _, sh := range []struct{ m, n, k int }{{1, 10, 784}, {1, 1000, 64}, {3, 7, 13}, {4, 5, 8}, {2, 3, 0}, {1, 33, 5}} {
			lda, ldb, ldc := sh.k+1, sh.k+3, sh.n+2
			a := randSlice(rnd, sh.m*lda)
			b := randSlice(rnd, sh.n*ldb)
			c := randSlice(rnd, sh.m*ldc)
			want := append([]float64(nil), c...)
			const alpha = 0.75
			k8 := sh.k &^ 7
			for i := 0; i < sh.m; i++ {
				ai := a[i*lda : i*lda+sh.k]
				for j := 0; j < sh.n; j++ {
					bj := b[j*ldb : j*ldb+sh.k]
					d := dot8Go(bj[:k8], ai[:k8])
					for p := k8; p < sh.k; p++ {
						d = math.FMA(bj[p], ai[p], d)
					}
					want[i*ldc+j] += alpha * d
				}
			}
			gemmSmall64(true, sh.m, sh.n, sh.k, alpha, a, lda, b, ldb, c, ldc)
			for i, v := range c {
				if math.Float64bits(v) != math.Float64bits(want[i]) {
					t.Fatalf("kernels %s, m %d n %d k %d: c[%d] = %v, want %v", s.name, sh.m, sh.n, sh.k, i, v, want[i])
				}
			}
		}
	}
}
