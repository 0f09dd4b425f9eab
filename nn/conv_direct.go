package nn

import (
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/conv"
	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// convDirect routes float32 Conv2D through the indirect products of package
// conv when its assembly tiles run on this CPU (a variable so tests can
// force the Go twins through the same path).
var convDirect = conv.Accelerated()

// padGrid is a zero-padded, polyphase-split copy of a [C H W] image for a
// k×k window of stride s and padding p, laid out so that a convolution is
// an indirect product (conv.Gemm, conv.Dot): the plane of channel c and
// phase (pi, pj) holds xpad[s·a + pi, s·b + pj] at a·Wa + b, so tap (ki, kj)
// of output (oi, oj) is at offset offs[(c·k + ki)·k + kj] + oi·Wa + oj.
// Outputs are computed on a grid of OutH rows of Wa columns (the columns
// from OutW on are discarded), N = OutH·Wa of them, rounded up to Nr.
type padGrid struct {
	g         window
	Ha, Wa, P int // phase plane rows, columns, size
	N, Nr     int
	size      int // elements per sample, offsets' reach included
	offs      []int32
}

func newPadGrid(g window) padGrid {
	k, s := g.Kernel, g.Stride
	Hp, Wp := g.H+2*g.Pad, g.W+2*g.Pad
	pg := padGrid{g: g, Ha: (Hp + s - 1) / s, Wa: (Wp + s - 1) / s}
	pg.P = pg.Ha * pg.Wa
	pg.N = g.OutH * pg.Wa
	pg.Nr = (pg.N + 15) &^ 15
	pg.offs = make([]int32, g.C*k*k)
	reach := 0
	for c := 0; c < g.C; c++ {
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				o := ((c*s+ki%s)*s+kj%s)*pg.P + (ki/s)*pg.Wa + kj/s
				pg.offs[(c*k+ki)*k+kj] = int32(o)
				reach = max(reach, o+pg.Nr)
			}
		}
	}
	pg.size = (max(g.C*s*s*pg.P, reach) + 15) &^ 15
	return pg
}

// fill writes the image x into dst (pg.size elements), whose padding is
// zero and stays so: only the positions of x are written.
func (pg *padGrid) fill(x, dst []float32) {
	g := &pg.g
	s, p := g.Stride, g.Pad
	for c := 0; c < g.C; c++ {
		for i := 0; i < g.H; i++ {
			src := x[(c*g.H+i)*g.W:][:g.W]
			pi, a := (i+p)%s, (i+p)/s
			if s == 1 {
				copy(dst[c*pg.P+a*pg.Wa+p:][:g.W], src)
				continue
			}
			for pj := 0; pj < s; pj++ {
				j0 := ((pj-p)%s + s) % s // first j with (j + p) mod s = pj
				row := dst[((c*s+pi)*s+pj)*pg.P+a*pg.Wa:]
				for j := j0; j < g.W; j += s {
					row[(j+p)/s] = src[j]
				}
			}
		}
	}
}

// compact copies the grid outputs (m rows of pg.Nr) into y, m channels of
// OutH×OutW, adding bias[o] to channel o when bias is non-nil.
func (pg *padGrid) compact(grid, y []float32, m int, bias []float32) {
	g := &pg.g
	for o := 0; o < m; o++ {
		for oi := 0; oi < g.OutH; oi++ {
			src := grid[o*pg.Nr+oi*pg.Wa:][:g.OutW]
			dst := y[(o*g.OutH+oi)*g.OutW:][:g.OutW]
			if bias == nil {
				copy(dst, src)
				continue
			}
			b := bias[o]
			for j, v := range src {
				dst[j] = v + b
			}
		}
	}
}

// spread is the adjoint layout of compact: the m channels of y (OutH×OutW)
// onto the grid, whose columns off the image keep their zeros.
func (pg *padGrid) spread(y, grid []float32, m int) {
	g := &pg.g
	for o := 0; o < m; o++ {
		for oi := 0; oi < g.OutH; oi++ {
			copy(grid[o*pg.Nr+oi*pg.Wa:][:g.OutW], y[(o*g.OutH+oi)*g.OutW:][:g.OutW])
		}
	}
}

// directState is the scratch of a float32 Conv2D on the direct path.
type directState struct {
	fwd  padGrid   // the input image's grid
	xp   []float32 // fwd grids of the last Forward's batch, fwd.size per sample
	xpOK bool      // xp holds the grids of the last Forward's input
	// Input gradient of a stride-1 conv: the correlation of dy, padded by
	// k−1−p, with the flipped, transposed weight wt (C × OutC·k·k); bwd.Nr
	// is 0 where the input gradient takes the im2col path.
	bwd   padGrid
	wt    []float32
	dyg   []float32 // dy on the fwd grid, OutC·fwd.Nr per sample (zeros off the image)
	work  []directWork
	parts []float32
}

// directWork is one goroutine's scratch: the product's grid, conv.Gemm's
// packing and (input gradient) the padded dy.
type directWork struct{ grid, pack, dyp []float32 }

func grow(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}

// useDirect returns d as a float32 conv when it runs on the direct path.
func useDirect[T Float](d *Conv2D[T]) (*Conv2D[float32], bool) {
	if !convDirect {
		return nil, false
	}
	dc, ok := any(d).(*Conv2D[float32])
	return dc, ok
}

func dirState(d *Conv2D[float32]) *directState {
	if d.dir != nil {
		return d.dir
	}
	st := &directState{fwd: newPadGrid(d.geom)}
	g := d.geom
	if g.Stride == 1 && g.Pad <= g.Kernel-1 {
		bg, err := newWindow("conv2d", Shape{d.OutC, g.OutH, g.OutW}, g.Kernel, 1, g.Kernel-1-g.Pad)
		if err == nil && bg.OutH == g.H && bg.OutW == g.W {
			st.bwd = newPadGrid(bg)
		}
	}
	d.dir = st
	return st
}

// split runs f(w, lo, hi) over contiguous runs of [0, n), one per worker
// (GOMAXPROCS of them when n·cost is worth it). Every item's result is
// computed the same way whatever the split.
func (st *directState) split(n, cost int, f func(w, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*cost < minParallelWork {
		workers = 1
	}
	for len(st.work) < workers {
		st.work = append(st.work, directWork{})
	}
	if workers == 1 {
		f(0, 0, n)
		return
	}
	parallel.Run(workers, func(w int) { f(w, w*n/workers, (w+1)*n/workers) })
}

// forwardDirect is Forward on the direct path: per sample, the padded grid
// of x (kept for the weight gradient), one conv.Gemm with the weight and the
// compaction of the grid into y with the bias.
func forwardDirect(d *Conv2D[float32], x *Mat[float32]) {
	st := dirState(d)
	pg := &st.fwd
	n, K := x.Rows, d.patch()
	d.y = reuse(d.y, n, d.OutC*d.geom.outArea())
	st.xp = grow(st.xp, n*pg.size)
	st.xpOK = true
	var bias []float32
	if d.Bias != nil {
		bias = d.Bias.Value
	}
	st.split(n, d.OutC*K*pg.Nr, func(w, lo, hi int) {
		buf := &st.work[w]
		buf.grid = grow(buf.grid, d.OutC*pg.Nr)
		buf.pack = grow(buf.pack, d.OutC*K)
		for s := lo; s < hi; s++ {
			xp := st.xp[s*pg.size:][:pg.size]
			pg.fill(x.Row(s), xp)
			conv.Gemm(d.OutC, pg.Nr, K, d.Weight.Value, pg.offs, xp, buf.grid, pg.Nr, buf.pack)
			pg.compact(buf.grid, d.y.Row(s), d.OutC, bias)
		}
	})
}

// backwardDirect is backward on the direct path. The weight gradient of a
// group of consecutive samples is one conv.Dot of dy (on the grid) with the
// grids of x; as in backward, the batch is cut into min(n, convGradGroups)
// groups fixed by the batch size and their gradients are added in group
// order. The input gradient of a stride-1 conv is, per sample, one
// conv.Gemm of the flipped weight with the padded dy; other strides take
// backwardChunks without the weight gradient.
func backwardDirect(d *Conv2D[float32], dy *Mat[float32], wantDx, grads bool) {
	d.dy = dy
	st := dirState(d)
	pg, bg := &st.fwd, &st.bwd
	n, K, C := dy.Rows, d.patch(), d.geom.C
	dxDirect := wantDx && bg.Nr > 0
	if wantDx {
		d.dx = reuse(d.dx, n, d.geom.inSize())
	}
	if grads && !st.xpOK {
		st.xp = grow(st.xp, n*pg.size)
		st.split(n, pg.size, func(_, lo, hi int) {
			for s := lo; s < hi; s++ {
				pg.fill(d.x.Row(s), st.xp[s*pg.size:][:pg.size])
			}
		})
		st.xpOK = true
	}
	k := d.geom.Kernel
	KB := d.OutC * k * k
	if dxDirect {
		st.wt = grow(st.wt, C*KB)
		w := d.Weight.Value
		for o := 0; o < d.OutC; o++ {
			for c := 0; c < C; c++ {
				for u := 0; u < k; u++ {
					for v := 0; v < k; v++ {
						st.wt[c*KB+(o*k+u)*k+v] = w[((o*C+c)*k+k-1-u)*k+k-1-v]
					}
				}
			}
		}
	}
	groups := min(n, convGradGroups)
	nw, nb := d.OutC*K, 0
	if d.Bias != nil {
		nb = d.OutC
	}
	if grads {
		st.parts = grow(st.parts, groups*(nw+nb))
		clear(st.parts)
		st.dyg = grow(st.dyg, n*d.OutC*pg.Nr)
	}
	L, stride := d.geom.outArea(), d.OutC*pg.Nr
	cost := (d.OutC*K*pg.Nr*2 + 1) * n / groups
	st.split(groups, cost, func(w, g0, g1 int) {
		buf := &st.work[w]
		if dxDirect {
			buf.grid = grow(buf.grid, C*bg.Nr)
			buf.pack = grow(buf.pack, C*KB)
			if len(buf.dyp) != bg.size {
				buf.dyp = make([]float32, bg.size)
			}
		}
		for g := g0; g < g1; g++ {
			lo, hi := g*n/groups, (g+1)*n/groups
			for s := lo; s < hi; s++ {
				dr := dy.Row(s)
				if grads {
					pg.spread(dr, st.dyg[s*stride:][:stride], d.OutC)
				}
				if dxDirect {
					bg.fill(dr, buf.dyp)
					conv.Gemm(C, bg.Nr, KB, st.wt, bg.offs, buf.dyp, buf.grid, bg.Nr, buf.pack)
					bg.compact(buf.grid, d.dx.Row(s), C, nil)
				}
			}
			if !grads {
				continue
			}
			part := st.parts[g*(nw+nb) : (g+1)*(nw+nb)]
			conv.Dot(d.OutC, K, pg.Nr, hi-lo, st.dyg[lo*stride:], pg.Nr, stride, pg.offs, st.xp[lo*pg.size:], pg.size, part[:nw], K)
			for s := lo; s < hi && nb > 0; s++ {
				dr := dy.Row(s)
				for o := 0; o < d.OutC; o++ {
					var sum float32
					for _, v := range dr[o*L : (o+1)*L] {
						sum += v
					}
					part[nw+o] += sum
				}
			}
		}
	})
	if grads {
		for g := 0; g < groups; g++ {
			part := st.parts[g*(nw+nb) : (g+1)*(nw+nb)]
			addTo(d.Weight.Grad, part[:nw])
			if nb > 0 {
				addTo(d.Bias.Grad, part[nw:])
			}
		}
	}
	if wantDx && !dxDirect {
		d.backwardIm2col(dy, true, false)
	}
}
