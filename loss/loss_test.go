package loss

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Named tolerances.
const (
	// simplexTol: Σp = 1 and p ≥ 0 hold up to a few ulps of accumulation.
	simplexTol = 1e-12
	// zeroTol: d(z; Predict(z)) is exactly 0 in real arithmetic; float64
	// rounding of O(1) terms leaves at most a few 1e-16.
	zeroTol = 1e-12
	// fdStep and fdTol: central differences of a C¹ function with Lipschitz
	// gradient (C² away from support changes) have error O(h²) there, plus
	// rounding ~1e-16/h ≈ 1e-11.
	fdStep = 1e-5
	fdTol  = 1e-7
	// exactTol: agreement of two float64 evaluations of the same O(1) quantity.
	exactTol = 1e-12
)

func allLosses(t testing.TB) []Loss {
	var ls []Loss
	for _, n := range Names() {
		l, err := New(n)
		if err != nil {
			t.Fatal(err)
		}
		if l.Name() != n {
			t.Fatalf("New(%q).Name() = %q", n, l.Name())
		}
		ls = append(ls, l)
	}
	return ls
}

func randVec(rng *rand.Rand, K int, scale float64) []float64 {
	z := make([]float64, K)
	for k := range z {
		z[k] = scale * rng.NormFloat64()
	}
	return z
}

// randSimplex draws q from the flat Dirichlet distribution.
func randSimplex(rng *rand.Rand, K int) []float64 {
	q := make([]float64, K)
	var s float64
	for k := range q {
		q[k] = rng.ExpFloat64()
		s += q[k]
	}
	for k := range q {
		q[k] /= s
	}
	return q
}

// targets returns a one-hot, a smoothed and a random (Dirichlet) target.
func targets(rng *rand.Rand, K int) [][]float64 {
	y := rng.IntN(K)
	oh, sm := make([]float64, K), make([]float64, K)
	Target(oh, y, K, 0)
	Target(sm, y, K, 0.1)
	return [][]float64{oh, sm, randSimplex(rng, K)}
}

func TestNew(t *testing.T) {
	_, err := New("hinge")
	if err == nil {
		t.Fatal("New(hinge): no error")
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) || !strings.Contains(err.Error(), "hinge") {
			t.Errorf("error %q does not name %q and the bad name", err, n)
		}
	}
	type props struct{ onSimplex, upperBound bool }
	want := map[string]props{
		"softmax": {true, true}, "sparsemax": {true, false}, "entmax15": {true, false}, "squared": {false, true},
	}
	for _, l := range allLosses(t) {
		w := want[l.Name()]
		if l.OnSimplex() != w.onSimplex || l.HasUpperBound() != w.upperBound || l.Mu() != 1 {
			t.Errorf("%s: OnSimplex %v HasUpperBound %v Mu %v", l.Name(), l.OnSimplex(), l.HasUpperBound(), l.Mu())
		}
	}
}

// TestGradient checks ∂d/∂z = p − q (THEORY §1) against central differences.
func TestGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := make([]float64, 10)
	for _, l := range allLosses(t) {
		for trial := 0; trial < 20; trial++ {
			K := 2 + rng.IntN(9)
			z := randVec(rng, K, 1.5)
			for ti, q := range targets(rng, K) {
				l.Predict(p[:K], z)
				for k := range z {
					zk := z[k]
					z[k] = zk + fdStep
					up := l.Value(z, q)
					z[k] = zk - fdStep
					down := l.Value(z, q)
					z[k] = zk
					fd := (up - down) / (2 * fdStep)
					if g := p[k] - q[k]; math.Abs(fd-g) > fdTol {
						t.Errorf("%s trial %d target %d k %d: finite difference %.10g, p−q = %.10g", l.Name(), trial, ti, k, fd, g)
					}
				}
			}
		}
	}
}

func TestPredictOnSimplex(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, l := range allLosses(t) {
		if !l.OnSimplex() {
			continue
		}
		for trial := 0; trial < 200; trial++ {
			K := 1 + rng.IntN(100)
			scale := []float64{1e-3, 1, 10, 300}[trial%4]
			z := randVec(rng, K, scale)
			if trial%5 == 0 && K > 2 { // ties
				z[1] = z[0]
				z[2] = z[0]
			}
			p := make([]float64, K)
			l.Predict(p, z)
			var s float64
			for k, v := range p {
				if v < 0 || math.IsNaN(v) {
					t.Fatalf("%s: p[%d] = %v", l.Name(), k, v)
				}
				s += v
			}
			if math.Abs(s-1) > simplexTol {
				t.Errorf("%s K=%d scale %v: Σp − 1 = %g", l.Name(), K, scale, s-1)
			}
		}
	}
}

// TestStrongConvexity checks bound (B) per sample: d ≥ (μ/2)‖p − q‖², and d ≥ 0.
func TestStrongConvexity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, l := range allLosses(t) {
		for trial := 0; trial < 300; trial++ {
			K := 2 + rng.IntN(20)
			z := randVec(rng, K, []float64{0.1, 1, 5}[trial%3])
			p := make([]float64, K)
			l.Predict(p, z)
			for _, q := range targets(rng, K) {
				d := l.Value(z, q)
				var r2 float64
				for k := range p {
					r2 += (p[k] - q[k]) * (p[k] - q[k])
				}
				if lo := l.Mu() / 2 * r2; d < lo*(1-1e-12) || d < 0 {
					t.Errorf("%s: d = %g < μ/2‖p−q‖² = %g", l.Name(), d, lo)
				}
			}
		}
	}
}

func TestZeroAtPrediction(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, l := range allLosses(t) {
		for trial := 0; trial < 100; trial++ {
			K := 2 + rng.IntN(20)
			z := randVec(rng, K, 2)
			q := make([]float64, K)
			l.Predict(q, z)
			if d := l.Value(z, q); math.Abs(d) > zeroTol {
				t.Errorf("%s: d(z; Predict(z)) = %g", l.Name(), d)
			}
		}
	}
}

// bisectTau solves Σ_k φ(x_k − τ) = 1 for τ by bisection, φ increasing.
func bisectTau(x []float64, phi func(float64) float64) float64 {
	hi := x[0]
	for _, v := range x {
		hi = math.Max(hi, v)
	}
	lo := hi - 1 // φ(1) = 1 for both maps below, so the sum at lo is ≥ 1
	for i := 0; i < 200; i++ {
		mid := (lo + hi) / 2
		var s float64
		for _, v := range x {
			s += phi(v - mid)
		}
		if s > 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func TestSparseMapsAgainstBisection(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	relu := func(u float64) float64 { return math.Max(u, 0) }
	relu2 := func(u float64) float64 { u = math.Max(u, 0); return u * u }
	for trial := 0; trial < 200; trial++ {
		K := 1 + rng.IntN(80) // beyond scratchSize too
		if trial%10 == 0 {
			K = 70 + rng.IntN(30)
		}
		z := randVec(rng, K, []float64{0.05, 0.5, 3}[trial%3])
		p := make([]float64, K)

		tau := bisectTau(z, relu)
		Sparsemax{}.Predict(p, z)
		for k := range z {
			if want := relu(z[k] - tau); math.Abs(p[k]-want) > exactTol {
				t.Fatalf("sparsemax K=%d: p[%d] = %.15g, bisection %.15g", K, k, p[k], want)
			}
		}

		x := make([]float64, K)
		for k := range z {
			x[k] = z[k] / 2
		}
		tau = bisectTau(x, relu2)
		Entmax15{}.Predict(p, z)
		for k := range z {
			if want := relu2(x[k] - tau); math.Abs(p[k]-want) > exactTol {
				t.Fatalf("entmax15 K=%d: p[%d] = %.15g, bisection %.15g", K, k, p[k], want)
			}
		}
	}
}

// TestValueAgainstDefinition compares the cancellation-free forms with the
// definition Ω(q) + Ω*(z) − <z, q> evaluated naively for moderate z.
func TestValueAgainstDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	dot := func(a, b []float64) (s float64) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	omega := map[string]func(p []float64) float64{
		"softmax": func(p []float64) (s float64) {
			for _, v := range p {
				if v > 0 {
					s += v * math.Log(v)
				}
			}
			return s
		},
		"sparsemax": func(p []float64) float64 { return dot(p, p) / 2 },
		"squared":   func(p []float64) float64 { return dot(p, p) / 2 },
		"entmax15": func(p []float64) (s float64) {
			for _, v := range p {
				s += math.Pow(v, 1.5)
			}
			return (s - 1) / 0.75
		},
	}
	for _, l := range allLosses(t) {
		for trial := 0; trial < 50; trial++ {
			K := 2 + rng.IntN(10)
			z := randVec(rng, K, 2)
			p := make([]float64, K)
			if l.Name() == "softmax" { // naive softmax, independent of Predict
				var s float64
				for k, v := range z {
					p[k] = math.Exp(v)
					s += p[k]
				}
				for k := range p {
					p[k] /= s
				}
				var got = make([]float64, K)
				l.Predict(got, z)
				for k := range p {
					if math.Abs(got[k]-p[k]) > exactTol {
						t.Fatalf("softmax: p[%d] = %v, naive %v", k, got[k], p[k])
					}
				}
			} else {
				l.Predict(p, z)
			}
			conj := dot(z, p) - omega[l.Name()](p) // Ω*(z) = <z,p> − Ω(p) at p = ∇Ω*(z)
			for _, q := range targets(rng, K) {
				want := omega[l.Name()](q) + conj - dot(z, q)
				if got := l.Value(z, q); math.Abs(got-want) > exactTol*(1+math.Abs(want)) {
					t.Errorf("%s: Value = %.15g, definition %.15g", l.Name(), got, want)
				}
			}
		}
	}
}

// TestSoftmaxLargeMargin: with z_y − z_k = 40 the loss is Σ_{k≠y} e^{−40} ≈ 4e-17
// (to first order; the second-order term is ~1e-33) and must keep its relative
// accuracy, which logsumexp(z) − z_y computed naively loses entirely.
func TestSoftmaxLargeMargin(t *testing.T) {
	const relTol = 1e-14
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 20; trial++ {
		K := 2 + rng.IntN(20)
		y := rng.IntN(K)
		z := make([]float64, K)
		var closed float64
		for k := range z {
			if k == y {
				z[k] = 3
				continue
			}
			gap := 40.0
			if trial > 0 {
				gap = 38 + 4*rng.Float64()
			}
			z[k] = 3 - gap
			closed += math.Exp(-gap)
		}
		q := make([]float64, K)
		Target(q, y, K, 0)
		d := Softmax{}.Value(z, q)
		if math.Abs(d-closed) > relTol*closed {
			t.Errorf("K=%d: d = %.17g, closed form %.17g (rel err %.3g)", K, d, closed, math.Abs(d-closed)/closed)
		}
	}
}

// TestSparseExactZero: once the target class leads by more than the support
// threshold, sparsemax and entmax15 predict exactly e_y and the loss is 0.
func TestSparseExactZero(t *testing.T) {
	z := []float64{0.2, 3.5, -1, 1.4}
	q := make([]float64, 4)
	Target(q, 1, 4, 0)
	for _, l := range []Loss{Sparsemax{}, Entmax15{}} {
		if d := l.Value(z, q); d != 0 {
			t.Errorf("%s: d = %g, want 0", l.Name(), d)
		}
	}
	// One step inside the support: sparsemax with z = (1, 0.5) gives p = (0.75, 0.25),
	// d = ½‖p − e_0‖² = 0.0625 (no slack term, both in the support).
	if d := (Sparsemax{}).Value([]float64{1, 0.5}, []float64{1, 0}); math.Abs(d-0.0625) > exactTol {
		t.Errorf("sparsemax hand case: d = %v, want 0.0625", d)
	}
}

func TestResidualCancellation(t *testing.T) {
	K, y := 10, 3
	z := make([]float64, K)
	z[y] = 40 // z_y − z_k = 40: p_y rounds to 1 in float64
	p, q, r := make([]float64, K), make([]float64, K), make([]float64, K)
	Softmax{}.Predict(p, z)
	Target(q, y, K, 0)
	if p[y]-1 != 0 {
		t.Fatalf("test premise: p_y − 1 = %g, expected rounding to 0", p[y]-1)
	}
	Residual(r, p, q, y)
	want := -float64(K-1) * math.Exp(-40) / (1 + float64(K-1)*math.Exp(-40))
	if math.Abs(r[y]-want) > 1e-14*math.Abs(want) {
		t.Errorf("r_y = %g, want %g", r[y], want)
	}
	for k := range r {
		if k != y && r[k] != p[k] {
			t.Errorf("r[%d] = %g, want p = %g", k, r[k], p[k])
		}
	}
	// Without the label, or with a smoothed target, the plain difference is used.
	Residual(r, p, q, -1)
	if r[y] != 0 {
		t.Errorf("label −1: r_y = %g, want plain p_y − 1 = 0", r[y])
	}
	Target(q, y, K, 0.1)
	Residual(r, p, q, y)
	for k := range r {
		if r[k] != p[k]-q[k] {
			t.Errorf("smoothed: r[%d] = %g, want %g", k, r[k], p[k]-q[k])
		}
	}
}

func TestTarget(t *testing.T) {
	for _, c := range []struct {
		K, y int
		s    float64
	}{{10, 0, 0}, {10, 9, 0.1}, {3, 1, 0.5}, {7, 2, 0.999}, {1, 0, 0.3}} {
		q := make([]float64, c.K)
		Target(q, c.y, c.K, c.s)
		var sum float64
		for k, v := range q {
			sum += v
			want := c.s / float64(c.K)
			if k == c.y {
				want += 1 - c.s
			}
			if math.Abs(v-want) > 1e-15 {
				t.Errorf("%+v: q[%d] = %v, want %v", c, k, v, want)
			}
		}
		if math.Abs(sum-1) > simplexTol {
			t.Errorf("%+v: Σq = %v", c, sum)
		}
		if c.s == 0 && !oneHot(q, c.y) {
			t.Errorf("%+v: not exactly one-hot: %v", c, q)
		}
	}
	for _, s := range []float64{-0.1, 1, math.NaN()} {
		if ValidateSmoothing(s) == nil {
			t.Errorf("ValidateSmoothing(%v): no error", s)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Target with label ≥ K did not panic")
		}
	}()
	Target(make([]float64, 3), 3, 3, 0)
}
