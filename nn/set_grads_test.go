package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestSetGradsMatchesBackward checks, for every layer of the conformance
// table, the container cases and a Sequential sharing one Dense twice, that
// SetGrads on gradients holding NaN leaves bit for bit what ZeroGrad and
// then Backward (wantDx) or BackwardParams (not) leave, and returns
// Backward's dL/dx when asked.
func TestSetGradsMatchesBackward(t *testing.T) {
	shared := NewDense[float64](5, 5)
	cases := append(conformanceCases(), containerCases()...)
	cases = append(cases, layerCase{"shared dense", func() Layer[float64] {
		return must(NewSequential[float64](shared, NewReLU[float64](Shape{5}), shared))
	}})
	for _, tc := range cases {
		for _, wantDx := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(7, 8))
			l := tc.make()
			for _, p := range l.Params() {
				fillNormal(rng, p.Value, 0.5)
			}
			const rows = 3
			x := randomInput(rng, rows, l.InShape().Size())
			dy := NewMat[float64](rows, l.OutShape().Size())
			fillNormal(rng, dy.Data, 1)

			ZeroGrad(l)
			l.Forward(x)
			var dxWant []float64
			if wantDx {
				dxWant = slices.Clone(l.Backward(dy).Data)
			} else {
				BackwardParams(l, dy)
			}
			var want [][]float64
			for _, p := range l.Params() {
				want = append(want, slices.Clone(p.Grad))
			}

			for _, p := range l.Params() {
				for i := range p.Grad {
					p.Grad[i] = math.NaN()
				}
			}
			l.Forward(x)
			dx := SetGrads(l, dy, wantDx)
			for i, p := range l.Params() {
				if !slices.Equal(p.Grad, want[i]) {
					t.Fatalf("%s wantDx=%v: %s: SetGrads gradient %v, ZeroGrad+Backward gave %v", tc.name, wantDx, p.Name, p.Grad, want[i])
				}
			}
			if wantDx && (dx == nil || !slices.Equal(dx.Data, dxWant)) {
				t.Fatalf("%s: SetGrads dL/dx differs from Backward's", tc.name)
			}
		}
	}
}

// TestSetGradsFloat32MLP is the check of TestSetGradsMatchesBackward on a
// float32 MLP large enough for the packed GEMM with its store kernel
// (784-1000-10 at a batch of 32: m = 1000, n = 784, k = 32).
func TestSetGradsFloat32MLP(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	l := must(NewSequential[float32](NewDense[float32](784, 1000), NewReLU[float32](Shape{1000}), NewDense[float32](1000, 10)))
	for _, p := range l.Params() {
		for i := range p.Value {
			p.Value[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	x := NewMat[float32](32, 784)
	dy := NewMat[float32](32, 10)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	for i := range dy.Data {
		dy.Data[i] = float32(rng.NormFloat64())
	}
	ZeroGrad[float32](l)
	l.Forward(x)
	BackwardParams[float32](l, dy)
	var want [][]float32
	for _, p := range l.Params() {
		want = append(want, slices.Clone(p.Grad))
		for i := range p.Grad {
			p.Grad[i] = float32(math.NaN())
		}
	}
	l.Forward(x)
	if dx := SetGrads[float32](l, dy, false); dx != nil {
		t.Fatalf("SetGrads without wantDx returned dL/dx")
	}
	for i, p := range l.Params() {
		for j := range p.Grad {
			if math.Float32bits(p.Grad[j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("%s[%d]: SetGrads %v, ZeroGrad+BackwardParams %v", p.Name, j, p.Grad[j], want[i][j])
			}
		}
	}
}

// TestSetGradsWGradRows checks SetGrads with WGradRows set on both dense
// layers of a float32 MLP 784-1000-10 at a batch of 128 (the first layer's
// weight gradient reported block by block, the last layer's after its
// product): on one goroutine and on two, the gradients and
// dL/dx are the bits of SetGrads without WGradRows, the calls cover every
// row once, and in each call the rows' weight and bias gradients are final.
func TestSetGradsWGradRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	d1, d2 := NewDense[float32](784, 1000), NewDense[float32](1000, 10)
	l := must(NewSequential[float32](d1, NewReLU[float32](Shape{1000}), d2))
	for _, p := range l.Params() {
		for i := range p.Value {
			p.Value[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	const batch = 128
	x, dy := NewMat[float32](batch, 784), NewMat[float32](batch, 10)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	for i := range dy.Data {
		dy.Data[i] = float32(rng.NormFloat64())
	}
	l.Forward(x)
	dxWant := slices.Clone(SetGrads[float32](l, dy, true).Data)
	var want [][]float32
	for _, p := range l.Params() {
		want = append(want, slices.Clone(p.Grad))
	}
	for _, procs := range []int{1, 2} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, p := range l.Params() {
				for i := range p.Grad {
					p.Grad[i] = float32(math.NaN())
				}
			}
			var mu sync.Mutex
			type snap struct {
				lo, hi int
				w, b   []float32
			}
			calls := map[*Dense[float32]][]snap{}
			for _, d := range []*Dense[float32]{d1, d2} {
				d.WGradRows = func(lo, hi int) {
					mu.Lock()
					defer mu.Unlock()
					calls[d] = append(calls[d], snap{lo, hi, slices.Clone(d.W.Grad[lo*d.In : hi*d.In]), slices.Clone(d.B.Grad[lo:hi])})
				}
				defer func() { d.WGradRows = nil }()
			}
			l.Forward(x)
			dx := SetGrads[float32](l, dy, true)
			if !slices.Equal(dx.Data, dxWant) {
				t.Fatalf("GOMAXPROCS %d: dL/dx differs from SetGrads without WGradRows", procs)
			}
			for i, p := range l.Params() {
				if !slices.Equal(p.Grad, want[i]) {
					t.Fatalf("GOMAXPROCS %d: %s differs from SetGrads without WGradRows", procs, p.Name)
				}
			}
			for _, d := range []*Dense[float32]{d1, d2} {
				seen := make([]int, d.Out)
				for _, c := range calls[d] {
					for r := c.lo; r < c.hi; r++ {
						seen[r]++
					}
					if !slices.Equal(c.w, d.W.Grad[c.lo*d.In:c.hi*d.In]) || !slices.Equal(c.b, d.B.Grad[c.lo:c.hi]) {
						t.Errorf("GOMAXPROCS %d: dense %d→%d: rows [%d, %d) reported before their gradients were final", procs, d.In, d.Out, c.lo, c.hi)
					}
				}
				for r, k := range seen {
					if k != 1 {
						t.Fatalf("GOMAXPROCS %d: dense %d→%d: row %d reported %d times", procs, d.In, d.Out, r, k)
					}
				}
			}
		}()
	}
}

// TestSetGradsReLUInPlace checks the ReLU after a Dense, which Sequential
// runs itself: Forward gives the layers' own Forward calls bit for bit
// (NaN pre-activations included), SetGrads, which applies its
// backward in place to the Dense's dL/dx, gives Backward's dL/dx and leaves
// the caller's dy alone, also when a ReLU is the last layer (dy itself then
// goes through the activation's Backward).
func TestSetGradsReLUInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, l := range []Layer[float32]{
		must(NewSequential[float32](NewDense[float32](6, 5), NewReLU[float32](Shape{5}), NewDense[float32](5, 4))),
		must(NewSequential[float32](NewDense[float32](6, 4), NewReLU[float32](Shape{4}))),
	} {
		for _, p := range l.Params() {
			for i := range p.Value {
				p.Value[i] = float32(rng.NormFloat64())
			}
		}
		x, dy := NewMat[float32](3, 6), NewMat[float32](3, 4)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		for i := range dy.Data {
			dy.Data[i] = float32(rng.NormFloat64())
		}
		x.Data[0], x.Data[1] = float32(math.NaN()), float32(math.Copysign(0, -1))
		layers := l.(*Sequential[float32]).Layers
		h := x
		for _, c := range layers {
			h = c.Forward(h)
		}
		wantY := slices.Clone(h.Data)
		if y := l.Forward(x); !slices.EqualFunc(y.Data, wantY, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("%d layers: Forward %v, the layers' own %v", len(layers), y.Data, wantY)
		}
		dy0 := slices.Clone(dy.Data)
		l.Forward(x)
		want := slices.Clone(l.Backward(dy).Data)
		l.Forward(x)
		got := SetGrads[float32](l, dy, true)
		if !slices.Equal(got.Data, want) {
			t.Errorf("%d layers: SetGrads dL/dx %v, Backward %v", len(l.(*Sequential[float32]).Layers), got.Data, want)
		}
		if !slices.Equal(dy.Data, dy0) {
			t.Errorf("%d layers: SetGrads changed the caller's dy", len(l.(*Sequential[float32]).Layers))
		}
	}
}
