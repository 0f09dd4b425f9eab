package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Tolerances for float64 central differences with step fdStep: truncation
// error is O(step²)·|f”'| and rounding O(eps/step); 1e-6 relative (with an
// absolute floor for near-zero entries) sits well above both for smooth
// layers and inputs drawn away from kinks.
const (
	fdStep = 1e-5
	fdRel  = 1e-6
	fdAbs  = 1e-8
	// exactTol is for identities that involve no differencing (per-sample
	// gradients against single-row backward passes, Gram against G Gᵀ).
	exactTol = 1e-12
)

// layerCase is one entry of the conformance table: a constructor for a
// float64 layer with small shapes.
type layerCase struct {
	name string
	make func() Layer[float64]
}

// conformanceCases registers every layer kind. Adding a layer kind means adding
// a row here (several rows for its variants: stride, padding, skip on/off).
func conformanceCases() []layerCase {
	return []layerCase{
		{"dense", func() Layer[float64] { return NewDense[float64](5, 4) }},
		{"relu", func() Layer[float64] { return NewReLU[float64](Shape{6}) }},
		{"tanh", func() Layer[float64] { return NewTanh[float64](Shape{6}) }},
		{"sequential", func() Layer[float64] {
			s, err := NewSequential[float64](NewDense[float64](5, 4), NewTanh[float64](Shape{4}), NewDense[float64](4, 3))
			if err != nil {
				panic(err)
			}
			return s
		}},
		{"conv2d s1 p1 bias", func() Layer[float64] { return must(NewConv2D[float64](Shape{2, 4, 4}, 3, 3, 1, 1, true)) }},
		{"conv2d s2 p1 no bias", func() Layer[float64] { return must(NewConv2D[float64](Shape{2, 5, 5}, 3, 3, 2, 1, false)) }},
		{"conv2d 1x1", func() Layer[float64] { return must(NewConv2D[float64](Shape{3, 3, 2}, 2, 1, 1, 0, true)) }},
		{"conv2d k2 s2 p0 non-square", func() Layer[float64] { return must(NewConv2D[float64](Shape{2, 5, 4}, 2, 2, 2, 0, true)) }},
		{"maxpool2d k3 s1 p1", func() Layer[float64] { return must(NewMaxPool2D[float64](Shape{2, 4, 4}, 3, 1, 1)) }},
		{"maxpool2d k2 s2 p0", func() Layer[float64] { return must(NewMaxPool2D[float64](Shape{2, 5, 5}, 2, 2, 0)) }},
		{"avgpool2d k3 s1 p1", func() Layer[float64] { return must(NewAvgPool2D[float64](Shape{2, 4, 4}, 3, 1, 1)) }},
		{"avgpool2d k2 s2", func() Layer[float64] { return must(NewAvgPool2D[float64](Shape{2, 5, 5}, 2, 2, 0)) }},
		{"globalavgpool", func() Layer[float64] { return must(NewGlobalAvgPool[float64](Shape{3, 3, 2})) }},
		{"flatten", func() Layer[float64] { return NewFlatten[float64](Shape{2, 3, 2}) }},
		{"residual identity skip on", func() Layer[float64] { return denseSkipBlock(true) }},
		{"residual identity skip off", func() Layer[float64] { return denseSkipBlock(false) }},
		{"residual conv shortcut", func() Layer[float64] { return convResidual(true) }},
		{"residual conv shortcut skip off", func() Layer[float64] { return convResidual(false) }},
		{"basic block", func() Layer[float64] {
			return must(NewSequential[float64](convResidual(true), NewReLU[float64](Shape{3, 3, 3})))
		}},
		{"tiny resnet", func() Layer[float64] { return tinyResNet(true) }},
	}
}

func TestConformance(t *testing.T) {
	for _, tc := range conformanceCases() {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			l := tc.make()
			for _, p := range l.Params() {
				fillNormal(rng, p.Value, 0.5)
			}
			checkLayer(t, l, rng)
		})
	}
}

func fillNormal(rng *rand.Rand, v []float64, scale float64) {
	for i := range v {
		v[i] = scale * rng.NormFloat64()
	}
}

// randomInput draws inputs away from 0 so ReLU-like kinks are not hit by the
// finite-difference step.
func randomInput(rng *rand.Rand, rows, cols int) *Mat[float64] {
	x := NewMat[float64](rows, cols)
	for i := range x.Data {
		v := 0.1 + rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		x.Data[i] = v
	}
	return x
}

func copyMat(m *Mat[float64]) *Mat[float64] {
	c := NewMat[float64](m.Rows, m.Cols)
	copy(c.Data, m.Data)
	return c
}

// objective is Σ w ∘ layer(x): its gradient is Backward(w).
func objective(l Layer[float64], x, w *Mat[float64]) float64 {
	y := l.Forward(x)
	s := 0.0
	for i, v := range y.Data {
		s += w.Data[i] * v
	}
	return s
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= fdAbs+fdRel*math.Max(math.Abs(a), math.Abs(b))
}

func checkLayer(t *testing.T, l Layer[float64], rng *rand.Rand) {
	t.Helper()
	const rows = 3
	in, out := l.InShape().Size(), l.OutShape().Size()
	x := randomInput(rng, rows, in)
	w := NewMat[float64](rows, out)
	fillNormal(rng, w.Data, 1)

	// Reverse mode: input and parameter gradients against central differences.
	ZeroGrad(l)
	y := l.Forward(copyMat(x))
	if y.Rows != rows || y.Cols != out {
		t.Fatalf("forward output %d×%d, want %d×%d", y.Rows, y.Cols, rows, out)
	}
	dx := copyMat(l.Backward(copyMat(w)))
	grads := make([][]float64, len(l.Params()))
	for i, p := range l.Params() {
		grads[i] = append([]float64(nil), p.Grad...)
	}
	for i := range x.Data {
		xp, xm := copyMat(x), copyMat(x)
		xp.Data[i] += fdStep
		xm.Data[i] -= fdStep
		fd := (objective(l, xp, w) - objective(l, xm, w)) / (2 * fdStep)
		if !near(dx.Data[i], fd) {
			t.Errorf("dL/dx[%d] = %.12g, finite difference %.12g", i, dx.Data[i], fd)
		}
	}
	for pi, p := range l.Params() {
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + fdStep
			fp := objective(l, x, w)
			p.Value[i] = old - fdStep
			fm := objective(l, x, w)
			p.Value[i] = old
			fd := (fp - fm) / (2 * fdStep)
			if !near(grads[pi][i], fd) {
				t.Errorf("dL/d%s[%d] = %.12g, finite difference %.12g", p.Name, i, grads[pi][i], fd)
			}
		}
	}

	// Forward mode: Tangent against a central difference along (dx, dθ).
	tx := NewMat[float64](rows, in)
	fillNormal(rng, tx.Data, 1)
	for _, p := range l.Params() {
		p.Tangent = make([]float64, p.Len())
		fillNormal(rng, p.Tangent, 1)
	}
	l.Forward(copyMat(x))
	jvp := copyMat(l.Tangent(tx))
	shift := func(s float64) *Mat[float64] {
		xs := copyMat(x)
		for i := range xs.Data {
			xs.Data[i] += s * tx.Data[i]
		}
		for _, p := range l.Params() {
			for i := range p.Value {
				p.Value[i] += s * p.Tangent[i]
			}
		}
		ys := copyMat(l.Forward(xs))
		for _, p := range l.Params() {
			for i := range p.Value {
				p.Value[i] -= s * p.Tangent[i]
			}
		}
		return ys
	}
	yp, ym := shift(fdStep), shift(-fdStep)
	for i := range jvp.Data {
		fd := (yp.Data[i] - ym.Data[i]) / (2 * fdStep)
		if !near(jvp.Data[i], fd) {
			t.Errorf("tangent[%d] = %.12g, finite difference %.12g", i, jvp.Data[i], fd)
		}
	}
	for _, p := range l.Params() {
		p.Tangent = nil
	}

	// Per-sample gradients: row r must equal the parameter gradient of a
	// backward pass seeded with row r of w alone.
	np := NumParams(l)
	if np == 0 {
		return
	}
	l.Forward(copyMat(x))
	l.Backward(copyMat(w))
	g := NewMat[float64](rows, np)
	l.PerSampleGrad(g, 0)
	for r := 0; r < rows; r++ {
		wr := NewMat[float64](rows, out)
		copy(wr.Row(r), w.Row(r))
		ZeroGrad(l)
		l.Forward(copyMat(x))
		l.Backward(wr)
		k := 0
		for _, p := range l.Params() {
			for i, v := range p.Grad {
				if math.Abs(v-g.At(r, k)) > exactTol*(1+math.Abs(v)) {
					t.Fatalf("per-sample grad row %d, %s[%d] = %.15g, single-row backward %.15g", r, p.Name, i, g.At(r, k), v)
				}
				k++
			}
		}
	}

	// AddGram against G Gᵀ, on a batch with repeated inputs (rep = 2) so the
	// structured path that exploits repetition is exercised too.
	for _, rep := range []int{1, 2} {
		xr := NewMat[float64](rows*rep, in)
		wr := NewMat[float64](rows*rep, out)
		for r := 0; r < rows*rep; r++ {
			copy(xr.Row(r), x.Row(r/rep))
		}
		fillNormal(rng, wr.Data, 1)
		l.Forward(xr)
		l.Backward(wr)
		gr := NewMat[float64](rows*rep, np)
		l.PerSampleGrad(gr, 0)
		n := rows * rep
		h := make([]float64, n*n)
		for i := range h {
			h[i] = 0.25 // AddGram must add, not overwrite
		}
		l.AddGram(h, n, rep)
		for a := 0; a < n; a++ {
			for b := a; b < n; b++ {
				want := 0.25
				for k := 0; k < np; k++ {
					want += gr.At(a, k) * gr.At(b, k)
				}
				if math.Abs(h[a*n+b]-want) > 1e-10*(1+math.Abs(want)) {
					t.Fatalf("rep %d: gram[%d,%d] = %.15g, G Gᵀ = %.15g", rep, a, b, h[a*n+b], want)
				}
			}
		}
	}
}
