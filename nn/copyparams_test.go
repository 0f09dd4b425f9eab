package nn

import (
	"math"
	"testing"
)

// TestCopyParamsConverts checks CopyParams element by element in every
// direction between float32 and float64 (widening exact, narrowing rounded
// as a Go conversion), and its error on mismatched architectures.
func TestCopyParamsConverts(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1.0 / 3, -2.5e-40, 1e30, math.Inf(-1), math.NaN()}
	d64 := NewDense[float64](len(vals), 1)
	copy(d64.W.Value, vals)
	d64.B.Value[0] = 0.1
	d32 := NewDense[float32](len(vals), 1)
	if err := CopyParams(d32, d64); err != nil {
		t.Fatal(err)
	}
	back := NewDense[float64](len(vals), 1)
	if err := CopyParams(back, d32); err != nil {
		t.Fatal(err)
	}
	again := NewDense[float32](len(vals), 1)
	if err := CopyParams(again, d32); err != nil {
		t.Fatal(err)
	}
	same := func(a, b float64) bool {
		return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for i, v := range vals {
		w := float32(v)
		if !same(float64(d32.W.Value[i]), float64(w)) || !same(back.W.Value[i], float64(w)) || !same(float64(again.W.Value[i]), float64(w)) {
			t.Errorf("value %v: float32 %v, back to float64 %v, float32 copy %v, want %v", v, d32.W.Value[i], back.W.Value[i], again.W.Value[i], w)
		}
	}
	if back.B.Value[0] != float64(float32(0.1)) {
		t.Errorf("bias: got %v, want %v", back.B.Value[0], float64(float32(0.1)))
	}
	if err := CopyParams(NewDense[float64](3, 1), d32); err == nil {
		t.Errorf("copying a %d-input dense into a 3-input one gave no error", len(vals))
	}
}
