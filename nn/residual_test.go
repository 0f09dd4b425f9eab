package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestResidualSumsSplit checks the residual's forward sum and backward
// fan-in on a batch large enough to be split over goroutines against the
// body's and shortcut's outputs added one element at a time, bit for bit, on
// 1, 2 and 3 goroutines, for the identity shortcut and a layer shortcut.
func TestResidualSumsSplit(t *testing.T) {
	const rows = 8
	shape := Shape{16, 28, 28} // rows·16·28·28 ≫ minParallelWork
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(7, 8))
	x := NewMat[float32](rows, shape.Size())
	dy := NewMat[float32](rows, shape.Size())
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
		dy.Data[i] = float32(rng.NormFloat64())
	}
	for _, withShortcut := range []bool{false, true} {
		// Reference: separate layers, summed by a plain loop.
		body, short := NewReLU[float32](shape), NewTanh[float32](shape)
		yb, dxb := slices.Clone(body.Forward(x).Data), slices.Clone(body.Backward(dy).Data)
		ys, dxs := x.Data, dy.Data
		if withShortcut {
			ys, dxs = short.Forward(x).Data, short.Backward(dy).Data
		}
		wantY, wantDx := make([]float32, len(yb)), make([]float32, len(dxb))
		for i := range wantY {
			wantY[i] = yb[i] + ys[i]
			wantDx[i] = dxb[i] + dxs[i]
		}
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			var shortcut Layer[float32]
			if withShortcut {
				shortcut = NewTanh[float32](shape)
			}
			r := must(NewResidual[float32](NewReLU[float32](shape), shortcut, true))
			if got := r.Forward(x).Data; !slices.Equal(got, wantY) {
				t.Errorf("shortcut %v, %d procs: Forward differs from body + shortcut", withShortcut, procs)
			}
			if got := r.Backward(dy).Data; !slices.Equal(got, wantDx) {
				t.Errorf("shortcut %v, %d procs: Backward differs from body + shortcut", withShortcut, procs)
			}
			got, _ := r.BackwardDeltas(dy, true)
			if !slices.Equal(got.Data, wantDx) {
				t.Errorf("shortcut %v, %d procs: BackwardDeltas differs from body + shortcut", withShortcut, procs)
			}
		}
	}
}

// TestAddInto checks addInto against the plain per-element sum, bit for bit,
// on lengths around its block size and the vector width, with dst a fresh
// buffer, a itself and b itself.
func TestAddInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 7, 8, 9, 2047, 2048, 2049, 5000} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		want := make([]float32, n)
		for i := range want {
			want[i] = a[i] + b[i]
		}
		for _, alias := range []string{"fresh", "a", "b"} {
			aa, bb := slices.Clone(a), slices.Clone(b)
			dst := make([]float32, n)
			switch alias {
			case "a":
				dst = aa
			case "b":
				dst = bb
			}
			addInto(dst, aa, bb)
			if !slices.Equal(dst, want) {
				t.Errorf("n %d, dst %s: addInto differs from a[i] + b[i]", n, alias)
			}
		}
	}
}

// bitDiff32 returns the first output i and element j where got and ref
// differ in their bits, and whether there is one.
func bitDiff32(got, ref [][]float32) (i, j int, diff bool) {
	for i := range ref {
		for j := range ref[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(ref[i][j]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// basicBlock32 is Model d's basic block: conv 3×3 (stride, no bias), ReLU,
// conv 3×3 (no bias), plus the identity or a conv 3×3 shortcut with bias.
func basicBlock32(in Shape, outC, stride int, identity, skip bool) *Residual[float32] {
	c1 := must(NewConv2D[float32](in, outC, 3, stride, 1, false))
	c2 := must(NewConv2D[float32](c1.OutShape(), outC, 3, 1, 1, false))
	var sc Layer[float32]
	if !identity {
		sc = must(NewConv2D[float32](in, outC, 3, stride, 1, true))
	}
	return must(NewResidual[float32](must(NewSequential[float32](c1, NewReLU[float32](c1.OutShape()), c2)), sc, skip))
}

// TestResidualConvPair runs the blocks of Model d (conv 3×3, ReLU, conv
// 3×3 plus the identity or, downsampling, a conv 3×3 stride 2 with bias),
// blocks of odd sizes and one with the skip off, with the fused paths
// (convReLU; convPair: the first convolution and the shortcut together)
// and with the layers run one by one: the output, dx, every gradient and
// the tangent must agree bit for bit, at GOMAXPROCS 1, 2 and 3, for the
// direct path's tiles and their Go twins.
func TestResidualConvPair(t *testing.T) {
	oldDirect, oldProcs, oldFused := convDirect, runtime.GOMAXPROCS(0), residualFused
	defer func() { convDirect, residualFused = oldDirect, oldFused; runtime.GOMAXPROCS(oldProcs) }()
	convDirect = true
	for ci, tc := range []struct {
		in                 Shape
		outC, stride, rows int
		identity, skip     bool
	}{
		{Shape{16, 28, 28}, 16, 1, 5, true, true},
		{Shape{16, 28, 28}, 32, 2, 9, false, true},
		{Shape{32, 14, 14}, 64, 2, 10, false, true},
		{Shape{3, 9, 11}, 4, 1, 4, false, true},
		{Shape{5, 8, 7}, 12, 2, 3, false, true},
		{Shape{5, 8, 7}, 12, 2, 3, false, false},
		{Shape{6, 7, 5}, 6, 1, 3, true, true},
	} {
		rng := rand.New(rand.NewPCG(uint64(ci), 11))
		block := func() *Residual[float32] { return basicBlock32(tc.in, tc.outC, tc.stride, tc.identity, tc.skip) }
		proto := block()
		x, dy := randomCase32(rng, proto, tc.rows)
		run := func(fused bool, procs int) [][]float32 {
			residualFused = fused
			runtime.GOMAXPROCS(procs)
			r := block()
			for i, p := range r.Params() {
				copy(p.Value, proto.Params()[i].Value)
			}
			body, _, _ := r.convReLU()
			pair, _, _ := r.convPair()
			if (body != nil) != fused || (pair != nil) != (fused && tc.skip && !tc.identity) {
				t.Fatalf("case %d fused %v: convReLU found %v, convPair %v", ci, fused, body != nil, pair != nil)
			}
			got := [][]float32{clone32(r.Forward(x).Data)}
			ZeroGrad[float32](r)
			got = append(got, clone32(r.Backward(dy).Data))
			for _, p := range r.Params() {
				got = append(got, clone32(p.Grad))
			}
			return append(got, clone32(r.Tangent(x).Data))
		}
		ref := run(false, 1)
		for _, procs := range []int{1, 2, 3} {
			got := run(true, procs)
			if i, j, diff := bitDiff32(got, ref); diff {
				t.Fatalf("case %d procs %d: output %d element %d = %v, one by one %v", ci, procs, i, j, got[i][j], ref[i][j])
			}
		}
	}
}

// TestResidualReLUSum checks a Sequential of residual blocks each followed
// by a ReLU, the ReLU applied in the block's sum (Residual.forwardReLU),
// against the layers run one by one: output, dx, every gradient (Backward
// and SetGrads) and the tangent bit for bit at GOMAXPROCS 1, 2 and 3.
func TestResidualReLUSum(t *testing.T) {
	oldDirect, oldProcs, oldFused := convDirect, runtime.GOMAXPROCS(0), residualFused
	defer func() { convDirect, residualFused = oldDirect, oldFused; runtime.GOMAXPROCS(oldProcs) }()
	convDirect = true
	for ci, tc := range []struct {
		in                 Shape
		outC, stride, rows int
		identity, skip     bool
	}{
		{Shape{16, 28, 28}, 16, 1, 5, true, true},
		{Shape{16, 28, 28}, 32, 2, 9, false, true},
		{Shape{5, 8, 7}, 12, 2, 3, false, true},
		{Shape{5, 8, 7}, 12, 2, 3, false, false},
		{Shape{6, 7, 5}, 6, 1, 3, true, true},
	} {
		rng := rand.New(rand.NewPCG(uint64(ci), 13))
		model := func() *Sequential[float32] {
			r := basicBlock32(tc.in, tc.outC, tc.stride, tc.identity, tc.skip)
			return must(NewSequential[float32](r, NewReLU[float32](r.OutShape())))
		}
		proto := model()
		x, dy := randomCase32(rng, proto, tc.rows)
		run := func(fused bool, procs int) [][]float32 {
			residualFused = fused
			runtime.GOMAXPROCS(procs)
			s := model()
			for i, p := range s.Params() {
				copy(p.Value, proto.Params()[i].Value)
			}
			got := [][]float32{clone32(s.Forward(x).Data)}
			ZeroGrad[float32](s)
			got = append(got, clone32(s.Backward(dy).Data))
			for _, p := range s.Params() {
				got = append(got, clone32(p.Grad))
			}
			got = append(got, clone32(s.Tangent(x).Data))
			s.Forward(x)
			got = append(got, clone32(s.SetGrads(dy, true).Data))
			for _, p := range s.Params() {
				got = append(got, clone32(p.Grad))
			}
			return got
		}
		ref := run(false, 1)
		for _, procs := range []int{1, 2, 3} {
			got := run(true, procs)
			if i, j, diff := bitDiff32(got, ref); diff {
				t.Fatalf("case %d procs %d: output %d element %d = %v, one by one %v", ci, procs, i, j, got[i][j], ref[i][j])
			}
		}
	}
}
