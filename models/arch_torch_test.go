package models_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/weights"
)

// torchArchDir holds a network built and exported by PyTorch (README.md
// there); the test fails, not skips, when it is missing.
var torchArchDir = filepath.Join("..", "testdata", "torch-arch")

// torchTol is the agreement demanded with PyTorch's float64 values: the same
// arithmetic in other summation orders, a few hundred ulps at most.
const torchTol = 1e-10

// TestArchTorch builds the network of the PyTorch-exported architecture
// file, loads PyTorch's state_dict, and checks logits, the Jacobian and
// H = J Jᵀ against PyTorch's autograd on the same inputs.
func TestArchTorch(t *testing.T) {
	var ref struct {
		N, K, P  int
		Keys     []string
		Logits   []float64
		JFro     float64   `json:"J_fro"`
		JRow0    []float64 `json:"J_row0"`
		JLastCol []float64 `json:"J_last_col"`
		H        []float64
	}
	b, err := os.ReadFile(filepath.Join(torchArchDir, "ref.json"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	a, err := models.ReadArch(filepath.Join(torchArchDir, "net.json"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := models.BuildArch[float64](a)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.LoadSafetensors(filepath.Join(torchArchDir, "net.safetensors"), net); err != nil {
		t.Fatal(err)
	}
	for i, p := range net.Params() {
		if p.Name != ref.Keys[i] {
			t.Fatalf("parameter %d is %s, PyTorch's state_dict key %s", i, p.Name, ref.Keys[i])
		}
	}
	train, _, err := data.LoadIDXDir(filepath.Join(torchArchDir, "idx"), data.Normalization{Mode: data.ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, ref.N)
	for i := range idx {
		idx[i] = i
	}
	x := data.Gather[float64](train, idx, nil)
	close := func(what string, got, want, scale float64) {
		t.Helper()
		if math.Abs(got-want) > torchTol*scale {
			t.Errorf("%s = %.15g, PyTorch %.15g", what, got, want)
		}
	}
	z := net.Forward(x)
	for i, w := range ref.Logits {
		close("logit", z.Data[i], w, math.Max(1, math.Abs(w)))
	}
	j := structural.Jacobian(net, x)
	if j.Rows != ref.N*ref.K || j.Cols != ref.P {
		t.Fatalf("J is %d×%d, PyTorch's %d×%d", j.Rows, j.Cols, ref.N*ref.K, ref.P)
	}
	fro := 0.0
	for _, v := range j.Data {
		fro += v * v
	}
	close("‖J‖_F", math.Sqrt(fro), ref.JFro, ref.JFro)
	for c, w := range ref.JRow0 {
		close("J[0, c]", j.At(0, c), w, ref.JFro)
	}
	for r, w := range ref.JLastCol {
		close("J[r, P−1]", j.At(r, ref.P-1), w, ref.JFro)
	}
	h := structural.StructuralMatrix(net, x)
	m := ref.N * ref.K
	for r := range m {
		for c := range m {
			close("H", h.At(r, c), ref.H[r*m+c], ref.JFro*ref.JFro)
		}
	}
}
