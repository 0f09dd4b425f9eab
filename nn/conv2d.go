package nn

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/linalg"
)

// Budgets bounding the scratch memory of Conv2D (bytes). They are variables so
// tests can shrink them and exercise the chunked paths.
var (
	// convColsBudget bounds the im2col buffer: the batch is processed in
	// chunks of samples whose columns fit in it: chunks that stay in cache
	// beat one batch-wide GEMM several times over on Model d's convs.
	convColsBudget = 1 << 20
	// gramChunkBudget bounds each of the two per-sample-gradient blocks that
	// Conv2D.AddGram materialises.
	gramChunkBudget = 32 << 20
	// convGradGroups is the number of groups of chunks whose parameter
	// gradients backward sums separately (see Conv2D.backward); it bounds
	// the goroutines of one backward call and fixes the summation order.
	convGradGroups = 4
	// convPerSampleGemm is the number of multiply-adds of one sample's
	// forward product (OutC·C·k·k·OutH·OutW) from which Conv2D multiplies
	// sample by sample straight into its output instead of over the chunk
	// followed by a scatter: it pays for Model d's 16→16 and 16→32 convs,
	// not for the 1→16 stem (BenchmarkConv2DForwardBackward).
	convPerSampleGemm = 1 << 19
)

// Conv2D is PyTorch's Conv2d (cross-correlation, zero padding, dilation 1,
// groups 1) on [C H W] inputs, with square kernels and the weight stored
// out×in×k×k.
//
// float32 convolutions compute by implicit GEMM (conv_direct.go) when the
// AVX-512 tiles of internal/conv run; AddGram, PerSampleGrad, Tangent and
// float64 always compute by im2col: the columns of a chunk of samples form a
// (C·k·k) × (samples·OutH·OutW) matrix, so the forward pass is one GEMM with
// the out×(C·k·k) weight (or one per sample, see convPerSampleGemm), and
// backward is one GEMM for the weight gradient and one for the columns'
// gradient, folded back by col2im. With the Go GEMM kernels, Forward and
// Backward hand runs of whole chunks to GOMAXPROCS goroutines (one
// fork-join per call); results do not depend on the number of goroutines.
type Conv2D[T Float] struct {
	OutC         int
	Weight, Bias *Param[T] // Bias is nil for a conv without bias
	geom         window

	x, dy       *Mat[T] // last Forward input, last Backward dy
	y, dx, tang *Mat[T]
	cols        []T // im2col of a chunk of samples, (C·k·k) × (chunk·L)
	prod        []T // OutC × (chunk·L) product before the per-sample transpose
	// colsLo, colsHi: cols holds the im2col of d.x rows [colsLo, colsHi)
	// (colsHi == 0: nothing cached).
	colsLo, colsHi int
	gramA, gramB   []T
	work           []convWork[T] // per-worker scratch of forwardParallel and backward
	gradParts      []T           // backward's per-group weight and bias gradients
	// gramProd is AddGram's per-group product (perSampleRep) and spatial
	// scratch.
	gramProd []T
	dir      *directState // float32 on the direct path (conv_direct.go)
}

// NewConv2D returns a zero-initialised convolution from in = [C H W] to outC
// channels with a kernel×kernel window, as torch.nn.Conv2d(C, outC, kernel,
// stride, pad, bias=bias).
func NewConv2D[T Float](in Shape, outC, kernel, stride, pad int, bias bool) (*Conv2D[T], error) {
	g, err := newWindow("conv2d", in, kernel, stride, pad)
	if err != nil {
		return nil, err
	}
	if outC <= 0 {
		return nil, fmt.Errorf("nn: conv2d: output channels %d, want > 0", outC)
	}
	k2 := kernel * kernel
	d := &Conv2D[T]{OutC: outC, geom: g,
		Weight: NewParam[T]("weight", []int{outC, g.C, kernel, kernel}, g.C*k2, outC*k2, false)}
	if bias {
		d.Bias = NewParam[T]("bias", []int{outC}, g.C*k2, outC*k2, true)
	}
	return d, nil
}

func (d *Conv2D[T]) Kind() string    { return "conv2d" }
func (d *Conv2D[T]) InShape() Shape  { return Shape{d.geom.C, d.geom.H, d.geom.W} }
func (d *Conv2D[T]) OutShape() Shape { return Shape{d.OutC, d.geom.OutH, d.geom.OutW} }
func (d *Conv2D[T]) Params() []*Param[T] {
	if d.Bias == nil {
		return []*Param[T]{d.Weight}
	}
	return []*Param[T]{d.Weight, d.Bias}
}

// patch is C·k·k, the length of one im2col column (and of a weight row).
func (d *Conv2D[T]) patch() int { return d.geom.C * d.geom.Kernel * d.geom.Kernel }

// chunk is the number of samples whose im2col fits in convColsBudget.
func (d *Conv2D[T]) chunk() int {
	var z T
	per := d.patch() * d.geom.outArea() * int(unsafe.Sizeof(z))
	return max(1, convColsBudget/per)
}

// scratch sizes the im2col buffers for a chunk of nc samples.
func (d *Conv2D[T]) scratch(nc int) {
	n := d.patch() * nc * d.geom.outArea()
	if cap(d.cols) < n {
		d.cols = make([]T, n)
		d.colsHi = 0
	}
	d.cols = d.cols[:n]
}

// im2col fills d.cols with the columns of rows [lo, hi) of x. When x is the
// last Forward input and those columns are already there it does nothing.
func (d *Conv2D[T]) im2col(x *Mat[T], lo, hi int) {
	if x == d.x && d.colsLo == lo && d.colsHi == hi {
		return
	}
	d.scratch(hi - lo)
	g, L := &d.geom, d.geom.outArea()
	ld := (hi - lo) * L
	parallelFor(hi-lo, d.patch()*L, func(a, b int) {
		for s := a; s < b; s++ {
			im2colSample(g, x.Row(lo+s), d.cols, ld, s*L)
		}
	})
	if x == d.x {
		d.colsLo, d.colsHi = lo, hi
	} else {
		d.colsHi = 0
	}
}

// im2colSample writes the (C·k·k) × L column matrix of one sample into
// cols[off:] with leading dimension ld. Row (c·k + ki)·k + kj, column
// oi·OutW + oj holds x[c, oi·s − p + ki, oj·s − p + kj] (0 in the padding).
//
// For stride 1 with OutW == W ("same" padding, k = 2p + 1) a row of cols is
// the input plane shifted by (ki − p)·W + (kj − p): it is filled by one
// contiguous copy of the valid span, after which the wrapped-around entries
// of the p border columns are zeroed (sameShift). Otherwise rows are copied
// one output row at a time.
func im2colSample[T Float](g *window, x, cols []T, ld, off int) {
	k, s, p := g.Kernel, g.Stride, g.Pad
	L := g.outArea()
	same := g.sameShift()
	for c := 0; c < g.C; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for ki := 0; ki < k; ki++ {
			ilo, ihi := g.validRows(ki)
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*ld+off:][:L]
				jlo, jhi := g.validRange(kj)
				if ilo >= ihi || jlo >= jhi {
					clear(row)
					continue
				}
				if same {
					W := g.W
					q0, q1 := ilo*W+jlo, (ihi-1)*W+jhi // valid span in row
					d := (ki-p)*W + (kj - p)
					clear(row[:q0])
					copy(row[q0:q1], plane[q0+d:q1+d])
					clear(row[q1:])
					zeroBorderCols(row, W, ilo, ihi, jlo, jhi)
					continue
				}
				clear(row[:ilo*g.OutW])
				clear(row[ihi*g.OutW:])
				for oi := ilo; oi < ihi; oi++ {
					dst := row[oi*g.OutW : (oi+1)*g.OutW]
					src := plane[(oi*s-p+ki)*g.W:]
					clear(dst[:jlo])
					clear(dst[jhi:])
					if s == 1 {
						copy(dst[jlo:jhi], src[jlo-p+kj:])
						continue
					}
					for oj := jlo; oj < jhi; oj++ {
						dst[oj] = src[oj*s-p+kj]
					}
				}
			}
		}
	}
}

// zeroBorderCols zeroes, in output rows [ilo, ihi) of an OutW = W wide row of
// cols, the columns outside [jlo, jhi) (at most Pad on each side), by plain
// stores: the spans are a few elements long.
func zeroBorderCols[T Float](row []T, W, ilo, ihi, jlo, jhi int) {
	if jlo == 0 && jhi == W {
		return
	}
	row = row[:ihi*W]
	for j := 0; j < jlo; j++ {
		for i := ilo*W + j; i < len(row); i += W {
			row[i] = 0
		}
	}
	for j := jhi; j < W; j++ {
		for i := ilo*W + j; i < len(row); i += W {
			row[i] = 0
		}
	}
}

// col2imSample adds the column gradient of one sample (cols[off:], leading
// dimension ld) into dx, the adjoint of im2colSample; with overwrite it
// stores into dx instead (dx's previous contents are ignored).
//
// In the sameShift geometry each row of cols is added to the plane as one
// contiguous span: its border columns, which would wrap around into the
// neighbouring image row, are zeroed first (cols is the caller's scratch and
// is modified). With overwrite the centre tap (ki = kj = p), which covers the
// plane exactly, is stored first, so the plane needs no clearing.
func col2imSample[T Float](g *window, cols []T, ld, off int, dx []T, overwrite bool) {
	k, s, p := g.Kernel, g.Stride, g.Pad
	L := g.outArea()
	same := g.sameShift()
	for c := 0; c < g.C; c++ {
		plane := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		if same {
			W := g.W
			centre := (c*k+p)*k + p
			if overwrite {
				copy(plane, cols[centre*ld+off:][:L])
			}
			for ki := 0; ki < k; ki++ {
				ilo, ihi := g.validRows(ki)
				for kj := 0; kj < k; kj++ {
					t := (c*k+ki)*k + kj
					if overwrite && t == centre {
						continue
					}
					jlo, jhi := g.validRange(kj)
					if ilo >= ihi || jlo >= jhi {
						continue
					}
					row := cols[t*ld+off:][:L]
					zeroBorderCols(row, W, ilo, ihi, jlo, jhi)
					q0, q1 := ilo*W+jlo, (ihi-1)*W+jhi
					d := (ki-p)*W + (kj - p)
					addTo(plane[q0+d:q1+d], row[q0:q1])
				}
			}
			continue
		}
		if overwrite {
			clear(plane)
		}
		if k == 3 && s == 2 && p == 1 {
			col2imPlaneK3S2(g, cols[c*9*ld+off:], ld, plane)
			continue
		}
		for ki := 0; ki < k; ki++ {
			ilo, ihi := g.validRows(ki)
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*ld+off:][:L]
				jlo, jhi := g.validRange(kj)
				for oi := ilo; oi < ihi; oi++ {
					src := row[oi*g.OutW : (oi+1)*g.OutW]
					dst := plane[(oi*s-p+ki)*g.W:]
					if s == 1 {
						addTo(dst[jlo-p+kj:][:jhi-jlo], src[jlo:jhi])
						continue
					}
					for oj := jlo; oj < jhi; oj++ {
						dst[oj*s-p+kj] += src[oj]
					}
				}
			}
		}
	}
}

// col2imPlaneK3S2 adds one channel's column gradient (its 9 rows at
// cols[t·ld:], t = ki·3 + kj) into plane for the 3×3, stride 2, padding 1
// geometry (Model d's downsampling convolutions). Tap kj of output column oj
// lands on input column 2·oj − 1 + kj: the even columns take kj = 1, the odd
// ones kj = 0 (of oj + 1) then kj = 2 (of oj), so one pass per output row
// adds the three taps in the order of the generic loop (ki, then kj), with
// the same roundings.
func col2imPlaneK3S2[T Float](g *window, cols []T, ld int, plane []T) {
	ow := g.OutW
	lo0, hi0 := g.validRange(0)
	lo1, hi1 := g.validRange(1)
	lo2, hi2 := g.validRange(2)
	// Odd column 2m+1 takes kj = 0 at oj = m+1 and kj = 2 at oj = m.
	mlo, mhi := min(lo0-1, lo2), max(hi0-1, hi2)
	for ki := 0; ki < 3; ki++ {
		ilo, ihi := g.validRows(ki)
		c0, c1, c2 := cols[(ki*3)*ld:], cols[(ki*3+1)*ld:], cols[(ki*3+2)*ld:]
		for oi := ilo; oi < ihi; oi++ {
			dst := plane[(oi*2-1+ki)*g.W:][:g.W]
			r0, r1, r2 := c0[oi*ow:][:ow], c1[oi*ow:][:ow], c2[oi*ow:][:ow]
			for m := lo1; m < hi1; m++ {
				dst[2*m] += r1[m]
			}
			for m := mlo; m < mhi; m++ {
				v := dst[2*m+1]
				if m+1 >= lo0 && m+1 < hi0 {
					v += r0[m+1]
				}
				if m >= lo2 && m < hi2 {
					v += r2[m]
				}
				dst[2*m+1] = v
			}
		}
	}
}

// addTo sets dst[i] += src[i] (len(src) ≥ len(dst)): one rounding per
// element, vectorised by simd.AddRows for float32 and float64.
func addTo[T Float](dst, src []T) {
	src = src[:len(dst)]
	switch d := any(dst).(type) {
	case []float32:
		simd.AddRows32(d, any(src).([]float32), 1, len(d))
		return
	case []float64:
		simd.AddRows64(d, any(src).([]float64), 1, len(d))
		return
	}
	for i := range dst {
		dst[i] += src[i]
	}
}

// product writes into rows [lo, lo+nc) of y the product w · cols for the
// chunk's columns in d.cols (plus bias[o] on channel o when bias is
// non-nil); when acc is set, the product is added to y instead (bias is then
// ignored).
//
// When one sample's product has at least convPerSampleGemm multiply-adds it
// runs one GEMM per sample: sample s's columns are the L-wide block s of
// d.cols, and w (OutC × C·k·k) times that block is already the sample's
// channel-major output, so it lands in y.Row(lo+s) with no scatter pass.
// Smaller products (the 1-channel stem) run as one GEMM over the chunk into
// d.prod, scattered into y afterwards: per-call overhead dominates there.
func (d *Conv2D[T]) product(y *Mat[T], w []T, lo, nc int, bias []T, acc bool) {
	d.productWith(y, w, d.cols, &d.prod, lo, nc, bias, acc, linalg.Gemm[T])
}

// gemmFunc is linalg.Gemm or, on a goroutine that already has a core to
// itself (forwardParallel, backward's and Tangent's workers),
// linalg.GemmSerial: the same result without a nested fork-join per product.
type gemmFunc[T Float] func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// productWith is product with the chunk's columns in cols, *prod as the
// scratch of the chunk-wide product and mul as the GEMM.
func (d *Conv2D[T]) productWith(y *Mat[T], w, cols []T, prodBuf *[]T, lo, nc int, bias []T, acc bool, mul gemmFunc[T]) {
	K, L := d.patch(), d.geom.outArea()
	ld := nc * L
	if d.OutC*K*L < convPerSampleGemm {
		if cap(*prodBuf) < d.OutC*ld {
			*prodBuf = make([]T, d.OutC*ld)
		}
		prod := (*prodBuf)[:d.OutC*ld]
		mul(false, false, d.OutC, ld, K, 1, w, K, cols, ld, 0, prod, ld)
		for s := 0; s < nc; s++ {
			yr := y.Row(lo + s)
			for o := 0; o < d.OutC; o++ {
				dst, src := yr[o*L:(o+1)*L], prod[o*ld+s*L:][:L]
				switch {
				case acc:
					addTo(dst, src)
				case bias == nil:
					copy(dst, src)
				default:
					b := bias[o]
					for l, v := range src {
						dst[l] = v + b
					}
				}
			}
		}
		return
	}
	for s := 0; s < nc; s++ {
		yr := y.Row(lo + s)
		beta := T(0)
		switch {
		case acc:
			beta = 1
		case bias != nil:
			for o, b := range bias {
				fill(yr[o*L:(o+1)*L], b)
			}
			beta = 1
		}
		mul(false, false, d.OutC, L, K, 1, w, K, cols[s*L:], ld, beta, yr, L)
	}
}

// fill sets every element of v to a.
func fill[T Float](v []T, a T) {
	for i := range v {
		v[i] = a
	}
}

func (d *Conv2D[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("conv2d", x, d.InShape())
	d.x, d.colsHi = x, 0
	if dc, ok := useDirect(d); ok {
		forwardDirect(dc, any(x).(*Mat[float32]))
		return d.y
	}
	n, L := x.Rows, d.geom.outArea()
	d.y = reuse(d.y, n, d.OutC*L)
	var bias []T
	if d.Bias != nil {
		bias = d.Bias.Value
	}
	step := d.chunk()
	nch := (n + step - 1) / step
	workers := min(runtime.GOMAXPROCS(0), nch)
	if workers > 1 && n*d.OutC*d.patch()*L >= minParallelWork && goKernels[T]() {
		d.forwardParallel(x, bias, step, nch, workers)
		return d.y
	}
	K := d.patch()
	buf := getCols[T](K * min(step, n) * L)
	defer putCols(buf)
	g := &d.geom
	for lo := 0; lo < n; lo += step {
		hi := min(n, lo+step)
		nc := hi - lo
		cols := (*buf)[:K*nc*L]
		parallelFor(nc, K*L, func(a, b int) {
			for s := a; s < b; s++ {
				im2colSample(g, x.Row(lo+s), cols, nc*L, s*L)
			}
		})
		d.productWith(d.y, d.Weight.Value, cols, &d.prod, lo, nc, bias, false, linalg.Gemm[T])
	}
	return d.y
}

// forwardParallel is Forward's chunk loop split over workers goroutines,
// each taking a contiguous run of the nch chunks end to end (im2col into its
// own buffer, then the product), so that a sample's columns are built and
// multiplied on one core and the fork-join happens once per call rather
// than once per GEMM. Every product is the serial loop's, chunk for chunk
// (a backend's result may depend on a product's width), so the result does
// not depend on the number of workers.
func (d *Conv2D[T]) forwardParallel(x *Mat[T], bias []T, step, nch, workers int) {
	n, L := x.Rows, d.geom.outArea()
	K := d.patch()
	for len(d.work) < workers {
		d.work = append(d.work, convWork[T]{})
	}
	d.colsHi = 0
	g := &d.geom
	parallel.Run(workers, func(w int) {
		buf := &d.work[w]
		for ch := w * nch / workers; ch < (w+1)*nch/workers; ch++ {
			lo := ch * step
			hi := min(n, lo+step)
			nc := hi - lo
			if cap(buf.cols) < K*nc*L {
				buf.cols = make([]T, K*step*L)
			}
			cols := buf.cols[:K*nc*L]
			for s := 0; s < nc; s++ {
				im2colSample(g, x.Row(lo+s), cols, nc*L, s*L)
			}
			d.productWith(d.y, d.Weight.Value, cols, &buf.prod, lo, nc, bias, false, linalg.GemmSerial[T])
		}
	})
}

// goKernels reports whether Conv2D splits its chunk loops over goroutines:
// when the GEMM backend for T multiplies on the calling goroutine alone
// (linalg.SerialGemm: fenchel's Go kernels, or single-threaded OpenBLAS).
// OpenBLAS with its own thread pool is called from one goroutine: two
// calling it at once oversubscribe the cores (the Model d step ran about
// twice as slow).
func goKernels[T Float]() bool { return linalg.SerialGemm[T]() }

// convWork is the scratch of one forwardParallel worker.
type convWork[T Float] struct{ cols, prod []T }

// Column scratch: the im2col buffers of Forward's serial loop and of
// AddGram, and the column gradients of backwardChunks, (C·k·k) × (chunk·L)
// and about convColsBudget each, are needed only while one chunk is
// multiplied or folded back. They come from a pool shared by every
// convolution, so a model's passes reuse a few buffers that stay in cache
// rather than one per layer and worker (Model d's float64 per-image pass,
// two models of nine convolutions, touched ~50 MB of them per measurement).
var colScratch32, colScratch64 sync.Pool

// getCols returns a pooled buffer of length n (a new one when the pool's is
// shorter: that one is dropped); putCols gives it back.
func getCols[T Float](n int) *[]T {
	if b, ok := colPool[T]().Get().(*[]T); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]T, n)
	return &b
}

func putCols[T Float](b *[]T) { colPool[T]().Put(b) }

// colPool is the pool of column scratch of T.
func colPool[T Float]() *sync.Pool {
	if _, ok := any(T(0)).(float32); ok {
		return &colScratch32
	}
	return &colScratch64
}

func (d *Conv2D[T]) Backward(dy *Mat[T]) *Mat[T] {
	d.backward(dy, true, true)
	return d.dx
}

// BackwardParams implements ParamBackwarder: the weight and bias gradients
// of Backward without the column-gradient GEMM and col2im.
func (d *Conv2D[T]) BackwardParams(dy *Mat[T]) { d.backward(dy, false, true) }

// BackwardDeltas implements DeltaBackwarder: it records dy and, if wanted,
// computes dL/dx, without the im2col and weight-gradient GEMM.
func (d *Conv2D[T]) BackwardDeltas(dy *Mat[T], wantDx bool) (*Mat[T], bool) {
	if !wantDx {
		d.dy = dy
		return nil, false
	}
	if _, direct := useDirect(d); !direct && d.backwardDxSplit(dy) {
		return d.dx, false
	}
	d.backward(dy, true, false)
	return d.dx, false
}

// backwardDxSplit computes dL/dx alone by im2col and GEMM with the rows cut
// into one even run per goroutine, each run in chunks of at most chunk()
// samples, and reports whether it ran: with the Go GEMM kernels on more than
// one goroutine and enough work. backward's fixed groups of chunks, there for
// the order of the gradient sums, leave a core idle for part of a small
// batch (10 rows of Model d's 7×7 stage: chunks of 9 and 1 rows); without
// gradients the split is free, since with those kernels a row's dL/dx does
// not depend on the width of the product it is part of (Backward's values,
// bit for bit).
func (d *Conv2D[T]) backwardDxSplit(dy *Mat[T]) bool {
	n, L := dy.Rows, d.geom.outArea()
	workers := min(runtime.GOMAXPROCS(0), n)
	if !goGemmKernels[T]() || workers <= 1 || n*d.OutC*d.patch()*L < minParallelWork {
		return false
	}
	d.dy = dy
	d.dx = reuse(d.dx, n, d.geom.inSize())
	for len(d.work) < workers {
		d.work = append(d.work, convWork[T]{})
	}
	step := d.chunk()
	parallel.Run(workers, func(w int) {
		d.backwardChunks(dy, w*n/workers, (w+1)*n/workers, step, true, &d.work[w], nil, nil, linalg.GemmSerial[T])
	})
	return true
}

// goGemmKernels reports whether fenchel's Go kernels (linalg.Kernels)
// multiply T.
func goGemmKernels[T Float]() bool {
	var impl any = linalg.Float64
	if _, ok := any(T(0)).(float32); ok {
		impl = linalg.Float32
	}
	_, ok := impl.(linalg.Kernels)
	return ok
}

// backward adds the parameter gradients if grads and, when wantDx, writes
// dL/dx into d.dx.
//
// With several chunks the batch is cut into min(chunks, convGradGroups)
// groups of consecutive chunks, fixed by the batch size alone. Each group
// accumulates its own weight and bias gradient (backwardGroup) and the
// groups' sums are added to Param.Grad in group order, so the result does
// not depend on how many goroutines ran the groups (at most GOMAXPROCS, one
// run of whole groups each, one fork-join per call).
func (d *Conv2D[T]) backward(dy *Mat[T], wantDx, grads bool) {
	if dc, ok := useDirect(d); ok {
		backwardDirect(dc, any(dy).(*Mat[float32]), wantDx, grads)
		return
	}
	d.backwardIm2col(dy, wantDx, grads)
}

// backwardIm2col is backward by im2col and GEMM.
func (d *Conv2D[T]) backwardIm2col(dy *Mat[T], wantDx, grads bool) {
	d.dy = dy
	n, K, L := dy.Rows, d.patch(), d.geom.outArea()
	if wantDx {
		d.dx = reuse(d.dx, n, d.geom.inSize())
	}
	step := d.chunk()
	nch := (n + step - 1) / step
	groups := min(nch, convGradGroups)
	if groups <= 1 {
		if len(d.work) == 0 {
			d.work = append(d.work, convWork[T]{})
		}
		if grads {
			d.backwardChunks(dy, 0, n, step, wantDx, &d.work[0], d.Weight.Grad, d.biasGrad(), linalg.Gemm[T])
		} else {
			d.backwardChunks(dy, 0, n, step, wantDx, &d.work[0], nil, nil, linalg.Gemm[T])
		}
		return
	}
	nw, nb := d.OutC*K, 0
	if d.Bias != nil {
		nb = d.OutC
	}
	if cap(d.gradParts) < groups*(nw+nb) {
		d.gradParts = make([]T, groups*(nw+nb))
	}
	parts := d.gradParts[:groups*(nw+nb)]
	clear(parts)
	for len(d.work) < groups {
		d.work = append(d.work, convWork[T]{})
	}
	run := func(g int, mul gemmFunc[T]) {
		lo := g * nch / groups * step
		hi := min(n, (g+1)*nch/groups*step)
		part := parts[g*(nw+nb) : (g+1)*(nw+nb)]
		var bpart []T
		if nb > 0 {
			bpart = part[nw:]
		}
		if !grads {
			d.backwardChunks(dy, lo, hi, step, wantDx, &d.work[g], nil, nil, mul)
			return
		}
		d.backwardChunks(dy, lo, hi, step, wantDx, &d.work[g], part[:nw], bpart, mul)
	}
	workers := min(runtime.GOMAXPROCS(0), groups)
	if workers <= 1 || n*d.OutC*K*L < minParallelWork || !goKernels[T]() {
		for g := 0; g < groups; g++ {
			run(g, linalg.Gemm[T])
		}
	} else {
		parallel.Run(workers, func(w int) {
			for g := w * groups / workers; g < (w+1)*groups/workers; g++ {
				run(g, linalg.GemmSerial[T])
			}
		})
	}
	if !grads {
		return
	}
	for g := 0; g < groups; g++ {
		part := parts[g*(nw+nb) : (g+1)*(nw+nb)]
		addTo(d.Weight.Grad, part[:nw])
		if nb > 0 {
			addTo(d.Bias.Grad, part[nw:])
		}
	}
}

// biasGrad is d.Bias.Grad, or nil for a conv without bias.
func (d *Conv2D[T]) biasGrad() []T {
	if d.Bias == nil {
		return nil
	}
	return d.Bias.Grad
}

// backwardChunks runs the backward pass over rows [lo, hi) of the batch,
// chunk by chunk (chunks start at multiples of step), on the calling
// goroutine with the scratch buf: it adds dY·colsᵀ into dw and the sums of
// dY over positions into db (when non-nil) and, when wantDx, writes the
// rows of d.dx.
func (d *Conv2D[T]) backwardChunks(dy *Mat[T], lo, hi, step int, wantDx bool, buf *convWork[T], dw, db []T, mul gemmFunc[T]) {
	K, L := d.patch(), d.geom.outArea()
	g := &d.geom
	var dbuf *[]T
	if wantDx {
		dbuf = getCols[T](K * min(step, hi-lo) * L)
		defer putCols(dbuf)
	}
	for clo := lo; clo < hi; clo += step {
		chi := min(hi, clo+step)
		nc := chi - clo
		ld := nc * L
		var cols []T // none for dL/dx alone (BackwardDeltas: dw nil)
		if dw != nil {
			if cap(buf.cols) < K*ld {
				buf.cols = make([]T, K*step*L)
			}
			cols = buf.cols[:K*ld]
			if dy.Rows == chi && d.colsLo == clo && d.colsHi == chi && len(d.cols) == K*ld {
				cols = d.cols // the chunk im2col cached
			} else {
				for s := 0; s < nc; s++ {
					im2colSample(g, d.x.Row(clo+s), cols, ld, s*L)
				}
			}
		}
		// gd is dY as OutC × (nc·L): one sample's row of dy already is.
		gd := dy.Row(clo)
		if nc > 1 {
			if cap(buf.prod) < d.OutC*ld {
				buf.prod = make([]T, d.OutC*step*L)
			}
			gd = buf.prod[:d.OutC*ld]
			for s := 0; s < nc; s++ {
				dr := dy.Row(clo + s)
				for o := 0; o < d.OutC; o++ {
					copy(gd[o*ld+s*L:][:L], dr[o*L:(o+1)*L])
				}
			}
		}
		// dW += dY · colsᵀ; db += Σ over samples and positions of dY.
		if dw != nil {
			mul(false, true, d.OutC, K, ld, 1, gd, ld, cols, ld, 1, dw, K)
		}
		if db != nil {
			for o := 0; o < d.OutC; o++ {
				var s T
				for _, v := range gd[o*ld : (o+1)*ld] {
					s += v
				}
				db[o] += s
			}
		}
		if !wantDx {
			continue
		}
		// dcols = Wᵀ · dY, folded back into dx.
		dcols := (*dbuf)[:K*ld]
		mul(true, false, K, ld, d.OutC, 1, d.Weight.Value, K, gd, ld, 0, dcols, ld)
		for s := 0; s < nc; s++ {
			col2imSample(g, dcols, ld, s*L, d.dx.Row(clo+s), true)
		}
	}
}

// Tangent is conv(dx; W) + conv(x; Ẇ) + ḃ at the last Forward's x.
func (d *Conv2D[T]) Tangent(dx *Mat[T]) *Mat[T] {
	n, K, L := d.x.Rows, d.patch(), d.geom.outArea()
	d.tang = reuse(d.tang, n, d.OutC*L)
	var bias []T
	if d.Bias != nil {
		bias = d.Bias.Tangent
	}
	step := d.chunk()
	nch := (n + step - 1) / step
	workers := min(runtime.GOMAXPROCS(0), nch)
	if workers > 1 && n*d.OutC*K*L >= minParallelWork && goKernels[T]() {
		// As forwardParallel: runs of whole chunks per goroutine.
		for len(d.work) < workers {
			d.work = append(d.work, convWork[T]{})
		}
		g := &d.geom
		parallel.Run(workers, func(w int) {
			buf := &d.work[w]
			for ch := w * nch / workers; ch < (w+1)*nch/workers; ch++ {
				lo := ch * step
				hi := min(n, lo+step)
				nc := hi - lo
				cols := func(x *Mat[T]) []T {
					if cap(buf.cols) < K*nc*L {
						buf.cols = make([]T, K*step*L)
					}
					c := buf.cols[:K*nc*L]
					for s := 0; s < nc; s++ {
						im2colSample(g, x.Row(lo+s), c, nc*L, s*L)
					}
					return c
				}
				d.tangentChunk(dx, bias, lo, hi, cols, &buf.prod, linalg.GemmSerial[T])
			}
		})
		return d.tang
	}
	for lo := 0; lo < n; lo += step {
		hi := min(n, lo+step)
		d.tangentChunk(dx, bias, lo, hi, func(x *Mat[T]) []T { d.im2col(x, lo, hi); return d.cols }, &d.prod, linalg.Gemm[T])
	}
	return d.tang
}

// tangentChunk writes rows [lo, hi) of d.tang: conv(dx; W) + conv(x; Ẇ) + ḃ
// with nil directions left out; cols(m) returns the chunk's columns of m and
// prod is the product scratch.
func (d *Conv2D[T]) tangentChunk(dx *Mat[T], bias []T, lo, hi int, cols func(*Mat[T]) []T, prod *[]T, mul gemmFunc[T]) {
	nc, L := hi-lo, d.geom.outArea()
	acc := false
	if d.Weight.Tangent != nil {
		d.productWith(d.tang, d.Weight.Tangent, cols(d.x), prod, lo, nc, bias, false, mul)
		acc = true
	}
	if dx != nil {
		d.productWith(d.tang, d.Weight.Value, cols(dx), prod, lo, nc, bias, acc, mul)
		acc = true
	}
	if acc {
		return
	}
	for s := lo; s < hi; s++ {
		yr := d.tang.Row(s)
		if bias == nil {
			clear(yr)
			continue
		}
		for o, b := range bias {
			fill(yr[o*L:(o+1)*L], b)
		}
	}
}

// perSample writes the per-sample gradients of rows [lo, hi) of the last
// Backward into dst, row r at dst[(r−lo)·ldd:]: dW_r = dy_r (OutC × L) ·
// cols_rᵀ (L × C·k·k), then db_r = Σ_l dy_r[·, l].
func (d *Conv2D[T]) perSample(dst []T, ldd, lo, hi int) {
	K, L := d.patch(), d.geom.outArea()
	nw := d.OutC * K
	step := d.chunk()
	for clo := lo - lo%step; clo < hi; clo += step {
		chi := min(d.x.Rows, clo+step)
		d.im2col(d.x, clo, chi)
		ld := (chi - clo) * L
		a, b := max(lo, clo), min(hi, chi)
		parallelFor(b-a, d.OutC*K*L, func(s0, s1 int) {
			for r := a + s0; r < a+s1; r++ {
				row := dst[(r-lo)*ldd:]
				dyr := d.dy.Row(r)
				linalg.Gemm(false, true, d.OutC, K, L, 1, dyr, L, d.cols[(r-clo)*L:], ld, 0, row, K)
				if d.Bias != nil {
					for o := 0; o < d.OutC; o++ {
						var s T
						for _, v := range dyr[o*L : (o+1)*L] {
							s += v
						}
						row[nw+o] = s
					}
				}
			}
		})
	}
}

func (d *Conv2D[T]) PerSampleGrad(dst *Mat[T], col int) {
	d.perSample(dst.Data[col:], dst.Cols, 0, d.dy.Rows)
}

// perSampleRep is perSample for rows [lo, hi) of a batch whose inputs come in
// groups of rep identical consecutive rows (lo and hi multiples of rep). The
// columns of each distinct input are built once, and the rep per-sample
// weight gradients of a group come from one GEMM: the group's dy rows are
// consecutive in memory, so they form the (rep·OutC) × L matrix [dy_1; …;
// dy_rep], and [dy_1; …; dy_rep]·colsᵀ holds the rep gradients one under
// the other. That product lands directly in dst when the rows of dst are the
// weight gradients alone (ldd = OutC·C·k·k, no bias); otherwise it goes
// through d.gramProd and is copied out.
func (d *Conv2D[T]) perSampleRep(dst []T, ldd, lo, hi, rep int) {
	K, L := d.patch(), d.geom.outArea()
	nw := d.OutC * K
	direct := d.Bias == nil && ldd == nw
	if !direct && cap(d.gramProd) < rep*nw {
		d.gramProd = make([]T, rep*nw)
	}
	step := d.chunk()
	g := &d.geom
	buf := getCols[T](K * min(step, (hi-lo)/rep) * L)
	defer putCols(buf)
	for c0 := lo / rep; c0 < hi/rep; c0 += step {
		c1 := min(hi/rep, c0+step)
		nc := c1 - c0
		ld := nc * L
		cols := (*buf)[:K*ld]
		parallelFor(nc, K*L, func(a, b int) {
			for s := a; s < b; s++ {
				im2colSample(g, d.groupInput(c0+s, rep), cols, ld, s*L)
			}
		})
		for s := 0; s < nc; s++ {
			r0 := (c0 + s) * rep // first row of the group
			dyg := d.dy.Data[r0*d.OutC*L : (r0+rep)*d.OutC*L]
			if direct {
				linalg.Gemm(false, true, rep*d.OutC, K, L, 1, dyg, L, cols[s*L:], ld, 0, dst[(r0-lo)*ldd:], K)
				continue
			}
			prod := d.gramProd[:rep*nw]
			linalg.Gemm(false, true, rep*d.OutC, K, L, 1, dyg, L, cols[s*L:], ld, 0, prod, K)
			for k := 0; k < rep; k++ {
				row := dst[(r0+k-lo)*ldd:]
				copy(row[:nw], prod[k*nw:(k+1)*nw])
				if d.Bias != nil {
					dyr := d.dy.Row(r0 + k)
					for o := 0; o < d.OutC; o++ {
						var sum T
						for _, v := range dyr[o*L : (o+1)*L] {
							sum += v
						}
						row[nw+o] = sum
					}
				}
			}
		}
	}
}

// groupInput is the input row of group i of rep rows of the last dy: row
// i·rep of the last Forward's x, or row i when that Forward saw the distinct
// rows alone (broadcast.go).
func (d *Conv2D[T]) groupInput(i, rep int) []T {
	if d.x.Rows == d.dy.Rows {
		return d.x.Row(i * rep)
	}
	return d.x.Row(i)
}

// AddGram takes the spatial form of conv_gram.go when it is the cheaper
// one (small maps). Otherwise it materialises the per-sample gradients in
// blocks of rows bounded by gramChunkBudget and accumulates G Gᵀ block by
// block: Syrk on the diagonal blocks (dot products of row pairs for a few
// rows), Gemm above them. With rep > 1 (groups of rep identical inputs,
// THEORY.md §6) blocks hold whole groups and are built by perSampleRep: one
// im2col per distinct input and one GEMM per group.
func (d *Conv2D[T]) AddGram(h []T, ldh int, rep int) {
	n, np := d.dy.Rows, NumParams[T](d)
	if rep < 1 || n%rep != 0 {
		rep = 1
	}
	if d.gramForm(n/rep, rep) {
		d.addGramSpatial(h, ldh, rep)
		return
	}
	var z T
	rc := max(1, gramChunkBudget/(np*int(unsafe.Sizeof(z))))
	rc = max(rep, rc/rep*rep) // whole groups per block
	rc = min(rc, n)
	build := func(dst []T, i0, i1 int) {
		if rep > 1 {
			d.perSampleRep(dst, np, i0, i1, rep)
		} else {
			d.perSample(dst, np, i0, i1)
		}
	}
	if cap(d.gramA) < rc*np {
		d.gramA = make([]T, rc*np)
	}
	for i0 := 0; i0 < n; i0 += rc {
		i1 := min(n, i0+rc)
		ga := d.gramA[:(i1-i0)*np]
		build(ga, i0, i1)
		addGram(h[i0*ldh+i0:], ldh, ga, np, i1-i0, np)
		for j0 := i1; j0 < n; j0 += rc {
			j1 := min(n, j0+rc)
			if cap(d.gramB) < rc*np {
				d.gramB = make([]T, rc*np)
			}
			gb := d.gramB[:(j1-j0)*np]
			build(gb, j0, j1)
			linalg.Gemm(false, true, i1-i0, j1-j0, np, 1, ga, np, gb, np, 1, h[i0*ldh+j0:], ldh)
		}
	}
}
