package models_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
)

// ownNet is a network that is none of Models a–d: a strided conv without
// bias, Tanh, a residual block with a 1×1 conv shortcut, average and max
// pools, an identity-shortcut conv block, a global average pool, and a
// residual dense block between Linear layers.
const ownNet = `{
 "format": "fenchel-arch/1",
 "input": [2, 9, 9],
 "layers": [
  {"type": "Conv2d", "in_channels": 2, "out_channels": 4, "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "bias": false},
  {"type": "Tanh"},
  {"type": "Residual",
   "body": {"type": "Sequential", "layers": [
     {"type": "Conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 1, "padding": 1, "bias": true},
     {"type": "ReLU"},
     {"type": "Conv2d", "in_channels": 6, "out_channels": 6, "kernel_size": 3, "stride": 1, "padding": 1}]},
   "shortcut": {"type": "Conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 1, "stride": 1, "padding": 0}},
  {"type": "AvgPool2d", "kernel_size": 2, "stride": 1, "padding": 0},
  {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 0},
  {"type": "Residual", "body": {"type": "Sequential", "layers": [
     {"type": "Conv2d", "in_channels": 6, "out_channels": 6, "kernel_size": 3, "stride": 1, "padding": 1}, {"type": "Tanh"}]},
   "shortcut": null},
  {"type": "AdaptiveAvgPool2d", "output_size": [1, 1]},
  {"type": "Flatten"},
  {"type": "Linear", "in_features": 6, "out_features": 5, "bias": true},
  {"type": "Tanh"},
  {"type": "Residual", "body": {"type": "Sequential", "layers": [
     {"type": "Linear", "in_features": 5, "out_features": 5}, {"type": "ReLU"}]}, "skip": true},
  {"type": "Linear", "in_features": 5, "out_features": 3}
 ]
}`

// ownNetKeys are the state_dict keys of the PyTorch module ownNet describes
// (a Residual module with attributes body and shortcut).
var ownNetKeys = []string{
	"0.weight",
	"2.body.0.weight", "2.body.0.bias", "2.body.2.weight", "2.body.2.bias", "2.shortcut.weight", "2.shortcut.bias",
	"5.body.0.weight", "5.body.0.bias",
	"8.weight", "8.bias",
	"10.body.0.weight", "10.body.0.bias",
	"11.weight", "11.bias",
}

// Finite-difference tolerances of the Jacobian check: central differences in
// float64 with step jacStep have truncation error O(step²·|f”'|) ≈ 1e-12 and
// rounding error O(ε/step) ≈ 1e-10 for outputs of order 1; jacAbs and jacRel
// sit above both. ReLU and max-pool kinks matter only if a step crosses one,
// which random inputs and parameters make improbable.
const (
	jacStep = 1e-6
	jacAbs  = 1e-7
	jacRel  = 1e-6
)

func parseOwn(t *testing.T) *models.Arch {
	t.Helper()
	a, err := models.ParseArch([]byte(ownNet))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestArchNamesAndShapes(t *testing.T) {
	a := parseOwn(t)
	net, err := models.BuildArch[float64](a)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range net.Params() {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, ownNetKeys) {
		t.Fatalf("parameter names\n%v\nwant the PyTorch state_dict keys\n%v", names, ownNetKeys)
	}
	if got := a.Classes(); got != 3 {
		t.Errorf("Classes = %d, want 3", got)
	}
	if !net.OutShape().Equal(nn.Shape{3}) {
		t.Errorf("output shape %v, want [3]", net.OutShape())
	}
	// The first conv has no bias and its weight is out×in×k×k.
	if p := net.Params()[0]; !slices.Equal(p.Shape, []int{4, 2, 3, 3}) {
		t.Errorf("0.weight shape %v, want [4 2 3 3]", p.Shape)
	}
}

// TestArchJacobian checks the structural engine on a network read from an
// architecture file against a Jacobian computed here by central finite
// differences of the forward pass, parameter by parameter: J itself, and
// H = J Jᵀ from StructuralMatrix against J_fd J_fdᵀ.
func TestArchJacobian(t *testing.T) {
	a := parseOwn(t)
	net, err := models.BuildArch[float64](a)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 1))
	if err := initializer.Apply(net.Params(), initializer.Options{Scheme: "pytorch"}, rng); err != nil {
		t.Fatal(err)
	}
	// Biases start at PyTorch's small uniform values; make them O(1) so that
	// they matter in J.
	for _, p := range net.Params() {
		if p.Bias {
			for i := range p.Value {
				p.Value[i] = rng.NormFloat64() * 0.5
			}
		}
	}
	const n, K = 3, 3
	x := nn.NewMat[float64](n, a.Input.Size())
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	P := nn.NumParams(net)

	fd := nn.NewMat[float64](n*K, P)
	col := 0
	for _, p := range net.Params() {
		for j := range p.Value {
			v := p.Value[j]
			p.Value[j] = v + jacStep
			plus := slices.Clone(net.Forward(x).Data)
			p.Value[j] = v - jacStep
			minus := net.Forward(x).Data
			p.Value[j] = v
			for r := range n * K {
				fd.Data[r*P+col] = (plus[r] - minus[r]) / (2 * jacStep)
			}
			col++
		}
	}

	j := structural.Jacobian(net, x)
	if j.Rows != n*K || j.Cols != P {
		t.Fatalf("Jacobian %d×%d, want %d×%d", j.Rows, j.Cols, n*K, P)
	}
	worst := 0.0
	for i, want := range fd.Data {
		got := j.Data[i]
		if d := math.Abs(got - want); d > jacAbs+jacRel*math.Abs(want) {
			t.Fatalf("J[%d, %d] = %.10g, finite differences %.10g", i/P, i%P, got, want)
		}
		worst = max(worst, math.Abs(got-want))
	}
	t.Logf("P = %d, max |J − J_fd| = %.2g", P, worst)

	h := structural.StructuralMatrix(net, x)
	for r := range n * K {
		for c := range n * K {
			want := 0.0
			for q := range P {
				want += fd.Data[r*P+q] * fd.Data[c*P+q]
			}
			// J_fd's errors (≤ jacAbs each) enter H through P products.
			tol := float64(P)*jacAbs*1e-1 + jacRel*math.Abs(want)
			if got := h.At(r, c); math.Abs(got-want) > tol {
				t.Fatalf("H[%d, %d] = %.10g, J_fd J_fdᵀ = %.10g", r, c, got, want)
			}
		}
	}
}

// TestArchMatchesModels describes models of package models as architecture
// files; the networks built from them must equal Build's, parameter name for
// name and output for output.
func TestArchMatchesModels(t *testing.T) {
	conv := func(in, out, k, s, p int, bias bool) string {
		b := "true"
		if !bias {
			b = "false"
		}
		return `{"type":"Conv2d","in_channels":` + itoa(in) + `,"out_channels":` + itoa(out) + `,"kernel_size":` + itoa(k) +
			`,"stride":` + itoa(s) + `,"padding":` + itoa(p) + `,"bias":` + b + `}`
	}
	lin := func(in, out int) string {
		return `{"type":"Linear","in_features":` + itoa(in) + `,"out_features":` + itoa(out) + `}`
	}
	const relu = `{"type":"ReLU"}`
	block := func(in, out, s int, shortcut bool) string {
		body := `{"type":"Sequential","layers":[` + conv(in, out, 3, s, 1, false) + `,` + relu + `,` + conv(out, out, 3, 1, 1, false) + `]}`
		sc := ""
		if shortcut {
			sc = `,"shortcut":` + conv(in, out, 3, s, 1, true)
		}
		return `{"type":"Residual","body":` + body + sc + `}`
	}
	dense := `{"type":"Residual","body":{"type":"Sequential","layers":[` + lin(5, 5) + `,` + relu + `]}}`
	cases := []struct {
		spec   models.Spec
		input  string
		layers []string
	}{
		{models.Spec{Name: models.MLP, Hidden: []int{7, 4}, Input: nn.Shape{1, 6, 6}, Classes: 3}, "[36]",
			[]string{lin(36, 7), relu, lin(7, 4), relu, lin(4, 3)}},
		{models.Spec{Name: models.ModelB, Depth: 2, Input: nn.Shape{1, 6, 6}, Classes: 3}, "[1,6,6]",
			[]string{conv(1, 8, 3, 1, 1, true), relu, `{"type":"MaxPool2d","kernel_size":3,"stride":1,"padding":1}`,
				conv(8, 8, 3, 1, 1, true), relu, `{"type":"MaxPool2d","kernel_size":3,"stride":1,"padding":1}`,
				`{"type":"Flatten"}`, lin(288, 3)}},
		{models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3}, "[1,8,8]",
			[]string{conv(1, 16, 3, 1, 1, true), relu, `{"type":"MaxPool2d","kernel_size":3,"stride":1,"padding":1}`,
				block(16, 16, 1, false), relu, block(16, 32, 2, true), relu, block(32, 64, 2, true), relu,
				`{"type":"AdaptiveAvgPool2d","output_size":1}`, lin(64, 3)}},
		{models.Spec{Name: models.ResMLP, Depth: 2, Width: 5, Skip: true, Input: nn.Shape{1, 6, 6}, Classes: 3}, "[36]",
			[]string{lin(36, 5), relu, dense, dense, lin(5, 3)}},
	}
	for _, c := range cases {
		t.Run(c.spec.String(), func(t *testing.T) {
			js := `{"format":"fenchel-arch/1","input":` + c.input + `,"layers":[` + strings.Join(c.layers, ",") + `]}`
			a, err := models.ParseArch([]byte(js))
			if err != nil {
				t.Fatal(err)
			}
			got, err := models.BuildArch[float64](a)
			if err != nil {
				t.Fatal(err)
			}
			want, err := models.Build[float64](c.spec)
			if err != nil {
				t.Fatal(err)
			}
			gp, wp := got.Params(), want.Params()
			if len(gp) != len(wp) {
				t.Fatalf("%d parameters, models.Build has %d", len(gp), len(wp))
			}
			for i := range gp {
				if gp[i].Name != wp[i].Name || !slices.Equal(gp[i].Shape, wp[i].Shape) {
					t.Fatalf("parameter %d: %s %v, models.Build: %s %v", i, gp[i].Name, gp[i].Shape, wp[i].Name, wp[i].Shape)
				}
			}
			rng := rand.New(rand.NewPCG(3, 3))
			if err := initializer.Apply(want.Params(), initializer.Options{Scheme: "pytorch"}, rng); err != nil {
				t.Fatal(err)
			}
			if err := nn.CopyParams(got, want); err != nil {
				t.Fatal(err)
			}
			x := nn.NewMat[float64](4, c.spec.Input.Size())
			for i := range x.Data {
				x.Data[i] = rng.NormFloat64()
			}
			yw := slices.Clone(want.Forward(x).Data)
			yg := got.Forward(x).Data
			if !slices.Equal(yg, yw) {
				t.Fatalf("outputs differ from models.Build's:\n%v\n%v", yg, yw)
			}
		})
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

func TestParseArchErrors(t *testing.T) {
	wrap := func(input, layers string) string {
		return `{"format":"fenchel-arch/1","input":` + input + `,"layers":[` + layers + `]}`
	}
	lin := `{"type":"Linear","in_features":4,"out_features":3}`
	cases := []struct {
		name, json string
		want       []string // substrings of the error
	}{
		{"not JSON", `{"format":`, []string{"bad JSON"}},
		{"wrong format", `{"format":"x","input":[4],"layers":[` + lin + `]}`, []string{`format "x"`, "fenchel-arch/1"}},
		{"unknown top field", `{"format":"fenchel-arch/1","input":[4],"layers":[` + lin + `],"extra":1}`, []string{"extra"}},
		{"no input", `{"format":"fenchel-arch/1","layers":[` + lin + `]}`, []string{"input []"}},
		{"2-D input", wrap("[4,4]", lin), []string{"input [4 4]"}},
		{"zero input", wrap("[0]", lin), []string{"input [0]"}},
		{"no layers", `{"format":"fenchel-arch/1","input":[4]}`, []string{`no "layers"`}},
		{"empty layers", wrap("[4]", ""), []string{"empty list"}},
		{"unknown type", wrap("[4]", `{"type":"GELU"}`), []string{"layers[0]", `"GELU"`, "supported:"}},
		{"dropout hint", wrap("[4]", lin+`,{"type":"Dropout"}`), []string{"layers[1]", "Dropout", "identity at evaluation"}},
		{"batchnorm hint", wrap("[1,4,4]", `{"type":"BatchNorm2d"}`), []string{"fold it"}},
		{"misspelt field", wrap("[4]", `{"type":"Linear","in_feature":4,"out_features":3}`), []string{"layers[0] (Linear)", `unknown field "in_feature"`}},
		{"field of another type", wrap("[4]", `{"type":"Linear","in_features":4,"out_features":3,"stride":2}`), []string{`"stride"`}},
		{"in_features mismatch", wrap("[5]", lin), []string{"layers[0] (Linear)", "in_features 4", "[5]"}},
		{"linear on image", wrap("[1,2,2]", lin), []string{"Flatten before it"}},
		{"linear without bias", wrap("[4]", `{"type":"Linear","in_features":4,"out_features":3,"bias":false}`), []string{"bias false"}},
		{"conv on vector", wrap("[4]", `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":3}`), []string{"takes images", "[4]"}},
		{"conv channels", wrap("[3,8,8]", `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":3}`), []string{"in_channels 1", "3 channels"}},
		{"non-square kernel", wrap("[1,8,8]", `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":[3,5]}`), []string{"kernel_size", "not square"}},
		{"kernel too large", wrap("[1,2,2]", `{"type":"Conv2d","in_channels":1,"out_channels":2,"kernel_size":5}`), []string{"kernel 5 larger"}},
		{"huge size", wrap("[4]", `{"type":"Linear","in_features":4,"out_features":1000000000}`), []string{"out_features", "outside"}},
		{"pool padding", wrap("[1,8,8]", `{"type":"MaxPool2d","kernel_size":2,"padding":2}`), []string{"padding 2"}},
		{"adaptive size", wrap("[1,8,8]", `{"type":"AdaptiveAvgPool2d","output_size":2}`), []string{"output_size 2"}},
		{"residual without body", wrap("[4]", `{"type":"Residual"}`), []string{`no "body"`}},
		{"residual shape", wrap("[4]", `{"type":"Residual","body":`+lin+`}`), []string{"identity shortcut does not fit"}},
		{"nested error path", wrap("[4]", `{"type":"Sequential","layers":[{"type":"Linear","in_features":5,"out_features":3}]}`), []string{"layers[0].layers[0] (Linear)", "in_features 5"}},
		{"image output", wrap("[1,4,4]", `{"type":"ReLU"}`), []string{"outputs shape [1 4 4]"}},
		{"one logit", wrap("[4]", `{"type":"Linear","in_features":4,"out_features":1}`), []string{"1 logit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := models.ParseArch([]byte(c.json))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestReadArchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.json")
	if err := os.WriteFile(path, []byte(ownNet), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := models.ReadArch(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Path != path {
		t.Errorf("Path %q, want %q", a.Path, path)
	}
	if _, err := models.ReadArch(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: error %v, want one naming the file", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 5<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := models.ReadArch(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: error %v", err)
	}
}
