package weights

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

// saveSpec writes the zero parameters of spec as a safetensors file and
// reads it back.
func saveSpec(t *testing.T, s models.Spec) *File {
	t.Helper()
	net, err := models.Build[float32](s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := SaveSafetensors(path, net, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func specJSON(s models.Spec) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestInferRoundTrip writes every model kind and reads its architecture back
// from the keys and shapes alone.
func TestInferRoundTrip(t *testing.T) {
	img := nn.Shape{1, 12, 10}
	cases := []struct {
		built        models.Spec
		want         models.Spec // Input nil
		in, channels int
		undetermined []string
	}{
		{models.Spec{Name: models.MLP, Input: img, Classes: 4}, models.Spec{Name: models.MLP, Classes: 4}, 120, 0, []string{"logit-relu"}},
		{models.Spec{Name: models.MLP, Hidden: []int{9, 5}, Input: img, Classes: 4},
			models.Spec{Name: models.MLP, Hidden: []int{9, 5}, Classes: 4}, 120, 0, []string{"logit-relu"}},
		// Model a is the mlp with equal widths; its logit ReLU has no key.
		{models.Spec{Name: models.ModelA, Depth: 3, Width: 7, LogitReLU: true, Input: img, Classes: 4},
			models.Spec{Name: models.MLP, Hidden: []int{7, 7, 7}, Classes: 4}, 120, 0, []string{"logit-relu"}},
		{models.Spec{Name: models.ModelB, Depth: 1, Input: img, Classes: 4}, models.Spec{Name: models.ModelB, Depth: 1, Classes: 4}, 0, 1, nil},
		{models.Spec{Name: models.ModelB, Depth: 3, Input: nn.Shape{3, 5, 6}, Classes: 4}, models.Spec{Name: models.ModelB, Depth: 3, Classes: 4}, 0, 3, nil},
		{models.Spec{Name: models.ModelC, Depth: 0, Input: img, Classes: 4}, models.Spec{Name: models.ModelC, Depth: 0, Skip: true, Classes: 4}, 0, 1, []string{"skip"}},
		{models.Spec{Name: models.ModelC, Depth: 3, Input: img, Classes: 4}, models.Spec{Name: models.ModelC, Depth: 3, Skip: true, Classes: 4}, 0, 1, []string{"skip"}},
		{models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Input: img, Classes: 4}, models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Classes: 4}, 0, 1, nil},
		{models.Spec{Name: models.ModelD, Depth: 3, Input: nn.Shape{2, 8, 8}, Classes: 4}, models.Spec{Name: models.ModelD, Depth: 3, Classes: 4}, 0, 2, nil},
		{models.Spec{Name: models.ResMLP, Depth: 2, Width: 6, Input: img, Classes: 4},
			models.Spec{Name: models.ResMLP, Depth: 2, Width: 6, Skip: true, Classes: 4}, 120, 0, []string{"skip"}},
	}
	for _, c := range cases {
		t.Run(c.built.String(), func(t *testing.T) {
			inf, err := Infer(saveSpec(t, c.built))
			if err != nil {
				t.Fatal(err)
			}
			if specJSON(inf.Spec) != specJSON(c.want) {
				t.Errorf("inferred %s, want %s", specJSON(inf.Spec), specJSON(c.want))
			}
			if inf.InFeatures != c.in || inf.InChannels != c.channels {
				t.Errorf("input features %d, channels %d; want %d, %d", inf.InFeatures, inf.InChannels, c.in, c.channels)
			}
			if !slices.Equal(inf.Undetermined, c.undetermined) {
				t.Errorf("undetermined %v, want %v", inf.Undetermined, c.undetermined)
			}
			if inf.Describe() == "" {
				t.Error("empty description")
			}
		})
	}
}

// TestInferReference infers the PyTorch-made reference file of testdata.
func TestInferReference(t *testing.T) {
	f, err := ReadSafetensors(filepath.Join(referenceDir, referenceName+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	inf, err := Infer(f)
	if err != nil {
		t.Fatal(err)
	}
	want := models.Spec{Name: models.MLP, Hidden: []int{100, 100}, Classes: 10}
	if specJSON(inf.Spec) != specJSON(want) || inf.InFeatures != 784 {
		t.Fatalf("inferred %s with %d inputs, want %s with 784", specJSON(inf.Spec), inf.InFeatures, specJSON(want))
	}
	if d := inf.Describe(); !strings.Contains(d, "mlp-100-100") || !strings.Contains(d, "Model a with k = 2, width 100") {
		t.Errorf("description %q", d)
	}
}

// tensorsFile is a File with the given names and shapes (no data: Infer
// reads the header only).
func tensorsFile(kv ...any) *File {
	f := &File{Path: "x.safetensors", Tensors: map[string]*Tensor{}}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		f.Tensors[name] = &Tensor{Name: name, DType: "F32", Shape: kv[i+1].([]int)}
	}
	return f
}

func TestInferRejects(t *testing.T) {
	cases := []struct {
		name string
		f    *File
		want []string
	}{
		{"named attributes", tensorsFile("fc1.weight", []int{10, 784}, "fc1.bias", []int{10}),
			[]string{"x.safetensors", `"fc1.`, "nn.Sequential index"}},
		{"dropout between linears", tensorsFile("0.weight", []int{5, 4}, "0.bias", []int{5}, "3.weight", []int{3, 5}, "3.bias", []int{3}),
			[]string{"indices other than 0, 2, 4"}},
		{"chain broken", tensorsFile("0.weight", []int{5, 4}, "0.bias", []int{5}, "2.weight", []int{3, 6}, "2.bias", []int{3}),
			[]string{"look like mlp-5", "2.weight", "[3 6]"}},
		{"conv without bias first", tensorsFile("0.weight", []int{8, 1, 3, 3}, "1.weight", []int{3, 8}, "1.bias", []int{3}),
			[]string{"not those of fenchel's"}},
		{"ends in a conv", tensorsFile("0.weight", []int{8, 1, 3, 3}, "0.bias", []int{8}),
			[]string{"last module (index 0) is not a Linear"}},
		{"model b with other channels", tensorsFile("0.weight", []int{6, 1, 3, 3}, "0.bias", []int{6}, "4.weight", []int{3, 6 * 16}, "4.bias", []int{3}),
			[]string{"look like b-k1", "0.weight"}},
		{"batchnorm buffers", tensorsFile("0.weight", []int{5, 4}, "0.bias", []int{5}, "1.running_mean", []int{5}, "2.weight", []int{3, 5}, "2.bias", []int{3}),
			[]string{"not those of fenchel's"}},
		{"does not start at 0", tensorsFile("1.weight", []int{5, 4}, "1.bias", []int{5}),
			[]string{"first index is 1"}},
		{"empty", tensorsFile(), []string{"no tensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inf, err := Infer(c.f)
			if err == nil {
				t.Fatalf("inferred %s, want an error", inf.Spec)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
