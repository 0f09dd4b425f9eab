package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/linalg/internal/kern"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Conformance tests for the BLAS seam. They run against whatever backend is
// installed in Float32/Float64 (gonum, the pure-Go kernels, or OpenBLAS under
// -tags openblas) and, independently of the build, against the pure-Go kernels
// and gonum itself, so every backend is checked by the same code.

// Tolerances: a dot product of length k computed in precision eps by any
// summation order has error at most k·eps·Σ|aᵢbᵢ| (Higham, Accuracy and
// Stability, §3.1). We allow (k+2)·eps times the magnitude of the exact terms,
// which covers the final alpha/beta multiply-adds; a wrong index or a missed
// term produces errors of order one instead.
const (
	eps32 = 0x1p-24
	eps64 = 0x1p-53
)

// impl pairs a name with a BLAS implementation under test. For the pure-Go
// kernels, set is the kernel set to install (useKernels) before calling it.
type impl struct {
	name string
	f32  blas.Float32
	f64  blas.Float64
	set  *kernelSet
}

// impls returns the installed backend, gonum, and the pure-Go kernels with
// every kernel set this machine can run (AVX-512, AVX2, the gonum fallback),
// so each set is checked by the same code whichever is selected by default.
func impls() []impl {
	ims := []impl{
		{name: "installed(" + Backend + ")", f32: Float32, f64: Float64},
		{name: "gonum", f32: gonum.Implementation{}, f64: gonum.Implementation{}},
	}
	for _, s := range availableKernelSets() {
		ims = append(ims, impl{name: "kernels=" + s.name, f32: Kernels{}, f64: Kernels{}, set: &s})
	}
	return ims
}

// use installs the impl's kernel set, if any, and returns the function that
// restores the previous one.
func (im impl) use() (restore func()) {
	k32, k64 := kernel32, kernel64
	if im.set != nil {
		useKernels(*im.set)
	}
	return func() { kernel32, kernel64 = k32, k64 }
}

// TestKernelSets checks the selection of kernel sets by FENCHEL_KERNELS: a
// named set that can run is taken as is, auto takes the fastest, and a set
// that cannot run (or an unknown name) falls back to the fastest with the
// reason in the description.
func TestKernelSets(t *testing.T) {
	avail := availableKernelSets()
	if last := avail[len(avail)-1]; last.name != "gonum" || last.k32 != nil || last.k64 != nil {
		t.Fatalf("last available kernel set is %q, want the gonum fallback", last.name)
	}
	best := avail[0]
	for _, want := range []string{"", "auto"} {
		if s, desc, _, _ := chooseKernels(want); s.name != best.name || desc != best.desc {
			t.Errorf("chooseKernels(%q) = %q (%q), want %q", want, s.name, desc, best.name)
		}
	}
	for _, set := range kernelSets() {
		s, desc, _, _ := chooseKernels(set.name)
		if set.why == "" {
			if s.name != set.name || desc != set.desc {
				t.Errorf("chooseKernels(%q) = %q (%q), want it", set.name, s.name, desc)
			}
			continue
		}
		if s.name != best.name || !strings.Contains(desc, "unavailable: "+set.why) {
			t.Errorf("chooseKernels(%q) = %q (%q), want %q with the reason %q", set.name, s.name, desc, best.name, set.why)
		}
	}
	if s, desc, _, _ := chooseKernels("avx9000"); s.name != best.name || !strings.Contains(desc, "unknown") {
		t.Errorf("chooseKernels(\"avx9000\") = %q (%q), want %q and the name reported unknown", s.name, desc, best.name)
	}
	if kern.AVX512 && best.name != "avx512" {
		t.Errorf("CPU has AVX-512F but the fastest kernel set is %q", best.name)
	}
	if !strings.Contains(Backend, kernelName) && !strings.Contains(Backend, "openblas") {
		t.Errorf("Backend %q does not name the kernels %q", Backend, kernelName)
	}
}

type gemmCase struct {
	tA, tB           bool
	m, n, k          int
	padA, padB, padC int // extra leading-dimension padding
	alpha, beta      float64
	nanC             bool // fill C with NaN; only meaningful with beta == 0
}

func gemmCases() []gemmCase {
	var cs []gemmCase
	sizes := [][3]int{
		{1, 1, 1}, {1, 3, 17}, {3, 1, 17}, {3, 17, 1}, {17, 3, 65},
		{65, 17, 3}, {17, 65, 129}, {129, 65, 17}, {65, 129, 65},
		{7, 19, 0}, {6, 16, 256}, {13, 33, 300},
		// Full and edge tiles of the AVX-512 kernels (12×32 f32, 12×16 f64).
		{12, 32, 1}, {24, 64, 5}, {25, 47, 9}, {11, 31, 4}, {36, 16, 260},
		// A·Bᵀ with few columns (gemmDot: 4-, 8- and 12-row kernels, one
		// and two rows of A, k below, at and past 16-step blocks).
		{29, 10, 70}, {7, 12, 33}, {12, 5, 16}, {5, 8, 1}, {6, 4, 47}, {9, 11, 15},
	}
	scalars := [][2]float64{{1, 0}, {-0.75, 1}, {1.5, -0.5}, {0, 2}}
	for _, s := range sizes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for si, ab := range scalars {
					cs = append(cs, gemmCase{
						tA: tA, tB: tB, m: s[0], n: s[1], k: s[2],
						padA: si, padB: 2 * si, padC: 3 * (si % 2),
						alpha: ab[0], beta: ab[1], nanC: ab[1] == 0,
					})
				}
			}
		}
	}
	// Shapes larger than one cache block (see the block sizes in gemm.go), so
	// the multi-block and multi-goroutine paths are exercised.
	for _, s := range [][3]int{{200, 300, 600}, {131, 1100, 45}, {1030, 70, 33}, {261, 10, 900}} {
		cs = append(cs,
			gemmCase{tA: false, tB: true, m: s[0], n: s[1], k: s[2], padC: 1, alpha: 1, beta: 0, nanC: true},
			gemmCase{tA: true, tB: false, m: s[0], n: s[1], k: s[2], padA: 3, alpha: 0.5, beta: 1},
			gemmCase{tA: false, tB: false, m: s[0], n: s[1], k: s[2], padB: 2, alpha: -1, beta: 0.25},
			gemmCase{tA: true, tB: true, m: s[0], n: s[1], k: s[2], alpha: 2, beta: 0, nanC: true},
		)
	}
	return cs
}

// sentinel marks C entries outside the m×n region; they must never change.
const sentinel = -12345.0

// gemmData builds the operands of c in float64; the float32 tests round them.
func gemmData(c gemmCase, rnd *rand.Rand) (a []float64, lda int, b []float64, ldb int, cm []float64, ldc int) {
	ar, ac := c.m, c.k
	if c.tA {
		ar, ac = c.k, c.m
	}
	br, bc := c.k, c.n
	if c.tB {
		br, bc = c.n, c.k
	}
	lda, ldb, ldc = max(ac, 1)+c.padA, max(bc, 1)+c.padB, max(c.n, 1)+c.padC
	a = make([]float64, max(ar-1, 0)*lda+ac)
	b = make([]float64, max(br-1, 0)*ldb+bc)
	cm = make([]float64, (c.m-1)*ldc+c.n)
	for i := range a {
		a[i] = 2*rnd.Float64() - 1
	}
	for i := range b {
		b[i] = 2*rnd.Float64() - 1
	}
	for i := range cm {
		switch {
		case i%ldc >= c.n:
			cm[i] = sentinel
		case c.nanC:
			cm[i] = math.NaN()
		default:
			cm[i] = 2*rnd.Float64() - 1
		}
	}
	return
}

// naiveGemm returns the reference C and the magnitude bound per entry.
func naiveGemm(c gemmCase, a []float64, lda int, b []float64, ldb int, c0 []float64, ldc int) (want, mag []float64) {
	want = append([]float64(nil), c0...)
	mag = make([]float64, len(c0))
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			var s, sa float64
			for p := 0; p < c.k; p++ {
				var av, bv float64
				if c.tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if c.tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			idx := i*ldc + j
			var old float64
			if c.beta != 0 {
				old = c0[idx]
			}
			want[idx] = c.alpha*s + c.beta*old
			mag[idx] = math.Abs(c.alpha)*sa + math.Abs(c.beta*old)
		}
	}
	return want, mag
}

func checkC(t *testing.T, what string, c gemmCase, got, want, mag []float64, ldc int, eps float64) {
	t.Helper()
	bad := 0
	for i := range want {
		if i%ldc >= c.n {
			if got[i] != sentinel {
				t.Errorf("%s: C[%d] outside the m×n region changed: %v", what, i, got[i])
				bad++
			}
		} else {
			tol := float64(c.k+2)*eps*mag[i] + 1e-300
			if d := math.Abs(got[i] - want[i]); !(d <= tol) {
				t.Errorf("%s: C[%d,%d] = %v, want %v (|diff| %.3g > tol %.3g)", what, i/ldc, i%ldc, got[i], want[i], d, tol)
				bad++
			}
		}
		if bad > 5 {
			t.Fatalf("%s: too many errors", what)
		}
	}
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,pad=%d/%d/%d,alpha=%v,beta=%v",
		c.tA, c.tB, c.m, c.n, c.k, c.padA, c.padB, c.padC, c.alpha, c.beta)
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func TestGemm(t *testing.T) {
	saved := gemmParallelFlops
	defer func() { gemmParallelFlops = saved }()
	gemmParallelFlops = 1 << 20 // the large shapes below run on several goroutines
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range gemmCases() {
		a, lda, b, ldb, c0, ldc := gemmData(c, rnd)
		// Round the operands to float32 first so both precisions share one reference.
		a32, b32, c32 := to32(a), to32(b), to32(c0)
		a, b, c0 = to64(a32), to64(b32), to64(c32)
		want, mag := naiveGemm(c, a, lda, b, ldb, c0, ldc)
		for _, im := range impls() {
			restore := im.use()
			got64 := append([]float64(nil), c0...)
			im.f64.Dgemm(trans(c.tA), trans(c.tB), c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got64, ldc)
			checkC(t, im.name+" Dgemm "+c.String(), c, got64, want, mag, ldc, eps64)

			got32 := append([]float32(nil), c32...)
			im.f32.Sgemm(trans(c.tA), trans(c.tB), c.m, c.n, c.k, float32(c.alpha), a32, lda, b32, ldb, float32(c.beta), got32, ldc)
			checkC(t, im.name+" Sgemm "+c.String(), c, to64(got32), want, mag, ldc, eps32)
			restore()
		}
		// The generic seam itself.
		got := append([]float64(nil), c0...)
		Gemm(c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
		checkC(t, "Gemm[float64] "+c.String(), c, got, want, mag, ldc, eps64)
		got32 := append([]float32(nil), c32...)
		Gemm(c.tA, c.tB, c.m, c.n, c.k, float32(c.alpha), a32, lda, b32, ldb, float32(c.beta), got32, ldc)
		checkC(t, "Gemm[float32] "+c.String(), c, to64(got32), want, mag, ldc, eps32)
	}
}

// TestGemmSmallBlocks shrinks the cache blocks of the pure-Go kernels so that
// every blocking path (several k-blocks, row blocks, column blocks, edge tiles)
// is taken on small, fast sizes, with every kernel set this machine can run
// (the gonum set checks the fallback without micro-kernels). The second
// blocking has mc and nc that are not multiples of any kernel's mr and nr,
// so blocks end in partial panels.
func TestGemmSmallBlocks(t *testing.T) {
	saved := blockSizes
	defer func() { blockSizes = saved }()
	for _, bs := range []blocking{{kc: 7, mc: 12, nc: 32}, {kc: 5, mc: 17, nc: 40}} {
		blockSizes = bs
		for _, im := range impls() {
			if im.set == nil {
				continue
			}
			restore := im.use()
			testGemmSmallBlocks(t, fmt.Sprintf("%s %+v", im.name, bs))
			restore()
		}
	}
}

// TestGemmSmallM runs the conformance cases with the unpacked small-m path
// (gemmSmall) taken for every m ≤ 16 and for none, so both paths are checked
// whatever smallM is set to, with every kernel set.
func TestGemmSmallM(t *testing.T) {
	saved := smallM
	defer func() { smallM = saved }()
	for _, v := range []int{0, 16} {
		smallM = v
		for _, im := range impls() {
			if im.set == nil {
				continue
			}
			restore := im.use()
			testGemmSmallBlocks(t, fmt.Sprintf("%s smallM=%d", im.name, v))
			restore()
		}
	}
}

func testGemmSmallBlocks(t *testing.T, kern string) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, c := range gemmCases() {
		if c.m*c.n*c.k > 1<<20 {
			continue // the large shapes are covered by TestGemm
		}
		a, lda, b, ldb, c0, ldc := gemmData(c, rnd)
		a32, b32, c32 := to32(a), to32(b), to32(c0)
		a, b, c0 = to64(a32), to64(b32), to64(c32)
		want, mag := naiveGemm(c, a, lda, b, ldb, c0, ldc)
		got64 := append([]float64(nil), c0...)
		Kernels{}.Dgemm(trans(c.tA), trans(c.tB), c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got64, ldc)
		checkC(t, kern+" small-block Dgemm "+c.String(), c, got64, want, mag, ldc, eps64)
		got32 := append([]float32(nil), c32...)
		Kernels{}.Sgemm(trans(c.tA), trans(c.tB), c.m, c.n, c.k, float32(c.alpha), a32, lda, b32, ldb, float32(c.beta), got32, ldc)
		checkC(t, kern+" small-block Sgemm "+c.String(), c, to64(got32), want, mag, ldc, eps32)
	}
}

// TestGemmAlphaZero checks BLAS semantics: with alpha = 0, A and B are not
// read (NaN there must not propagate) and C = beta·C. gonum v0.17 itself
// does not follow this (it multiplies through by alpha = 0), so it is exempt.
func TestGemmAlphaZero(t *testing.T) {
	nan := math.NaN()
	for _, im := range impls() {
		if _, ok := im.f64.(gonum.Implementation); ok {
			continue
		}
		restore := im.use()
		a := []float64{nan, nan, nan, nan}
		c := []float64{1, 2, 3, 4}
		im.f64.Dgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 0, a, 2, a, 2, 0.5, c, 2)
		for i, want := range []float64{0.5, 1, 1.5, 2} {
			if c[i] != want {
				t.Errorf("%s Dgemm alpha=0: C[%d] = %v, want %v", im.name, i, c[i], want)
			}
		}
		a32 := []float32{float32(nan), float32(nan), float32(nan), float32(nan)}
		c32 := []float32{1, 2, 3, 4}
		im.f32.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 2, 0, a32, 2, a32, 2, 0.5, c32, 2)
		for i, want := range []float32{0.5, 1, 1.5, 2} {
			if c32[i] != want {
				t.Errorf("%s Sgemm alpha=0: C[%d] = %v, want %v", im.name, i, c32[i], want)
			}
		}
		restore()
	}
}

type syrkCase struct {
	trans       bool
	n, k        int
	padA, padC  int
	alpha, beta float64
}

func syrkCases() []syrkCase {
	var cs []syrkCase
	for _, s := range [][2]int{{1, 1}, {1, 17}, {3, 1}, {17, 3}, {65, 17}, {129, 65}, {17, 129}, {300, 40}, {5, 0}} {
		for _, tr := range []bool{false, true} {
			for si, ab := range [][2]float64{{1, 0}, {-0.5, 1}, {2, 0.5}} {
				cs = append(cs, syrkCase{trans: tr, n: s[0], k: s[1], padA: si, padC: 2 * si, alpha: ab[0], beta: ab[1]})
			}
		}
	}
	return cs
}

func TestSyrk(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for _, sc := range syrkCases() {
		ar, ac := sc.n, sc.k
		if sc.trans {
			ar, ac = sc.k, sc.n
		}
		lda, ldc := max(ac, 1)+sc.padA, sc.n+sc.padC
		a := make([]float64, max(ar-1, 0)*lda+ac)
		for i := range a {
			a[i] = float64(float32(2*rnd.Float64() - 1))
		}
		c0 := make([]float64, (sc.n-1)*ldc+sc.n)
		for i := range c0 {
			r, col := i/ldc, i%ldc
			switch {
			case col >= sc.n || col < r:
				c0[i] = sentinel // lower triangle and padding must stay untouched
			case sc.beta == 0:
				c0[i] = math.NaN()
			default:
				c0[i] = float64(float32(2*rnd.Float64() - 1))
			}
		}
		// Reference through the Gemm case machinery: C = alpha·op(A)·op(A)ᵀ + beta·C.
		gc := gemmCase{tA: sc.trans, tB: !sc.trans, m: sc.n, n: sc.n, k: sc.k, alpha: sc.alpha, beta: sc.beta}
		full := append([]float64(nil), c0...)
		for i := range full {
			if full[i] == sentinel && i%ldc < sc.n {
				full[i] = 0
			}
		}
		want, mag := naiveGemm(gc, a, lda, a, lda, full, ldc)
		check := func(name string, got []float64, eps float64) {
			t.Helper()
			bad := 0
			for i := range got {
				r, col := i/ldc, i%ldc
				if col >= sc.n || col < r {
					if got[i] != sentinel {
						t.Errorf("%s %+v: C[%d,%d] outside the upper triangle changed to %v", name, sc, r, col, got[i])
						bad++
					}
				} else {
					tol := float64(sc.k+2)*eps*mag[i] + 1e-300
					if d := math.Abs(got[i] - want[i]); !(d <= tol) {
						t.Errorf("%s %+v: C[%d,%d] = %v, want %v", name, sc, r, col, got[i], want[i])
						bad++
					}
				}
				if bad > 5 {
					t.Fatalf("%s: too many errors", name)
				}
			}
		}
		a32 := to32(a)
		for _, im := range impls() {
			restore := im.use()
			got := append([]float64(nil), c0...)
			im.f64.Dsyrk(blas.Upper, trans(sc.trans), sc.n, sc.k, sc.alpha, a, lda, sc.beta, got, ldc)
			check(im.name+" Dsyrk", got, eps64)
			got32 := to32(c0)
			im.f32.Ssyrk(blas.Upper, trans(sc.trans), sc.n, sc.k, float32(sc.alpha), a32, lda, float32(sc.beta), got32, ldc)
			check(im.name+" Ssyrk", to64(got32), eps32)
			restore()
		}
		got := append([]float64(nil), c0...)
		Syrk(sc.trans, sc.n, sc.k, sc.alpha, a, lda, sc.beta, got, ldc)
		check("Syrk[float64]", got, eps64)
	}
}

func TestSymmetrize(t *testing.T) {
	c := []float64{1, 2, 3, 0, 4, 5, 0, 0, 6}
	Symmetrize(3, c, 3)
	want := []float64{1, 2, 3, 2, 4, 5, 3, 5, 6}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("Symmetrize: got %v, want %v", c, want)
		}
	}
}

// TestSymmetrizeTiles covers sizes below, at and across the 64-wide tiles.
func TestSymmetrizeTiles(t *testing.T) {
	for _, m := range []int{1, 5, 64, 65, 130} {
		a := make([]float64, m*m)
		for r := 0; r < m; r++ {
			for c := r; c < m; c++ {
				a[r*m+c] = float64(r*1000 + c)
				if c > r {
					a[c*m+r] = -1
				}
			}
		}
		Symmetrize(m, a, m)
		for r := 0; r < m; r++ {
			for c := 0; c < m; c++ {
				if want := float64(min(r, c)*1000 + max(r, c)); a[r*m+c] != want {
					t.Fatalf("m=%d: a[%d,%d] = %v, want %v", m, r, c, a[r*m+c], want)
				}
			}
		}
	}
}
