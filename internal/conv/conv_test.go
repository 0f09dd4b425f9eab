package conv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// modes runs f with the assembly tiles (where the CPU has them) and with the
// Go twins alone.
func modes(t *testing.T, f func(t *testing.T)) {
	old := useAsm
	defer func() { useAsm = old }()
	for _, asm := range []bool{true, false} {
		if asm && !old {
			continue
		}
		useAsm = asm
		name := "go"
		if asm {
			name = "asm"
		}
		t.Run(name, f)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestGemmMatchesDefinition checks Gemm against the float64 sum of its
// definition, over shapes that hit every tile width and both edges.
func TestGemmMatchesDefinition(t *testing.T) {
	modes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, sh := range [][3]int{{8, 48, 9}, {16, 96, 144}, {12, 70, 5}, {3, 17, 2}, {24, 160, 31}, {8, 16, 1}, {9, 33, 7}, {64, 64, 576}} {
			m, n, k := sh[0], sh[1], sh[2]
			lx := 3*n + 50
			x := randSlice(rng, lx)
			offs := make([]int32, k)
			for q := range offs {
				offs[q] = int32(rng.IntN(lx - n + 1))
			}
			a := randSlice(rng, m*k)
			ldc := n + 5
			c := randSlice(rng, (m-1)*ldc+n) // stale contents must be overwritten
			pack := make([]float32, PackLen(m, k))
			Pack(m, k, a, pack)
			Gemm(m, n, k, pack, offs, x, c, ldc)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var want, mag float64
					for q := 0; q < k; q++ {
						p := float64(a[i*k+q]) * float64(x[int(offs[q])+j])
						want += p
						mag += math.Abs(p)
					}
					got := float64(c[i*ldc+j])
					if math.Abs(got-want) > 1e-6*mag+1e-30 {
						t.Fatalf("%v: c[%d,%d] = %v, want %v", sh, i, j, got, want)
					}
				}
			}
		}
	})
}

// TestDotMatchesDefinition checks Dot against the float64 sum of its
// definition, accumulating onto existing contents of c.
func TestDotMatchesDefinition(t *testing.T) {
	modes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, sh := range [][4]int{{4, 6, 16, 1}, {16, 144, 64, 3}, {5, 13, 32, 2}, {3, 5, 48, 4}, {8, 12, 848, 2}, {1, 1, 16, 1}} {
			m, k, n, ns := sh[0], sh[1], sh[2], sh[3]
			lda, sa := n+3, (m+1)*(n+3)
			a := randSlice(rng, (ns-1)*sa+(m-1)*lda+n)
			sx := 2*n + 7
			x := randSlice(rng, (ns-1)*sx+2*n+40)
			offs := make([]int32, k)
			for q := range offs {
				offs[q] = int32(rng.IntN(n + 41))
			}
			ldc := k + 2
			c := randSlice(rng, (m-1)*ldc+k)
			c0 := append([]float32(nil), c...)
			Dot(m, k, n, ns, a, lda, sa, offs, x, sx, c, ldc)
			for i := 0; i < m; i++ {
				for q := 0; q < k; q++ {
					want, mag := float64(c0[i*ldc+q]), math.Abs(float64(c0[i*ldc+q]))
					for s := 0; s < ns; s++ {
						for j := 0; j < n; j++ {
							p := float64(a[s*sa+i*lda+j]) * float64(x[s*sx+int(offs[q])+j])
							want += p
							mag += math.Abs(p)
						}
					}
					got := float64(c[i*ldc+q])
					if math.Abs(got-want) > 1e-6*mag+1e-30 {
						t.Fatalf("%v: c[%d,%d] = %v, want %v", sh, i, q, got, want)
					}
				}
			}
		}
	})
}

// TestOffsetsOutsidePanic checks that an offset reading past x is refused
// before any tile runs.
func TestOffsetsOutsidePanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an offset past the end of x")
		}
	}()
	x := make([]float32, 40)
	Gemm(8, 32, 1, make([]float32, 8), []int32{9}, x, make([]float32, 8*32), 32)
}
