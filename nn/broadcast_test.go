package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/fenchel-ml/fenchel/linalg"
)

// broadcastTol bounds the relative difference (to the largest magnitude of
// the quantity) between ForwardBroadcast's pass and Forward's on models with
// Dense layers, whose GEMM over the distinct rows alone may round
// differently (a few ε per product).
const broadcastTol = 1e-13

// TestForwardBroadcastMatchesForward checks, for every layer of the
// conformance table and the containers, groups of rep ∈ {1, 2, 4} identical
// rows and 1 or 3 distinct inputs, with Conv2D's batch in one chunk and in
// chunks of one sample (convColsBudget), that ForwardBroadcast leaves the layer
// in Forward's state: the output, then Backward's dL/dx and parameter
// gradients, PerSampleGrad, AddGram (with rep) and Tangent are Forward's.
// They are bit-identical when no Dense layer is involved and fenchel's Go
// kernels multiply (a convolution's product then only has fewer columns,
// which they sum the same way; OpenBLAS's rounding may depend on the width)
// and within broadcastTol otherwise.
func TestForwardBroadcastMatchesForward(t *testing.T) {
	_, goGemm := linalg.Float64.(linalg.Kernels)
	cases := append(conformanceCases(), containerCases()...)
	defer func(b int) { convColsBudget = b }(convColsBudget)
	for _, budget := range []int{convColsBudget, 1} {
		convColsBudget = budget
		for _, tc := range cases {
			for _, rep := range []int{1, 2, 4} {
				for _, n := range []int{1, 3} {
					t.Run(fmt.Sprintf("%s/rep=%d/n=%d/budget=%d", tc.name, rep, n, budget), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(21, uint64(rep*10+n)))
						l := tc.make()
						for _, p := range l.Params() {
							fillNormal(rng, p.Value, 0.5)
							p.Tangent = make([]float64, p.Len())
							fillNormal(rng, p.Tangent, 1)
						}
						exact := !hasDense(l) && goGemm
						rows := n * rep
						distinct := randomInput(rng, n, l.InShape().Size())
						x := NewMat[float64](rows, distinct.Cols)
						for r := 0; r < rows; r++ {
							copy(x.Row(r), distinct.Row(r/rep))
						}
						dy := NewMat[float64](rows, l.OutShape().Size())
						fillNormal(rng, dy.Data, 1)
						tx := NewMat[float64](rows, x.Cols)
						fillNormal(rng, tx.Data, 1)

						pass := func(forward func(*Mat[float64]) *Mat[float64]) (y, dx, grads, ps, gram, tang []float64) {
							ZeroGrad(l)
							y = slices.Clone(forward(x).Data)
							tang = slices.Clone(l.Tangent(tx).Data)
							dx = slices.Clone(l.Backward(dy).Data)
							for _, p := range l.Params() {
								grads = append(grads, p.Grad...)
							}
							m := NewMat[float64](rows, NumParams(l))
							l.PerSampleGrad(m, 0)
							gram = make([]float64, rows*rows)
							l.AddGram(gram, rows, rep)
							return y, dx, grads, m.Data, gram, tang
						}
						var want, got [6][]float64
						want[0], want[1], want[2], want[3], want[4], want[5] = pass(l.Forward)
						// A Forward on other inputs first, so state left from the
						// reference pass would show.
						l.Forward(randomInput(rng, rows+rep, x.Cols))
						got[0], got[1], got[2], got[3], got[4], got[5] = pass(func(x *Mat[float64]) *Mat[float64] { return ForwardBroadcast(l, x, rep) })
						for i, what := range []string{"output", "dL/dx", "parameter gradients", "per-sample gradients", "AddGram", "Tangent"} {
							if exact && !slices.Equal(got[i], want[i]) {
								t.Errorf("%s differs from Forward's (max rel diff %.3g)", what, maxRelDiff(got[i], want[i]))
							}
							if d := maxRelDiff(got[i], want[i]); d > broadcastTol {
								t.Errorf("%s: max rel diff %.3g from Forward's > %g", what, d, broadcastTol)
							}
						}
					})
				}
			}
		}
	}
}

// hasDense reports whether l is or contains a Dense layer.
func hasDense(l Layer[float64]) bool {
	switch l := l.(type) {
	case *Dense[float64]:
		return true
	case Chain[float64]:
		return slices.ContainsFunc(l.Chain(), hasDense)
	case Branches[float64]:
		return slices.ContainsFunc(l.Branches(), hasDense)
	}
	return false
}

// maxRelDiff is max |a − b| over max |b| (the absolute difference when b is
// all zeros; +Inf on a length mismatch).
func maxRelDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d, s := 0.0, 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(b[i]))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// TestSpread checks the in-place group expansion against a plain copy, with
// and without spare capacity, with rows long enough for a single group's
// copies to be split over goroutines (on 1 and 2 of them).
func TestSpread(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, c := range []int{3, minParallelWork/4 + 1} {
			testSpread(t, c)
		}
	}
}

func testSpread(t *testing.T, c int) {
	for _, spare := range []bool{false, true} {
		for _, n := range []int{1, 2, 5} {
			for _, rep := range []int{1, 2, 3, 10} {
				v := make([]int, n*c, n*c*rep)
				if !spare {
					v = v[: n*c : n*c]
				}
				for i := range v {
					v[i] = i
				}
				var want []int
				for i := 0; i < n; i++ {
					for range rep {
						want = append(want, v[i*c:(i+1)*c]...)
					}
				}
				if got := spread(v, n, c, rep); !slices.Equal(got, want) {
					t.Errorf("c %d spare %v n %d rep %d: differs from the copies", c, spare, n, rep)
				}
			}
		}
	}
}

// TestConv2DForwardBroadcastColumns checks that Conv2D's cache of im2col
// columns, filled for the distinct rows, is not taken for rows of the
// broadcast batch: with chunks of exactly the n distinct samples, the
// distinct rows' only chunk [0, n) is also the first chunk of the batch.
func TestConv2DForwardBroadcastColumns(t *testing.T) {
	const n, rep = 3, 2
	c := must(NewConv2D[float64](Shape{2, 4, 4}, 3, 3, 1, 1, true))
	defer func(b int) { convColsBudget = b }(convColsBudget)
	convColsBudget = n * c.patch() * c.geom.outArea() * 8
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range c.Params() {
		fillNormal(rng, p.Value, 0.5)
		p.Tangent = make([]float64, p.Len())
		fillNormal(rng, p.Tangent, 1)
	}
	distinct := randomInput(rng, n, c.InShape().Size())
	x := NewMat[float64](n*rep, distinct.Cols)
	for r := range x.Rows {
		copy(x.Row(r), distinct.Row(r/rep))
	}
	c.Forward(x)
	want := slices.Clone(c.Tangent(nil).Data)
	ForwardBroadcast[float64](c, x, rep)
	if got := c.Tangent(nil).Data; !slices.Equal(got, want) {
		t.Errorf("Tangent after ForwardBroadcast differs from after Forward (max rel diff %.3g)", maxRelDiff(got, want))
	}
}

// TestConv2DBackwardDeltasSplit checks that BackwardDeltas' dL/dx with the
// rows split evenly over two goroutines (backwardDxSplit) is Backward's, bit
// for bit with fenchel's Go kernels, on 10-row batches of Model d's
// convolutions (THEORY §5), for one goroutine and for two.
func TestConv2DBackwardDeltasSplit(t *testing.T) {
	_, goGemm := linalg.Float64.(linalg.Kernels)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, c := range []*Conv2D[float64]{
			must(NewConv2D[float64](Shape{16, 28, 28}, 16, 3, 1, 1, false)),
			must(NewConv2D[float64](Shape{16, 28, 28}, 32, 3, 2, 1, true)),
			must(NewConv2D[float64](Shape{32, 14, 14}, 64, 3, 2, 1, false)),
			must(NewConv2D[float64](Shape{64, 7, 7}, 64, 3, 1, 1, false)),
		} {
			rng := rand.New(rand.NewPCG(5, uint64(c.OutC)))
			fillNormal(rng, c.Weight.Value, 0.5)
			x := randomInput(rng, 10, c.InShape().Size())
			dy := NewMat[float64](10, c.OutShape().Size())
			fillNormal(rng, dy.Data, 1)
			c.Forward(x)
			want := slices.Clone(c.Backward(dy).Data)
			// Stale dL/dx of another dy, so rows left unwritten would show.
			other := NewMat[float64](10, dy.Cols)
			fillNormal(rng, other.Data, 1)
			c.Backward(other)
			c.Forward(x)
			dx, _ := BackwardDeltas[float64](c, dy, true)
			if goGemm && !slices.Equal(dx.Data, want) {
				t.Errorf("GOMAXPROCS %d, %v → %v: dL/dx differs from Backward's (max rel diff %.3g)", procs, c.InShape(), c.OutShape(), maxRelDiff(dx.Data, want))
			}
			if d := maxRelDiff(dx.Data, want); d > broadcastTol {
				t.Errorf("GOMAXPROCS %d, %v → %v: dL/dx max rel diff %.3g from Backward's", procs, c.InShape(), c.OutShape(), d)
			}
		}
	}
}

// TestBackwardDeltasOnDistinctRows checks the seeded backward pass on a
// Forward of the distinct rows (broadcast.go): for every layer of the
// conformance table and the containers mixing layers, BackwardDeltas of dy
// with rep rows per input row returns, and AddGram(rep) then adds, exactly
// what they give after ForwardBroadcast of the inputs repeated rep times;
// so does BackwardDeltasInPlace, there and on the repeated batch.
func TestBackwardDeltasOnDistinctRows(t *testing.T) {
	cases := append(conformanceCases(), containerCases()...)
	for _, tc := range cases {
		for _, n := range []int{1, 2} {
			t.Run(fmt.Sprint(tc.name, "/", n), func(t *testing.T) {
				const rep = 3
				rng := rand.New(rand.NewPCG(11, uint64(n)))
				l := tc.make()
				for _, p := range l.Params() {
					fillNormal(rng, p.Value, 0.5)
				}
				x := randomInput(rng, n, l.InShape().Size())
				xr := NewMat[float64](n*rep, x.Cols)
				for r := range xr.Rows {
					copy(xr.Row(r), x.Row(r/rep))
				}
				dy := NewMat[float64](n*rep, l.OutShape().Size())
				fillNormal(rng, dy.Data, 1)
				m := n * rep

				ForwardBroadcast(l, xr, rep)
				dxWant, _ := BackwardDeltas(l, dy, true)
				dxWantData := slices.Clone(dxWant.Data)
				gramWant := make([]float64, m*m)
				l.AddGram(gramWant, m, rep)

				l.Forward(x)
				dx, _ := BackwardDeltas(l, dy, true)
				if dx.Rows != m || !slices.Equal(dx.Data, dxWantData) {
					t.Fatalf("dL/dx on the distinct rows (%d rows) differs from after ForwardBroadcast (max rel diff %.3g)", dx.Rows, maxRelDiff(dx.Data, dxWantData))
				}
				gram := make([]float64, m*m)
				l.AddGram(gram, m, rep)
				if !slices.Equal(gram, gramWant) {
					t.Fatalf("AddGram on the distinct rows differs from after ForwardBroadcast (max rel diff %.3g)", maxRelDiff(gram, gramWant))
				}
				// In place, on a copy of dy.
				l.Forward(x)
				dyc := &Mat[float64]{Rows: dy.Rows, Cols: dy.Cols, Data: slices.Clone(dy.Data)}
				dx, _ = BackwardDeltasInPlace(l, dyc)
				if !slices.Equal(dx.Data, dxWantData) {
					t.Fatalf("BackwardDeltasInPlace on the distinct rows differs from BackwardDeltas after ForwardBroadcast (max rel diff %.3g)", maxRelDiff(dx.Data, dxWantData))
				}
				ForwardBroadcast(l, xr, rep)
				copy(dyc.Data, dy.Data)
				dx, _ = BackwardDeltasInPlace(l, dyc)
				if !slices.Equal(dx.Data, dxWantData) {
					t.Fatalf("BackwardDeltasInPlace on the repeated rows differs from BackwardDeltas (max rel diff %.3g)", maxRelDiff(dx.Data, dxWantData))
				}
				// The same without dL/dx, AddGram reading the recorded dy.
				l.Forward(x)
				BackwardDeltas(l, dy, false)
				clear(gram)
				l.AddGram(gram, m, rep)
				if !slices.Equal(gram, gramWant) {
					t.Fatalf("AddGram after BackwardDeltas without dL/dx on the distinct rows differs (max rel diff %.3g)", maxRelDiff(gram, gramWant))
				}
			})
		}
	}
}

// TestBackwardEmptyBatch checks that the max pool's Backward and an
// activation's BackwardDeltasInPlace, which derive the rows of dy per row
// of x, take an empty batch.
func TestBackwardEmptyBatch(t *testing.T) {
	m := must(NewMaxPool2D[float64](Shape{2, 4, 4}, 3, 1, 1))
	m.Forward(NewMat[float64](0, 32))
	if dx := m.Backward(NewMat[float64](0, 32)); dx.Rows != 0 {
		t.Errorf("max pool: dL/dx of an empty batch has %d rows", dx.Rows)
	}
	r := NewReLU[float64](Shape{6})
	r.Forward(NewMat[float64](0, 6))
	if dx, _ := BackwardDeltasInPlace(r, NewMat[float64](0, 6)); dx.Rows != 0 {
		t.Errorf("relu: dL/dx of an empty batch has %d rows", dx.Rows)
	}
}
