package models

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/nn"
)

// Gradient check tolerances: float64 central differences with step fdStep
// have truncation error O(step²)·|f”'| ≈ 1e-10 and rounding error
// O(ε·|L|/step) ≈ 1e-11·|L| with |L| = O(1–10); fdRel and fdAbs sit well
// above both. ReLU and max-pool kinks are a risk
// only if the step crosses one, which random inputs and parameters make
// improbable at this step size.
const (
	fdStep = 1e-5
	fdRel  = 1e-6
	fdAbs  = 1e-8
)

func build(t *testing.T, s Spec) nn.Layer[float64] {
	t.Helper()
	l, err := Build[float64](s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return l
}

func initPyTorch(t *testing.T, l nn.Layer[float64], seed uint64) {
	t.Helper()
	if err := initializer.Apply(l.Params(), initializer.Options{}, rand.New(rand.NewPCG(seed, 1))); err != nil {
		t.Fatal(err)
	}
}

func randomBatch(rng *rand.Rand, rows, cols int) *nn.Mat[float64] {
	x := nn.NewMat[float64](rows, cols)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	return x
}

// paramCountCases pairs specs with hand-computed parameter counts; each
// comment shows the arithmetic (weights + biases per layer).
var paramCountCases = []struct {
	spec Spec
	want int
}{
	// 784·100+100 + 100·10+10 = 78500 + 1010.
	{Spec{Name: MLP, Hidden: []int{100}}, 79510},
	// 784·1000+1000 + 1000·10+10 = 785000 + 10010.
	{Spec{Name: MLP, Hidden: []int{1000}}, 795010},
	// linear: 784·10+10.
	{Spec{Name: MLP}, 7850},
	// 784·100+100 + 100·50+50 + 50·10+10 = 78500 + 5050 + 510.
	{Spec{Name: MLP, Hidden: []int{100, 50}}, 84060},
	// Model a, k hidden of width 64: 50240 + (k−1)·4160 + 650;
	// k = 1: 50240 + 650; k = 3: 50240 + 8320 + 650.
	{Spec{Name: ModelA, Depth: 1}, 50890},
	{Spec{Name: ModelA, Depth: 3}, 59210},
	{Spec{Name: ModelA, Depth: 3, LogitReLU: true}, 59210},
	// width 8, K 3, input 1×4×4: (16·8+8) + (8·8+8) + (8·3+3) = 136 + 72 + 27.
	{Spec{Name: ModelA, Depth: 2, Width: 8, Classes: 3, Input: nn.Shape{1, 4, 4}}, 235},
}

func TestParamCountsDense(t *testing.T) {
	for _, tc := range paramCountCases {
		if got := nn.NumParams(build(t, tc.spec)); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.spec, got, tc.want)
		}
	}
}

func TestMLPNames(t *testing.T) {
	l := build(t, Spec{Name: MLP, Hidden: []int{100, 50}})
	want := []string{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
	shapes := [][]int{{100, 784}, {100}, {50, 100}, {50}, {10, 50}, {10}}
	ps := l.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if p.Name != want[i] || !nn.Shape(p.Shape).Equal(shapes[i]) {
			t.Errorf("param %d: %s %v, want %s %v", i, p.Name, p.Shape, want[i], shapes[i])
		}
	}
}

func TestLogitReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, on := range []bool{false, true} {
		l := build(t, Spec{Name: ModelA, Depth: 1, LogitReLU: on})
		initPyTorch(t, l, 3)
		y := l.Forward(randomBatch(rng, 20, 784))
		neg := 0
		for _, v := range y.Data {
			if v < 0 {
				neg++
			}
		}
		if on && neg > 0 {
			t.Errorf("logit ReLU on: %d negative logits", neg)
		}
		if !on && neg == 0 {
			t.Errorf("logit ReLU off: no negative logit among %d", len(y.Data))
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string // "" for valid
	}{
		{Spec{Name: "vgg"}, "unknown model \"vgg\""},
		{Spec{Name: MLP, Hidden: []int{100, 0}}, "hidden width 0"},
		{Spec{Name: ModelA}, "depth 0"},
		{Spec{Name: ModelA, Depth: 2, Width: -3}, "width -3"},
		{Spec{Name: ModelB, Depth: 1, Input: nn.Shape{784}}, "want an image"},
		{Spec{Name: ModelD, Depth: 0}, "depth 0"},
		{Spec{Name: ModelC, Depth: -1}, "depth -1"},
		{Spec{Name: ModelC, Input: nn.Shape{1, 1, 5}}, "smaller than its 2×2 max-pool"},
		{Spec{Name: ResMLP, Depth: 2, Width: -1}, "width -1"},
		{Spec{Name: MLP, Classes: 1}, "classes 1"},
		{Spec{Name: MLP, Input: nn.Shape{1, 0, 28}}, "non-positive"},
		{Spec{Name: MLP, Input: nn.Shape{}}, "empty input"},
		{Spec{Name: MLP, Hidden: []int{100}}, ""},
		{Spec{Name: ModelC}, ""},
		{Spec{Name: ResMLP}, ""},
		{Spec{Name: ModelB, Depth: 1, Input: nn.Shape{3, 5, 7}}, ""},
	}
	for _, tc := range tests {
		err := tc.spec.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.spec, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
		if _, berr := Build[float64](tc.spec); (berr == nil) != (err == nil) {
			t.Errorf("%+v: Build error %v, Validate error %v", tc.spec, berr, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: MLP, Hidden: []int{100}}, "mlp-100"},
		{Spec{Name: MLP, Hidden: []int{1000, 10}}, "mlp-1000-10"},
		{Spec{Name: MLP}, "mlp-linear"},
		{Spec{Name: ModelA, Depth: 3}, "a-k3"},
		{Spec{Name: ModelA, Depth: 3, Width: 32, LogitReLU: true}, "a-k3-w32-logitrelu"},
		{Spec{Name: ModelB, Depth: 2}, "b-k2"},
		{Spec{Name: ModelC, Depth: 4, Skip: true}, "c-k4-skip"},
		{Spec{Name: ModelD, Depth: 1, Skip: true}, "d-k1-skip"},
		{Spec{Name: ModelD, Depth: 1}, "d-k1-noskip"},
		{Spec{Name: ResMLP, Depth: 8, Skip: true}, "resmlp-w64-L8-skip"},
		{Spec{Name: ModelD, Depth: 2, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3}, "d-k2-skip-in1x8x8-K3"},
	}
	for _, tc := range tests {
		if got := tc.spec.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.spec, got, tc.want)
		}
	}
}
