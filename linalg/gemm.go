package linalg

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// Kernels is fenchel's pure-Go BLAS: gonum's implementation with blocked,
// packed, multi-goroutine Sgemm, Dgemm, Ssyrk and Dsyrk (upper triangle).
// Everything else is gonum's.
//
// The GEMM follows the GotoBLAS/BLIS scheme (Goto and van de Geijn, "Anatomy
// of high-performance matrix multiplication", ACM TOMS 34(3), 2008): C is
// swept in nc-wide column blocks, k in kc-deep slabs, a kc×nc slab of B is
// packed into nr-wide micro-panels, an mc×kc block of A into mr-high
// micro-panels, and a micro-kernel multiplies one mr×kc by one kc×nr panel
// into an mr×nr tile of C held in registers. The micro-kernels are assembly
// for amd64 with AVX-512F (12×32 float32, 12×16 float64) or, failing that,
// AVX2 and FMA (6×16, 6×8) (package internal/kern; the set in use is chosen
// in kernels.go, FENCHEL_KERNELS overrides it). Without them (other
// CPUs, or -tags purego) Kernels delegates to gonum, whose SIMD-assembly
// AXPY loops beat a scalar Go micro-kernel, keeping only BLAS semantics for
// alpha = 0 (A and B not read).
type Kernels struct{ gonum.Implementation }

var _ blas.Float32 = Kernels{}
var _ blas.Float64 = Kernels{}

// blocking holds the cache block sizes of the packed GEMM.
type blocking struct{ kc, mc, nc int }

// blockSizes are chosen so that a packed kc×nr panel of B stays in L1, an
// mc×kc block of A in L2 and a kc×nc slab of B in L3 (other kc and mc did
// not beat these on the MLP shapes of bench_test.go). A variable so tests can
// shrink it to exercise every blocking path on small sizes.
var blockSizes = blocking{kc: 256, mc: 96, nc: 3072}

// parallelFlops is the m·n·k below which a product runs on one goroutine:
// waking a second goroutine costs tens of µs, more than a small product
// (the per-image instrument's 10-row products) gains from it.
const parallelFlops = 1 << 20

// gemmParallelFlops is parallelFlops for Kernels' GEMM. Split in two, the
// 1.3·10⁶ products of MLP 784-1000-10's output layer (forward, weight and
// input gradients: 30–40 CPU-µs each on one core) took more CPU and no less
// wall time than on one goroutine; the training loop's CPU per step fell by
// 5 % with this bound (the forward one, a dot-product path, is shared with
// the team's worker when that is spinning: gemmDot). A variable so tests
// can split small products.
var gemmParallelFlops = 1 << 22

// microKernel computes C[0:mr, 0:nr] += alpha · Σ_p a[p·mr+i]·b[p·nr+j] for
// packed panels a (k×mr) and b (k×nr), C row-major with stride ldc.
//
// transpose, if not nil, sets dst[p·ldd+j] = src[j·lds+p] for j < tw and
// p < n rounded down to a multiple of tw (tw divides nr); packB uses it for
// Bᵀ.
//
// edges, smallest first, are kernels for the partial tiles at the bottom and
// right of C: each computes the top-left rows×cols corner of a tile from the
// same mr×nr-packed panels.
type microKernel[T Float] struct {
	mr, nr    int
	tile      func(k int, a, b, c []T, ldc int, alpha T)
	tw        int
	transpose func(n int, src []T, lds int, dst []T, ldd int)
	edges     []edgeKernel[T]
	// packRows, if not nil, packs the p < n' columns of mr rows of A (row
	// stride lda) into a panel (dst[p·mr+i]) for some n' ≤ n it returns.
	packRows func(n int, src []T, lda int, dst []T) int
	// store, if not nil, is tile overwriting C with alpha·Σ (rounded as tile
	// on a cleared C), for the first k slab of a product with beta = 0.
	store func(k int, a, b, c []T, ldc int, alpha T)
	// storeBias, if not nil, is tile overwriting C with alpha·Σ + bias[j]
	// (rounded as tile on a C holding bias[0:nr] in every row), for the
	// first k slab of GemmBias.
	storeBias func(k int, a, b, c []T, ldc int, alpha T, bias []T)
	// tileLdb and storeLdb, if not nil, are tile and store reading B in
	// place, step p's nr values at b[p·ldb:], for a B that is not
	// transposed (gemmSerial's one-slab products).
	tileLdb, storeLdb func(k int, a, b []T, ldb int, c []T, ldc int, alpha T)
	// dots, smallest first, are kernels for C = alpha·A·Bᵀ + C with few
	// columns (see gemmDot); none when nil.
	dots []dotKernel[T]
}

// dotKernel computes c[j] += alpha · Σ_p a[p]·b[j·ldb+p] for p < k and
// j < n ≤ rows, reading all rows rows of b, for one row of A (one) and for
// two (two: rows a and a + lda into c and c + ldc), with the same bits.
type dotKernel[T Float] struct {
	rows     int
	one, two func(k int, a *T, lda int, b *T, ldb int, c *T, ldc int, n int, alpha T)
}

// edgeKernel is a micro-kernel for a rows×cols corner of an mr×nr tile.
type edgeKernel[T Float] struct {
	rows, cols int
	tile       func(k int, a, b, c []T, ldc int, alpha T)
}

// edgeTile returns the cheapest kernel covering a rows×cols partial tile.
func (mk *microKernel[T]) edgeTile(rows, cols int) func(k int, a, b, c []T, ldc int, alpha T) {
	for _, e := range mk.edges {
		if rows <= e.rows && cols <= e.cols {
			return e.tile
		}
	}
	return mk.tile
}

func (im Kernels) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if kernel32 == nil && m > 0 && n > 0 && k > 0 && alpha != 0 {
		im.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(kernel32, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, runtime.GOMAXPROCS(0))
}

func (im Kernels) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if kernel64 == nil && m > 0 && n > 0 && k > 0 && alpha != 0 {
		im.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemm(kernel64, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, runtime.GOMAXPROCS(0))
}

// serialGemm is Kernels' GEMM on the calling goroutine; false when T's
// kernels are gonum's (no fenchel micro-kernel), which the caller then runs
// through the installed backend.
func serialGemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
	ta, tb := trans(tA), trans(tB)
	switch a := any(a).(type) {
	case []float32:
		if kernel32 == nil {
			return false
		}
		checkGemm(ta, tb, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemm(kernel32, tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc, 1)
	case []float64:
		if kernel64 == nil {
			return false
		}
		checkGemm(ta, tb, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemm(kernel64, tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc, 1)
	default:
		return false
	}
	return true
}

func (im Kernels) Ssyrk(ul blas.Uplo, t blas.Transpose, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	if ul != blas.Upper {
		im.Implementation.Ssyrk(ul, t, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	checkSyrk(t, n, k, len(a), lda, len(c), ldc)
	if kernel32 == nil && n > 0 && k > 0 && alpha != 0 {
		im.Implementation.Ssyrk(ul, t, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	syrk(kernel32, t != blas.NoTrans, n, k, alpha, a, lda, beta, c, ldc)
}

func (im Kernels) Dsyrk(ul blas.Uplo, t blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if ul != blas.Upper {
		im.Implementation.Dsyrk(ul, t, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	checkSyrk(t, n, k, len(a), lda, len(c), ldc)
	if kernel64 == nil && n > 0 && k > 0 && alpha != 0 {
		im.Implementation.Dsyrk(ul, t, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	syrk(kernel64, t != blas.NoTrans, n, k, alpha, a, lda, beta, c, ldc)
}

// checkGemm panics, as gonum does, on arguments that are programmer errors.
func checkGemm(tA, tB blas.Transpose, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if !validTrans(tA) || !validTrans(tB) {
		panic("blas: illegal transpose")
	}
	if m < 0 || n < 0 || k < 0 {
		panic("blas: negative dimension")
	}
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic("blas: bad leading dimension")
	}
	if m == 0 || n == 0 {
		return
	}
	if (ar > 0 && ac > 0 && la < (ar-1)*lda+ac) || (br > 0 && bc > 0 && lb < (br-1)*ldb+bc) {
		panic("blas: insufficient length of a or b")
	}
	if lc < (m-1)*ldc+n {
		panic("blas: insufficient length of c")
	}
}

func checkSyrk(t blas.Transpose, n, k, la, lda, lc, ldc int) {
	if !validTrans(t) {
		panic("blas: illegal transpose")
	}
	if n < 0 || k < 0 {
		panic("blas: negative dimension")
	}
	ar, ac := n, k
	if t != blas.NoTrans {
		ar, ac = k, n
	}
	if lda < max(1, ac) || ldc < max(1, n) {
		panic("blas: bad leading dimension")
	}
	if n == 0 {
		return
	}
	if ar > 0 && ac > 0 && la < (ar-1)*lda+ac {
		panic("blas: insufficient length of a")
	}
	if lc < (n-1)*ldc+n {
		panic("blas: insufficient length of c")
	}
}

func validTrans(t blas.Transpose) bool {
	return t == blas.NoTrans || t == blas.Trans || t == blas.ConjTrans
}

// scaleC sets C[0:m,0:n] = beta·C; beta = 0 overwrites (BLAS semantics: NaN in C is discarded).
func scaleC[T Float](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// GemmRows is Gemm that also calls done(lo, hi) for row ranges [lo, hi) of C
// that cover [0, m) once each, every call after those rows of C are final
// (and before GemmRows returns). With Kernels' micro-kernels and C no wider
// than one column block, each range is a row block just computed, passed on
// the goroutine that computed it while it is still in that core's cache
// (ranges of different goroutines may run concurrently, never overlapping);
// otherwise done runs after the product, on one goroutine or, for a large
// C, on row ranges split among several. done must not touch C outside its
// rows.
func GemmRows[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, done func(lo, hi int)) {
	if m == 0 {
		return
	}
	if n > 0 {
		switch a := any(a).(type) {
		case []float32:
			if _, ok := Float32.(Kernels); ok && kernel32 != nil {
				checkGemm(trans(tA), trans(tB), m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
				gemmDone(kernel32, tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc, runtime.GOMAXPROCS(0), done)
				return
			}
		case []float64:
			if _, ok := Float64.(Kernels); ok && kernel64 != nil {
				checkGemm(trans(tA), trans(tB), m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
				gemmDone(kernel64, tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc, runtime.GOMAXPROCS(0), done)
				return
			}
		}
		Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	doneRows(m, n, done)
}

// GemmBias computes C = alpha·op(A)·op(B) + 1·biasᵀ: every row of C is bias
// (n values) plus alpha times that row of the product, C's prior contents
// neither read nor needed (a dense layer's forward pass). The result has the
// bits of copying bias into every row of C and Gemm with beta = 1; with
// Kernels' micro-kernels the packed path adds the bias in its first k slab
// instead, in the tile's final FMA, so C is written once there.
func GemmBias[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, bias []T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if len(bias) < n {
		panic("linalg: GemmBias: bias shorter than n")
	}
	switch a := any(a).(type) {
	case []float32:
		if _, ok := Float32.(Kernels); ok && kernel32 != nil {
			checkGemm(trans(tA), trans(tB), m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
			gemmBias(kernel32, tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, 0, any(bias).([]float32), any(c).([]float32), ldc, runtime.GOMAXPROCS(0), nil)
			return
		}
	case []float64:
		if _, ok := Float64.(Kernels); ok && kernel64 != nil {
			checkGemm(trans(tA), trans(tB), m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
			gemmBias(kernel64, tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, 0, any(bias).([]float64), any(c).([]float64), ldc, runtime.GOMAXPROCS(0), nil)
			return
		}
	}
	if ldc < n {
		panic("blas: bad leading dimension")
	}
	for i := 0; i < m; i++ {
		copy(c[i*ldc:i*ldc+n], bias[:n])
	}
	Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
}

// doneRows calls done on row ranges covering [0, m) of an m×n product that
// was not reported block by block, on several goroutines when C is large:
// done is typically an elementwise update of as many values.
func doneRows(m, n int, done func(lo, hi int)) {
	parallel.Ranges(0, m, min(runtime.GOMAXPROCS(0), m*n/doneSplitMin), done)
}

// doneSplitMin is the number of elements of C per goroutine below which
// doneRows runs done on the calling goroutine alone.
const doneSplitMin = 1 << 16

// gemm computes C = alpha·op(A)·op(B) + beta·C, splitting C over up to
// workers goroutines (every element is computed the same way however C is
// split).
func gemm[T Float](kern *microKernel[T], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, workers int) {
	gemmDone(kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers, nil)
}

// gemmDone is gemm calling done as GemmRows describes (done nil: no calls).
func gemmDone[T Float](kern *microKernel[T], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, workers int, done func(lo, hi int)) {
	gemmBias(kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, nil, c, ldc, workers, done)
}

// gemmBias is gemmDone; with bias (len n, beta then ignored) it computes
// C = alpha·op(A)·op(B) + 1·biasᵀ with the bits of bias copied into every
// row of C and beta = 1: through the store-bias kernel in the first k slab
// of the packed path, else by that copy.
func gemmBias[T Float](kern *microKernel[T], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, bias []T, c []T, ldc int, workers int, done func(lo, hi int)) {
	if m == 0 || n == 0 {
		return
	}
	// The unpacked small-m path is chosen for the whole product, not per
	// block: a row block of ≤ smallM rows taking it would make the result
	// depend on the number of goroutines (it rounds differently).
	small := m <= smallM && !tA
	// So is the dot-product path for few columns of A·Bᵀ (gemmDot).
	dot := kern != nil && !small && !tA && tB && len(kern.dots) > 0 && n <= kern.dots[len(kern.dots)-1].rows
	// With beta = 0 the packed path writes C in its first k slab instead of
	// clearing it first (the same values: see microKernel.store); so with a
	// bias, through storeBias.
	packed := k > 0 && alpha != 0 && !small && !dot
	if bias != nil {
		if !packed || kern.store == nil || kern.storeBias == nil {
			for i := 0; i < m; i++ {
				copy(c[i*ldc:i*ldc+n], bias[:n])
			}
			bias, beta = nil, 1
		} else {
			beta = 0
		}
	}
	overwrite := beta == 0 && packed && kern.store != nil
	if !overwrite {
		scaleC(m, n, beta, c, ldc)
	}
	if k == 0 || alpha == 0 {
		if done != nil {
			doneRows(m, n, done)
		}
		return
	}
	if m*n*k < gemmParallelFlops {
		workers = 1
	}
	if dot {
		// Too small for started goroutines, a dot-product path that is
		// not tiny is still shared with the team's worker when it spins.
		share := workers == 1 && m*n*k >= parallelFlops && runtime.GOMAXPROCS(0) > 1
		gemmDot(kern, m, n, k, alpha, a, lda, b, ldb, c, ldc, workers, share)
		if done != nil {
			doneRows(m, n, done)
		}
		return
	}
	// A block of C's full width computes whole rows: it reports them itself
	// (its rows start at row (len(c)-len(cb))/ldc of C). Blocks of columns
	// do not; then done covers all rows once all blocks are in.
	var colBlocks atomic.Bool
	block := func(mb, nb int, a, b, cb []T) {
		var rows func(lo, hi int)
		if done != nil {
			if nb == n {
				r0 := (len(c) - len(cb)) / ldc
				rows = func(lo, hi int) { done(r0+lo, r0+hi) }
			} else {
				colBlocks.Store(true)
			}
		}
		var bb []T
		if bias != nil {
			j0 := (len(c) - len(cb)) % ldc // the block's first column
			bb = bias[j0 : j0+nb]
		}
		gemmSerial(kern, tA, tB, mb, nb, k, alpha, a, lda, b, ldb, cb, ldc, small, overwrite, bb, rows)
	}
	if workers == 2 {
		// Two blocks, the ones blocksOfC would run: the second on a
		// spinning worker of parallel.Team.
		var blocks []func()
		splitBlocks(tA, tB, m, n, lda, ldb, ldc, workers, kern.mr, kern.nr, a, b, c, func(mb, nb int, a, b, cb []T) {
			blocks = append(blocks, func() { block(mb, nb, a, b, cb) })
		}, false)
		if len(blocks) == 2 {
			parallel.Team(2, func(i int) { blocks[i]() })
		} else {
			for _, f := range blocks {
				f()
			}
		}
	} else {
		blocksOfC(tA, tB, m, n, lda, ldb, ldc, workers, kern.mr, kern.nr, a, b, c, block)
	}
	if colBlocks.Load() {
		doneRows(m, n, done)
	}
}

// gemmDot computes C += alpha·A·Bᵀ for C with n ≤ the widest dot kernel's
// rows (a classifier's last layer: n = 10 classes) as m·n dot products of
// rows of A and rows of B, unpacked: an nr-wide panel of Bᵀ would be mostly
// zero padding, and packing both operands cost more than the product
// (MLP 784-1000-10's 128×10×1000 output layer on one core: 41–53 CPU-µs
// packed, 28–34 here, on a machine at load 4).
// B's n rows are copied once into a zero-padded block of the kernel's row
// count when n is less. Rows of C are shared among the workers, or with
// share, split in two halves for the team's worker if it is spinning
// (parallel.TeamOrInline: MLP 784-1000-10's 128×10×1000 forward output
// layer in 36–39 µs instead of 55–60 on one goroutine); each element is
// computed the same way whatever the split.
func gemmDot[T Float](kern *microKernel[T], m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int, workers int, share bool) {
	dk := kern.dots[0]
	for _, d := range kern.dots {
		if n <= d.rows {
			dk = d
			break
		}
	}
	var w *workspace[T]
	if n < dk.rows {
		w = getWorkspace[T]()
		defer putWorkspace(w)
		w.b = grow(w.b, dk.rows*k)
		for j := 0; j < n; j++ {
			copy(w.b[j*k:j*k+k], b[j*ldb:j*ldb+k])
		}
		clear(w.b[n*k:])
		b, ldb = w.b, k
	}
	_, _, _ = a[(m-1)*lda+k-1], b[(dk.rows-1)*ldb+k-1], c[(m-1)*ldc+n-1]
	rows := func(lo, hi int) {
		i := lo
		for ; i+2 <= hi; i += 2 {
			dk.two(k, &a[i*lda], lda, &b[0], ldb, &c[i*ldc], ldc, n, alpha)
		}
		if i < hi {
			dk.one(k, &a[i*lda], lda, &b[0], ldb, &c[i*ldc], ldc, n, alpha)
		}
	}
	if share {
		h := m / 2 &^ 1
		parallel.TeamOrInline(2, func(t int) {
			if t == 0 {
				rows(0, h)
			} else {
				rows(h, m)
			}
		})
		return
	}
	parallel.Ranges(0, m, workers, rows)
}

// workspace holds the packing buffers of one goroutine.
type workspace[T Float] struct{ a, b, tile []T }

var pool32, pool64 sync.Pool

func getWorkspace[T Float]() *workspace[T] {
	p := &pool64
	if _, ok := any(T(0)).(float32); ok {
		p = &pool32
	}
	if w, ok := p.Get().(*workspace[T]); ok {
		return w
	}
	return new(workspace[T])
}

func putWorkspace[T Float](w *workspace[T]) {
	if _, ok := any(T(0)).(float32); ok {
		pool32.Put(w)
		return
	}
	pool64.Put(w)
}

func grow[T Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// smallM is the row count of op(A) up to which gemmSerial multiplies without
// packing (gemmSmall) when A is not transposed. Packing B costs about as much
// per element as a 6-row kernel pass, so for one or a few rows it dominated
// the product; the SSE dot/AXPY path does ~m/2 cycles of work per element of
// B against ~1 + m/16 for pack-and-kernel, so it only pays for small m.
var smallM = 4

// gemmSerial computes C += alpha·op(A)·op(B) on the calling goroutine, by
// gemmSmall when small (callers pass m ≤ smallM && !tA for the whole product).
// With overwrite (only when !small and kern.store != nil, k > 0) it computes
// C = alpha·op(A)·op(B), C's prior contents neither read nor needed cleared;
// with bias too (len n; only when kern.storeBias != nil), C = alpha·op(A)·op(B)
// + 1·biasᵀ, rounded as on a C holding bias in every row.
//
// rows, if not nil, is called with row ranges covering [0, m) once each as
// they are final: each mc-row block right after its last k slab when n fits
// one column block, otherwise [0, m) at the end.
func gemmSerial[T Float](kern *microKernel[T], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int, small, overwrite bool, bias []T, rows func(lo, hi int)) {
	if small {
		gemmSmall(tB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		if rows != nil {
			rows(0, m)
		}
		return
	}
	bs := blockSizes
	mr, nr := kern.mr, kern.nr
	w := getWorkspace[T]()
	defer putWorkspace(w)
	kcMax := min(bs.kc, k)
	w.a = grow(w.a, (min(bs.mc, m)+mr-1)/mr*mr*kcMax)
	w.b = grow(w.b, (min(bs.nc, n)+nr-1)/nr*nr*kcMax)
	w.tile = grow(w.tile, mr*nr)
	blockRows := rows
	if n > bs.nc {
		blockRows = nil
	}
	// A one-slab product with B not transposed (a dense layer's weight
	// gradient, k = batch) reads B's full panels in place: each panel is
	// read by the kernel once per block of A rows, and packing it was a
	// copy of all of B per goroutine. Same bits: each accumulator sees the
	// same FMAs in the same order.
	direct := !tB && k <= bs.kc && bias == nil && kern.tileLdb != nil && kern.storeLdb != nil
	for jc := 0; jc < n; jc += bs.nc {
		nb := min(bs.nc, n-jc)
		for pc := 0; pc < k; pc += bs.kc {
			kb := min(bs.kc, k-pc)
			first := overwrite && pc == 0
			last := blockRows != nil && pc+kb == k
			full := nb / nr * nr
			switch {
			case !direct:
				packB(kern, tB, b, ldb, pc, jc, kb, nb, w.b)
			case full < nb:
				packB(kern, tB, b, ldb, pc, jc+full, kb, nb-full, w.b) // the partial panel only
			}
			for ic := 0; ic < m; ic += bs.mc {
				mb := min(bs.mc, m-ic)
				packA(kern, tA, a, lda, ic, pc, mb, kb, w.a)
				for jr := 0; jr < nb; jr += nr {
					bp := w.b[jr*kb:]
					cols := min(nr, nb-jr)
					var bd []T // B's panel in place
					if direct {
						bp = w.b
						if cols == nr {
							bd = b[pc*ldb+jc+jr:]
						}
					}
					for ir := 0; ir < mb; ir += mr {
						ap := w.a[ir*kb:]
						rows := min(mr, mb-ir)
						ci := (ic+ir)*ldc + jc + jr
						if rows == mr && cols == nr {
							if bd != nil && first {
								kern.storeLdb(kb, ap, bd, ldb, c[ci:], ldc, alpha)
							} else if bd != nil {
								kern.tileLdb(kb, ap, bd, ldb, c[ci:], ldc, alpha)
							} else if first && bias != nil {
								kern.storeBias(kb, ap, bp, c[ci:], ldc, alpha, bias[jc+jr:])
							} else if first {
								kern.store(kb, ap, bp, c[ci:], ldc, alpha)
							} else {
								kern.tile(kb, ap, bp, c[ci:], ldc, alpha)
							}
							continue
						}
						// Edge tile: compute into a scratch tile, then add the valid part.
						t := w.tile
						clear(t)
						if bd != nil {
							// The full tile on A's zero-padded rows: the
							// valid rows have the edge kernel's bits.
							kern.tileLdb(kb, ap, bd, ldb, t, nr, alpha)
						} else {
							kern.edgeTile(rows, cols)(kb, ap, bp, t, nr, alpha)
						}
						for i := 0; i < rows; i++ {
							crow := c[ci+i*ldc : ci+i*ldc+cols]
							trow := t[i*nr : i*nr+cols]
							switch {
							case first && bias != nil:
								copy(crow, bias[jc+jr:jc+jr+cols]) // as GemmBias's copy
							case first:
								clear(crow) // beta = 0, as scaleC
							}
							for j := range crow {
								crow[j] += trow[j]
							}
						}
					}
				}
				if last {
					blockRows(ic, ic+mb)
				}
			}
		}
	}
	if rows != nil && blockRows == nil {
		rows(0, m)
	}
}

// gemmSmall computes C += alpha·A·op(B) for A m×k (not transposed) without
// packing: dot products of rows of A with rows of B when B is transposed
// (rows of B are the columns of op(B)), otherwise AXPYs of rows of B into
// rows of C, both with gonum's SIMD kernels. A zero element of A skips its
// AXPY, as reference BLAS does (a NaN in that row of B is not propagated).
func gemmSmall[T Float](tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		gemmSmall32(tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, any(c).([]float32), ldc)
	case []float64:
		gemmSmall64(tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, any(c).([]float64), ldc)
	default:
		panic("linalg: unsupported element type")
	}
}

func gemmSmall32(tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var g gonum.Implementation
	for i := 0; i < m; i++ {
		ai, ci := a[i*lda:i*lda+k], c[i*ldc:i*ldc+n]
		if tB {
			for j := range ci {
				ci[j] += alpha * g.Sdot(k, ai, 1, b[j*ldb:j*ldb+k], 1)
			}
			continue
		}
		for p, v := range ai {
			if v != 0 {
				g.Saxpy(n, alpha*v, b[p*ldb:p*ldb+n], 1, ci, 1)
			}
		}
	}
}

// gemmSmall64 takes the dot products of op(B) = Bᵀ by dotRows (the DotRows
// kernels, AVX-512 or AVX2, or their Go twin: the same bits on every path),
// n rows of B against one row of A per pass.
func gemmSmall64(tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	if tB {
		if m == 0 || n == 0 {
			return
		}
		w := getWorkspace[float64]()
		defer putWorkspace(w)
		w.tile = grow(w.tile, n)
		s := w.tile[:n]
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			dotRows(n, k, b, ldb, a[i*lda:i*lda+k], s)
			for j := range ci {
				ci[j] += alpha * s[j]
			}
		}
		return
	}
	var g gonum.Implementation
	for i := 0; i < m; i++ {
		ai, ci := a[i*lda:i*lda+k], c[i*ldc:i*ldc+n]
		for p, v := range ai {
			if v != 0 {
				g.Daxpy(n, alpha*v, b[p*ldb:p*ldb+n], 1, ci, 1)
			}
		}
	}
}

// packA packs op(A)[ic:ic+mb, pc:pc+kb] into mr-high micro-panels, each stored
// p-major (dst[p·mr+i]) and zero-padded to mr rows. Packing is a large share
// of a GEMM at batch sizes of 64–128, and generic copies of 6–12 elements
// cost more in call overhead than in data movement, so full panels of the
// kernels' heights take unrolled paths: fixed-size copies for Aᵀ, and for A
// the kernel set's register transposes (AVX-512) or else four rows at a time
// (four read streams, 4-element contiguous writes).
func packA[T Float](kern *microKernel[T], tA bool, a []T, lda, ic, pc, mb, kb int, dst []T) {
	mr := kern.mr
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		d := dst[ir*kb : ir*kb+mr*kb]
		if tA {
			// op(A)(i,p) = a[p·lda+i]: the values of step p are contiguous.
			o := pc*lda + ic + ir
			switch {
			case rows == 6 && mr == 6:
				for p := 0; p < kb; p, o = p+1, o+lda {
					*(*[6]T)(d[p*6 : p*6+6]) = [6]T(a[o : o+6])
				}
			case rows == 12 && mr == 12:
				for p := 0; p < kb; p, o = p+1, o+lda {
					*(*[12]T)(d[p*12 : p*12+12]) = [12]T(a[o : o+12])
				}
			default:
				for p := 0; p < kb; p, o = p+1, o+lda {
					copy(d[p*mr:p*mr+rows], a[o:o+rows])
					clear(d[p*mr+rows : p*mr+mr])
				}
			}
			continue
		}
		// op(A)(i,p) = a[(ic+ir+i)·lda+pc+p]: rows of the panel are contiguous.
		if rows == mr && kern.packRows != nil {
			o := (ic+ir)*lda + pc
			done := kern.packRows(kb, a[o:], lda, d)
			for i := 0; i < mr; i++ {
				for p, v := range a[o+i*lda+done : o+i*lda+kb] {
					d[(done+p)*mr+i] = v
				}
			}
			continue
		}
		if rows == 6 && mr == 6 {
			o := (ic+ir)*lda + pc
			r0 := a[o : o+kb]
			r1 := a[o+lda : o+lda+kb]
			r2 := a[o+2*lda : o+2*lda+kb]
			r3 := a[o+3*lda : o+3*lda+kb]
			r4 := a[o+4*lda : o+4*lda+kb]
			r5 := a[o+5*lda : o+5*lda+kb]
			for p, v := range r0 {
				q := (*[6]T)(d[p*6 : p*6+6])
				q[0], q[1], q[2], q[3], q[4], q[5] = v, r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		i := 0
		for ; i+4 <= rows; i += 4 {
			o := (ic+ir+i)*lda + pc
			r0 := a[o : o+kb]
			r1 := a[o+lda : o+lda+kb]
			r2 := a[o+2*lda : o+2*lda+kb]
			r3 := a[o+3*lda : o+3*lda+kb]
			for p, v := range r0 {
				q := (*[4]T)(d[p*mr+i : p*mr+i+4])
				q[0], q[1], q[2], q[3] = v, r1[p], r2[p], r3[p]
			}
		}
		for ; i < rows; i++ {
			o := (ic+ir+i)*lda + pc
			for p, v := range a[o : o+kb] {
				d[p*mr+i] = v
			}
		}
		if rows < mr {
			for p := 0; p < kb; p++ {
				clear(d[p*mr+rows : p*mr+mr])
			}
		}
	}
}

// packB packs op(B)[pc:pc+kb, jc:jc+nb] into nr-wide micro-panels, each stored
// p-major (dst[p·nr+j]) and zero-padded to nr columns. B is copied row by
// row of the slab, with fixed-size moves for the kernels' widths; full panels
// of Bᵀ are transposed in registers by the kernel set's block transpose
// (AVX-512), or else gathered four rows at a time (four read streams,
// 4-element contiguous writes).
func packB[T Float](kern *microKernel[T], tB bool, b []T, ldb, pc, jc, kb, nb int, dst []T) {
	nr := kern.nr
	if !tB {
		// op(B)(p,j) = b[p·ldb+j]: rows of the slab are contiguous in b, and
		// are read whole, one after another, so the hardware prefetcher sees
		// one sequential stream (panel by panel it saw kb short ones).
		full := nb / nr * nr
		for p := 0; p < kb; p++ {
			src := b[(pc+p)*ldb+jc : (pc+p)*ldb+jc+nb]
			o := p * nr
			switch nr {
			case 32:
				for jr := 0; jr < full; jr, o = jr+32, o+32*kb {
					*(*[32]T)(dst[o : o+32]) = [32]T(src[jr : jr+32])
				}
			case 16:
				for jr := 0; jr < full; jr, o = jr+16, o+16*kb {
					*(*[16]T)(dst[o : o+16]) = [16]T(src[jr : jr+16])
				}
			case 8:
				for jr := 0; jr < full; jr, o = jr+8, o+8*kb {
					*(*[8]T)(dst[o : o+8]) = [8]T(src[jr : jr+8])
				}
			default:
				for jr := 0; jr < full; jr, o = jr+nr, o+nr*kb {
					copy(dst[o:o+nr], src[jr:jr+nr])
				}
			}
			if full < nb {
				o := full*kb + p*nr
				copy(dst[o:o+nb-full], src[full:])
				clear(dst[o+nb-full : o+nr])
			}
		}
		return
	}
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		d := dst[jr*kb : jr*kb+nr*kb]
		// op(B)(p,j) = b[(jc+j)·ldb+pc+p]: columns of the panel are contiguous in b.
		if tw := kern.tw; cols == nr && kern.transpose != nil {
			for j0 := 0; j0 < nr; j0 += tw {
				kern.transpose(kb, b[(jc+jr+j0)*ldb+pc:], ldb, d[j0:], nr)
			}
			for p := kb / tw * tw; p < kb; p++ {
				for j := range d[p*nr : p*nr+nr] {
					d[p*nr+j] = b[(jc+jr+j)*ldb+pc+p]
				}
			}
			continue
		}
		j := 0
		for ; j+4 <= cols; j += 4 {
			o := (jc+jr+j)*ldb + pc
			r0 := b[o : o+kb]
			r1 := b[o+ldb : o+ldb+kb]
			r2 := b[o+2*ldb : o+2*ldb+kb]
			r3 := b[o+3*ldb : o+3*ldb+kb]
			for p, v := range r0 {
				q := (*[4]T)(d[p*nr+j : p*nr+j+4])
				q[0], q[1], q[2], q[3] = v, r1[p], r2[p], r3[p]
			}
		}
		for ; j < cols; j++ {
			src := b[(jc+jr+j)*ldb+pc:]
			src = src[:kb]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		if cols < nr {
			// Row by row: a column at a time it was kb stores nr apart.
			for p := 0; p < kb; p++ {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// syrk computes the upper triangle of C = alpha·op(A)·op(A)ᵀ + beta·C by GEMM
// on square blocks of the upper triangle, shared among goroutines. Diagonal
// blocks are computed in full into scratch and only their upper part is kept.
func syrk[T Float](kern *microKernel[T], trans bool, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) {
	if n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		for i := 0; i < n; i++ {
			scaleC(1, n-i, beta, c[i*ldc+i:], ldc)
		}
		return
	}
	nb := 128
	if n > 1024 {
		nb = 256
	}
	nblk := (n + nb - 1) / nb
	type task struct{ bi, bj int }
	var tasks []task
	for bi := 0; bi < nblk; bi++ {
		for bj := bi; bj < nblk; bj++ {
			tasks = append(tasks, task{bi, bj})
		}
	}
	// rowsOf returns op(A)[i0:, :] as a slice for A (trans=false, A n×k) or
	// the columns i0: of A (trans=true, A k×n).
	rowsOf := func(i0 int) []T {
		if trans {
			return a[i0:]
		}
		return a[i0*lda:]
	}
	var next atomic.Int64
	work := func() {
		var scratch []T
		for {
			ti := int(next.Add(1)) - 1
			if ti >= len(tasks) {
				return
			}
			t := tasks[ti]
			i0, j0 := t.bi*nb, t.bj*nb
			mi, nj := min(nb, n-i0), min(nb, n-j0)
			if t.bi != t.bj {
				// C_IJ = alpha·op(A)_I·op(A)_Jᵀ + beta·C_IJ.
				scaleC(mi, nj, beta, c[i0*ldc+j0:], ldc)
				gemmSerial(kern, trans, !trans, mi, nj, k, alpha, rowsOf(i0), lda, rowsOf(j0), lda, c[i0*ldc+j0:], ldc, mi <= smallM && !trans, false, nil, nil)
				continue
			}
			scratch = grow(scratch, mi*mi)
			clear(scratch)
			gemmSerial(kern, trans, !trans, mi, mi, k, alpha, rowsOf(i0), lda, rowsOf(i0), lda, scratch, mi, mi <= smallM && !trans, false, nil, nil)
			for i := 0; i < mi; i++ {
				crow := c[(i0+i)*ldc+i0+i : (i0+i)*ldc+i0+mi]
				srow := scratch[i*mi+i : i*mi+mi]
				for j := range crow {
					if beta == 0 {
						crow[j] = srow[j]
					} else {
						crow[j] = beta*crow[j] + srow[j]
					}
				}
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if n*n*k < 2*parallelFlops {
		workers = 1
	}
	workers = min(workers, len(tasks))
	parallel.Run(workers, func(int) { work() })
}
