package simd

import (
	"math/rand/v2"
	"testing"
)

// TestUnpad3Args32 checks Unpad3Args32 on every tail length against the
// window's row and column recovered by division, an independent reference:
// a maximum at row d and column c of window j (corner t0 + j in the padded
// plane, cornerX + j in the unpadded one) is at cornerX + j + d·(w2 − 2) + c.
func TestUnpad3Args32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, w2 := range []int32{3, 9, 30} {
		for _, n := range lengths() {
			for _, asm := range []bool{true, false} {
				old := useAsm
				useAsm = useAsm && asm
				t0, cornerX := int32(rng.IntN(100)), int32(rng.IntN(100)-50)
				src, want := make([]int32, n), make([]int32, n)
				for j := range src {
					d, c := int32(rng.IntN(3)), int32(rng.IntN(3))
					src[j] = t0 + int32(j) + d*w2 + c
					want[j] = cornerX + int32(j) + d*(w2-2) + c
				}
				got := make([]int32, n)
				Unpad3Args32(got, src, t0, cornerX-t0, w2)
				useAsm = old
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("w2 %d n %d asm %v: dst[%d] = %d, want %d", w2, n, asm, j, got[j], want[j])
					}
				}
			}
		}
	}
}
