package main

import (
	"compress/gzip"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/weights"
)

// ownArch is a network none of Models a–d is: 9×9 grey images, a strided
// conv without bias, Tanh, a residual conv block with a 1×1 shortcut, an
// average pool, a global average pool and two Linear layers; 3 classes.
const ownArch = `{"format": "fenchel-arch/1", "input": [1, 9, 9], "layers": [
 {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "bias": false},
 {"type": "Tanh"},
 {"type": "Residual",
  "body": {"type": "Sequential", "layers": [
   {"type": "Conv2d", "in_channels": 4, "out_channels": 5, "kernel_size": 3, "stride": 1, "padding": 1},
   {"type": "ReLU"},
   {"type": "Conv2d", "in_channels": 5, "out_channels": 5, "kernel_size": 3, "stride": 1, "padding": 1}]},
  "shortcut": {"type": "Conv2d", "in_channels": 4, "out_channels": 5, "kernel_size": 1, "stride": 1, "padding": 0}},
 {"type": "AvgPool2d", "kernel_size": 2, "stride": 1, "padding": 0},
 {"type": "AdaptiveAvgPool2d", "output_size": 1},
 {"type": "Flatten"},
 {"type": "Linear", "in_features": 5, "out_features": 6},
 {"type": "Tanh"},
 {"type": "Linear", "in_features": 6, "out_features": 3}]}`

// writeIDXDir writes an MNIST-format directory of n rows×cols images per
// split with labels i mod k, pixels drawn from rng; gzipped when gz.
func writeIDXDir(t *testing.T, dir string, n, rows, cols, k int, rng *rand.Rand, gz bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"train", "t10k"} {
		pix := make([]uint8, n*rows*cols)
		for i := range pix {
			pix[i] = uint8(rng.IntN(256))
		}
		labels := make([]uint8, n)
		for i := range labels {
			labels[i] = uint8(i % k)
		}
		write := func(name string, w func(f *os.File) error) {
			ext := ""
			if gz {
				ext = ".gz"
			}
			f, err := os.Create(filepath.Join(dir, name+ext))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := w(f); err != nil {
				t.Fatal(err)
			}
		}
		gzw := func(f *os.File, body func(w *gzip.Writer) error) error {
			zw := gzip.NewWriter(f)
			if err := body(zw); err != nil {
				return err
			}
			return zw.Close()
		}
		write(prefix+"-images-idx3-ubyte", func(f *os.File) error {
			if gz {
				return gzw(f, func(w *gzip.Writer) error { return data.WriteIDXImages(w, pix, n, rows, cols) })
			}
			return data.WriteIDXImages(f, pix, n, rows, cols)
		})
		write(prefix+"-labels-idx1-ubyte", func(f *os.File) error {
			if gz {
				return gzw(f, func(w *gzip.Writer) error { return data.WriteIDXLabels(w, labels) })
			}
			return data.WriteIDXLabels(f, labels)
		})
	}
}

// ownCase writes ownArch, random weights for it and a 9×9 IDX dataset, and
// returns their paths and the model.
func ownCase(t *testing.T) (archPath, stPath, dataDir string, net nn.Layer[float64]) {
	t.Helper()
	dir := t.TempDir()
	archPath = filepath.Join(dir, "net.json")
	if err := os.WriteFile(archPath, []byte(ownArch), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := models.ParseArch([]byte(ownArch))
	if err != nil {
		t.Fatal(err)
	}
	if net, err = models.BuildArch[float64](a); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 2))
	if err := initializer.Apply(net.Params(), initializer.Options{Scheme: "pytorch"}, rng); err != nil {
		t.Fatal(err)
	}
	stPath = filepath.Join(dir, "net.safetensors")
	if err := weights.SaveSafetensors(stPath, net, nil); err != nil {
		t.Fatal(err)
	}
	dataDir = filepath.Join(dir, "tiny")
	writeIDXDir(t, dataDir, 12, 9, 9, 3, rng, true)
	return archPath, stPath, dataDir, net
}

// Tolerances of the end-to-end check: E_f is the same float64 sum in another
// order (1e-12 relative); trace(H) from central differences with step
// probeFDStep carries truncation and rounding error of about 1e-9 relative.
const (
	probeEfTol    = 1e-12
	probeTraceTol = 1e-7
	probeFDStep   = 1e-6
)

// TestProbeArch probes a user's own network (an architecture file and its
// safetensors) on IDX images of a size other than MNIST's, and checks E_f
// against cross-entropy computed here and trace(H) = ‖J‖²_F against a
// Jacobian from central differences of the forward pass.
func TestProbeArch(t *testing.T) {
	archPath, st, dataDir, net := ownCase(t)
	const n = 6
	code, out, errs := run(t, "probe", "--arch", archPath, "--safetensors", st, "--data", dataDir, "--n", "6", "--normalize", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p := decodeProbe(t, out)
	if p.N != n || p.K != 3 || p.P != nn.NumParams(net) || !strings.Contains(p.Model, "net.json") {
		t.Fatalf("n %d K %d P %d (want %d) model %q", p.N, p.K, p.P, nn.NumParams(net), p.Model)
	}
	if !strings.Contains(errs, "Conv2d(1→4, 3×3, stride 2, pad 1, no bias)") {
		t.Errorf("stderr does not describe the architecture: %s", errs)
	}

	train, _, err := data.LoadIDXDir(dataDir, data.Normalization{Mode: data.ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{0, 1, 2, 3, 4, 5}
	x := data.Gather[float64](train, idx, nil)
	z := net.Forward(x)
	ef := 0.0
	for i := range n {
		row := z.Row(i)
		m := slices.Max(row)
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		ef += (m + math.Log(s) - row[train.Labels[i]]) / n
	}
	if math.Abs(p.FittingError-ef) > probeEfTol*ef {
		t.Errorf("E_f = %.15g, cross-entropy computed here %.15g", p.FittingError, ef)
	}

	trace := 0.0
	for _, prm := range net.Params() {
		for j := range prm.Value {
			v := prm.Value[j]
			prm.Value[j] = v + probeFDStep
			plus := slices.Clone(net.Forward(x).Data)
			prm.Value[j] = v - probeFDStep
			minus := net.Forward(x).Data
			prm.Value[j] = v
			for r := range plus {
				d := (plus[r] - minus[r]) / (2 * probeFDStep)
				trace += d * d
			}
		}
	}
	got, ok := p.H["trace"].(float64)
	if !ok || math.Abs(got-trace) > probeTraceTol*trace {
		t.Errorf("trace(H) = %v, ‖J_fd‖²_F = %.12g", p.H["trace"], trace)
	}
	for _, b := range p.Bounds {
		if b["valid"] == true && b["holds"] != true {
			t.Errorf("bound %v does not hold", b)
		}
	}
}

// TestProbeInfers probes the PyTorch reference without model flags: the
// model is read off the file, said on stderr, and the numbers equal those
// with the flags.
func TestProbeInfers(t *testing.T) {
	st := filepath.Join(referenceDir, referenceCase+".safetensors")
	args := []string{"probe", "--safetensors", st, "--data", "fixture", "--n", "10", "--normalize", "none", "--json"}
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"inferred mlp-100-100", "784 input features", "10 classes", "Model a with k = 2, width 100", "ReLU assumed"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q: %s", w, errs)
		}
	}
	inferred := decodeProbe(t, out)
	code, out, errs = run(t, append(args, "--model", "a", "--depth", "2", "--width", "100")...)
	if code != 0 {
		t.Fatalf("with agreeing flags: exit %d: %s", code, errs)
	}
	flagged := decodeProbe(t, out)
	if inferred.Model != "mlp-100-100" || flagged.Model != "a-k2-w100" || inferred.FittingError != flagged.FittingError || inferred.GradNorm != flagged.GradNorm {
		t.Errorf("inferred %s E_f %v ‖∇R‖ %v; flags %s E_f %v ‖∇R‖ %v", inferred.Model, inferred.FittingError, inferred.GradNorm,
			flagged.Model, flagged.FittingError, flagged.GradNorm)
	}
	// Only the logit ReLU, which the file cannot show, changes with a flag.
	code, out, errs = run(t, append(args, "--model", "a", "--logit-relu")...)
	if code != 0 {
		t.Fatalf("--model a --logit-relu: exit %d: %s", code, errs)
	}
	if p := decodeProbe(t, out); p.Model != "a-k2-w100-logitrelu" {
		t.Errorf("--model a --logit-relu on the file: model %s, want a-k2-w100-logitrelu", p.Model)
	}
}

func TestProbeModelErrors(t *testing.T) {
	archPath, st, dataDir, _ := ownCase(t)
	ref := filepath.Join(referenceDir, referenceCase+".safetensors")
	dir := t.TempDir()
	other := filepath.Join(dir, "other.json")
	wider := strings.Replace(ownArch, `"out_features": 6}`, `"out_features": 7}`, 1)
	wider = strings.Replace(wider, `"in_features": 6,`, `"in_features": 7,`, 1)
	os.WriteFile(other, []byte(wider), 0o644)
	two := filepath.Join(dir, "two.json")
	os.WriteFile(two, []byte(strings.Replace(ownArch, `"in_features": 6, "out_features": 3}`, `"in_features": 6, "out_features": 2}`, 1)), 0o644)
	named := filepath.Join(dir, "named.safetensors")
	{
		// A Linear stack saved under attribute names cannot be inferred.
		l := nn.NewDense[float32](784, 10)
		l.W.Name, l.B.Name = "fc.weight", "fc.bias"
		if err := weights.SaveSafetensors(named, l, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"arch without safetensors", []string{"--arch", archPath, "--data", dataDir}, []string{"--arch", "give both"}},
		{"arch with model flags", []string{"--arch", archPath, "--safetensors", st, "--data", dataDir, "--model", "b"},
			[]string{"--arch", "--model=b", "cannot be combined"}},
		{"arch of other images", []string{"--arch", archPath, "--safetensors", st, "--data", "fixture"},
			[]string{"inputs of shape [1 9 9]", "[1 28 28]"}},
		{"weights of another arch", []string{"--arch", other, "--safetensors", st, "--data", dataDir, "--n", "3"},
			[]string{"does not fit the model", "6.weight: file shape [6 5], model shape [7 5]"}},
		{"labels beyond the model's classes", []string{"--arch", two, "--safetensors", st, "--data", dataDir},
			[]string{"train-labels-idx1-ubyte", "label 2", "out of range"}},
		{"bad arch file", []string{"--arch", filepath.Join(dir, "missing.json"), "--safetensors", st, "--data", dataDir}, []string{"missing.json"}},
		{"uninferable without flags", []string{"--safetensors", named, "--data", "fixture"},
			[]string{"named.safetensors", `"fc.bias"`, "--arch", "tools/export_arch.py"}},
		{"flags contradict the file", []string{"--safetensors", ref, "--data", "fixture", "--widths", "50,100"},
			[]string{"--widths=50,100", "describe mlp-50-100", "holds mlp-100-100", "key 0.weight: file shape [100 784], model shape [50 784]"}},
		{"file for other data", []string{"--safetensors", ref, "--data", dataDir},
			[]string{"first layer takes 784 input features", "81 per sample"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"probe"}, c.args...)...)
			if code == 0 {
				t.Fatalf("exit 0, output %s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not mention %q", errs, w)
				}
			}
		})
	}
}

// TestProbeTorchArch probes the network PyTorch built and exported in
// testdata/torch-arch (its README says how) on the IDX images it wrote, and
// compares with PyTorch's float64 loss, gradient norm and spectrum of H.
func TestProbeTorchArch(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "torch-arch")
	var ref struct {
		N, K, P  int
		Loss     float64
		GradNorm float64   `json:"grad_norm"`
		EigH     []float64 `json:"eig_H"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "ref.json"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "probe", "--arch", filepath.Join(dir, "net.json"), "--safetensors", filepath.Join(dir, "net.safetensors"),
		"--data", filepath.Join(dir, "idx"), "--n", strconv.Itoa(ref.N), "--normalize", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p := decodeProbe(t, out)
	if p.N != ref.N || p.K != ref.K || p.P != ref.P {
		t.Fatalf("n %d K %d P %d, PyTorch's %d %d %d", p.N, p.K, p.P, ref.N, ref.K, ref.P)
	}
	lmax := ref.EigH[len(ref.EigH)-1]
	for _, c := range []struct {
		name             string
		got, want, scale float64
	}{
		{"E_f", p.FittingError, ref.Loss, ref.Loss},
		{"‖∇R‖", p.GradNorm, ref.GradNorm, ref.GradNorm},
		{"λ_min(H)", p.H["lambda_min"].(float64), ref.EigH[0], lmax},
		{"λ_max(H)", p.H["lambda_max"].(float64), lmax, lmax},
	} {
		if math.Abs(c.got-c.want) > referenceTol*c.scale {
			t.Errorf("%s = %.15g, PyTorch %.15g", c.name, c.got, c.want)
		}
	}
}

// TestProbeNPYFeatures probes flat float feature vectors from .npy files
// (data/testdata/npy/feat: 4 features, 3 classes) with an MLP inferred from
// its safetensors and with the same MLP as an architecture file.
func TestProbeNPYFeatures(t *testing.T) {
	dataDir := filepath.Join("..", "..", "data", "testdata", "npy", "feat")
	dir := t.TempDir()
	net, err := models.Build[float64](models.Spec{Name: models.MLP, Hidden: []int{5}, Input: nn.Shape{4}, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := initializer.Apply(net.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "mlp.safetensors")
	if err := weights.SaveSafetensors(st, net, nil); err != nil {
		t.Fatal(err)
	}
	archPath := filepath.Join(dir, "mlp.json")
	os.WriteFile(archPath, []byte(`{"format":"fenchel-arch/1","input":[4],"layers":[
		{"type":"Linear","in_features":4,"out_features":5},{"type":"ReLU"},{"type":"Linear","in_features":5,"out_features":3}]}`), 0o644)

	code, out, errs := run(t, "probe", "--safetensors", st, "--data", dataDir, "--n", "6", "--json")
	if code != 0 {
		t.Fatalf("inferred: exit %d: %s", code, errs)
	}
	inferred := decodeProbe(t, out)
	code, out, errs = run(t, "probe", "--arch", archPath, "--safetensors", st, "--data", dataDir, "--n", "6", "--json")
	if code != 0 {
		t.Fatalf("--arch: exit %d: %s", code, errs)
	}
	arch := decodeProbe(t, out)
	if inferred.Model != "mlp-5-in4-K3" || inferred.N != 6 || inferred.K != 3 || inferred.P != 4*5+5+5*3+3 || !strings.Contains(inferred.Normalize, "float features") {
		t.Errorf("inferred: model %s n %d K %d P %d normalize %q", inferred.Model, inferred.N, inferred.K, inferred.P, inferred.Normalize)
	}
	if arch.FittingError != inferred.FittingError || arch.GradNorm != inferred.GradNorm || arch.H["lambda_max"] != inferred.H["lambda_max"] {
		t.Errorf("--arch and inferred MLP differ: E_f %v vs %v, ‖∇R‖ %v vs %v", arch.FittingError, inferred.FittingError, arch.GradNorm, inferred.GradNorm)
	}
	// E_f is the mean cross-entropy of the stored features, computed here.
	trainSet, _, err := data.LoadNPYDir(dataDir, 3, data.Normalization{})
	if err != nil {
		t.Fatal(err)
	}
	z := net.Forward(data.Gather[float64](trainSet, []int{0, 1, 2, 3, 4, 5}, nil))
	ef := 0.0
	for i := range 6 {
		row := z.Row(i)
		s := 0.0
		for _, v := range row {
			s += math.Exp(v)
		}
		ef += (math.Log(s) - row[trainSet.Labels[i]]) / 6
	}
	if math.Abs(inferred.FittingError-ef) > probeEfTol*ef {
		t.Errorf("E_f = %.15g, cross-entropy computed here %.15g", inferred.FittingError, ef)
	}
}
