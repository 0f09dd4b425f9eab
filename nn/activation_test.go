package nn

import (
	"math"
	"testing"
)

// TestReLUMaskMatchesScalar checks the branch-free float32 and float64 ReLU
// loops against the scalar definition relu(x) = x if x > 0 else 0 and
// dy·relu'(x), including the special values ±0, ±Inf and NaN.
func TestReLUMaskMatchesScalar(t *testing.T) {
	xs := []float64{-3, -1e-30, math.Copysign(0, -1), 0, 1e-30, 2.5, math.Inf(1), math.Inf(-1), math.NaN()}
	dys := []float64{1, -2, 0.5, 3, -1, 7, 2, -4, 9}
	want := func(x, v float64) float64 {
		if x > 0 {
			return v
		}
		return 0
	}
	y64, d64 := make([]float64, len(xs)), make([]float64, len(xs))
	reluMask(y64, xs, xs)
	reluMask(d64, dys, xs)
	x32, dy32 := make([]float32, len(xs)), make([]float32, len(xs))
	for i := range xs {
		x32[i], dy32[i] = float32(xs[i]), float32(dys[i])
	}
	y32, d32 := make([]float32, len(xs)), make([]float32, len(xs))
	reluMask(y32, x32, x32)
	reluMask(d32, dy32, x32)
	same := func(a, b float64) bool {
		return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for i, x := range xs {
		x3 := float64(x32[i])
		if w, w3 := want(x, x), want(x3, x3); !same(y64[i], w) || !same(float64(y32[i]), w3) {
			t.Errorf("relu(%v) = %v (f64), %v (f32), want %v, %v", x, y64[i], y32[i], w, w3)
		}
		if w, w3 := want(x, dys[i]), want(x3, float64(dy32[i])); !same(d64[i], w) || !same(float64(d32[i]), w3) {
			t.Errorf("%v·relu'(%v) = %v (f64), %v (f32), want %v, %v", dys[i], x, d64[i], d32[i], w, w3)
		}
	}
}
