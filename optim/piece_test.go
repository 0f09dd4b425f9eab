package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// TestPieceSGD checks PieceStepper against StepFinite: plain SGD's Piece
// function applied to a tensor in uneven pieces, then StepFiniteSkip on the
// rest, gives the bits and the finiteness StepFinite gives (a NaN gradient in
// the pieced tensor or in another one included), with every kernel; rules
// with state or weight decay have no Piece function.
func TestPieceSGD(t *testing.T) {
	for _, c := range []Config{{Name: "momentum"}, {Name: "adam"}, {Name: "sgd", WeightDecay: 0.01}} {
		o, err := New[float32](c)
		if err != nil {
			t.Fatal(err)
		}
		if o.(PieceStepper[float32]).Piece(0.1) != nil {
			t.Errorf("%+v: Piece is not nil", c)
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range kernels() {
		for _, bad := range []int{-1, 0, 1} { // NaN gradient: none, in the pieced tensor, in the other
			mk := func() []*nn.Param[float32] {
				return []*nn.Param[float32]{nn.NewParam[float32]("w", []int{1037}, 1, 1, false), nn.NewParam[float32]("b", []int{77}, 1, 1, true)}
			}
			ref, got := mk(), mk()
			for i := range ref {
				for j := range ref[i].Value {
					x, g := float32(rng.NormFloat64()), float32(rng.NormFloat64())
					ref[i].Value[j], got[i].Value[j], ref[i].Grad[j], got[i].Grad[j] = x, x, g, g
				}
			}
			if bad >= 0 {
				ref[bad].Grad[5], got[bad].Grad[5] = float32(math.NaN()), float32(math.NaN())
			}
			ro, _ := New[float32](Config{Name: "sgd"})
			po, _ := New[float32](Config{Name: "sgd"})
			lr := 0.1
			var wantFin, gotFin bool
			withKernel(k, func() {
				wantFin = ro.(FiniteStepper[float32]).StepFinite(ref, lr)
				ps := po.(PieceStepper[float32])
				f := ps.Piece(lr)
				w := got[0]
				gotFin = true
				for lo := 0; lo < len(w.Value); {
					hi := min(lo+1+rng.IntN(300), len(w.Value))
					gotFin = f(w.Value[lo:hi], w.Grad[lo:hi]) && gotFin
					lo = hi
				}
				gotFin = ps.StepFiniteSkip(got, lr, []bool{true, false}) && gotFin
			})
			if gotFin != wantFin || wantFin != (bad < 0) {
				t.Errorf("%v bad %d: finite %v, StepFinite says %v", k, bad, gotFin, wantFin)
			}
			for i := range ref {
				for j := range ref[i].Value {
					if !sameBits(ref[i].Value[j], got[i].Value[j]) {
						t.Fatalf("%v bad %d: %s[%d] = %v, StepFinite gives %v", k, bad, ref[i].Name, j, got[i].Value[j], ref[i].Value[j])
					}
				}
			}
		}
	}
}
