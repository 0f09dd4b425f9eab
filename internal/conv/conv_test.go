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
		for _, sh := range [][3]int{{8, 48, 9}, {16, 96, 144}, {16, 64, 20}, {8, 112, 3}, {12, 70, 5}, {3, 17, 2}, {24, 160, 31}, {8, 16, 1}, {9, 33, 7}, {64, 64, 576}} {
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

// TestCopy2D checks Copy2D with and without bias against plain loops,
// including that elements between the rows are left alone; the leading
// rows of the taller shapes take the kernels that load a row's last vector
// whole, the last ones the masked loads.
func TestCopy2D(t *testing.T) {
	modes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, sh := range [][4]int{{1, 1, 1, 1}, {3, 7, 9, 8}, {8, 7, 9, 8}, {28, 28, 30, 28}, {5, 16, 16, 20}, {4, 33, 40, 35}, {2, 15, 15, 15}, {9, 14, 16, 14}} {
			rows, cols, lds, ldd := sh[0], sh[1], sh[2], sh[3]
			src := randSlice(rng, (rows-1)*lds+cols)
			src[0] = float32(math.Copysign(0, -1))
			for _, b := range []*float32{nil, new(float32(0.25))} {
				dst := randSlice(rng, rows*ldd+3)
				want := append([]float32(nil), dst...)
				for r := 0; r < rows; r++ {
					for j := 0; j < cols; j++ {
						v := src[r*lds+j]
						if b != nil {
							v += *b
						}
						want[r*ldd+j] = v
					}
				}
				Copy2D(dst, ldd, src, lds, rows, cols, b)
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v bias %v: dst[%d] = %v, want %v", sh, b != nil, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

// TestSplit2Interleave2 checks Split2 and Interleave2 against the plain
// index loops for row lengths on both sides of the 16- and 32-element
// steps, including that nothing outside the rows' elements is written.
func TestSplit2Interleave2(t *testing.T) {
	modes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, cols := range []int{1, 2, 3, 7, 14, 15, 16, 17, 28, 31, 32, 33, 47, 64, 65, 100} {
			for _, rows := range []int{1, 3, 6} {
				ne := (cols + 1) / 2
				lds, ldd := cols+3, ne+2
				src := randSlice(rng, (rows-1)*lds+cols)
				e, o := randSlice(rng, rows*ldd+5), randSlice(rng, rows*ldd+5)
				wantE, wantO := append([]float32(nil), e...), append([]float32(nil), o...)
				for r := 0; r < rows; r++ {
					for j := 0; j < cols; j++ {
						if j%2 == 0 {
							wantE[r*ldd+j/2] = src[r*lds+j]
						} else {
							wantO[r*ldd+j/2] = src[r*lds+j]
						}
					}
				}
				Split2(e, o, ldd, src, lds, rows, cols)
				for i := range wantE {
					if math.Float32bits(e[i]) != math.Float32bits(wantE[i]) || math.Float32bits(o[i]) != math.Float32bits(wantO[i]) {
						t.Fatalf("Split2 %d×%d: e[%d], o[%d] = %v, %v, want %v, %v", rows, cols, i, i, e[i], o[i], wantE[i], wantO[i])
					}
				}
				// Interleave2 back into a row layout of stride ldd2.
				ldd2 := cols + 4
				dst := randSlice(rng, rows*ldd2+3)
				want := append([]float32(nil), dst...)
				for r := 0; r < rows; r++ {
					for j := 0; j < cols; j++ {
						if j%2 == 0 {
							want[r*ldd2+j] = e[r*ldd+j/2]
						} else {
							want[r*ldd2+j] = o[r*ldd+j/2]
						}
					}
				}
				Interleave2(dst, ldd2, e, o, ldd, rows, cols)
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("Interleave2 %d×%d: dst[%d] = %v, want %v", rows, cols, i, dst[i], want[i])
					}
				}
			}
		}
	})
}
