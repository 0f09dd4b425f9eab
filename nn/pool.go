package nn

import (
	"fmt"
	"math"

	"github.com/fenchel-ml/fenchel/internal/simd"
)

// MaxPool2D is PyTorch's MaxPool2d (square window, dilation 1, ceil_mode off):
// padding counts as −∞, so it never wins. The position of each maximum (the
// first in scan order on ties) is recorded by Forward and routes Backward and
// Tangent.
type MaxPool2D[T Float] struct {
	geom window

	x           *Mat[T]
	arg         []int32 // per output element, the index of its maximum within the sample's input row
	y, dx, tang *Mat[T]
}

// NewMaxPool2D returns torch.nn.MaxPool2d(kernel, stride, pad) on in = [C H W].
// PyTorch requires pad ≤ kernel/2, and so does this.
func NewMaxPool2D[T Float](in Shape, kernel, stride, pad int) (*MaxPool2D[T], error) {
	g, err := newWindow("maxpool2d", in, kernel, stride, pad)
	if err != nil {
		return nil, err
	}
	if err := checkPoolPad("maxpool2d", kernel, pad); err != nil {
		return nil, err
	}
	return &MaxPool2D[T]{geom: g}, nil
}

func (m *MaxPool2D[T]) Kind() string        { return "maxpool2d" }
func (m *MaxPool2D[T]) InShape() Shape      { return Shape{m.geom.C, m.geom.H, m.geom.W} }
func (m *MaxPool2D[T]) OutShape() Shape     { return Shape{m.geom.C, m.geom.OutH, m.geom.OutW} }
func (m *MaxPool2D[T]) Params() []*Param[T] { return nil }

func (m *MaxPool2D[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("maxpool2d", x, m.InShape())
	m.x = x
	g := &m.geom
	out := g.C * g.outArea()
	m.y = reuse(m.y, x.Rows, out)
	if cap(m.arg) < x.Rows*out {
		m.arg = make([]int32, x.Rows*out)
	}
	m.arg = m.arg[:x.Rows*out]
	parallelFor(x.Rows, out*g.Kernel*g.Kernel, func(a, b int) {
		var ps planeScratch
		for r := a; r < b; r++ {
			maxPoolSample(g, x.Row(r), m.y.Row(r), m.arg[r*out:(r+1)*out], &ps)
		}
	})
	return m.y
}

// planeScratch holds the interior windows of one float32 plane
// (maxPoolSample's single simd.MaxPool3Row32 call per plane).
type planeScratch struct {
	y   []float32
	arg []int32
	// pad is a plane with a border of −∞ (maxPoolPadded32), its interior
	// rewritten per plane.
	pad    []float32
	padLen int
}

// maxPoolSample pools one sample: y[o] is the maximum of the window of output
// o and arg[o] its index in x, the first in scan order on ties (a later value
// replaces the running maximum only when strictly greater). Windows of a 3×3
// kernel that lie wholly inside the image go through max3x3, an unrolled
// form of the same scan, or for float32 at stride 1 through one
// simd.MaxPool3Row32 call per plane over the contiguous run of their
// top-left corners (the windows in between, which wrap around a row, are
// computed into ps and dropped); the rest through the general loop.
func maxPoolSample[T Float](g *window, x, y []T, arg []int32, ps *planeScratch) {
	k, s, p := g.Kernel, g.Stride, g.Pad
	if x32, ok := any(x).([]float32); ok && k == 3 && s == 1 && p == 1 && simd.AllFinite32(x32) {
		maxPoolPadded32(g, x32, any(y).([]float32), arg, ps)
		return
	}
	// Output rows and columns whose windows need no clipping.
	ilo, ihi := interiorSpan(g.H, g.OutH, k, s, p)
	jlo, jhi := interiorSpan(g.W, g.OutW, k, s, p)
	x32, plane32 := any(x).([]float32)
	plane32 = plane32 && k == 3 && s == 1 && ilo < ihi && jlo < jhi
	span := 0 // windows from the first interior one to the last
	if plane32 {
		span = (ihi-1-ilo)*g.W + jhi - jlo
		if cap(ps.y) < span {
			ps.y, ps.arg = make([]float32, span), make([]int32, span)
		}
		ps.y, ps.arg = ps.y[:span], ps.arg[:span]
	}
	o := 0
	for c := 0; c < g.C; c++ {
		base := c * g.H * g.W
		if plane32 {
			simd.MaxPool3Row32(x32, g.W, base+(ilo-p)*g.W+jlo-p, ps.y, ps.arg)
		}
		for oi := 0; oi < g.OutH; oi++ {
			i0, i1 := max(0, oi*s-p), min(g.H, oi*s-p+k)
			fast := k == 3 && oi >= ilo && oi < ihi
			for oj := 0; oj < g.OutW; oj++ {
				if fast && oj >= jlo && oj < jhi {
					// Jump over the interior columns of this row at once.
					at := base + i0*g.W + oj*s - p
					if plane32 {
						n, t := jhi-oj, (oi-ilo)*g.W
						copy(any(y).([]float32)[o:o+n], ps.y[t:t+n])
						copy(arg[o:o+n], ps.arg[t:t+n])
						o += n
						oj = jhi - 1
						continue
					}
					for ; oj < jhi; oj++ {
						y[o], arg[o] = max3x3(x, at, g.W)
						at += s
						o++
					}
					oj--
					continue
				}
				j0, j1 := max(0, oj*s-p), min(g.W, oj*s-p+k)
				best, at := T(math.Inf(-1)), -1
				for i := i0; i < i1; i++ {
					row := base + i*g.W
					for j := j0; j < j1; j++ {
						if v := x[row+j]; v > best || at < 0 {
							best, at = v, row+j
						}
					}
				}
				y[o], arg[o] = best, int32(at)
				o++
			}
		}
	}
}

// maxPoolPadded32 is maxPoolSample for float32, 3×3, stride 1, padding 1
// (Model d's pool): each plane is copied into ps.pad inside a border of −∞,
// where every window lies inside, so one simd.MaxPool3Row32 call covers all
// of the plane's windows (those that wrap around a row are dropped). x must
// be finite: a NaN first among a window's values must win, as in the scan,
// but behind the border's −∞ it loses.
func maxPoolPadded32(g *window, x, y []float32, arg []int32, ps *planeScratch) {
	H, W := g.H, g.W
	W2 := W + 2
	size := (H + 2) * W2
	if ps.padLen != size {
		ps.pad = make([]float32, size)
		for i := range ps.pad {
			ps.pad[i] = float32(math.Inf(-1))
		}
		ps.padLen = size
	}
	span := (H-1)*W2 + W // top-left corners (0, 0) … (H−1, W−1) of the padded plane
	if cap(ps.y) < span {
		ps.y, ps.arg = make([]float32, span), make([]int32, span)
	}
	py, parg := ps.y[:span], ps.arg[:span]
	pad := ps.pad
	for c := 0; c < g.C; c++ {
		base := c * H * W
		for i := 0; i < H; i++ {
			copy(pad[(i+1)*W2+1:][:W], x[base+i*W:][:W])
		}
		simd.MaxPool3Row32(pad, W2, 0, py, parg)
		for oi := 0; oi < H; oi++ {
			yo, ao := y[base+oi*W:][:W], arg[base+oi*W:][:W]
			t0 := oi * W2
			wy, wa := py[t0:][:W], parg[t0:][:W]
			copy(yo, wy)
			// The window's top-left element in x is (oi − 1, oj − 1).
			corner := base + (oi-1)*W - 1
			simd.Unpad3Args32(ao, wa, int32(t0), int32(corner-t0), int32(W2))
		}
	}
}

// interiorSpan returns the outputs [lo, hi) whose window [o·s − p, o·s − p + k)
// lies inside [0, size); lo ≤ hi.
func interiorSpan(size, outSize, k, s, p int) (lo, hi int) {
	lo = (p + s - 1) / s // o·s ≥ p
	if top := size - k + p; top >= 0 {
		hi = min(outSize, top/s+1) // o·s − p + k ≤ size
	}
	lo = min(lo, outSize)
	return lo, max(lo, hi)
}

// max3x3 is the scan of maxPoolSample over the 3×3 window whose top-left
// element is x[at] (row length w), unrolled: the maximum and its index,
// first in scan order on ties.
func max3x3[T Float](x []T, at, w int) (T, int32) {
	r0, r1, r2 := x[at:at+3:at+3], x[at+w:at+w+3:at+w+3], x[at+2*w:at+2*w+3:at+2*w+3]
	best, k := r0[0], 0
	if r0[1] > best {
		best, k = r0[1], 1
	}
	if r0[2] > best {
		best, k = r0[2], 2
	}
	if r1[0] > best {
		best, k = r1[0], w
	}
	if r1[1] > best {
		best, k = r1[1], w+1
	}
	if r1[2] > best {
		best, k = r1[2], w+2
	}
	if r2[0] > best {
		best, k = r2[0], 2*w
	}
	if r2[1] > best {
		best, k = r2[1], 2*w+1
	}
	if r2[2] > best {
		best, k = r2[2], 2*w+2
	}
	return best, int32(at + k)
}

func (m *MaxPool2D[T]) Backward(dy *Mat[T]) *Mat[T] {
	out := dy.Cols
	m.dx = reuse(m.dx, dy.Rows, m.geom.inSize())
	rep := 1
	if m.x.Rows > 0 && dy.Rows > m.x.Rows {
		rep = dy.Rows / m.x.Rows // rep rows of dy per row of x (broadcast.go)
	}
	elementwise(dy.Rows, out, func(a, b int) {
		for r := a; r < b; r++ {
			dxr := m.dx.Row(r)
			clear(dxr)
			i := r / rep
			for o, at := range m.arg[i*out : (i+1)*out] {
				dxr[at] += dy.Data[r*out+o]
			}
		}
	})
	return m.dx
}

func (m *MaxPool2D[T]) Tangent(dx *Mat[T]) *Mat[T] {
	n := m.x.Rows
	out := m.geom.C * m.geom.outArea()
	m.tang = reuse(m.tang, n, out)
	if dx == nil {
		m.tang.Zero()
		return m.tang
	}
	for r := 0; r < n; r++ {
		dxr, tr := dx.Row(r), m.tang.Row(r)
		for o, at := range m.arg[r*out : (r+1)*out] {
			tr[o] = dxr[at]
		}
	}
	return m.tang
}

func (m *MaxPool2D[T]) PerSampleGrad(*Mat[T], int) {}
func (m *MaxPool2D[T]) AddGram([]T, int, int)      {}

// AvgPool2D is PyTorch's AvgPool2d with count_include_pad=True and ceil_mode
// off: every output is the window sum divided by kernel², zero padding included.
type AvgPool2D[T Float] struct {
	geom window

	x           *Mat[T]
	y, dx, tang *Mat[T]
}

// NewAvgPool2D returns torch.nn.AvgPool2d(kernel, stride, pad) on in = [C H W]
// (pad ≤ kernel/2, as PyTorch requires).
func NewAvgPool2D[T Float](in Shape, kernel, stride, pad int) (*AvgPool2D[T], error) {
	g, err := newWindow("avgpool2d", in, kernel, stride, pad)
	if err != nil {
		return nil, err
	}
	if err := checkPoolPad("avgpool2d", kernel, pad); err != nil {
		return nil, err
	}
	return &AvgPool2D[T]{geom: g}, nil
}

func (a *AvgPool2D[T]) Kind() string        { return "avgpool2d" }
func (a *AvgPool2D[T]) InShape() Shape      { return Shape{a.geom.C, a.geom.H, a.geom.W} }
func (a *AvgPool2D[T]) OutShape() Shape     { return Shape{a.geom.C, a.geom.OutH, a.geom.OutW} }
func (a *AvgPool2D[T]) Params() []*Param[T] { return nil }

// avgPool writes the pooled x into y (linear, so Forward and Tangent share it).
func (a *AvgPool2D[T]) avgPool(x, y *Mat[T]) {
	g := &a.geom
	k, s, p := g.Kernel, g.Stride, g.Pad
	scale := 1 / T(k*k)
	elementwise(x.Rows, g.C*g.outArea()*k*k, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x.Row(r), y.Row(r)
			o := 0
			for c := 0; c < g.C; c++ {
				plane := xr[c*g.H*g.W:]
				for oi := 0; oi < g.OutH; oi++ {
					i0, i1 := max(0, oi*s-p), min(g.H, oi*s-p+k)
					for oj := 0; oj < g.OutW; oj++ {
						j0, j1 := max(0, oj*s-p), min(g.W, oj*s-p+k)
						var sum T
						for i := i0; i < i1; i++ {
							for _, v := range plane[i*g.W+j0 : i*g.W+j1] {
								sum += v
							}
						}
						yr[o] = sum * scale
						o++
					}
				}
			}
		}
	})
}

func (a *AvgPool2D[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("avgpool2d", x, a.InShape())
	a.x = x
	a.y = reuse(a.y, x.Rows, a.geom.C*a.geom.outArea())
	a.avgPool(x, a.y)
	return a.y
}

func (a *AvgPool2D[T]) Backward(dy *Mat[T]) *Mat[T] {
	g := &a.geom
	k, s, p := g.Kernel, g.Stride, g.Pad
	scale := 1 / T(k*k)
	a.dx = reuse(a.dx, dy.Rows, g.inSize())
	elementwise(dy.Rows, dy.Cols*k*k, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dxr, dyr := a.dx.Row(r), dy.Row(r)
			clear(dxr)
			o := 0
			for c := 0; c < g.C; c++ {
				plane := dxr[c*g.H*g.W:]
				for oi := 0; oi < g.OutH; oi++ {
					i0, i1 := max(0, oi*s-p), min(g.H, oi*s-p+k)
					for oj := 0; oj < g.OutW; oj++ {
						j0, j1 := max(0, oj*s-p), min(g.W, oj*s-p+k)
						v := dyr[o] * scale
						o++
						for i := i0; i < i1; i++ {
							seg := plane[i*g.W+j0 : i*g.W+j1]
							for j := range seg {
								seg[j] += v
							}
						}
					}
				}
			}
		}
	})
	return a.dx
}

func (a *AvgPool2D[T]) Tangent(dx *Mat[T]) *Mat[T] {
	a.tang = reuse(a.tang, a.x.Rows, a.geom.C*a.geom.outArea())
	if dx == nil {
		a.tang.Zero()
		return a.tang
	}
	a.avgPool(dx, a.tang)
	return a.tang
}

func (a *AvgPool2D[T]) PerSampleGrad(*Mat[T], int) {}
func (a *AvgPool2D[T]) AddGram([]T, int, int)      {}

// GlobalAvgPool averages each channel of a [C H W] input over H×W, giving [C]
// (Model d's final 7×7 average pool, THEORY §5).
type GlobalAvgPool[T Float] struct {
	C, H, W int
	Area    int // H·W

	x           *Mat[T]
	y, dx, tang *Mat[T]
}

// NewGlobalAvgPool returns the global average pool on in = [C H W].
func NewGlobalAvgPool[T Float](in Shape) (*GlobalAvgPool[T], error) {
	if len(in) != 3 || in[0] <= 0 || in[1] <= 0 || in[2] <= 0 {
		return nil, fmt.Errorf("nn: globalavgpool: input shape %v, want [C H W] with positive sizes", in)
	}
	return &GlobalAvgPool[T]{C: in[0], H: in[1], W: in[2], Area: in[1] * in[2]}, nil
}

func (a *GlobalAvgPool[T]) Kind() string        { return "globalavgpool" }
func (a *GlobalAvgPool[T]) InShape() Shape      { return Shape{a.C, a.H, a.W} }
func (a *GlobalAvgPool[T]) OutShape() Shape     { return Shape{a.C} }
func (a *GlobalAvgPool[T]) Params() []*Param[T] { return nil }

func (a *GlobalAvgPool[T]) mean(x, y *Mat[T]) {
	scale := 1 / T(a.Area)
	for r := 0; r < x.Rows; r++ {
		xr, yr := x.Row(r), y.Row(r)
		for c := range yr {
			var s T
			for _, v := range xr[c*a.Area : (c+1)*a.Area] {
				s += v
			}
			yr[c] = s * scale
		}
	}
}

func (a *GlobalAvgPool[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("globalavgpool", x, a.InShape())
	a.x = x
	a.y = reuse(a.y, x.Rows, a.C)
	a.mean(x, a.y)
	return a.y
}

func (a *GlobalAvgPool[T]) Backward(dy *Mat[T]) *Mat[T] {
	a.dx = reuse(a.dx, dy.Rows, a.C*a.Area)
	scale := 1 / T(a.Area)
	for r := 0; r < dy.Rows; r++ {
		dxr := a.dx.Row(r)
		for c, g := range dy.Row(r) {
			v := g * scale
			seg := dxr[c*a.Area : (c+1)*a.Area]
			for i := range seg {
				seg[i] = v
			}
		}
	}
	return a.dx
}

func (a *GlobalAvgPool[T]) Tangent(dx *Mat[T]) *Mat[T] {
	a.tang = reuse(a.tang, a.x.Rows, a.C)
	if dx == nil {
		a.tang.Zero()
		return a.tang
	}
	a.mean(dx, a.tang)
	return a.tang
}

func (a *GlobalAvgPool[T]) PerSampleGrad(*Mat[T], int) {}
func (a *GlobalAvgPool[T]) AddGram([]T, int, int)      {}
