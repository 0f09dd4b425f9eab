package nn

import (
	"fmt"
	"unsafe"

	"github.com/fenchel-ml/fenchel/linalg"
)

// Budgets bounding the scratch memory of Conv2D (bytes). They are variables so
// tests can shrink them and exercise the chunked paths.
var (
	// convColsBudget bounds the im2col buffer: the batch is processed in
	// chunks of samples whose columns fit in it. Chunks that stay in cache
	// beat one batch-wide GEMM: for Model d's 16→16 conv at 28×28, batch 64,
	// float32, forward+backward takes ≈35 ms with 1 MB chunks against ≈290 ms
	// with one 29 MB chunk (2 cores, gonum-style pure-Go kernels).
	convColsBudget = 1 << 20
	// gramChunkBudget bounds each of the two per-sample-gradient blocks that
	// Conv2D.AddGram materialises.
	gramChunkBudget = 32 << 20
)

// Conv2D is PyTorch's Conv2d (cross-correlation, zero padding, dilation 1,
// groups 1) on [C H W] inputs, with square kernels and the weight stored
// out×in×k×k.
//
// It computes by im2col: the columns of a chunk of samples form a
// (C·k·k) × (samples·OutH·OutW) matrix, so the forward pass is one GEMM with
// the out×(C·k·k) weight, and backward is one GEMM for the weight gradient and
// one for the columns' gradient, folded back by col2im.
type Conv2D[T Float] struct {
	OutC         int
	Weight, Bias *Param[T] // Bias is nil for a conv without bias
	geom         window

	x, dy       *Mat[T] // last Forward input, last Backward dy
	y, dx, tang *Mat[T]
	cols, dcols []T // im2col of a chunk of samples and its gradient, (C·k·k) × (chunk·L)
	prod        []T // OutC × (chunk·L) product before the per-sample transpose
	// colsLo, colsHi: cols holds the im2col of d.x rows [colsLo, colsHi)
	// (colsHi == 0: nothing cached).
	colsLo, colsHi int
	gramA, gramB   []T
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
func im2colSample[T Float](g *window, x, cols []T, ld, off int) {
	k, s, p := g.Kernel, g.Stride, g.Pad
	L := g.outArea()
	for c := 0; c < g.C; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for ki := 0; ki < k; ki++ {
			ilo, ihi := g.validRows(ki)
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*ld+off:][:L]
				jlo, jhi := g.validRange(kj)
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

// col2imSample adds the column gradient of one sample (cols[off:], leading
// dimension ld) into dx, the adjoint of im2colSample.
func col2imSample[T Float](g *window, cols []T, ld, off int, dx []T) {
	k, s, p := g.Kernel, g.Stride, g.Pad
	L := g.outArea()
	for c := 0; c < g.C; c++ {
		plane := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for ki := 0; ki < k; ki++ {
			ilo, ihi := g.validRows(ki)
			for kj := 0; kj < k; kj++ {
				row := cols[((c*k+ki)*k+kj)*ld+off:][:L]
				jlo, jhi := g.validRange(kj)
				for oi := ilo; oi < ihi; oi++ {
					src := row[oi*g.OutW : (oi+1)*g.OutW]
					dst := plane[(oi*s-p+ki)*g.W:]
					if s == 1 {
						dst = dst[jlo-p+kj:][:jhi-jlo]
						for j, v := range src[jlo:jhi] {
							dst[j] += v
						}
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

// sizeProd sizes d.prod for a chunk of nc samples.
func (d *Conv2D[T]) sizeProd(nc int) []T {
	n := d.OutC * nc * d.geom.outArea()
	if cap(d.prod) < n {
		d.prod = make([]T, n)
	}
	d.prod = d.prod[:n]
	return d.prod
}

// scatter copies the OutC × (nc·L) product into rows [lo, lo+nc) of y
// (channel-major per sample), adding bias[o] when bias is non-nil.
func (d *Conv2D[T]) scatter(y *Mat[T], lo, nc int, bias []T) {
	L := d.geom.outArea()
	ld := nc * L
	for s := 0; s < nc; s++ {
		yr := y.Row(lo + s)
		for o := 0; o < d.OutC; o++ {
			dst, src := yr[o*L:(o+1)*L], d.prod[o*ld+s*L:][:L]
			if bias == nil {
				copy(dst, src)
				continue
			}
			b := bias[o]
			for l, v := range src {
				dst[l] = v + b
			}
		}
	}
}

func (d *Conv2D[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("conv2d", x, d.InShape())
	d.x, d.colsHi = x, 0
	n, K, L := x.Rows, d.patch(), d.geom.outArea()
	d.y = reuse(d.y, n, d.OutC*L)
	var bias []T
	if d.Bias != nil {
		bias = d.Bias.Value
	}
	step := d.chunk()
	for lo := 0; lo < n; lo += step {
		hi := min(n, lo+step)
		nc := hi - lo
		d.im2col(x, lo, hi)
		prod := d.sizeProd(nc)
		linalg.Gemm(false, false, d.OutC, nc*L, K, 1, d.Weight.Value, K, d.cols, nc*L, 0, prod, nc*L)
		d.scatter(d.y, lo, nc, bias)
	}
	return d.y
}

// gatherDy lays rows [lo, lo+nc) of dy out as the OutC × (nc·L) matrix d.prod.
func (d *Conv2D[T]) gatherDy(dy *Mat[T], lo, nc int) []T {
	L := d.geom.outArea()
	prod := d.sizeProd(nc)
	ld := nc * L
	for s := 0; s < nc; s++ {
		dr := dy.Row(lo + s)
		for o := 0; o < d.OutC; o++ {
			copy(prod[o*ld+s*L:][:L], dr[o*L:(o+1)*L])
		}
	}
	return prod
}

func (d *Conv2D[T]) Backward(dy *Mat[T]) *Mat[T] {
	d.backward(dy, true)
	return d.dx
}

// BackwardParams implements ParamBackwarder: the weight and bias gradients
// of Backward without the column-gradient GEMM and col2im.
func (d *Conv2D[T]) BackwardParams(dy *Mat[T]) { d.backward(dy, false) }

// backward adds the parameter gradients and, when wantDx, writes dL/dx into d.dx.
func (d *Conv2D[T]) backward(dy *Mat[T], wantDx bool) {
	d.dy = dy
	n, K, L := dy.Rows, d.patch(), d.geom.outArea()
	if wantDx {
		d.dx = reuse(d.dx, n, d.geom.inSize())
	}
	step := d.chunk()
	// Last chunk first: Forward left its columns in d.cols.
	for lo := (n - 1) / step * step; lo >= 0; lo -= step {
		hi := min(n, lo+step)
		nc := hi - lo
		ld := nc * L
		d.im2col(d.x, lo, hi)
		g := d.gatherDy(dy, lo, nc)
		// dW += dY · colsᵀ; db += Σ over samples and positions of dY.
		linalg.Gemm(false, true, d.OutC, K, ld, 1, g, ld, d.cols, ld, 1, d.Weight.Grad, K)
		if d.Bias != nil {
			for o := 0; o < d.OutC; o++ {
				var s T
				for _, v := range g[o*ld : (o+1)*ld] {
					s += v
				}
				d.Bias.Grad[o] += s
			}
		}
		if !wantDx {
			continue
		}
		// dcols = Wᵀ · dY, folded back into dx.
		if cap(d.dcols) < K*ld {
			d.dcols = make([]T, K*ld)
		}
		d.dcols = d.dcols[:K*ld]
		linalg.Gemm(true, false, K, ld, d.OutC, 1, d.Weight.Value, K, g, ld, 0, d.dcols, ld)
		geom := &d.geom
		parallelFor(nc, K*L, func(a, b int) {
			for s := a; s < b; s++ {
				dxr := d.dx.Row(lo + s)
				clear(dxr)
				col2imSample(geom, d.dcols, ld, s*L, dxr)
			}
		})
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
	for lo := 0; lo < n; lo += step {
		hi := min(n, lo+step)
		nc := hi - lo
		prod := d.sizeProd(nc)
		clear(prod)
		if d.Weight.Tangent != nil {
			d.im2col(d.x, lo, hi)
			linalg.Gemm(false, false, d.OutC, nc*L, K, 1, d.Weight.Tangent, K, d.cols, nc*L, 0, prod, nc*L)
		}
		if dx != nil {
			d.im2col(dx, lo, hi)
			linalg.Gemm(false, false, d.OutC, nc*L, K, 1, d.Weight.Value, K, d.cols, nc*L, 1, prod, nc*L)
		}
		d.scatter(d.tang, lo, nc, bias)
	}
	return d.tang
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

// AddGram materialises the per-sample gradients in blocks of rows bounded by
// gramChunkBudget and accumulates G Gᵀ block by block: Syrk on the diagonal
// blocks, Gemm above them. rep is not exploited.
func (d *Conv2D[T]) AddGram(h []T, ldh int, rep int) {
	n, np := d.dy.Rows, NumParams[T](d)
	var z T
	rc := max(1, gramChunkBudget/(np*int(unsafe.Sizeof(z))))
	rc = min(rc, n)
	if cap(d.gramA) < rc*np {
		d.gramA = make([]T, rc*np)
	}
	for i0 := 0; i0 < n; i0 += rc {
		i1 := min(n, i0+rc)
		ga := d.gramA[:(i1-i0)*np]
		d.perSample(ga, np, i0, i1)
		linalg.Syrk(false, i1-i0, np, 1, ga, np, 1, h[i0*ldh+i0:], ldh)
		for j0 := i1; j0 < n; j0 += rc {
			j1 := min(n, j0+rc)
			if cap(d.gramB) < rc*np {
				d.gramB = make([]T, rc*np)
			}
			gb := d.gramB[:(j1-j0)*np]
			d.perSample(gb, np, j0, j1)
			linalg.Gemm(false, true, i1-i0, j1-j0, np, 1, ga, np, gb, np, 1, h[i0*ldh+j0:], ldh)
		}
	}
}
