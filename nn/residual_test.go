package nn

import (
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
