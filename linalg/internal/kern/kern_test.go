package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kernel describes one micro-kernel for the tests: its tile, whether this
// CPU and build can run it, and the function in float64 terms (the float32
// kernels run on operands rounded to float32, exact for the small integers
// used below).
type kernel struct {
	name     string
	mr, nr   int
	pmr, pnr int // packed panel height and width, if not mr and nr (edge kernels)
	ok       bool
	f32      func(k int, a, b, c *float32, ldc int, alpha float32)
	f64      func(k int, a, b, c *float64, ldc int, alpha float64)
}

var kernels = []kernel{
	{name: "Sgemm6x16", mr: 6, nr: 16, ok: AVX2, f32: Sgemm6x16},
	{name: "Dgemm6x8", mr: 6, nr: 8, ok: AVX2, f64: Dgemm6x8},
	{name: "Sgemm12x32AVX512", mr: 12, nr: 32, ok: AVX512, f32: Sgemm12x32AVX512},
	{name: "Dgemm12x16AVX512", mr: 12, nr: 16, ok: AVX512, f64: Dgemm12x16AVX512},
	{name: "Sgemm12x16Of12x32AVX512", mr: 12, nr: 16, pmr: 12, pnr: 32, ok: AVX512, f32: Sgemm12x16Of12x32AVX512},
	{name: "Sgemm8x32Of12x32AVX512", mr: 8, nr: 32, pmr: 12, pnr: 32, ok: AVX512, f32: Sgemm8x32Of12x32AVX512},
	{name: "Sgemm8x16Of12x32AVX512", mr: 8, nr: 16, pmr: 12, pnr: 32, ok: AVX512, f32: Sgemm8x16Of12x32AVX512},
	{name: "Sgemm4x32Of12x32AVX512", mr: 4, nr: 32, pmr: 12, pnr: 32, ok: AVX512, f32: Sgemm4x32Of12x32AVX512},
	{name: "Sgemm4x16Of12x32AVX512", mr: 4, nr: 16, pmr: 12, pnr: 32, ok: AVX512, f32: Sgemm4x16Of12x32AVX512},
	{name: "Dgemm12x8Of12x16AVX512", mr: 12, nr: 8, pmr: 12, pnr: 16, ok: AVX512, f64: Dgemm12x8Of12x16AVX512},
	{name: "Dgemm8x16Of12x16AVX512", mr: 8, nr: 16, pmr: 12, pnr: 16, ok: AVX512, f64: Dgemm8x16Of12x16AVX512},
	{name: "Dgemm8x8Of12x16AVX512", mr: 8, nr: 8, pmr: 12, pnr: 16, ok: AVX512, f64: Dgemm8x8Of12x16AVX512},
	{name: "Dgemm4x16Of12x16AVX512", mr: 4, nr: 16, pmr: 12, pnr: 16, ok: AVX512, f64: Dgemm4x16Of12x16AVX512},
	{name: "Dgemm4x8Of12x16AVX512", mr: 4, nr: 8, pmr: 12, pnr: 16, ok: AVX512, f64: Dgemm4x8Of12x16AVX512},
}

// panel returns the packed panel height and width the kernel reads.
func (kn kernel) panel() (int, int) {
	if kn.pmr > 0 {
		return kn.pmr, kn.pnr
	}
	return kn.mr, kn.nr
}

// run calls the kernel on float64 data (converted for a float32 kernel).
func (kn kernel) run(k int, a, b, c []float64, ldc int, alpha float64) {
	if kn.f64 != nil {
		kn.f64(k, &a[0], &b[0], &c[0], ldc, alpha)
		return
	}
	a32, b32, c32 := make([]float32, len(a)), make([]float32, len(b)), make([]float32, len(c))
	for i, v := range a {
		a32[i] = float32(v)
	}
	for i, v := range b {
		b32[i] = float32(v)
	}
	for i, v := range c {
		c32[i] = float32(v)
	}
	kn.f32(k, &a32[0], &b32[0], &c32[0], ldc, float32(alpha))
	for i, v := range c32 {
		c[i] = float64(v)
	}
}

// TestKernels checks every micro-kernel this machine can run against a
// direct sum, edge kernels on panels taller and wider than their tile: k = 1…3 (only the single-step tail), 4 and 8 (only the
// 4-unrolled loop), 5 and 13 (both), with a C stride ldc > NR and a row of C
// below the tile, which must not be touched. The operands are random small
// integers (distinct rows and columns, so a swapped accumulator, a wrong
// broadcast offset or a dropped step changes the result) whose sums are exact
// in float32, so the comparison is exact.
func TestKernels(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	ran := 0
	for _, kn := range kernels {
		if !kn.ok {
			t.Logf("%s: not available on this CPU/build", kn.name)
			continue
		}
		ran++
		pmr, pnr := kn.panel()
		for _, k := range []int{1, 2, 3, 4, 5, 8, 13} {
			ldc := pnr + 5
			a := make([]float64, pmr*k)
			b := make([]float64, pnr*k)
			c := make([]float64, (pmr+1)*ldc)
			for i := range a {
				a[i] = float64(rnd.IntN(9) - 4)
			}
			for i := range b {
				b[i] = float64(rnd.IntN(9) - 4)
			}
			for i := range c {
				c[i] = float64(rnd.IntN(9) - 4)
			}
			c0 := append([]float64(nil), c...)
			const alpha = 0.5
			kn.run(k, a, b, c, ldc, alpha)
			for i := 0; i <= pmr; i++ {
				for j := 0; j < ldc; j++ {
					want := c0[i*ldc+j]
					if i < kn.mr && j < kn.nr {
						var s float64
						for p := 0; p < k; p++ {
							s += a[p*pmr+i] * b[p*pnr+j]
						}
						want += alpha * s
					}
					if got := c[i*ldc+j]; got != want {
						t.Errorf("%s k=%d: C[%d,%d] = %v, want %v", kn.name, k, i, j, got, want)
					}
				}
			}
		}
	}
	if ran == 0 && (AVX2 || AVX512) {
		t.Fatal("no kernel ran although the CPU has AVX2 or AVX-512")
	}
}

// BenchmarkKernels measures the single-core throughput of the micro-kernels
// on L1-resident panels (the upper bound for the blocked GEMM).
func BenchmarkKernels(b *testing.B) {
	const k = 256
	for _, kn := range kernels {
		if !kn.ok {
			continue
		}
		if kn.pmr > 0 {
			continue // edge kernels run only on the last tiles of a product
		}
		b.Run(kn.name, func(b *testing.B) {
			if kn.f32 != nil {
				a, bb, c := make([]float32, kn.mr*k), make([]float32, kn.nr*k), make([]float32, kn.mr*kn.nr)
				for b.Loop() {
					kn.f32(k, &a[0], &bb[0], &c[0], kn.nr, 1)
				}
			} else {
				a, bb, c := make([]float64, kn.mr*k), make([]float64, kn.nr*k), make([]float64, kn.mr*kn.nr)
				for b.Loop() {
					kn.f64(k, &a[0], &bb[0], &c[0], kn.nr, 1)
				}
			}
			b.ReportMetric(2*float64(kn.mr*kn.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestTranspose checks the AVX-512 block transposes against the definition
// dst[p·ldd+j] = src[j·lds+p] for j < rows, with n = 0…3 blocks plus a
// remainder (which must be left alone, as must the columns j ≥ rows of dst),
// with distinct values so any misplaced element is seen.
func TestTranspose(t *testing.T) {
	if !AVX512 {
		t.Log("no AVX-512 in this CPU/build; nothing to check")
		return
	}
	for _, tr := range []struct {
		name    string
		w, rows int
		f32     func(n int, src *float32, lds int, dst *float32, ldd int)
		f64     func(n int, src *float64, lds int, dst *float64, ldd int)
	}{
		{"Transpose16x16S", 16, 16, Transpose16x16S, nil},
		{"Transpose12x16S", 16, 12, Transpose12x16S, nil},
		{"Transpose8x8D", 8, 8, nil, Transpose8x8D},
		{"Transpose4x8D", 8, 4, nil, Transpose4x8D},
	} {
		w := tr.w
		for _, n := range []int{0, 5, w, w + 3, 2 * w, 3*w + 7} {
			lds, ldd := n+3, w+5
			src := make([]float64, tr.rows*lds)
			for i := range src {
				src[i] = float64(i + 1)
			}
			dst := make([]float64, max(n, 1)*ldd)
			for i := range dst {
				dst[i] = -1
			}
			if tr.f32 != nil {
				s32, d32 := make([]float32, len(src)), make([]float32, len(dst))
				for i, v := range src {
					s32[i] = float32(v)
				}
				for i, v := range dst {
					d32[i] = float32(v)
				}
				tr.f32(n, &s32[0], lds, &d32[0], ldd)
				for i, v := range d32 {
					dst[i] = float64(v)
				}
			} else {
				tr.f64(n, &src[0], lds, &dst[0], ldd)
			}
			full := n / w * w
			for p := 0; p < max(n, 1); p++ {
				for j := 0; j < ldd; j++ {
					want := -1.0
					if p < full && j < tr.rows {
						want = src[j*lds+p]
					}
					if got := dst[p*ldd+j]; got != want {
						t.Errorf("%s n=%d: dst[%d,%d] = %v, want %v", tr.name, n, p, j, got, want)
					}
				}
			}
		}
	}
}

// TestDotRows checks the SdotR kernels against a direct sum: every n ≤ nb,
// k = 0…40 (no full 16-step block, one or two blocks, with and without a
// masked tail), row strides lda, ldb > k and ldc > n, and every other element
// of c (c[i·ldc+j] for j ≥ n, the row below) left alone. The operands are
// small integers, so every sum is exact in float32 and the comparison exact.
func TestDotRows(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU/build")
	}
	rnd := rand.New(rand.NewPCG(13, 14))
	for _, kn := range []struct {
		r, nb int
		f     func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int, alpha float32)
	}{{1, 4, SdotR1x4AVX512}, {1, 8, SdotR1x8AVX512}, {1, 12, SdotR1x12AVX512},
		{2, 4, SdotR2x4AVX512}, {2, 8, SdotR2x8AVX512}, {2, 12, SdotR2x12AVX512}} {
		for k := 0; k <= 40; k++ {
			for n := 1; n <= kn.nb; n++ {
				lda, ldb, ldc := k+5, k+3, kn.nb+2
				a := make([]float32, kn.r*lda+1)
				b := make([]float32, kn.nb*ldb)
				c := make([]float32, (kn.r+1)*ldc)
				for _, v := range [][]float32{a, b, c} {
					for i := range v {
						v[i] = float32(rnd.IntN(9) - 4)
					}
				}
				c0 := append([]float32(nil), c...)
				const alpha = 0.5
				kn.f(k, &a[0], lda, &b[0], ldb, &c[0], ldc, n, alpha)
				for i := 0; i <= kn.r; i++ {
					for j := 0; j < ldc; j++ {
						want := c0[i*ldc+j]
						if i < kn.r && j < n {
							var s float32
							for p := 0; p < k; p++ {
								s += a[i*lda+p] * b[j*ldb+p]
							}
							want += alpha * s
						}
						if got := c[i*ldc+j]; got != want {
							t.Errorf("SdotR%dx%d k=%d n=%d: c[%d,%d] = %v, want %v", kn.r, kn.nb, k, n, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestDotRowsSameBits checks that a sum's bits do not depend on the kernel
// computing it (r rows of A, nb rows of B), on random non-integer operands:
// linalg pairs rows of A differently depending on how C is split.
func TestDotRowsSameBits(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU/build")
	}
	rnd := rand.New(rand.NewPCG(15, 16))
	const k, n = 1000, 4
	a := make([]float32, 2*k)
	b := make([]float32, 12*k)
	for _, v := range [][]float32{a, b} {
		for i := range v {
			v[i] = float32(rnd.NormFloat64())
		}
	}
	var want []float32
	for _, f := range []func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, n int, alpha float32){
		SdotR1x4AVX512, SdotR1x8AVX512, SdotR1x12AVX512, SdotR2x4AVX512, SdotR2x8AVX512, SdotR2x12AVX512} {
		c := make([]float32, 2*n) // row 1 only for the two-row kernels
		f(k, &a[0], k, &b[0], k, &c[0], n, n, 0.75)
		c = c[:n]
		if want == nil {
			want = c
			continue
		}
		for j := range c {
			if c[j] != want[j] {
				t.Fatalf("c[%d] = %v, want %v (SdotR1x4)", j, c[j], want[j])
			}
		}
	}
}

// TestStoreBias checks Sgemm12x32StoreBiasAVX512 against Sgemm12x32AVX512 on
// a C holding the bias in every row, bit for bit, on random float32
// operands (so the rounding is compared too), for k = 1…13, with a stride
// ldc > 32 and a row below the tile that must not be touched.
func TestStoreBias(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512F")
	}
	rnd := rand.New(rand.NewPCG(13, 14))
	for _, k := range []int{1, 2, 3, 4, 5, 8, 13} {
		const mr, nr, ldc = 12, 32, 37
		a, b := make([]float32, mr*k), make([]float32, nr*k)
		bias := make([]float32, nr)
		for _, s := range [][]float32{a, b, bias} {
			for i := range s {
				s[i] = float32(rnd.NormFloat64())
			}
		}
		got, want := make([]float32, (mr+1)*ldc), make([]float32, (mr+1)*ldc)
		for i := range got {
			got[i] = float32(rnd.NormFloat64())
			want[i] = got[i]
		}
		for i := 0; i < mr; i++ {
			copy(want[i*ldc:i*ldc+nr], bias)
		}
		const alpha = 0.75
		Sgemm12x32AVX512(k, &a[0], &b[0], &want[0], ldc, alpha)
		Sgemm12x32StoreBiasAVX512(k, &a[0], &b[0], &got[0], ldc, alpha, &bias[0])
		// Outside the tile both kept the same seed values.
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("k=%d: C[%d,%d] = %v, want %v", k, i/ldc, i%ldc, got[i], want[i])
			}
		}
	}
}

// TestLdb checks Sgemm12x32LdbAVX512 and Sgemm12x32StoreLdbAVX512, which read
// B in place with a row stride ldb, against Sgemm12x32AVX512 and
// Sgemm12x32StoreAVX512 on the same B packed, bit for bit, on random float32
// operands, for k = 1…13 (the 4-step loop, the tail, both), with a stride
// ldc > 32 and a row below the tile that must not be touched.
func TestLdb(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512F")
	}
	rnd := rand.New(rand.NewPCG(15, 16))
	for _, store := range []bool{false, true} {
		for _, k := range []int{1, 2, 3, 4, 5, 8, 13} {
			const mr, nr, ldc, ldb = 12, 32, 37, 45
			a, b, packed := make([]float32, mr*k), make([]float32, k*ldb), make([]float32, nr*k)
			for _, s := range [][]float32{a, b} {
				for i := range s {
					s[i] = float32(rnd.NormFloat64())
				}
			}
			for p := 0; p < k; p++ {
				copy(packed[p*nr:p*nr+nr], b[p*ldb+3:p*ldb+3+nr]) // B starts at column 3
			}
			got, want := make([]float32, (mr+1)*ldc), make([]float32, (mr+1)*ldc)
			for i := range got {
				got[i] = float32(rnd.NormFloat64())
				want[i] = got[i]
			}
			const alpha = -0.75
			if store {
				Sgemm12x32StoreAVX512(k, &a[0], &packed[0], &want[0], ldc, alpha)
				Sgemm12x32StoreLdbAVX512(k, &a[0], &b[3], &got[0], ldc, alpha, ldb)
			} else {
				Sgemm12x32AVX512(k, &a[0], &packed[0], &want[0], ldc, alpha)
				Sgemm12x32LdbAVX512(k, &a[0], &b[3], &got[0], ldc, alpha, ldb)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("store %v k=%d: C[%d,%d] = %v, want %v", store, k, i/ldc, i%ldc, got[i], want[i])
				}
			}
		}
	}
}
