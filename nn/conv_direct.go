package nn

import (
	"math"
	"runtime"
	"sync/atomic"

	"github.com/fenchel-ml/fenchel/internal/conv"
	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/internal/simd"
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
// Outputs are computed on a grid of rows×Wa (the columns from cols on are
// discarded), N of them, rounded up to Nr; planes are tall and wide enough
// that no output inside rows×cols reads across a plane's edge.
type padGrid struct {
	g         window
	Ha, Wa, P int // phase plane rows, columns, size
	N, Nr     int
	size      int // elements per sample, offsets' reach included
	offs      []int32
}

// newPadGrid lays out g for a grid of rows×cols outputs (g.OutH×g.OutW for
// the convolution itself).
func newPadGrid(g window, rows, cols int) padGrid {
	k, s := g.Kernel, g.Stride
	Hp, Wp := g.H+2*g.Pad, g.W+2*g.Pad
	pg := padGrid{g: g, Ha: max((Hp+s-1)/s, rows+(k-1)/s), Wa: max((Wp+s-1)/s, cols+(k-1)/s)}
	pg.P = pg.Ha * pg.Wa
	pg.N = rows * pg.Wa
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
	if s == 1 {
		for c := 0; c < g.C; c++ {
			conv.Copy2D(dst[c*pg.P+p*pg.Wa+p:], pg.Wa, x[c*g.H*g.W:], g.W, g.H, g.W, nil)
		}
		return
	}
	if s == 2 {
		// Per channel and row phase pi, the rows i ≡ pi − p (mod 2) go to
		// plane rows a = (i + p)/2; their even columns to column phase
		// p mod 2, odd ones to the other, starting at column ⌊(j + p)/2⌋.
		for c := 0; c < g.C; c++ {
			for pi := 0; pi < 2; pi++ {
				i0 := (pi - p%2 + 2) % 2
				if i0 >= g.H {
					continue
				}
				base := (c*2+pi)*2*pg.P + (i0+p)/2*pg.Wa
				ev, od := dst[base+(p&1)*pg.P+p/2:], dst[base+(1-p&1)*pg.P+(p+1)/2:]
				conv.Split2(ev, od, pg.Wa, x[(c*g.H+i0)*g.W:], 2*g.W, (g.H-i0+1)/2, g.W)
			}
		}
		return
	}
	for c := 0; c < g.C; c++ {
		for i := 0; i < g.H; i++ {
			src := x[(c*g.H+i)*g.W:][:g.W]
			pi, a := (i+p)%s, (i+p)/s
			base := (c*s+pi)*s*pg.P + a*pg.Wa
			for pj := 0; pj < s; pj++ {
				j0 := ((pj-p)%s + s) % s // first j with (j + p) mod s = pj
				if j0 >= g.W {
					continue
				}
				row := dst[base+pj*pg.P+(j0+p)/s:][:(g.W-j0+s-1)/s]
				for t := range row {
					row[t] = src[j0+s*t]
				}
			}
		}
	}
}

// compact copies the grid outputs (m rows of pg.Nr) into y, m channels of
// OutH×OutW, adding bias[o] to channel o when bias is non-nil.
func (pg *padGrid) compact(grid, y []float32, m int, bias []float32) {
	g := &pg.g
	L := g.OutH * g.OutW
	for o := 0; o < m; o++ {
		var b *float32
		if bias != nil {
			b = &bias[o]
		}
		conv.Copy2D(y[o*L:], g.OutW, grid[o*pg.Nr:], pg.Wa, g.OutH, g.OutW, b)
	}
}

// spread is the adjoint layout of compact: the m channels of y (OutH×OutW)
// onto the grid, whose columns off the image keep their zeros.
func (pg *padGrid) spread(y, grid []float32, m int) {
	g := &pg.g
	L := g.OutH * g.OutW
	for o := 0; o < m; o++ {
		conv.Copy2D(grid[o*pg.Nr:], pg.Wa, y[o*L:], g.OutW, g.OutH, g.OutW, nil)
	}
}

// directState is the scratch of a float32 Conv2D on the direct path.
type directState struct {
	fwd padGrid // the input image's grid
	// dyOff: from there on, plane o of the padded dy (bwd grid) is dy on
	// the fwd grid, row stride bwd.Wa = fwd.Wa, zeros off the image, when
	// dyShared (stride 1: the layouts agree), so conv.Dot reads it.
	dyOff    int
	dyShared bool
	pack     []float32 // the weight packed by conv.Pack
	wstack   []float32 // forwardMembers' weights, stacked
	// The input gradient is computed phase by phase (dxPhase) from dy on
	// the grid bwd (stride 1, kernel ⌈k/s⌉, padding ⌈k/s⌉ − 1 − ⌊p/s⌋);
	// phases is empty where that padding would be negative and the input
	// gradient takes the im2col path.
	bwd    padGrid
	a0     int // ⌊p/s⌋: grid row a holds the input rows y with ⌊(y+p)/s⌋ = a + a0
	phases []dxPhase
	wph    []float32 // one phase's weight before packing
	work   []directWork
	parts  []float32
	// dotSamples is the number of samples per conv.Dot call (dotSpan grid
	// elements in all).
	dotSamples int
	usable     bool // the layout's offsets fit in int32
}

// dotSpan bounds the grid elements of one conv.Dot call: its tiles stream
// four rows of dy over them (32 KiB at most), which then stay in L1 for the
// next tile. Two 28×28 samples a call (2·848 columns) rather than one
// spread each tile's reduction over twice the products (conv.BenchmarkDot,
// C16_28x28: about 160 -> 210 GFLOP/s per CPU second).
var dotSpan = 2048

// dxPhase is the input gradient on the rows y ≡ ry − p and columns
// x ≡ rx − p (mod s): with Y = y + p = s·(a + a0) + ry it only receives the
// taps ki = ry + s·u (u < ku) from output row a + a0 − u, and likewise for
// columns, so it is a stride-1 correlation of the padded dy with those taps
// of the weight, flipped: weight row c, column (o·ku + u)·kv + v holds
// W[o, c, ry + s·u, rx + s·v], read from offs at dy row a + kmax − 1 − u.
// Its product covers only the grid rows a ≥ alo that hold its rows y (nr
// columns a channel, grid row alo first; offs include the shift).
type dxPhase struct {
	ry, rx, ku, kv int
	alo, nr        int
	offs           []int32
	pack           []float32
}

// directWork is one goroutine's scratch: the product's grid, the fwd grids
// of x for one sample (Forward) or a run of dotSamples (the weight
// gradient), (input gradient) the padded dy of one sample or of a run
// (dyShared), and (weight gradient otherwise) a run's dy on the fwd grid.
// xp and dyp are written only by padGrid.fill: their padding stays zero.
type directWork struct {
	grid, xp, dyg []float32
	dyp           [][]float32 // one per member of backwardMembers
	dxt           []float32   // a second member's dx of one sample
}

// padded returns *v with at least n elements, allocated zero when it has
// fewer; the caller writes it only through padGrid.fill.
func padded(v *[]float32, n int) []float32 {
	if len(*v) < n {
		*v = make([]float32, n)
	}
	return *v
}

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
	if !ok || !dirState(dc).usable {
		return nil, false
	}
	return dc, true
}

func dirState(d *Conv2D[float32]) *directState {
	if d.dir != nil {
		return d.dir
	}
	g := d.geom
	st := &directState{fwd: newPadGrid(g, g.OutH, g.OutW)}
	st.dotSamples = max(1, dotSpan/st.fwd.Nr)
	// The offsets are int32: larger images keep the im2col path.
	st.usable = st.fwd.size <= math.MaxInt32
	k, sd, p := g.Kernel, g.Stride, g.Pad
	kmax := (k + sd - 1) / sd
	st.a0 = p / sd
	if padD := kmax - 1 - st.a0; padD >= 0 {
		rows, cols := (g.H-1+p)/sd-st.a0+1, (g.W-1+p)/sd-st.a0+1
		dg := window{C: d.OutC, H: g.OutH, W: g.OutW, Kernel: kmax, Stride: 1, Pad: padD, OutH: rows, OutW: cols}
		st.bwd = newPadGrid(dg, rows, cols)
		for ry := 0; ry < sd; ry++ {
			for rx := 0; rx < sd; rx++ {
				ph := dxPhase{ry: ry, rx: rx, ku: max(0, (k-ry+sd-1)/sd), kv: max(0, (k-rx+sd-1)/sd), nr: st.bwd.Nr}
				if y0 := ((ry-p)%sd + sd) % sd; y0 < g.H {
					ph.alo = (y0+p)/sd - st.a0
					ph.nr = ((g.H-y0+sd-1)/sd*st.bwd.Wa + 15) &^ 15
				}
				for o := 0; o < d.OutC; o++ {
					for u := 0; u < ph.ku; u++ {
						for v := 0; v < ph.kv; v++ {
							off := o*st.bwd.P + (kmax-1-u+ph.alo)*st.bwd.Wa + kmax - 1 - v
							ph.offs = append(ph.offs, int32(off))
							st.bwd.size = max(st.bwd.size, (off+ph.nr+15)&^15)
						}
					}
				}
				st.phases = append(st.phases, ph)
			}
		}
		st.usable = st.usable && st.bwd.size <= math.MaxInt32
		st.dyOff = padD*st.bwd.Wa + padD
		st.dyShared = sd == 1 && st.bwd.Wa == st.fwd.Wa && st.dyOff+st.fwd.Nr <= st.bwd.P
	}
	d.dir = st
	return st
}

// scatter writes a phase's grid (nil: zeros) into its positions of dx.
func (st *directState) scatter(g *window, ph *dxPhase, grid, dx []float32) {
	s, p, bg := g.Stride, g.Pad, &st.bwd
	y0, x0 := ((ph.ry-p)%s+s)%s, ((ph.rx-p)%s+s)%s
	if x0 >= g.W {
		return
	}
	b0, a0 := (x0+p)/s-st.a0, st.a0+ph.alo
	if s == 1 && grid != nil {
		for c := 0; c < g.C; c++ {
			conv.Copy2D(dx[c*g.H*g.W:], g.W, grid[c*ph.nr+(p-a0)*bg.Wa+b0:], bg.Wa, g.H, g.W, nil)
		}
		return
	}
	for c := 0; c < g.C; c++ {
		for y := y0; y < g.H; y += s {
			dst := dx[(c*g.H+y)*g.W:][:g.W]
			if grid == nil {
				for x := x0; x < g.W; x += s {
					dst[x] = 0
				}
				continue
			}
			src := grid[c*ph.nr+((y+p)/s-a0)*bg.Wa:]
			for t, v := range src[b0:][:(g.W-x0+s-1)/s] {
				dst[x0+s*t] = v
			}
		}
	}
}

// scatter2 writes the two column phases of row phase ry of a stride-2
// conv's input gradient into dx at once: grids holds the phases rx = 0
// and rx = 1 one after the other (C·nr elements each).
func (st *directState) scatter2(g *window, ry int, grids, dx []float32) {
	p, bg := g.Pad, &st.bwd
	y0 := ((ry-p)%2 + 2) % 2
	if y0 >= g.H {
		return
	}
	// Phase rx holds the columns x ≡ rx − p (mod 2), from grid column
	// ⌊(x + p)/2⌋ − a0 on.
	// Both phases' grids start at row phases[2·ry].alo: the rows y ≡ y0.
	nr := st.phases[2*ry].nr
	ge, go_ := grids[(p%2)*g.C*nr:], grids[(1-p%2)*g.C*nr:]
	be, bo := p/2-st.a0, (1+p)/2-st.a0
	for c := 0; c < g.C; c++ {
		at := c * nr
		conv.Interleave2(dx[(c*g.H+y0)*g.W:], 2*g.W, ge[at+be:], go_[at+bo:], bg.Wa, (g.H-y0+1)/2, g.W)
	}
}

// inputGrad writes one sample's input gradient into dxr from its padded
// dy (dyp, on the bwd grid), phase by phase through grid (2·C·bwd.Nr
// elements); pairs: a stride-2 conv scattering two phases at once.
func (st *directState) inputGrad(d *Conv2D[float32], pairs bool, dyp, grid, dxr []float32) {
	C := d.geom.C
	if pairs {
		for ry := 0; ry < 2; ry++ {
			for rx := 0; rx < 2; rx++ {
				ph := &st.phases[ry*2+rx]
				conv.Gemm(C, ph.nr, d.OutC*ph.ku*ph.kv, ph.pack, ph.offs, dyp, grid[rx*C*ph.nr:], ph.nr)
			}
			st.scatter2(&d.geom, ry, grid, dxr)
		}
		return
	}
	for i := range st.phases {
		ph := &st.phases[i]
		taps := d.OutC * ph.ku * ph.kv
		if taps == 0 {
			st.scatter(&d.geom, ph, nil, dxr)
			continue
		}
		conv.Gemm(C, ph.nr, taps, ph.pack, ph.offs, dyp, grid, ph.nr)
		st.scatter(&d.geom, ph, grid, dxr)
	}
}

// split runs f(w, lo, hi) over contiguous runs of [0, n) on GOMAXPROCS
// workers (when n·cost is worth it), w the worker's index into st.work. The
// workers claim the runs in turn (as elementwise does), so one that starts
// late leaves its share to the others. Every item's result is computed the
// same way whatever the split and whichever worker computes it.
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
	runs := min(workers*elementwiseChunks, n)
	var next atomic.Int64
	parallel.Team(workers, func(w int) {
		for {
			r := int(next.Add(1) - 1)
			if r >= runs {
				return
			}
			f(w, r*n/runs, (r+1)*n/runs)
		}
	})
}

// forwardDirect is Forward on the direct path: per sample, the padded grid
// of x, one conv.Gemm with the weight and the compaction of the grid into y
// with the bias. The grids live in the worker's cache only: the weight
// gradient fills them again from x, which costs less than keeping the
// batch's grids in memory from Forward to Backward.
func forwardDirect(d *Conv2D[float32], x *Mat[float32]) {
	forwardMembers([]*Conv2D[float32]{d}, x, false, nil, nil, false)
}

// forwardMembers is forwardDirect of convolutions of one geometry on the
// same x (a residual block's first convolution and its shortcut): one grid
// of x per sample and one conv.Gemm with their weights stacked, the rows of
// ms[0] first. A row of the product does not depend on the rows beside it,
// so every y is forwardDirect's bit for bit. With relu, ms[0]'s output is
// the ReLU of it, sample by sample as reluRows computes it; with sum,
// sum = ms[0]'s output + add, sample by sample as sumInto adds them (a
// residual block's sum with its last convolution's output in cache), and
// with sumReLU the ReLU of that sum as reluRows computes it (the ReLU
// after the block).
func forwardMembers(ms []*Conv2D[float32], x *Mat[float32], relu bool, sum, add *Mat[float32], sumReLU bool) {
	d := ms[0]
	st := dirState(d)
	pg := &st.fwd
	n, K := x.Rows, d.patch()
	outC := 0
	for _, m := range ms {
		m.x, m.colsHi = x, 0
		m.y = reuse(m.y, n, m.OutC*m.geom.outArea())
		outC += m.OutC
	}
	w := d.Weight.Value
	if len(ms) > 1 {
		st.wstack = grow(st.wstack, outC*K)
		off := 0
		for _, m := range ms {
			off += copy(st.wstack[off:], m.Weight.Value[:m.OutC*K])
		}
		w = st.wstack
	}
	st.pack = grow(st.pack, conv.PackLen(outC, K))
	conv.Pack(outC, K, w, st.pack)
	st.split(n, outC*K*pg.Nr, func(wk, lo, hi int) {
		buf := &st.work[wk]
		buf.grid = grow(buf.grid, outC*pg.Nr)
		for s := lo; s < hi; s++ {
			xp := padded(&buf.xp, pg.size)
			pg.fill(x.Row(s), xp)
			conv.Gemm(outC, pg.Nr, K, st.pack, pg.offs, xp, buf.grid, pg.Nr)
			off := 0
			for _, m := range ms {
				var bias []float32
				if m.Bias != nil {
					bias = m.Bias.Value
				}
				yr := m.y.Row(s)
				pg.compact(buf.grid[off*pg.Nr:], yr, m.OutC, bias)
				if relu && off == 0 {
					reluMask(yr, yr, yr)
				}
				if sum != nil && off == 0 {
					sr := sum.Row(s)
					addInto(sr, yr, add.Row(s))
					if sumReLU {
						reluMask(sr, sr, sr)
					}
				}
				off += m.OutC
			}
		}
	})
}

// packPhases packs each input-gradient phase's flipped weight of d.
func (st *directState) packPhases(d *Conv2D[float32]) {
	C, k, sd, w := d.geom.C, d.geom.Kernel, d.geom.Stride, d.Weight.Value
	for i := range st.phases {
		ph := &st.phases[i]
		taps := d.OutC * ph.ku * ph.kv
		if taps == 0 {
			continue
		}
		st.wph = grow(st.wph, C*taps)
		for c := 0; c < C; c++ {
			for o := 0; o < d.OutC; o++ {
				for u := 0; u < ph.ku; u++ {
					for v := 0; v < ph.kv; v++ {
						st.wph[c*taps+(o*ph.ku+u)*ph.kv+v] = w[((o*C+c)*k+ph.ry+sd*u)*k+ph.rx+sd*v]
					}
				}
			}
		}
		ph.pack = grow(ph.pack, conv.PackLen(C, taps))
		conv.Pack(C, taps, st.wph, ph.pack)
	}
}

// backwardDirect is backward on the direct path. The weight gradient of a
// group of consecutive samples is one conv.Dot of dy (on the grid) with the
// grids of x; as in backward, the batch is cut into min(n, convGradGroups)
// groups fixed by the batch size and their gradients are added in group
// order. The input gradient of a stride-1 conv is, per sample, one
// conv.Gemm of the flipped weight with the padded dy; other strides take
// backwardChunks without the weight gradient.
func backwardDirect(d *Conv2D[float32], dy *Mat[float32], wantDx, grads bool) {
	if wantDx {
		d.dx = reuse(d.dx, dy.Rows, d.geom.inSize())
	}
	backwardMembers([]convMember{{d: d, dy: dy}}, d.dx, nil, wantDx, grads)
	if wantDx && len(dirState(d).phases) == 0 {
		d.backwardIm2col(dy, true, false)
	}
}

// convMember is one of the convolutions of backwardMembers and its dy.
// With mask, dy is written first, sample by sample: the ReLU's backward
// mask of src by mask (the ReLU's x), as reluRows computes it.
type convMember struct {
	d         *Conv2D[float32]
	dy        *Mat[float32]
	src, mask *Mat[float32]
}

// backwardMembers is backwardDirect of convolutions of one geometry and
// output width on the same x (forwardMembers): their weight gradients come
// from one fill of x's grids per run of samples and one conv.Dot with
// their dy stacked (a row of it does not depend on the others: each
// gradient is backwardDirect's bit for bit), and dx, when the first
// member's input gradient is computed phase by phase, is the sum of
// theirs, member by member per sample as a residual block adds them
// (dx₀ + dx₁, one rounding), then plus, when not nil, is added to it
// sample by sample (an identity shortcut's dy: dx₀ + dy as the residual
// adds them). Without phases (and then with one member and no plus) dx is
// left to the caller.
func backwardMembers(ms []convMember, dx, plus *Mat[float32], wantDx, grads bool) {
	d := ms[0].d
	st := dirState(d)
	pg, bg := &st.fwd, &st.bwd
	n, K, C := ms[0].dy.Rows, d.patch(), d.geom.C
	dxDirect := wantDx && len(st.phases) > 0
	outC, hasBias := 0, false
	for _, m := range ms {
		m.d.dy = m.dy
		outC += m.d.OutC
		hasBias = hasBias || m.d.Bias != nil
		if dxDirect {
			dirState(m.d).packPhases(m.d)
		}
	}
	// A stride-2 conv whose four phases all have taps scatters both
	// column phases of a row phase at once (scatter2).
	pairs := dxDirect && d.geom.Stride == 2
	for i := range st.phases {
		pairs = pairs && st.phases[i].ku*st.phases[i].kv > 0
	}
	groups := min(n, convGradGroups)
	nw, nb := outC*K, 0
	if hasBias {
		nb = outC
	}
	if grads {
		st.parts = grow(st.parts, groups*(nw+nb))
		clear(st.parts)
	}
	// With both gradients of a stride-1 conv, the padded dy of a run of
	// samples is also conv.Dot's dy on the grid (dyShared).
	shared := grads && dxDirect && st.dyShared && len(ms) == 1
	run := 1 // samples whose padded dy a worker holds at once
	if shared {
		run = st.dotSamples
	}
	L, stride := d.geom.outArea(), outC*pg.Nr
	cost := (outC*K*pg.Nr*2 + 1) * n / groups
	st.split(groups, cost, func(w, g0, g1 int) {
		buf := &st.work[w]
		if dxDirect {
			buf.grid = grow(buf.grid, 2*C*bg.Nr)
			for len(buf.dyp) < len(ms) {
				buf.dyp = append(buf.dyp, nil)
			}
			for i := range ms {
				if len(buf.dyp[i]) < run*bg.size {
					// Written only by bwd.fill: the padding stays zero.
					buf.dyp[i] = make([]float32, run*bg.size)
				}
			}
			if len(ms) > 1 {
				buf.dxt = grow(buf.dxt, d.geom.inSize())
			}
		}
		if grads && !shared {
			buf.dyg = grow(buf.dyg, st.dotSamples*stride)
		}
		var xp []float32
		if grads {
			xp = padded(&buf.xp, st.dotSamples*pg.size)
		}
		for g := g0; g < g1; g++ {
			lo, hi := g*n/groups, (g+1)*n/groups
			part := st.parts[g*(nw+nb) : (g+1)*(nw+nb)]
			// Runs of dotSamples samples keep a tile's rows of dy in L1
			// across the tiles of the offsets; their dy, on the grid, stays
			// in the worker's cache from the spread to conv.Dot.
			for s0 := lo; s0 < hi; s0 += st.dotSamples {
				ns := min(st.dotSamples, hi-s0)
				for s := s0; s < s0+ns; s++ {
					off := 0
					for i, m := range ms {
						dr := m.dy.Row(s)
						if m.mask != nil {
							reluMask(dr, m.src.Row(s), m.mask.Row(s))
						}
						dyp := buf.dyp
						var dyr []float32
						if dxDirect {
							dyr = dyp[i]
						}
						if shared {
							dyr = dyp[0][(s-s0)*bg.size:][:bg.size]
						} else if grads {
							pg.spread(dr, buf.dyg[(s-s0)*stride+off*pg.Nr:][:m.d.OutC*pg.Nr], m.d.OutC)
						}
						off += m.d.OutC
						if !dxDirect {
							continue
						}
						sm := dirState(m.d)
						sm.bwd.fill(dr, dyr)
						if i == 0 {
							sm.inputGrad(m.d, pairs, dyr, buf.grid, dx.Row(s))
							continue
						}
						sm.inputGrad(m.d, pairs, dyr, buf.grid, buf.dxt)
						addTo(dx.Row(s), buf.dxt)
					}
					if dxDirect && plus != nil {
						addTo(dx.Row(s), plus.Row(s))
					}
				}
				if !grads {
					continue
				}
				for s := s0; s < s0+ns; s++ {
					pg.fill(d.x.Row(s), xp[(s-s0)*pg.size:][:pg.size])
				}
				a, lda, sa := buf.dyg, pg.Nr, stride
				if shared {
					a, lda, sa = buf.dyp[0][st.dyOff:], bg.P, bg.size
				}
				conv.Dot(outC, K, pg.Nr, ns, a, lda, sa, pg.offs, xp, pg.size, part[:nw], K)
			}
			off := 0
			for _, m := range ms {
				for s := lo; s < hi && m.d.Bias != nil; s++ {
					dr := m.dy.Row(s)
					for o := 0; o < m.d.OutC; o++ {
						part[nw+off+o] += simd.Sum8(dr[o*L : (o+1)*L])
					}
				}
				off += m.d.OutC
			}
		}
	})
	if grads {
		for g := 0; g < groups; g++ {
			part := st.parts[g*(nw+nb) : (g+1)*(nw+nb)]
			off := 0
			for _, m := range ms {
				addTo(m.d.Weight.Grad, part[off*K:(off+m.d.OutC)*K])
				if m.d.Bias != nil {
					addTo(m.d.Bias.Grad, part[nw+off:nw+off+m.d.OutC])
				}
				off += m.d.OutC
			}
		}
	}
}
