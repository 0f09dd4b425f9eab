package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tol is the tolerance for results that are exact in real arithmetic and lose
// only a few ulps to rounding on these small, well-scaled inputs.
const tol = 1e-12

// naivePearson is the textbook formula, independent of gonum.
func naivePearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

func TestPearsonKnown(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []float64
		want float64
	}{
		// Hand computed: sxy = 6, sxx = 10, syy = 6.
		{"hand", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 5, 4, 5}, 6 / math.Sqrt(60)},
		{"linear", []float64{1, 2, 3}, []float64{-1, 1, 3}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{8, 6, 4, 2}, -1},
		{"two points", []float64{0, 1}, []float64{5, 3}, -1},
		// Symmetric parabola: zero linear correlation.
		{"uncorrelated", []float64{-2, -1, 0, 1, 2}, []float64{4, 1, 0, 1, 4}, 0},
	} {
		got, err := Pearson(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got-c.want) > tol {
			t.Errorf("%s: Pearson = %.17g, want %.17g", c.name, got, c.want)
		}
	}
}

func TestPearsonRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		n := 2 + rng.IntN(50)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
			y[i] = 0.3*x[i] + rng.NormFloat64()
		}
		got, err := Pearson(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := naivePearson(x, y); math.Abs(got-want) > tol {
			t.Errorf("trial %d: Pearson = %v, naive %v", trial, got, want)
		}
	}
}

func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []float64
		want float64
	}{
		// Monotone but non-linear: rank correlation is exactly 1.
		{"monotone", []float64{1, 2, 3, 4, 5}, []float64{1, 8, 27, 64, 1000}, 1},
		{"reversed", []float64{0.1, 0.2, 0.3, 5}, []float64{math.Exp(3), math.Exp(2), 1, -7}, -1},
		// Ties: y ranks are [1, 2.5, 4.5, 2.5, 4.5]; sxy = 7, sxx = 10, syy = 9.
		{"ties", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 5, 4, 5}, 7 / math.Sqrt(90)},
		// No ties, classic d² formula: 1 − 6Σd²/(n(n²−1)), ranks x=[1..5], y=[2,1,4,3,5], Σd²=4.
		{"d squared", []float64{10, 20, 30, 40, 50}, []float64{2, 1, 4, 3, 5}, 1 - 6*4.0/(5*24)},
	} {
		got, err := Spearman(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got-c.want) > tol {
			t.Errorf("%s: Spearman = %.17g, want %.17g", c.name, got, c.want)
		}
	}
}

func TestRanks(t *testing.T) {
	got := Ranks(nil, []float64{3, 1, 3, 2, 3, -1})
	want := []float64{5, 2, 5, 3, 5, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Ranks = %v, want %v", got, want)
		}
	}
}

func TestSlidingPearson(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, w := 40, 7
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
		y[i] = rng.NormFloat64() - x[i]
	}
	got, err := SlidingPearson(x, y, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n-w+1 {
		t.Fatalf("len = %d, want %d", len(got), n-w+1)
	}
	for i, r := range got {
		if want := naivePearson(x[i:i+w], y[i:i+w]); math.Abs(r-want) > tol {
			t.Errorf("window %d: %v, want %v", i, r, want)
		}
	}

	// Hand case: first window is perfectly correlated, second reversed, the
	// third has constant y (NaN).
	x = []float64{1, 2, 3, 4}
	y = []float64{1, 2, 1, 1}
	got, err = SlidingPearson(x, y, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != -1 || !math.IsNaN(got[2]) {
		t.Errorf("SlidingPearson = %v, want [1 -1 NaN]", got)
	}
}

func TestLogLogSlope(t *testing.T) {
	x := []float64{1, 2, 4, 10, 100, 1e4}
	y := make([]float64, len(x))
	for i := range x {
		y[i] = 3 * math.Pow(x[i], -0.5)
	}
	slope, icpt, r2, err := LogLogSlope(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(slope+0.5) > tol || math.Abs(icpt-math.Log(3)) > tol || math.Abs(r2-1) > tol {
		t.Errorf("slope %v intercept %v r2 %v, want -0.5, log 3, 1", slope, icpt, r2)
	}

	// Noisy data against the closed-form least squares on the logs.
	rng := rand.New(rand.NewPCG(5, 6))
	n := 30
	x, y = make([]float64, n), make([]float64, n)
	lx, ly := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i + 1)
		y[i] = 2 * math.Pow(x[i], 1.3) * math.Exp(0.2*rng.NormFloat64())
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
	}
	slope, icpt, r2, err = LogLogSlope(x, y)
	if err != nil {
		t.Fatal(err)
	}
	var mx, my float64
	for i := range lx {
		mx += lx[i] / float64(n)
		my += ly[i] / float64(n)
	}
	var sxy, sxx float64
	for i := range lx {
		sxy += (lx[i] - mx) * (ly[i] - my)
		sxx += (lx[i] - mx) * (lx[i] - mx)
	}
	wantSlope := sxy / sxx
	wantIcpt := my - wantSlope*mx
	r := naivePearson(lx, ly)
	if math.Abs(slope-wantSlope) > tol || math.Abs(icpt-wantIcpt) > tol || math.Abs(r2-r*r) > tol {
		t.Errorf("got slope %v icpt %v r2 %v, want %v %v %v", slope, icpt, r2, wantSlope, wantIcpt, r*r)
	}
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	if _, err := Pearson([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("Pearson: no error on length mismatch")
	}
	if _, err := Pearson([]float64{1}, []float64{1}); err == nil {
		t.Error("Pearson: no error on one point")
	}
	if _, err := Pearson([]float64{1, 1, 1}, []float64{1, 2, 3}); err == nil {
		t.Error("Pearson: no error on zero variance x")
	}
	if _, err := Pearson([]float64{1, 2, 3}, []float64{2, 2, 2}); err == nil {
		t.Error("Pearson: no error on zero variance y")
	}
	if _, err := Pearson([]float64{1, nan, 3}, []float64{1, 2, 3}); err == nil {
		t.Error("Pearson: no error on NaN")
	}
	if _, err := Spearman([]float64{1, 2, 3}, []float64{1, math.Inf(1), 3}); err == nil {
		t.Error("Spearman: no error on Inf")
	}
	if _, err := Spearman([]float64{4, 4}, []float64{1, 2}); err == nil {
		t.Error("Spearman: no error on zero variance")
	}
	if _, err := SlidingPearson([]float64{1, 2, 3}, []float64{1, 2, 3}, 4); err == nil {
		t.Error("SlidingPearson: no error on window > len")
	}
	if _, err := SlidingPearson([]float64{1, 2, 3}, []float64{1, 2, 3}, 1); err == nil {
		t.Error("SlidingPearson: no error on window 1")
	}
	if _, err := SlidingPearson([]float64{1, 2, 3}, []float64{1, 2, nan}, 2); err == nil {
		t.Error("SlidingPearson: no error on NaN")
	}
	if _, _, _, err := LogLogSlope([]float64{1, 2}, []float64{1, 0}); err == nil {
		t.Error("LogLogSlope: no error on y = 0")
	}
	if _, _, _, err := LogLogSlope([]float64{-1, 2}, []float64{1, 1}); err == nil {
		t.Error("LogLogSlope: no error on x < 0")
	}
	if _, _, _, err := LogLogSlope([]float64{2, 2}, []float64{1, 3}); err == nil {
		t.Error("LogLogSlope: no error on constant x")
	}
}
