package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specials32 are the values whose sign, NaN-ness or size could trip a
// vector comparison or mask; they are mixed into random data.
var specials32 = []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)),
	float32(math.Inf(-1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -1, 1}

func random32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(4) == 0 {
			v[i] = specials32[rng.IntN(len(specials32))]
		} else {
			v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-4)))
		}
	}
	return v
}

func random64(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i, x := range random32(rng, n) {
		v[i] = float64(x) * (1 + 1e-9*rng.Float64()) // use float64's extra bits
	}
	return v
}

// lengths covers every tail length of both vector widths, plus large sizes.
func lengths() []int {
	ls := []int{}
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	return append(ls, 127, 1000, 1023)
}

// TestReLUMask checks the vector ReLU mask bit for bit against its Go twin,
// on data full of NaNs, signed zeros, infinities and subnormals, at every
// length up to 70 and at misaligned starts (offset 1 into the slices).
func TestReLUMask(t *testing.T) {
	if !useAsm {
		t.Log("no AVX2: only the Go twins run")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths() {
		for _, off := range []int{0, 1} {
			x32, v32 := random32(rng, n+off), random32(rng, n+off)
			got32, want32 := make([]float32, n+off), make([]float32, n+off)
			ReLUMask32(got32[off:], v32[off:], x32[off:])
			reluMask32Go(want32[off:], v32[off:], x32[off:])
			for i := range got32 {
				if math.Float32bits(got32[i]) != math.Float32bits(want32[i]) {
					t.Fatalf("ReLUMask32 n=%d off=%d [%d]: x=%v v=%v got %v, want %v", n, off, i, x32[i], v32[i], got32[i], want32[i])
				}
			}
			x64, v64 := random64(rng, n+off), random64(rng, n+off)
			got64, want64 := make([]float64, n+off), make([]float64, n+off)
			ReLUMask64(got64[off:], v64[off:], x64[off:])
			reluMask64Go(want64[off:], v64[off:], x64[off:])
			for i := range got64 {
				if math.Float64bits(got64[i]) != math.Float64bits(want64[i]) {
					t.Fatalf("ReLUMask64 n=%d off=%d [%d]: x=%v v=%v got %v, want %v", n, off, i, x64[i], v64[i], got64[i], want64[i])
				}
			}
		}
	}
	// The twin itself against the definition, so that both cannot be wrong together.
	x := []float32{-1, 0, float32(math.Copysign(0, -1)), 2, float32(math.NaN()), float32(math.Inf(1)), math.SmallestNonzeroFloat32, -3, 5}
	v := []float32{7, 7, 7, 7, 7, 7, 7, 7, float32(math.Copysign(0, -1))}
	want := []float32{0, 0, 0, 7, 0, 7, 7, 0, float32(math.Copysign(0, -1))}
	got := make([]float32, len(x))
	for _, asm := range []bool{useAsm, false} {
		old := useAsm
		useAsm = asm
		ReLUMask32(got, v, x)
		useAsm = old
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("asm=%v: ReLUMask32 [%d] x=%v v=%v: got %v, want %v", asm, i, x[i], v[i], got[i], want[i])
			}
		}
	}
}

// TestAddRows checks the vector column sums bit for bit against the plain
// row-by-row loop (the order of additions is part of the result), for row
// and column counts around the vector widths, on contiguous rows (AddRows)
// and on a block of columns of a wider matrix (AddRowsLd, the block's
// first column 0 or 5 of rows lda = cols + 0, 3 or 16 apart).
func TestAddRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rows := range []int{0, 1, 2, 3, 7, 64, 129} {
		for _, cols := range []int{0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100, 1000} {
			for _, c := range []struct{ off, pad int }{{0, 0}, {0, 3}, {5, 16}} {
				checkAddRows(t, "AddRows32", rng, random32, AddRows32, AddRowsLd32, rows, cols, c.off, c.pad)
				checkAddRows(t, "AddRows64", rng, random64, AddRows64, AddRowsLd64, rows, cols, c.off, c.pad)
			}
		}
	}
}

// checkAddRows runs one case of TestAddRows for one precision: add on
// contiguous rows when pad is 0, else addLd on rows lda = cols + pad apart
// starting off values into the matrix.
func checkAddRows[T float32 | float64](t *testing.T, name string, rng *rand.Rand, random func(*rand.Rand, int) []T,
	add func(d, a []T, rows, cols int), addLd func(d, a []T, rows, cols, lda int), rows, cols, off, pad int) {
	t.Helper()
	lda := cols + pad
	a := random(rng, rows*lda+off)
	d := random(rng, cols)
	want := append([]T(nil), d...)
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			want[j] += a[off+r*lda+j]
		}
	}
	if pad == 0 {
		add(d, a, rows, cols)
	} else {
		addLd(d, a[off:], rows, cols, lda)
	}
	for j := range d {
		if math.Float64bits(float64(d[j])) != math.Float64bits(float64(want[j])) && !(d[j] != d[j] && want[j] != want[j]) {
			t.Fatalf("%s %d×%d (lda %d) col %d: got %v, want %v", name, rows, cols, lda, j, d[j], want[j])
		}
	}
}

func BenchmarkReLUMask32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, v := random32(rng, 128*1000), random32(rng, 128*1000)
	dst := make([]float32, len(x))
	for _, asm := range []bool{true, false} {
		name := "go"
		if asm {
			name = "asm"
		}
		b.Run(name, func(b *testing.B) {
			old := useAsm
			useAsm = asm && old
			defer func() { useAsm = old }()
			b.SetBytes(int64(12 * len(x)))
			for b.Loop() {
				ReLUMask32(dst, v, x)
			}
		})
	}
}

func BenchmarkAddRows32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := random32(rng, 128*1000)
	dst := make([]float32, 1000)
	for _, asm := range []bool{true, false} {
		name := "go"
		if asm {
			name = "asm"
		}
		b.Run(name, func(b *testing.B) {
			old := useAsm
			useAsm = asm && old
			defer func() { useAsm = old }()
			b.SetBytes(int64(4 * len(a)))
			for b.Loop() {
				AddRows32(dst, a, 128, 1000)
			}
		})
	}
}

// TestWiden checks the vector widening against Go's conversion bit for bit
// (NaN payloads included) at every tail length and misaligned starts.
func TestWiden(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range lengths() {
		for _, off := range []int{0, 1} {
			src := random32(rng, n+off)
			src = append(src, math.Float32frombits(0x7fc00123)) // a NaN with a payload
			got := make([]float64, len(src))
			Widen(got[off:], src[off:])
			for i := off; i < len(src); i++ {
				if want := float64(src[i]); math.Float64bits(got[i]) != math.Float64bits(want) {
					t.Fatalf("Widen n=%d off=%d [%d]: %v → %v, want %v", n, off, i, src[i], got[i], want)
				}
			}
		}
	}
}

// TestAllFinite checks the vector scan against math.IsNaN/IsInf on finite
// data (extremes, signed zeros, subnormals) with one non-finite value
// planted at every position, for every length and both assembly and Go.
func TestAllFinite(t *testing.T) {
	finite32 := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.MaxFloat32, math.MaxFloat32, 1.5, -3}
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	defer func(v bool) { useAsm = v }(useAsm)
	for _, asm := range []bool{false, useAsm} {
		useAsm = asm
		for _, n := range append(lengths(), 4099) {
			x32, x64 := make([]float32, n), make([]float64, n)
			for i := range x32 {
				x32[i] = finite32[i%len(finite32)]
				x64[i] = float64(x32[i])
			}
			if n > 0 {
				x64[n-1] = math.MaxFloat64
			}
			if !AllFinite32(x32) || !AllFinite64(x64) {
				t.Fatalf("asm %v n=%d: finite data reported non-finite", asm, n)
			}
			for i := 0; i < n; i++ {
				b := bad[i%len(bad)]
				o32, o64 := x32[i], x64[i]
				x32[i], x64[i] = float32(b), b
				if AllFinite32(x32) || AllFinite64(x64) {
					t.Fatalf("asm %v n=%d: %v at %d not found", asm, n, b, i)
				}
				x32[i], x64[i] = o32, o64
			}
		}
	}
}

// TestMaxPool3Row checks the vector 3×3 max-pool row against its Go twin and
// against a scan written from the definition, bit for bit, with many ties
// (values from a set of 4, as after a ReLU), NaNs, signed zeros and
// infinities, at every row length up to 40 and several starts.
func TestMaxPool3Row(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pool := []float32{0, 1, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -2, 0.5}
	for _, special := range []bool{false, true} {
		for n := 0; n <= 40; n++ {
			for _, at := range []int{0, 1, 5} {
				w := n + 2 + at
				x := make([]float32, (3+at)*w+n+8)
				for i := range x {
					if special {
						x[i] = pool[rng.IntN(len(pool))]
					} else {
						x[i] = float32(rng.IntN(4))
					}
				}
				y, arg := make([]float32, n), make([]int32, n)
				MaxPool3Row32(x, w, at, y, arg)
				for j := 0; j < n; j++ {
					a := at + j
					best, bi := x[a], a
					for r := 0; r < 3; r++ {
						for c := 0; c < 3; c++ {
							if v := x[a+r*w+c]; v > best {
								best, bi = v, a+r*w+c
							}
						}
					}
					if math.Float32bits(y[j]) != math.Float32bits(best) || arg[j] != int32(bi) {
						t.Fatalf("special %v n=%d at=%d j=%d: got (%v, %d), want (%v, %d)", special, n, at, j, y[j], arg[j], best, bi)
					}
				}
			}
		}
	}
}

// TestAllFiniteGeneric: the generic AllFinite agrees with a plain scan for
// float32, float64 and a named float type, with a non-finite value at every
// position of every length up to 70.
func TestAllFiniteGeneric(t *testing.T) {
	type named float64
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for n := 0; n <= 70; n++ {
		for at := -1; at < n; at++ {
			for _, b := range bad {
				v64 := make([]float64, n)
				for i := range v64 {
					v64[i] = float64(i) - 30.5
				}
				if at >= 0 {
					v64[at] = b
				}
				want := at < 0
				v32 := make([]float32, n)
				vn := make([]named, n)
				for i, x := range v64 {
					v32[i], vn[i] = float32(x), named(x)
				}
				if AllFinite(v64) != want || AllFinite(v32) != want || AllFinite(vn) != want {
					t.Fatalf("n = %d, %v at %d: AllFinite float64 %v, float32 %v, named %v, want %v",
						n, b, at, AllFinite(v64), AllFinite(v32), AllFinite(vn), want)
				}
			}
		}
	}
}
