package optim

import (
	"math"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
	"gonum.org/v1/gonum/mat"
)

// quadratic is f(θ) = ½ θᵀAθ − bᵀθ with SPD A, split over two parameter
// tensors (θ = [w; c], w of length 2, c of length 1) so layouts with several
// tensors are exercised. Its minimiser θ* is chosen first and b = Aθ*.
type quadratic struct {
	A     [3][3]float64
	b     [3]float64
	theta [3]float64 // θ*
}

func newQuadratic() quadratic {
	q := quadratic{
		A:     [3][3]float64{{3, 1, 0.5}, {1, 2, 0.2}, {0.5, 0.2, 1}}, // diagonally dominant, so SPD
		theta: [3]float64{1, -2, 0.5},
	}
	for i := range q.b {
		for j := range q.theta {
			q.b[i] += q.A[i][j] * q.theta[j]
		}
	}
	return q
}

func params[T nn.Float]() []*nn.Param[T] {
	return []*nn.Param[T]{nn.NewParam[T]("w", []int{2}, 1, 1, false), nn.NewParam[T]("c", []int{1}, 1, 1, true)}
}

// grad writes ∇f = Aθ − b into the parameters' Grad.
func (q quadratic) grad(ps []*nn.Param[float64]) {
	th := [3]float64{ps[0].Value[0], ps[0].Value[1], ps[1].Value[0]}
	var g [3]float64
	for i := range g {
		for j := range th {
			g[i] += q.A[i][j] * th[j]
		}
		g[i] -= q.b[i]
	}
	ps[0].Grad[0], ps[0].Grad[1], ps[1].Grad[0] = g[0], g[1], g[2]
}

func gradT[T nn.Float](q quadratic, ps []*nn.Param[T]) {
	p64 := params[float64]()
	p64[0].Value[0], p64[0].Value[1], p64[1].Value[0] = float64(ps[0].Value[0]), float64(ps[0].Value[1]), float64(ps[1].Value[0])
	q.grad(p64)
	ps[0].Grad[0], ps[0].Grad[1], ps[1].Grad[0] = T(p64[0].Grad[0]), T(p64[0].Grad[1]), T(p64[1].Grad[0])
}

func flat[T nn.Float](ps []*nn.Param[T]) [3]float64 {
	return [3]float64{float64(ps[0].Value[0]), float64(ps[0].Value[1]), float64(ps[1].Value[0])}
}

func TestConvergeQuadratic(t *testing.T) {
	q := newQuadratic()
	for _, c := range []struct {
		name     string
		schedule StepDecay
		steps    int
	}{
		// λ_max(A) < 4, so lr 0.2 is stable for SGD; momentum converges with a smaller step.
		{"sgd", StepDecay{Base: 0.2}, 2000},
		{"momentum", StepDecay{Base: 0.05}, 2000},
		// Adam's step is ~lr whatever the gradient, so it needs a decaying rate to settle.
		{"adam", StepDecay{Base: 0.05, Gamma: 0.5, Every: 300}, 6000},
	} {
		for _, f32 := range []bool{false, true} {
			var got [3]float64
			if f32 {
				got = runQuadratic[float32](t, c.name, q, c.schedule, c.steps)
			} else {
				got = runQuadratic[float64](t, c.name, q, c.schedule, c.steps)
			}
			// float32 rounding of θ limits accuracy to ~1e-7 relative.
			tol := 1e-9
			if f32 {
				tol = 1e-5
			}
			for i := range got {
				if math.Abs(got[i]-q.theta[i]) > tol {
					t.Errorf("%s float32=%v: θ = %v, want A⁻¹b = %v", c.name, f32, got, q.theta)
					break
				}
			}
		}
	}
}

func runQuadratic[T nn.Float](t *testing.T, name string, q quadratic, s StepDecay, steps int) [3]float64 {
	o, err := New[T](Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	ps := params[T]()
	for k := 0; k < steps; k++ {
		gradT(q, ps)
		o.Step(ps, s.LR(k)) // one "epoch" per step here
	}
	return flat(ps)
}

// TestAdamHandSteps checks two Adam steps against the formulas written out by
// hand (β1 = 0.9, β2 = 0.999, eps = 1e-8, lr = 0.1).
func TestAdamHandSteps(t *testing.T) {
	o, _ := New[float64](Config{Name: "adam"})
	p := nn.NewParam[float64]("x", []int{2}, 1, 1, false)
	p.Value[0], p.Value[1] = 1, 1
	ps := []*nn.Param[float64]{p}

	// Step 1, g = (0.5, −2): m̂ = g, v̂ = g², so θ −= 0.1·g/(|g| + 1e-8).
	p.Grad[0], p.Grad[1] = 0.5, -2
	o.Step(ps, 0.1)
	want := []float64{1 - 0.1*0.5/(0.5+1e-8), 1 + 0.1*2/(2+1e-8)}
	check(t, "step 1", p.Value, want, 1e-15)

	// Step 2, g = (1, 1): m = 0.9·m1 + 0.1·g, v = 0.999·v1 + 0.001·g².
	p.Grad[0], p.Grad[1] = 1, 1
	o.Step(ps, 0.1)
	m := []float64{0.9*0.05 + 0.1, 0.9*(-0.2) + 0.1}
	v := []float64{0.999*0.00025 + 0.001, 0.999*0.004 + 0.001}
	bc1, bc2 := 1-0.9*0.9, 1-0.999*0.999
	for i := range want {
		want[i] -= 0.1 * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + 1e-8)
	}
	check(t, "step 2", p.Value, want, 1e-14)
}

func TestSGDHandSteps(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want []float64 // after two steps of lr 0.5 from θ = 2 with g = 1 then g = 3
	}{
		{Config{Name: "sgd"}, []float64{2 - 0.5*1 - 0.5*3}},
		// b1 = 1, θ = 1.5; b2 = 0.9 + 3 = 3.9, θ = 1.5 − 1.95.
		{Config{Name: "momentum"}, []float64{1.5 - 0.5*3.9}},
		{Config{Name: "momentum", Momentum: 0.5}, []float64{1.5 - 0.5*3.5}},
		// Weight decay 0.1 adds 0.1·θ: g1 = 1.2, θ = 1.4; g2 = 3.14, θ = 1.4 − 1.57.
		{Config{Name: "sgd", WeightDecay: 0.1}, []float64{1.4 - 0.5*3.14}},
	} {
		o, err := New[float64](c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := nn.NewParam[float64]("x", []int{1}, 1, 1, false)
		p.Value[0] = 2
		for _, g := range []float64{1, 3} {
			p.Grad[0] = g
			o.Step([]*nn.Param[float64]{p}, 0.5)
		}
		check(t, c.cfg.Name, p.Value, c.want, 1e-15)
	}
}

func check(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol {
			t.Errorf("%s: θ[%d] = %.17g, want %.17g", what, i, got[i], want[i])
		}
	}
}

// TestStateRoundTrip: 5 steps, save, restore into a fresh optimiser, 5 more
// steps equals 10 steps straight, bit for bit.
func TestStateRoundTrip(t *testing.T) {
	for _, name := range Names() {
		roundTrip[float64](t, name)
		roundTrip[float32](t, name)
	}
}

func roundTrip[T nn.Float](t *testing.T, name string) {
	q := newQuadratic()
	cfg := Config{Name: name, WeightDecay: 0.01}
	lr := StepDecay{Base: 0.03, Gamma: 0.5, Every: 3}

	straight, _ := New[T](cfg)
	a := params[T]()
	for k := 0; k < 10; k++ {
		gradT(q, a)
		straight.Step(a, lr.LR(k))
	}

	first, _ := New[T](cfg)
	b := params[T]()
	for k := 0; k < 5; k++ {
		gradT(q, b)
		first.Step(b, lr.LR(k))
	}
	state, err := first.State()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := New[T](cfg)
	if err := second.SetState(state); err != nil {
		t.Fatal(err)
	}
	if err := second.Check(b); err != nil {
		t.Fatal(err)
	}
	for k := 5; k < 10; k++ {
		gradT(q, b)
		second.Step(b, lr.LR(k))
	}
	if flat(a) != flat(b) {
		t.Errorf("%s %T: resumed θ = %v, straight %v", name, a[0].Value[0], flat(b), flat(a))
	}
	if name != "sgd" && flat(a) == flat(params[T]()) {
		t.Fatalf("%s: no progress", name)
	}
}

func TestStateErrors(t *testing.T) {
	q := newQuadratic()
	adam, _ := New[float64](Config{Name: "adam"})
	ps := params[float64]()
	q.grad(ps)
	adam.Step(ps, 0.1)
	state, _ := adam.State()

	mom, _ := New[float64](Config{Name: "momentum"})
	if err := mom.SetState(state); err == nil || !strings.Contains(err.Error(), "adam") {
		t.Errorf("adam state into momentum: %v", err)
	}
	other, _ := New[float64](Config{Name: "adam", Beta2: 0.99})
	if err := other.SetState(state); err == nil {
		t.Error("adam state into adam with another β2: no error")
	}
	fresh, _ := New[float64](Config{Name: "adam"})
	if err := fresh.SetState([]byte("not a state")); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("garbage: %v", err)
	}
	// A restored state whose layout does not fit the model.
	if err := fresh.SetState(state); err != nil {
		t.Fatal(err)
	}
	wrong := []*nn.Param[float64]{nn.NewParam[float64]("w", []int{3}, 1, 1, false)}
	if err := fresh.Check(wrong); err == nil || !strings.Contains(err.Error(), "2 parameter tensors") {
		t.Errorf("Check with mismatched layout: %v", err)
	}
	renamed := params[float64]()
	renamed[1].Name = "bias"
	if err := fresh.Check(renamed); err == nil || !strings.Contains(err.Error(), `"bias"`) {
		t.Errorf("Check with renamed tensor: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("Step with mismatched layout did not panic")
			}
		}()
		fresh.Step(wrong, 0.1)
	}()
	// After Step has fixed a layout, a state of another layout is refused.
	small, _ := New[float64](Config{Name: "adam"})
	small.Step(wrong, 0.1)
	if err := small.SetState(state); err == nil || !strings.Contains(err.Error(), "layout") {
		t.Errorf("SetState over a different fixed layout: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg    Config
		expect string
	}{
		{Config{Name: "rmsprop"}, `unknown optimiser "rmsprop" (valid: sgd, momentum, adam)`},
		{Config{Name: "adam", Beta1: 1}, "beta1 = 1 must lie in [0, 1)"},
		{Config{Name: "adam", Beta2: -0.1}, "beta2 = -0.1 is negative"},
		{Config{Name: "adam", Eps: math.NaN()}, "eps = NaN is not finite"},
		{Config{Name: "momentum", Momentum: 1.5}, "momentum = 1.5 must lie in [0, 1)"},
		{Config{Name: "sgd", WeightDecay: -1}, "weight decay = -1 is negative"},
		{Config{Name: "sgd", WeightDecay: math.Inf(1)}, "weight decay = +Inf is not finite"},
	} {
		_, err := New[float32](c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.expect) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.expect)
		}
	}
	for _, n := range Names() {
		o, err := New[float32](Config{Name: n})
		if err != nil || o.Name() != n {
			t.Errorf("New(%q) = %v, %v", n, o, err)
		}
	}
}

func TestStepDecay(t *testing.T) {
	s := StepDecay{Base: 0.002, Gamma: 0.1, Every: 2}
	for _, c := range []struct {
		epoch int
		want  float64
	}{{0, 0.002}, {1, 0.002}, {2, 0.0002}, {3, 0.0002}, {4, 0.00002}, {7, 0.000002}} {
		if got := s.LR(c.epoch); math.Abs(got-c.want) > 1e-15*c.want {
			t.Errorf("LR(%d) = %v, want %v", c.epoch, got, c.want)
		}
	}
	for _, every := range []int{0, -1} {
		if got := (StepDecay{Base: 0.5, Gamma: 0.1, Every: every}).LR(9); got != 0.5 {
			t.Errorf("Every %d: LR(9) = %v, want constant 0.5", every, got)
		}
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	if err := (StepDecay{Base: 0.1}).Validate(); err != nil {
		t.Errorf("constant schedule: %v", err)
	}
	for _, bad := range []StepDecay{{Base: 0}, {Base: -1}, {Base: math.NaN()}, {Base: 1, Gamma: 0, Every: 1}, {Base: 1, Gamma: math.Inf(1), Every: 2}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestWeightDecayOptimum: with weight decay wd every optimiser minimises
// f(θ) + (wd/2)‖θ‖², whose minimiser (A + wd·I)⁻¹b is solved here by LU.
func TestWeightDecayOptimum(t *testing.T) {
	const wd = 0.3
	q := newQuadratic()
	var a mat.Dense
	a.Apply(func(i, j int, _ float64) float64 {
		if i == j {
			return q.A[i][j] + wd
		}
		return q.A[i][j]
	}, mat.NewDense(3, 3, nil))
	var want mat.VecDense
	if err := want.SolveVec(&a, mat.NewVecDense(3, q.b[:])); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		schedule StepDecay
		steps    int
	}{
		{"sgd", StepDecay{Base: 0.2}, 2000},
		{"momentum", StepDecay{Base: 0.05}, 2000},
		{"adam", StepDecay{Base: 0.05, Gamma: 0.5, Every: 300}, 6000},
	} {
		o, err := New[float64](Config{Name: c.name, WeightDecay: wd})
		if err != nil {
			t.Fatal(err)
		}
		ps := params[float64]()
		for k := 0; k < c.steps; k++ {
			q.grad(ps)
			o.Step(ps, c.schedule.LR(k))
		}
		got := flat(ps)
		for i := range got {
			if math.Abs(got[i]-want.AtVec(i)) > 1e-9 {
				t.Errorf("%s: θ = %v, want (A + wd·I)⁻¹b = %v", c.name, got, mat.Formatted(want.T()))
				break
			}
		}
	}
}

// TestParallelStepMatchesSerial checks the chunked multi-goroutine update of
// a large tensor against the same values updated as many small tensors (each
// below parallelMin, so updated serially), element for element and bit for
// bit, for every rule with and without weight decay, over three steps, with
// every kernel.
func TestParallelStepMatchesSerial(t *testing.T) {
	for _, k := range kernels() {
		withKernel(k, func() { parallelMatchesSerial(t, k) })
	}
}

func parallelMatchesSerial(t *testing.T, kern kernel) {
	const n = 3*parallelMinVector + 17 // an uneven split for every kernel
	const piece = 1000
	for _, name := range Names() {
		for _, wd := range []float64{0, 0.01} {
			cfg := Config{Name: name, WeightDecay: wd}
			big, _ := New[float32](cfg)
			small, _ := New[float32](cfg)
			pb := []*nn.Param[float32]{nn.NewParam[float32]("w", []int{n}, 1, 1, false)}
			var ps []*nn.Param[float32]
			for lo := 0; lo < n; lo += piece {
				ps = append(ps, nn.NewParam[float32]("w", []int{min(piece, n-lo)}, 1, 1, false))
			}
			for step := 0; step < 3; step++ {
				for k := range pb[0].Value {
					g := float32(math.Sin(float64(k*(step+3)))) * 0.7
					pb[0].Grad[k] = g
					ps[k/piece].Grad[k%piece] = g
					if step == 0 {
						v := float32(math.Cos(float64(k))) * 0.3
						pb[0].Value[k] = v
						ps[k/piece].Value[k%piece] = v
					}
				}
				big.Step(pb, 1e-2)
				small.Step(ps, 1e-2)
			}
			for k, v := range pb[0].Value {
				if w := ps[k/piece].Value[k%piece]; v != w {
					t.Fatalf("%v: %s wd=%g: element %d: parallel %v, serial %v", kern, name, wd, k, v, w)
				}
			}
		}
	}
}
