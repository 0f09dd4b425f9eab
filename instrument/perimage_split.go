package instrument

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenchel-ml/fenchel/internal/cputime"
	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/nn"
)

// The seed-split pass computes H_a = J Jᵀ for a model whose forward pass
// costs many multiply-adds per parameter (convolutions) on two models of the
// same weights at once: side A backpropagates the seeds e_0 … e_{kA−1} on
// one, side B the seeds e_kA … e_{K−1} on the other, each from its own
// forward pass of x_a. THEORY §6 splits H by parameter layer,
// H = Σ_l (Δ_l Δ_lᵀ) ∘ (…), where row k of Δ_l is the sensitivity of layer
// l's output to logit k: once both sides are past layer l, its K×K term is
// one task, taken by whichever side is ahead of the other (or has finished
// its pass), on side B's layer with the K rows of Δ_l gathered from both.
// The terms are summed in a fixed order, so H_a does not depend on which
// side computed which term, nor on GOMAXPROCS; with one model the two sides
// run one after the other with the same values.
//
// Splitting the work at the seeds makes it two long independent runs
// instead of many short fork-joins inside every layer: on a VM a goroutine
// handed to an idle core can wait ~0.1 ms before it starts.

// splitLayers reports whether the seed-split pass can walk l: Sequential and
// Residual containers of nn's other layers (nn.BackwardOnDistinctRows: each
// side forwards x_a once and backpropagates its seeds on those activations;
// a Dense or Conv2D layer's BackwardDeltas only records dy and computes
// dL/dx).
func splitLayers(l nn.Layer[float64]) bool {
	switch l := l.(type) {
	case *nn.Residual[float64]:
		return splitLayers(l.Body) && (l.Shortcut == nil || splitLayers(l.Shortcut))
	case nn.Chain[float64]:
		for _, c := range l.Chain() {
			if !splitLayers(c) {
				return false
			}
		}
		return true
	case nn.Branches[float64]:
		return false // a container whose backward pass is not known here
	}
	return nn.BackwardOnDistinctRows(l)
}

// paramLayers appends the layers of l with parameters in the order the
// backward pass meets them (a chain from its last layer, a residual block's
// body before its shortcut).
func paramLayers(dst []nn.Layer[float64], l nn.Layer[float64]) []nn.Layer[float64] {
	switch l := l.(type) {
	case *nn.Residual[float64]:
		dst = paramLayers(dst, l.Body)
		if l.Skip && l.Shortcut != nil {
			dst = paramLayers(dst, l.Shortcut)
		}
		return dst
	case nn.Chain[float64]:
		c := l.Chain()
		for i := len(c) - 1; i >= 0; i-- {
			dst = paramLayers(dst, c[i])
		}
		return dst
	}
	if hasParams(l) {
		dst = append(dst, l)
	}
	return dst
}

// hasParams is len(l.Params()) > 0 without the slice Dense and Conv2D build
// per call.
func hasParams(l nn.Layer[float64]) bool {
	switch l.(type) {
	case *nn.Dense[float64], *nn.Conv2D[float64]:
		return true
	}
	return len(l.Params()) > 0
}

// sameLayers reports whether a and b have parameter layers of the same
// kinds and output sizes in the same order, so that layer l of one is layer
// l of the other.
func sameLayers(a, b nn.Layer[float64]) bool {
	la, lb := paramLayers(nil, a), paramLayers(nil, b)
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		if la[i].Kind() != lb[i].Kind() || la[i].OutShape().Size() != lb[i].OutShape().Size() {
			return false
		}
	}
	return true
}

// seedSide is one side of the split: its model, x_a, its seeds (rows off …
// off+rows−1 of the K×K identity) and the sums of its residual blocks' input
// gradients where the body's dL/dx buffer cannot hold them.
type seedSide struct {
	m         nn.Layer[float64]
	x, seed   *nn.Mat[float64]
	off, rows int
	sums      []*nn.Mat[float64]
	nsum      int // sums used in this pass
	done      atomic.Int32
	other     *seedSide
}

// newSeedSide returns the side for seeds off … off+rows−1 of K on inputs xa.
func newSeedSide(xa *nn.Mat[float64], K, off, rows int) *seedSide {
	s := &seedSide{x: xa, seed: nn.NewMat[float64](rows, K), off: off, rows: rows}
	for r := 0; r < rows; r++ {
		s.seed.Row(r)[off+r] = 1
	}
	return s
}

// seedSplit holds the per-layer state of the split pass over a model's
// parameter layers (paramLayers order).
type seedSplit struct {
	K      int
	a, b   *seedSide
	layers []nn.Layer[float64] // side B's parameter layers, on which the terms are computed
	deltas []*nn.Mat[float64]  // Δ_l, K rows: side A's rows then side B's
	terms  [][]float64         // layer l's K×K term (upper triangle)
	past   []atomic.Int32      // sides past layer l
	tasks  chan int
	queued atomic.Int32
	// claimB is taken by whichever goroutine runs side B's pass: its own,
	// or side A's once done with its pass if side B's has not started.
	claimB atomic.Bool
	startB func() // tests: called first on side B's goroutine
	// pairA and pairB are the last two models checked by sameLayers.
	pairA, pairB nn.Layer[float64]
	pairSame     bool
	// sideCPU, when set (benchmarks), receives the CPU time of each side's
	// goroutine, locked to its thread for the pass (cputime.Thread).
	sideCPU func(a, b time.Duration)
}

// newSeedSplit prepares the split of K seeds for inputs xa: side A takes
// max(1, ⌊3K/10⌋) seeds, fewer than half since it also runs the pass on
// x_b and each pass has a part that does not shrink with its seeds (on
// Model d, 3 of 10 gave each side's thread about the same CPU time).
func newSeedSplit(xa *nn.Mat[float64], K int) *seedSplit {
	kA := max(1, 3*K/10)
	s := &seedSplit{K: K, a: newSeedSide(xa, K, 0, kA), b: newSeedSide(xa, K, kA, K-kA)}
	s.a.other, s.b.other = s.b, s.a
	return s
}

// prepare sizes the per-layer state for side B's model mb.
func (s *seedSplit) prepare(mb nn.Layer[float64]) {
	s.layers = paramLayers(s.layers[:0], mb)
	n := len(s.layers)
	if len(s.terms) != n {
		s.terms = make([][]float64, n)
		s.deltas = make([]*nn.Mat[float64], n)
		s.past = make([]atomic.Int32, n)
	}
	for l, ly := range s.layers {
		if s.terms[l] == nil {
			s.terms[l] = make([]float64, s.K*s.K)
		}
		cols := ly.OutShape().Size()
		if d := s.deltas[l]; d == nil || d.Cols != cols {
			s.deltas[l] = nn.NewMat[float64](s.K, cols)
		}
		s.past[l].Store(0)
	}
	s.tasks = make(chan int, n)
	s.queued.Store(0)
	s.a.done.Store(0)
	s.b.done.Store(0)
	s.claimB.Store(false)
}

// run computes every layer's term for the sides' models ma and mb (the
// same model: one side after the other, on the calling goroutine). Side A
// first calls xb, which may run a forward pass on ma (the pass on x_b:
// side B, which starts later, then meets the layers first and takes the
// early terms), and then passes f(x_a), a view of ma's output, to za.
func (s *seedSplit) run(ma, mb nn.Layer[float64], za func(z []float64), xb func()) {
	if runtime.GOMAXPROCS(0) == 1 {
		mb = ma // the same values one side after the other, without goroutine switches
	}
	if ma != mb {
		if ma != s.pairA || mb != s.pairB {
			s.pairA, s.pairB, s.pairSame = ma, mb, sameLayers(ma, mb)
		}
		if !s.pairSame {
			mb = ma // a twin of another structure: one model, one side after the other
		}
	}
	s.a.m, s.b.m = ma, mb
	s.prepare(mb)
	if ma == mb {
		xb()
		za(s.a.pass(s))
		s.b.pass(s)
		s.drain()
		return
	}
	var wg sync.WaitGroup
	var cpuB time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		if s.sideCPU != nil {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := cputime.Thread()
			defer func() { cpuB = cputime.Thread() - t0 }()
		}
		if s.startB != nil {
			s.startB()
		}
		if s.claimB.CompareAndSwap(false, true) {
			s.b.pass(s)
		}
		s.drain()
	}()
	if s.sideCPU != nil {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := cputime.Thread()
		defer func() { s.sideCPU(cputime.Thread()-t0, cpuB) }()
	}
	xb()
	za(s.a.pass(s))
	if s.claimB.CompareAndSwap(false, true) {
		// Side B's goroutine has not started (no core free for it): its
		// pass runs here, on its model, with the same values.
		s.b.pass(s)
	}
	s.drain()
	wg.Wait()
}

// sum adds the terms in layer order into the upper triangle of h (K×K).
func (s *seedSplit) sum(h []float64) {
	for _, t := range s.terms {
		for i := 0; i < s.K; i++ {
			for j := i; j < s.K; j++ {
				h[i*s.K+j] += t[i*s.K+j]
			}
		}
	}
}

// drain computes queued terms until every term has been computed or taken.
func (s *seedSplit) drain() {
	for l := range s.tasks {
		s.term(l)
	}
}

// term computes layer l's term on side B's layer with all K rows of Δ_l.
func (s *seedSplit) term(l int) {
	ly := s.layers[l]
	nn.BackwardDeltas(ly, s.deltas[l], false) // records Δ_l as the layer's dy
	t := s.terms[l]
	clear(t)
	ly.AddGram(t, s.K, s.K)
}

// pass runs the side's forward pass on x_a alone and the backward pass from
// its seeds, each seed's rows of dy sharing the one row of activations
// (nn's seeded backward pass on the distinct rows, broadcast.go), and
// returns f(x_a), the model's output.
func (sd *seedSide) pass(s *seedSplit) []float64 {
	z := sd.m.Forward(sd.x).Row(0)
	sd.nsum = 0
	layer := 0
	sd.backward(s, sd.m, sd.seed, false, false, &layer)
	return z
}

// backward is BackwardDeltas over l's layers (dL/dx if wantDx), handing
// each parameter layer's dy to the split as the layer is passed. owned
// says that no one reads dy after l's backward pass, so an activation may
// write its dL/dx over it (nn.BackwardDeltasInPlace): true for the dL/dx a
// layer just returned inside a chain, false for the seeds and for the dy a
// residual block's body and shortcut share.
func (sd *seedSide) backward(s *seedSplit, l nn.Layer[float64], dy *nn.Mat[float64], wantDx, owned bool, layer *int) *nn.Mat[float64] {
	switch l := l.(type) {
	case *nn.Residual[float64]:
		if !l.Skip {
			return sd.backward(s, l.Body, dy, wantDx, owned, layer)
		}
		dxb := sd.backward(s, l.Body, dy, wantDx, false, layer)
		add := dy // identity shortcut
		if l.Shortcut != nil {
			add = sd.backward(s, l.Shortcut, dy, wantDx, false, layer)
		}
		if !wantDx {
			return nil
		}
		if &dxb.Data[0] != &dy.Data[0] && &dxb.Data[0] != &add.Data[0] {
			// dxb is the buffer of the body's first layer, read by no one
			// else: the sum goes there, one rounding per element as below.
			simd.AddRows64(dxb.Data, add.Data, 1, len(dxb.Data))
			return dxb
		}
		if sd.nsum == len(sd.sums) {
			sd.sums = append(sd.sums, &nn.Mat[float64]{})
		}
		out := sd.sums[sd.nsum]
		sd.nsum++
		if cap(out.Data) < len(dxb.Data) {
			out.Data = make([]float64, len(dxb.Data))
		}
		out.Rows, out.Cols, out.Data = dxb.Rows, dxb.Cols, out.Data[:len(dxb.Data)]
		copy(out.Data, dxb.Data)
		simd.AddRows64(out.Data, add.Data, 1, len(out.Data)) // one rounding per element
		return out
	case nn.Chain[float64]:
		c := l.Chain()
		stop := 0
		if !wantDx {
			for stop < len(c) && !hasParams(c[stop]) {
				stop++
			}
		}
		for i := len(c) - 1; i >= stop; i-- {
			dy = sd.backward(s, c[i], dy, wantDx || i > stop, owned || i < len(c)-1, layer)
		}
		if !wantDx {
			return nil
		}
		return dy
	}
	var dx *nn.Mat[float64]
	if wantDx && owned && !hasParams(l) {
		dx, _ = nn.BackwardDeltasInPlace(l, dy)
	} else {
		dx, _ = nn.BackwardDeltas(l, dy, wantDx)
	}
	if hasParams(l) {
		sd.passed(s, *layer, dy)
		*layer++
	}
	return dx
}

// passed copies the side's rows of Δ_l, queues layer l's term when both
// sides are past it, and computes one queued term while this side is ahead
// of the other.
func (sd *seedSide) passed(s *seedSplit, l int, dy *nn.Mat[float64]) {
	copy(s.deltas[l].Data[sd.off*dy.Cols:], dy.Data[:sd.rows*dy.Cols])
	if s.past[l].Add(1) == 2 {
		s.tasks <- l
		if int(s.queued.Add(1)) == len(s.layers) {
			close(s.tasks)
		}
	}
	done := sd.done.Add(1)
	if done > sd.other.done.Load() {
		select {
		case t, ok := <-s.tasks:
			if ok {
				s.term(t)
			}
		default:
		}
	}
}
