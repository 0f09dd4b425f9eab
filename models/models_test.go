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

	// Model b: first conv 1·8·9+8 = 80, each further conv 8·8·9+8 = 584,
	// dense 8·28·28·10+10 = 62730; k = 1: 80 + 62730; k = 3: 80 + 2·584 + 62730.
	{Spec{Name: ModelB, Depth: 1}, 62810},
	{Spec{Name: ModelB, Depth: 3}, 63978},
	// input 3×5×7: conv 3·8·9+8 = 224, dense 8·5·7·10+10 = 2810.
	{Spec{Name: ModelB, Depth: 1, Input: nn.Shape{3, 5, 7}}, 3034},

	// Model c: conv 80, dense 8·14·14·10+10 = 15690, k blocks of 10·10+10 = 110,
	// output 110; skip adds no parameters (identity shortcut).
	{Spec{Name: ModelC}, 15880},
	{Spec{Name: ModelC, Depth: 2}, 16100},
	{Spec{Name: ModelC, Depth: 2, Skip: true}, 16100},
	// input 1×6×6: pool to 3×3, dense 8·3·3·10+10 = 730; 80 + 730 + 110 + 110.
	{Spec{Name: ModelC, Depth: 1, Input: nn.Shape{1, 6, 6}}, 1030},

	// Model d, k = 1 with skips:
	//   stem conv 1·16·9+16                               =    160
	//   stage 1, k blocks: 2 × 16·16·9 (no bias)          =  4 608 each
	//   stage 2: 16·32·9 + 32·32·9 = 4608 + 9216          = 13 824
	//            shortcut 16·32·9+32                       =  4 640
	//   stage 3: 32·64·9 + 64·64·9 = 18432 + 36864        = 55 296
	//            shortcut 32·64·9+64                       = 18 496
	//   dense 64·10+10                                    =    650
	//   total 160 + 4608 + 13824 + 4640 + 55296 + 18496 + 650 = 97 674.
	// Skip off drops the two shortcuts: 97674 − 4640 − 18496 = 74 538.
	// Each extra stage-1 block adds 4608. The spatial size does not enter.
	{Spec{Name: ModelD, Depth: 1, Skip: true}, 97674},
	{Spec{Name: ModelD, Depth: 1}, 74538},
	{Spec{Name: ModelD, Depth: 2, Skip: true}, 102282},
	{Spec{Name: ModelD, Depth: 2}, 79146},
	{Spec{Name: ModelD, Depth: 1, Skip: true, Input: nn.Shape{1, 8, 8}}, 97674},

	// resmlp, w = 64: 784·64+64 = 50240, L blocks of 64·64+64 = 4160, 64·10+10 = 650.
	{Spec{Name: ResMLP, Depth: 3, Skip: true}, 63370},
	{Spec{Name: ResMLP, Depth: 3}, 63370},
	{Spec{Name: ResMLP}, 50890},
	// w = 16, L = 2, K = 3: 784·16+16 + 2·(16·16+16) + 16·3+3 = 12560 + 544 + 51.
	{Spec{Name: ResMLP, Depth: 2, Width: 16, Classes: 3}, 13155},
}

func TestParamCounts(t *testing.T) {
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

// TestNames checks the documented parameter names (doc.go) of the conv and
// residual models, which safetensors import relies on.
func TestNames(t *testing.T) {
	tests := []struct {
		spec Spec
		want []string
	}{
		{Spec{Name: ModelB, Depth: 2}, []string{"0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"}},
		{Spec{Name: ModelC, Depth: 2, Skip: true}, []string{"0.weight", "0.bias", "4.weight", "4.bias",
			"6.body.0.weight", "6.body.0.bias", "7.body.0.weight", "7.body.0.bias", "8.weight", "8.bias"}},
		{Spec{Name: ModelD, Depth: 2, Skip: true}, []string{"0.weight", "0.bias",
			"3.body.0.weight", "3.body.2.weight", "5.body.0.weight", "5.body.2.weight",
			"7.body.0.weight", "7.body.2.weight", "7.shortcut.weight", "7.shortcut.bias",
			"9.body.0.weight", "9.body.2.weight", "9.shortcut.weight", "9.shortcut.bias",
			"12.weight", "12.bias"}},
		{Spec{Name: ModelD, Depth: 1}, []string{"0.weight", "0.bias",
			"3.body.0.weight", "3.body.2.weight", "5.body.0.weight", "5.body.2.weight",
			"7.body.0.weight", "7.body.2.weight", "10.weight", "10.bias"}},
		{Spec{Name: ResMLP, Depth: 2}, []string{"0.weight", "0.bias",
			"2.body.0.weight", "2.body.0.bias", "3.body.0.weight", "3.body.0.bias", "4.weight", "4.bias"}},
	}
	for _, tc := range tests {
		ps := build(t, tc.spec).Params()
		got := make([]string, len(ps))
		for i, p := range ps {
			got[i] = p.Name
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: names\n%v\nwant\n%v", tc.spec, got, tc.want)
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
