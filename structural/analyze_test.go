package structural

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// quantityTol is the agreement between Analyze's quantities and their
// independent recomputation from the explicit Jacobian (no differencing).
const quantityTol = 1e-10

func allLosses(t *testing.T) []loss.Loss {
	t.Helper()
	var out []loss.Loss
	for _, name := range loss.Names() {
		l, err := loss.New(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func randomLabels(rng *rand.Rand, n, K int) []int {
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(K)
	}
	return y
}

// checkReport recomputes the report's quantities independently: ∇R = (1/n)Jᵀr
// from the explicit Jacobian, the spectra from dense eigen-decompositions of
// explicit Π H Π restrictions, and the bounds from those.
func checkReport(t *testing.T, rep *Report, model nn.Layer[float64], probe Probe, l loss.Loss) {
	t.Helper()
	n, K := rep.N, rep.K
	z := model.Forward(probe.X)
	p := make([]float64, n*K)
	r := make([]float64, n*K)
	for i := 0; i < n; i++ {
		q := make([]float64, K)
		if probe.Q != nil {
			copy(q, probe.Q[i])
		} else {
			q[probe.Labels[i]] = 1
		}
		l.Predict(p[i*K:(i+1)*K], z.Row(i))
		for k := range q {
			r[i*K+k] = p[i*K+k] - q[k]
		}
	}
	j := Jacobian(model, probe.X)
	g := make([]float64, j.Cols)
	for row := 0; row < j.Rows; row++ {
		for c, v := range j.Row(row) {
			g[c] += v * r[row] / float64(n)
		}
	}
	if e := relErr(rep.GradNorm, norm(g)); e > quantityTol {
		t.Errorf("%s: GradNorm %.15g vs ‖(1/n)Jᵀr‖ %.15g", l.Name(), rep.GradNorm, norm(g))
	}
	if e := relErr(rep.ResidualNorm, norm(r)); e > 1e-8 { // r here without the one-hot identity
		t.Errorf("%s: ResidualNorm %.15g vs %.15g", l.Name(), rep.ResidualNorm, norm(r))
	}
	h := mat.NewSymDense(n*K, gramOf(j))
	spec := rep.H
	if l.OnSimplex() {
		bigV := sumZeroBasis(n, K)
		var b mat.Dense
		b.Product(bigV.T(), h, bigV)
		want, err := DenseSpectrum(mat.NewSymDense(n*(K-1), b.RawMatrix().Data), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.HS.Dim != n*(K-1) {
			t.Errorf("%s: H_S dimension %d, want n(K−1) = %d", l.Name(), rep.HS.Dim, n*(K-1))
		}
		if relErr(rep.HS.Max, want.Max) > quantityTol || math.Abs(rep.HS.Min-want.Min) > quantityTol*want.Max {
			t.Errorf("%s: H_S spectrum [%.12g, %.12g], explicit [%.12g, %.12g]", l.Name(), rep.HS.Min, rep.HS.Max, want.Min, want.Max)
		}
		spec = rep.HS
	} else if rep.HS != nil {
		t.Errorf("squared loss got an H_S spectrum")
	}
	if (l.Name() == "softmax") != (rep.HP != nil) {
		t.Errorf("%s: H_p spectrum present = %v", l.Name(), rep.HP != nil)
	}
	if l.Name() == "softmax" {
		hp, err := DenseSpectrum(ProbabilityWeighted(h, p), false)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rep.HP.Min-hp.Min) > quantityTol*hp.Max {
			t.Errorf("H_p λ_min %.12g, explicit %.12g", rep.HP.Min, hp.Min)
		}
		if !hp.Singular() && relErr(rep.StructuralError, float64(n)/hp.Min) > 1e-8 {
			t.Errorf("E_s %.12g, explicit n/λ_min(H_p) %.12g", rep.StructuralError, float64(n)/hp.Min)
		}
	}
	if !l.OnSimplex() && !rep.H.Singular() && relErr(rep.StructuralError, float64(n)/rep.H.Min) > 1e-12 {
		t.Errorf("squared: E_s %.12g, n/λ_min(H) %.12g", rep.StructuralError, float64(n)/rep.H.Min)
	}
	if (l.Name() == "sparsemax" || l.Name() == "entmax15") && !math.IsNaN(rep.StructuralError) {
		t.Errorf("%s: E_s = %v, want NaN (not defined)", l.Name(), rep.StructuralError)
	}
	// (A) directly from rᵀ H r = n²‖∇R‖².
	var hr mat.VecDense
	rv := mat.NewVecDense(n*K, r)
	hr.MulVec(h, rv)
	rHr := mat.Dot(rv, &hr)
	a := rep.Bounds[0]
	if math.Abs(a.Value-rHr) > 1e-9*spec.Max*norm(r)*norm(r) {
		t.Errorf("%s: (A) value n²‖∇R‖² = %.15g, rᵀHr = %.15g", l.Name(), a.Value, rHr)
	}
	for _, b := range rep.Bounds {
		valid := b.Name == "A" || b.Name == "B" || (b.Name == "C" && l.HasUpperBound()) || (b.Name == "Cr" && l.Name() == "softmax")
		if b.Valid != valid {
			t.Errorf("%s: bound %s Valid = %v", l.Name(), b.Name, b.Valid)
		}
		if b.Valid && !b.Holds {
			t.Errorf("%s: bound %s does not hold: %+v", l.Name(), b.Name, b)
		}
		if b.Valid {
			chain := []float64{b.Lower, b.Middle, b.Value, b.Upper} // (B): Lower ≤ Middle ≤ Value
			if b.Name == "C" || b.Name == "Cr" {
				chain = []float64{b.Lower, b.Value, b.Middle, b.Upper}
			}
			prev := math.Inf(-1)
			for _, v := range chain {
				if math.IsNaN(v) {
					continue
				}
				if v < prev-1e-6*math.Max(math.Abs(v), math.Abs(prev))-1e-12*spec.Max*norm(r)*norm(r) {
					t.Errorf("%s: bound %s chain out of order: %v", l.Name(), b.Name, chain)
				}
				prev = v
			}
		}
	}
	if c := rep.Bounds[2]; !c.Valid && !strings.Contains(c.Note, "no upper bound") {
		t.Errorf("%s: (C) note %q", l.Name(), c.Note)
	}
}

// sumZeroBasis is I_n ⊗ V with V the Helmert basis, built entry by entry
// from its definition (independent of helmert()).
func sumZeroBasis(n, K int) *mat.Dense {
	v := mat.NewDense(n*K, n*(K-1), nil)
	for i := 0; i < n; i++ {
		for j := 1; j < K; j++ {
			s := 1 / math.Sqrt(float64(j*(j+1)))
			for m := 0; m < j; m++ {
				v.Set(i*K+m, i*(K-1)+j-1, s)
			}
			v.Set(i*K+j, i*(K-1)+j-1, -float64(j)*s)
		}
	}
	return v
}

func TestBoundsHoldOnRandomModels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		act   string
		sizes []int
		n     int
		scale float64 // multiplies the inputs (larger → more peaked p)
	}{
		{"relu 5-16-4 n=6", "relu", []int{5, 16, 4}, 6, 1},
		{"tanh 3-8-8-3 n=5", "tanh", []int{3, 8, 8, 3}, 5, 1},
		{"relu 4-3-5 n=8 (P < n(K−1))", "relu", []int{4, 3, 5}, 8, 1},
		{"relu 6-20-3 n=4 peaked", "relu", []int{6, 20, 3}, 4, 30},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			rng := rand.New(rand.NewPCG(seed, 21))
			model := mlp(rng, tc.act, tc.sizes...)
			K := tc.sizes[len(tc.sizes)-1]
			x := randomX(rng, tc.n, tc.sizes[0])
			for i := range x.Data {
				x.Data[i] *= tc.scale
			}
			probe := Probe{X: x, Labels: randomLabels(rng, tc.n, K)}
			for _, l := range allLosses(t) {
				rep, err := Analyze(model, probe, l, Options{})
				if err != nil {
					t.Fatalf("%s seed %d %s: %v", tc.name, seed, l.Name(), err)
				}
				checkReport(t, rep, model, probe, l)
			}
		}
	}
}

func TestBoundsWithSmoothedTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	model := mlp(rng, "tanh", 4, 12, 3)
	n, K := 5, 3
	probe := Probe{X: randomX(rng, n, 4), Labels: randomLabels(rng, n, K)}
	probe.Q = make([][]float64, n)
	for i := range probe.Q {
		probe.Q[i] = make([]float64, K)
		loss.Target(probe.Q[i], probe.Labels[i], K, 0.1)
	}
	for _, l := range allLosses(t) {
		rep, err := Analyze(model, probe, l, Options{})
		if err != nil {
			t.Fatalf("%s: %v", l.Name(), err)
		}
		checkReport(t, rep, model, probe, l)
	}
}

// train runs plain full-batch gradient descent on the probe with Gradient.
func train(model nn.Layer[float64], probe Probe, l loss.Loss, steps int, lr float64) {
	n, K := probe.X.Rows, model.OutShape().Size()
	r := make([]float64, n*K)
	p := make([]float64, K)
	q := make([]float64, K)
	for s := 0; s < steps; s++ {
		z := model.Forward(probe.X)
		for i := 0; i < n; i++ {
			loss.Target(q, probe.Labels[i], K, 0)
			l.Predict(p, z.Row(i))
			label := -1
			if l.OnSimplex() {
				label = probe.Labels[i]
			}
			loss.Residual(r[i*K:(i+1)*K], p, q, label)
		}
		g := Gradient(model, probe.X, r)
		off := 0
		for _, prm := range model.Params() {
			for e := range prm.Value {
				prm.Value[e] -= lr * g[off+e]
			}
			off += prm.Len()
		}
	}
}

func TestTrainedModelNearOptimum(t *testing.T) {
	for _, tc := range []struct {
		loss  string
		steps int
		lr    float64
	}{
		{"softmax", 3000, 2},
		{"squared", 2000, 0.3},
		{"sparsemax", 2000, 0.5},
	} {
		t.Run(tc.loss, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 7))
			model := mlp(rng, "tanh", 4, 32, 3)
			n, K := 6, 3
			probe := Probe{X: randomX(rng, n, 4), Labels: randomLabels(rng, n, K)}
			l, err := loss.New(tc.loss)
			if err != nil {
				t.Fatal(err)
			}
			train(model, probe, l, tc.steps, tc.lr)
			rep, err := Analyze(model, probe, l, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep, model, probe, l)
			if rep.FittingError > 1e-3 {
				t.Fatalf("training did not fit: E_f = %g", rep.FittingError)
			}
			text := strings.Join(rep.Diagnosis, "\n")
			c := rep.Bounds[2]
			upper := math.Min(c.Upper, rep.Bounds[3].Upper)
			if !rep.Bounds[3].Valid {
				upper = c.Upper
			}
			// A fitted model is near the optimum either way; only an upper
			// bound ≤ FitTol certifies it, else the text says "no guarantee".
			certified := c.Valid && upper <= DefaultFitTol
			if !strings.Contains(text, "near global optimum") || certified != strings.Contains(text, "certified by (C)") || certified == strings.Contains(text, "no guarantee") {
				t.Errorf("diagnosis of a fitted model with (C) upper bound %g:\n%s", upper, text)
			}
			if l.Name() == "squared" && !(c.Upper < 1e-2) {
				t.Errorf("(C) upper bound %g on a fitted model", c.Upper)
			}
			t.Logf("E_f = %.3g, ‖∇R‖ = %.3g, E_s = %.3g, HP %+v, bounds %+v\n%s", rep.FittingError, rep.GradNorm, rep.StructuralError, rep.HP, rep.Bounds, text)
		})
	}
}

func TestSoftmaxUnderflow(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	model := mlp(rng, "relu", 3, 10, 4)
	last := model.Layers[len(model.Layers)-1].(*nn.Dense[float64])
	for i := range last.W.Value {
		last.W.Value[i] *= 2000
	}
	n := 5
	probe := Probe{X: randomX(rng, n, 3), Labels: randomLabels(rng, n, 4)}
	l, _ := loss.New("softmax")
	rep, err := Analyze(model, probe, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ZeroProbabilities == 0 {
		t.Fatal("test setup: no probability underflowed")
	}
	if !math.IsInf(rep.StructuralError, 1) || !math.IsInf(rep.Bounds[2].Upper, 1) || !rep.Bounds[2].Holds {
		t.Errorf("underflow: E_s = %v, (C) = %+v", rep.StructuralError, rep.Bounds[2])
	}
	if !rep.Bounds[0].Holds || !rep.Bounds[1].Holds {
		t.Errorf("underflow: (A) %+v (B) %+v", rep.Bounds[0], rep.Bounds[1])
	}
}

func TestLanczosMethodAgreesWithDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	model := mlp(rng, "tanh", 6, 40, 5)
	n := 20
	probe := Probe{X: randomX(rng, n, 6), Labels: randomLabels(rng, n, 5)}
	l, _ := loss.New("softmax")
	dense, err := Analyze(model, probe, l, Options{Method: "dense"})
	if err != nil {
		t.Fatal(err)
	}
	lz, err := Analyze(model, probe, l, Options{Method: "lanczos", Rng: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a, b *Spectrum
	}{{"H", lz.H, dense.H}, {"H_S", lz.HS, dense.HS}, {"H_p", lz.HP, dense.HP}} {
		if c.a.Method != "lanczos" || c.b.Method != "dense" {
			t.Fatalf("%s methods %q, %q", c.name, c.a.Method, c.b.Method)
		}
		if relErr(c.a.Min, c.b.Min) > lanczosTol || relErr(c.a.Max, c.b.Max) > lanczosTol || relErr(c.a.Trace, c.b.Trace) > exactTol {
			t.Errorf("%s: Lanczos [%.12g, %.12g] vs dense [%.12g, %.12g]", c.name, c.a.Min, c.a.Max, c.b.Min, c.b.Max)
		}
	}
}

func TestSymmetricInitDiagnosis(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	model := mlp(rng, "relu", 4, 16, 3)
	first := model.Layers[0].(*nn.Dense[float64])
	for o := 1; o < first.Out; o++ {
		copy(first.W.Value[o*4:(o+1)*4], first.W.Value[:4])
		first.B.Value[o] = first.B.Value[0] + 1 // make unit 0 alive on the probe
	}
	first.B.Value[0] += 1
	n := 10
	probe := Probe{X: randomX(rng, n, 4), Labels: randomLabels(rng, n, 3)}
	l, _ := loss.New("softmax")
	rep, err := Analyze(model, probe, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DuplicateUnits != 15 || rep.HiddenUnits != 16 {
		t.Errorf("duplicates %d of %d, want 15 of 16", rep.DuplicateUnits, rep.HiddenUnits)
	}
	if !rep.HS.Singular() || rep.HS.Rank >= rep.HS.Dim {
		t.Fatalf("symmetric init: H_S rank %d of %d, λ_min %g", rep.HS.Rank, rep.HS.Dim, rep.HS.Min)
	}
	text := strings.Join(rep.Diagnosis, "\n")
	for _, want := range []string{"degenerate", "duplicate", "structural error infinite"} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnosis lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "stuck") {
		t.Errorf("diagnosis says stuck:\n%s", text)
	}
}

func TestUnitStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	inner, err := nn.NewSequential[float64](nn.NewDense[float64](4, 6), nn.NewReLU[float64](nn.Shape{6}))
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.NewSequential[float64](inner, nn.NewDense[float64](6, 5), nn.NewReLU[float64](nn.Shape{5}), nn.NewDense[float64](5, 3))
	if err != nil {
		t.Fatal(err)
	}
	d1 := inner.Layers[0].(*nn.Dense[float64])
	d2 := model.Layers[1].(*nn.Dense[float64])
	for _, d := range []*nn.Dense[float64]{d1, d2} {
		for i := range d.W.Value {
			d.W.Value[i] = 0.1 * rng.NormFloat64()
		}
		for i := range d.B.Value {
			d.B.Value[i] = 5 // alive on inputs of order 1
		}
	}
	copy(d1.W.Value[2*4:3*4], d1.W.Value[0:4]) // unit 2 duplicates unit 0
	copy(d1.W.Value[5*4:6*4], d1.W.Value[0:4]) // unit 5 too
	d1.B.Value[4] = -100                       // dead
	d2.B.Value[1] = -100                       // dead
	x := randomX(rng, 7, 4)
	dead, dup, total := UnitStats(model, x)
	if dead != 2 || dup != 2 || total != 11 {
		t.Errorf("UnitStats = dead %d, duplicate %d, total %d; want 2, 2, 11", dead, dup, total)
	}
}

func TestAnalyzeRejectsBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 3, 4, 3)
	x := randomX(rng, 2, 3)
	l, _ := loss.New("softmax")
	for _, tc := range []struct {
		name  string
		probe Probe
		opts  Options
		want  string
	}{
		{"label range", Probe{X: x, Labels: []int{0, 3}}, Options{}, "Labels[1] = 3"},
		{"label count", Probe{X: x, Labels: []int{0}}, Options{}, "1 labels for 2"},
		{"no targets", Probe{X: x}, Options{}, "neither"},
		{"bad Q sum", Probe{X: x, Q: [][]float64{{1, 0, 0}, {0.5, 0, 0}}}, Options{}, "sums to"},
		{"wrong width", Probe{X: randomX(rng, 2, 4), Labels: []int{0, 1}}, Options{}, "2×4"},
		{"bad method", Probe{X: x, Labels: []int{0, 1}}, Options{Method: "qr"}, `"qr"`},
	} {
		_, err := Analyze(model, tc.probe, l, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want mention of %q", tc.name, err, tc.want)
		}
	}
}

func TestBoundViolationError(t *testing.T) {
	var err error = &BoundViolation{Bounds: []Bound{{Name: "A", Lower: 2, Middle: math.NaN(), Value: 1, Upper: 3}}}
	var bv *BoundViolation
	if !errors.As(err, &bv) || !strings.Contains(err.Error(), "(A)") {
		t.Errorf("BoundViolation: %v", err)
	}
	if LessEq(2, 1, 0) || !LessEq(1, 1+1e-9, 0) || !LessEq(1+1e-9, 1, 0) || LessEq(1+1e-5, 1, 0) || !LessEq(5, math.Inf(1), 0) {
		t.Error("le misclassifies")
	}
}

// TestUnitStatsConvResidual counts conv channels as units and walks into
// residual bodies: the hand-made degeneracies below are exactly what must be found.
func TestUnitStatsConvResidual(t *testing.T) {
	for _, skip := range []bool{true, false} {
		rng := rand.New(rand.NewPCG(7, 7))
		conv, err := nn.NewConv2D[float64](nn.Shape{1, 4, 4}, 3, 3, 1, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		hidden := nn.NewDense[float64](48, 6)
		inner := nn.NewDense[float64](6, 6)
		body, err := nn.NewSequential[float64](inner, nn.NewReLU[float64](nn.Shape{6}))
		if err != nil {
			t.Fatal(err)
		}
		block, err := nn.NewResidual[float64](body, nil, skip)
		if err != nil {
			t.Fatal(err)
		}
		model, err := nn.NewSequential[float64](conv, nn.NewReLU[float64](nn.Shape{3, 4, 4}), nn.NewFlatten[float64](nn.Shape{3, 4, 4}),
			hidden, nn.NewReLU[float64](nn.Shape{6}), block, nn.NewDense[float64](6, 3))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range model.Params() {
			for i := range p.Value {
				p.Value[i] = 0.1 * rng.NormFloat64()
			}
			if p.Bias {
				for i := range p.Value {
					p.Value[i] = 5 // alive on inputs of order 1
				}
			}
		}
		copy(conv.Weight.Value[2*9:3*9], conv.Weight.Value[0:9]) // channel 2 duplicates channel 0
		conv.Bias.Value[1] = -100                                // channel 1 dead
		copy(inner.W.Value[4*6:5*6], inner.W.Value[1*6:2*6])     // residual unit 4 duplicates unit 1
		inner.B.Value[3] = -100                                  // residual unit 3 dead
		x := randomX(rng, 5, 16)
		dead, dup, total := UnitStats(model, x)
		if dead != 2 || dup != 2 || total != 15 {
			t.Errorf("skip %v: UnitStats = dead %d, duplicate %d, total %d; want 2, 2, 15", skip, dead, dup, total)
		}
	}
}
