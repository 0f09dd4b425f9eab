package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// must unwraps a constructor result in test tables.
func must[L any](l L, err error) L {
	if err != nil {
		panic(err)
	}
	return l
}

// denseSkipBlock is Model c's skip layer h = relu(W h + b) (+ h).
func denseSkipBlock(skip bool) Layer[float64] {
	body := must(NewSequential[float64](NewDense[float64](5, 5), NewReLU[float64](Shape{5})))
	return must(NewResidual[float64](body, nil, skip))
}

// convResidual is the body and shortcut of Model d's shape-changing basic
// block on [2 5 5] → [3 3 3].
func convResidual(skip bool) *Residual[float64] {
	body := must(NewSequential[float64](
		must(NewConv2D[float64](Shape{2, 5, 5}, 3, 3, 2, 1, false)),
		NewReLU[float64](Shape{3, 3, 3}),
		must(NewConv2D[float64](Shape{3, 3, 3}, 3, 3, 1, 1, false))))
	short := must(NewConv2D[float64](Shape{2, 5, 5}, 3, 3, 2, 1, true))
	return must(NewResidual[float64](body, short, skip))
}

// tinyResNet is Model d in miniature (THEORY §5): stem conv + ReLU + 3×3
// max-pool, an identity basic block, a strided block with a conv shortcut,
// global average pool, flatten and a dense head.
func tinyResNet(skip bool) Layer[float64] {
	id := must(NewResidual[float64](must(NewSequential[float64](
		must(NewConv2D[float64](Shape{2, 6, 6}, 2, 3, 1, 1, false)),
		NewReLU[float64](Shape{2, 6, 6}),
		must(NewConv2D[float64](Shape{2, 6, 6}, 2, 3, 1, 1, false)))), nil, skip))
	down := must(NewResidual[float64](must(NewSequential[float64](
		must(NewConv2D[float64](Shape{2, 6, 6}, 3, 3, 2, 1, false)),
		NewReLU[float64](Shape{3, 3, 3}),
		must(NewConv2D[float64](Shape{3, 3, 3}, 3, 3, 1, 1, false)))),
		must(NewConv2D[float64](Shape{2, 6, 6}, 3, 3, 2, 1, true)), skip))
	return must(NewSequential[float64](
		must(NewConv2D[float64](Shape{1, 6, 6}, 2, 3, 1, 1, true)),
		NewReLU[float64](Shape{2, 6, 6}),
		must(NewMaxPool2D[float64](Shape{2, 6, 6}, 3, 1, 1)),
		must(NewSequential[float64](id, NewReLU[float64](Shape{2, 6, 6}))),
		must(NewSequential[float64](down, NewReLU[float64](Shape{3, 3, 3}))),
		must(NewGlobalAvgPool[float64](Shape{3, 3, 3})),
		NewFlatten[float64](Shape{3}),
		NewDense[float64](3, 2)))
}

// naiveConv is the textbook definition of PyTorch's Conv2d, for checking Forward.
func naiveConv(x []float64, c, h, w int, weight, bias []float64, outC, k, s, p int) []float64 {
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := make([]float64, outC*oh*ow)
	for o := 0; o < outC; o++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				v := 0.0
				if bias != nil {
					v = bias[o]
				}
				for ci := 0; ci < c; ci++ {
					for ki := 0; ki < k; ki++ {
						for kj := 0; kj < k; kj++ {
							ii, jj := i*s-p+ki, j*s-p+kj
							if ii < 0 || ii >= h || jj < 0 || jj >= w {
								continue
							}
							v += weight[((o*c+ci)*k+ki)*k+kj] * x[(ci*h+ii)*w+jj]
						}
					}
				}
				y[(o*oh+i)*ow+j] = v
			}
		}
	}
	return y
}

// naivePool pools one sample by brute force; max uses −∞ padding, avg divides
// by k² (count_include_pad).
func naivePool(x []float64, c, h, w, k, s, p int, isMax bool) []float64 {
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := make([]float64, c*oh*ow)
	for ci := 0; ci < c; ci++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				acc := 0.0
				if isMax {
					acc = math.Inf(-1)
				}
				for ki := 0; ki < k; ki++ {
					for kj := 0; kj < k; kj++ {
						ii, jj := i*s-p+ki, j*s-p+kj
						if ii < 0 || ii >= h || jj < 0 || jj >= w {
							continue
						}
						v := x[(ci*h+ii)*w+jj]
						if isMax {
							acc = math.Max(acc, v)
						} else {
							acc += v
						}
					}
				}
				if !isMax {
					acc /= float64(k * k)
				}
				y[(ci*oh+i)*ow+j] = acc
			}
		}
	}
	return y
}

// spatialCases are window configurations covering stride, padding, non-square inputs.
var spatialCases = []struct {
	c, h, w, k, s, p int
}{
	{1, 6, 6, 3, 1, 1},
	{2, 5, 7, 3, 2, 1},
	{3, 4, 4, 1, 1, 0},
	{2, 7, 5, 2, 2, 0},
	{2, 6, 6, 3, 3, 1},
	{1, 5, 5, 5, 1, 2},
}

func TestConv2DForwardMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range spatialCases {
		for _, bias := range []bool{true, false} {
			const outC, rows = 3, 2
			l := must(NewConv2D[float64](Shape{tc.c, tc.h, tc.w}, outC, tc.k, tc.s, tc.p, bias))
			for _, p := range l.Params() {
				fillNormal(rng, p.Value, 1)
			}
			x := NewMat[float64](rows, tc.c*tc.h*tc.w)
			fillNormal(rng, x.Data, 1)
			y := l.Forward(x)
			var b []float64
			if bias {
				b = l.Bias.Value
			}
			for r := 0; r < rows; r++ {
				want := naiveConv(x.Row(r), tc.c, tc.h, tc.w, l.Weight.Value, b, outC, tc.k, tc.s, tc.p)
				if len(want) != y.Cols {
					t.Fatalf("%+v: output size %d, definition %d", tc, y.Cols, len(want))
				}
				for i, v := range want {
					if math.Abs(y.At(r, i)-v) > exactTol*(1+math.Abs(v))*10 {
						t.Fatalf("%+v bias %v: y[%d,%d] = %.15g, definition %.15g", tc, bias, r, i, y.At(r, i), v)
					}
				}
			}
		}
	}
}

func TestPoolForwardMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range spatialCases {
		if tc.p > tc.k/2 {
			continue
		}
		in := Shape{tc.c, tc.h, tc.w}
		x := NewMat[float64](2, in.Size())
		fillNormal(rng, x.Data, 1)
		for _, isMax := range []bool{true, false} {
			var l Layer[float64]
			if isMax {
				l = must(NewMaxPool2D[float64](in, tc.k, tc.s, tc.p))
			} else {
				l = must(NewAvgPool2D[float64](in, tc.k, tc.s, tc.p))
			}
			y := l.Forward(x)
			for r := 0; r < x.Rows; r++ {
				want := naivePool(x.Row(r), tc.c, tc.h, tc.w, tc.k, tc.s, tc.p, isMax)
				if len(want) != y.Cols {
					t.Fatalf("%s %+v: output size %d, definition %d", l.Kind(), tc, y.Cols, len(want))
				}
				for i, v := range want {
					if math.Abs(y.At(r, i)-v) > 1e-14 {
						t.Fatalf("%s %+v: y[%d,%d] = %.15g, definition %.15g", l.Kind(), tc, r, i, y.At(r, i), v)
					}
				}
			}
		}
	}
}

// TestPoolHandValues checks values worked out by hand (and in PyTorch):
// count_include_pad averages of a ones image and first-in-scan-order argmax.
func TestPoolHandValues(t *testing.T) {
	avg := must(NewAvgPool2D[float64](Shape{1, 2, 2}, 3, 1, 1))
	ones := &Mat[float64]{Rows: 1, Cols: 4, Data: []float64{1, 1, 1, 1}}
	for i, v := range avg.Forward(ones).Data {
		if math.Abs(v-4.0/9) > 1e-15 {
			t.Errorf("avgpool of ones, k3 p1, output %d = %g, want 4/9", i, v)
		}
	}
	// A constant image: every window ties, so the gradient goes to the first
	// element of each window in scan order.
	mp := must(NewMaxPool2D[float64](Shape{1, 4, 4}, 2, 2, 0))
	c := &Mat[float64]{Rows: 1, Cols: 16, Data: make([]float64, 16)}
	mp.Forward(c)
	dx := mp.Backward(&Mat[float64]{Rows: 1, Cols: 4, Data: []float64{1, 2, 3, 4}})
	want := []float64{1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}
	for i := range want {
		if dx.Data[i] != want[i] {
			t.Fatalf("maxpool tie routing: dx = %v, want %v", dx.Data, want)
		}
	}
	// Negative inputs with padding: the −∞ pad must not win.
	mp1 := must(NewMaxPool2D[float64](Shape{1, 2, 2}, 3, 1, 1))
	y := mp1.Forward(&Mat[float64]{Rows: 1, Cols: 4, Data: []float64{-4, -3, -2, -1}})
	for i, v := range y.Data {
		if v != -1 {
			t.Errorf("maxpool k3 p1 of negatives: output %d = %g, want -1", i, v)
		}
	}
	g := must(NewGlobalAvgPool[float64](Shape{2, 1, 3}))
	gy := g.Forward(&Mat[float64]{Rows: 1, Cols: 6, Data: []float64{1, 2, 3, 4, 5, 9}})
	if gy.Data[0] != 2 || gy.Data[1] != 6 {
		t.Errorf("global average pool = %v, want [2 6]", gy.Data)
	}
}

func TestSpatialShapesAndErrors(t *testing.T) {
	shapes := []struct {
		name string
		l    Layer[float32]
		want Shape
	}{
		{"model d stem", must(NewConv2D[float32](Shape{1, 28, 28}, 16, 3, 1, 1, true)), Shape{16, 28, 28}},
		{"stage 2 conv", must(NewConv2D[float32](Shape{16, 28, 28}, 32, 3, 2, 1, false)), Shape{32, 14, 14}},
		{"stage 3 conv", must(NewConv2D[float32](Shape{32, 14, 14}, 64, 3, 2, 1, false)), Shape{64, 7, 7}},
		{"model c pool", must(NewMaxPool2D[float32](Shape{8, 28, 28}, 2, 2, 0)), Shape{8, 14, 14}},
		{"odd pool floors", must(NewMaxPool2D[float32](Shape{1, 7, 7}, 2, 2, 0)), Shape{1, 3, 3}},
		{"avg pool", must(NewAvgPool2D[float32](Shape{64, 7, 7}, 7, 1, 0)), Shape{64, 1, 1}},
		{"global", must(NewGlobalAvgPool[float32](Shape{64, 7, 7})), Shape{64}},
		{"flatten", NewFlatten[float32](Shape{8, 14, 14}), Shape{1568}},
	}
	for _, tc := range shapes {
		if !tc.l.OutShape().Equal(tc.want) {
			t.Errorf("%s: output shape %v, want %v", tc.name, tc.l.OutShape(), tc.want)
		}
	}
	conv := must(NewConv2D[float32](Shape{2, 5, 5}, 4, 3, 1, 1, true))
	if w := conv.Weight; !Shape(w.Shape).Equal(Shape{4, 2, 3, 3}) || w.FanIn != 18 || w.FanOut != 36 || w.Name != "weight" || conv.Bias.Name != "bias" || !conv.Bias.Bias {
		t.Errorf("conv weight %s %v fan %d/%d, bias %s", w.Name, w.Shape, w.FanIn, w.FanOut, conv.Bias.Name)
	}
	bad := []struct {
		name string
		err  func() error
		msg  string
	}{
		{"conv 2-d input", func() error { _, err := NewConv2D[float64](Shape{5, 5}, 1, 3, 1, 1, true); return err }, "[C H W]"},
		{"conv zero out", func() error { _, err := NewConv2D[float64](Shape{1, 5, 5}, 0, 3, 1, 1, true); return err }, "output channels 0"},
		{"conv zero stride", func() error { _, err := NewConv2D[float64](Shape{1, 5, 5}, 2, 3, 0, 1, true); return err }, "stride 0"},
		{"conv kernel too big", func() error { _, err := NewConv2D[float64](Shape{1, 2, 2}, 2, 5, 1, 0, true); return err }, "kernel 5"},
		{"conv negative pad", func() error { _, err := NewConv2D[float64](Shape{1, 5, 5}, 2, 3, 1, -1, true); return err }, "padding -1"},
		{"maxpool pad > k/2", func() error { _, err := NewMaxPool2D[float64](Shape{1, 5, 5}, 2, 2, 2); return err }, "at most half"},
		{"avgpool pad > k/2", func() error { _, err := NewAvgPool2D[float64](Shape{1, 5, 5}, 3, 1, 2); return err }, "at most half"},
		{"avgpool zero kernel", func() error { _, err := NewAvgPool2D[float64](Shape{1, 5, 5}, 0, 1, 0); return err }, "kernel 0"},
		{"global 1-d", func() error { _, err := NewGlobalAvgPool[float64](Shape{5}); return err }, "[C H W]"},
		{"residual identity changes shape", func() error {
			_, err := NewResidual[float64](NewDense[float64](4, 3), nil, true)
			return err
		}, "preserve"},
		{"residual shortcut output", func() error {
			_, err := NewResidual[float64](NewDense[float64](4, 3), NewDense[float64](4, 2), true)
			return err
		}, "outputs"},
		{"residual shortcut input", func() error {
			_, err := NewResidual[float64](NewDense[float64](4, 3), NewDense[float64](5, 3), false)
			return err
		}, "takes"},
	}
	for _, tc := range bad {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.msg)
		}
	}
}

func TestResidualComposition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	on := must(NewSequential[float64](convResidual(true), NewReLU[float64](Shape{3, 3, 3})))
	off := must(NewSequential[float64](convResidual(false), NewReLU[float64](Shape{3, 3, 3})))
	wantOn := []string{"0.body.0.weight", "0.body.2.weight", "0.shortcut.weight", "0.shortcut.bias"}
	wantOff := wantOn[:2]
	for _, c := range []struct {
		l    Layer[float64]
		want []string
	}{{on, wantOn}, {off, wantOff}} {
		var got []string
		for _, p := range c.l.Params() {
			got = append(got, p.Name)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("parameter names %v, want %v", got, c.want)
		}
	}
	// y = body(x) + shortcut(x) with skip on, body(x) alone with skip off,
	// each computed from the children directly.
	res := convResidual(true)
	for _, p := range res.Params() {
		fillNormal(rng, p.Value, 1)
	}
	x := randomInput(rng, 2, 50)
	y := copyMat(res.Forward(x))
	yb := copyMat(res.Body.Forward(x))
	ys := res.Shortcut.Forward(x)
	for i := range y.Data {
		if math.Abs(y.Data[i]-(yb.Data[i]+ys.Data[i])) > 1e-14 {
			t.Fatalf("residual y[%d] = %g, body + shortcut = %g", i, y.Data[i], yb.Data[i]+ys.Data[i])
		}
	}
	res.Skip = false
	y = res.Forward(x)
	for i := range y.Data {
		if y.Data[i] != yb.Data[i] {
			t.Fatalf("residual with skip off y[%d] = %g, body = %g", i, y.Data[i], yb.Data[i])
		}
	}
	id := denseSkipBlock(true).(*Residual[float64])
	for _, p := range id.Params() {
		fillNormal(rng, p.Value, 1)
	}
	xd := randomInput(rng, 2, 5)
	yi := copyMat(id.Forward(xd))
	yb = id.Body.Forward(xd)
	for i := range yi.Data {
		if math.Abs(yi.Data[i]-(yb.Data[i]+xd.Data[i])) > 1e-15 {
			t.Fatalf("identity residual y[%d] = %g, body + x = %g", i, yi.Data[i], yb.Data[i]+xd.Data[i])
		}
	}
}

// TestConv2DChunked shrinks the scratch budgets so Conv2D runs its batch one
// sample per im2col chunk and its Gram in blocks of one row, and reruns the
// conformance checks on that path.
func TestConv2DChunked(t *testing.T) {
	oldCols, oldGram := convColsBudget, gramChunkBudget
	defer func() { convColsBudget, gramChunkBudget = oldCols, oldGram }()
	convColsBudget = 1
	for _, tc := range []struct {
		name string
		make func() Layer[float64]
	}{
		{"conv s2 bias", func() Layer[float64] { return must(NewConv2D[float64](Shape{2, 5, 5}, 3, 3, 2, 1, true)) }},
		{"basic block", func() Layer[float64] {
			return must(NewSequential[float64](convResidual(true), NewReLU[float64](Shape{3, 3, 3})))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.make()
			gramChunkBudget = 1 // one row per Gram block
			rng := rand.New(rand.NewPCG(1, 2))
			for _, p := range l.Params() {
				fillNormal(rng, p.Value, 0.5)
			}
			checkLayer(t, l, rng)
		})
	}
}

// TestConv2DFloat32 checks the float32 instantiation against float64.
func TestConv2DFloat32(t *testing.T) {
	const tol = 1e-4
	rng := rand.New(rand.NewPCG(9, 10))
	l64 := must(NewConv2D[float64](Shape{3, 6, 5}, 4, 3, 2, 1, true))
	l32 := must(NewConv2D[float32](Shape{3, 6, 5}, 4, 3, 2, 1, true))
	for _, p := range l64.Params() {
		fillNormal(rng, p.Value, 0.5)
	}
	if err := CopyParams(l32, l64); err != nil {
		t.Fatal(err)
	}
	x64 := randomInput(rng, 4, 90)
	dy64 := NewMat[float64](4, l64.OutShape().Size())
	fillNormal(rng, dy64.Data, 1)
	x32, dy32 := toF32(x64), toF32(dy64)
	compare := func(what string, a []float64, b []float32) {
		for i := range a {
			if math.Abs(a[i]-float64(b[i])) > tol*(1+math.Abs(a[i])) {
				t.Fatalf("%s[%d]: float64 %g, float32 %g", what, i, a[i], b[i])
			}
		}
	}
	compare("y", l64.Forward(x64).Data, l32.Forward(x32).Data)
	compare("dx", l64.Backward(dy64).Data, l32.Backward(dy32).Data)
	compare("dW", l64.Weight.Grad, l32.Weight.Grad)
	compare("db", l64.Bias.Grad, l32.Bias.Grad)
}

func toF32(m *Mat[float64]) *Mat[float32] {
	c := NewMat[float32](m.Rows, m.Cols)
	for i, v := range m.Data {
		c.Data[i] = float32(v)
	}
	return c
}
