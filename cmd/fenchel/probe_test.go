package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
)

// referenceDir holds the PyTorch reference case; the tests fail, not skip,
// when it is missing.
var referenceDir = filepath.Join("..", "..", "testdata", "pytorch")

const referenceCase = "mlp784-100-100-10_n10_seed0"

// referenceTol is the agreement demanded with the PyTorch float64 values:
// both sides compute in float64 with different summation orders, so they
// agree to a few hundred ulps, far inside 1e-10 relative.
const referenceTol = 1e-10

// float64InputTol bounds the relative effect of computing the inputs x/255
// in float64 rather than float32 (rounding ≤ 2^-24 relative per pixel).
const float64InputTol = 1e-7

// TestFloat32Pixels checks the premise of --input-precision float32: rounding
// the float64 x/255 to float32 gives exactly PyTorch's float32 x/255 (no
// double-rounding case among the 256 pixel values), and the reference's
// inputs are exactly those.
func TestFloat32Pixels(t *testing.T) {
	for p := 0; p < 256; p++ {
		if a, b := float32(float64(p)/255), float32(p)/float32(255); a != b {
			t.Errorf("pixel %d: float32(float64 x/255) = %v, float32 x/255 = %v", p, a, b)
		}
	}
	// X sits at byte offset 716880 of the reference .bin (its .json), 10×784 float64.
	const xOffset, nX = 716880, 10 * 784
	b, err := os.ReadFile(filepath.Join(referenceDir, referenceCase+".bin"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	trainSet, _, err := data.LoadFixture(data.Normalization{Mode: data.ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	x := data.Gather[float64](trainSet, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, nil)
	for i := 0; i < nX; i++ {
		ref := math.Float64frombits(binary.LittleEndian.Uint64(b[xOffset+8*i:]))
		if got := float64(float32(x.Data[i])); got != ref {
			t.Fatalf("reference X[%d] = %v, float32-rounded fixture pixel %v", i, ref, got)
		}
	}
}

// probeOutput is the part of `probe --json` the tests read; non-finite
// values arrive as strings, so spectra are decoded loosely.
type probeOutput struct {
	N, K, P                                int
	Loss                                   string
	FittingError                           float64 `json:"fitting_error"`
	ResidualNorm                           float64 `json:"residual_norm"`
	GradNorm                               float64 `json:"grad_norm"`
	H, HS, HP                              map[string]any
	Bounds                                 []map[string]any
	Diagnosis                              []string
	Timings                                map[string]float64
	Version, Model, Data, Normalize, Split string
}

func decodeProbe(t *testing.T, out string) probeOutput {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("probe --json output is not JSON: %v\n%s", err, out)
	}
	var p probeOutput
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		key string
		dst *map[string]any
	}{{"H_S", &p.HS}, {"H_p", &p.HP}} {
		if r, ok := raw[m.key]; ok {
			json.Unmarshal(r, m.dst)
		}
	}
	return p
}

func TestProbeReference(t *testing.T) {
	var ref map[string]any
	b, err := os.ReadFile(filepath.Join(referenceDir, referenceCase+"_eigs.json"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(referenceDir, referenceCase+".safetensors")
	specFile := filepath.Join(t.TempDir(), "spec", "eigs.json")
	// The reference's inputs are torchvision's float32 x/255 (its .bin holds
	// them), hence --input-precision float32; see TestFloat32Pixels.
	code, out, errs := run(t, "probe", "--safetensors", st, "--model", "mlp", "--widths", "100,100", "--data", "mnist",
		"--split", "train", "--n", "10", "--normalize", "none", "--input-precision", "float32", "--json", "--spectrum", specFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p := decodeProbe(t, out)
	if p.N != 10 || p.K != 10 || p.P != 89610 || p.Loss != "softmax" || p.Model != "mlp-100-100" || p.Normalize != "none" {
		t.Errorf("header n %d K %d P %d loss %s model %s normalize %s", p.N, p.K, p.P, p.Loss, p.Model, p.Normalize)
	}
	checks := []struct {
		name string
		got  any
		ref  string
	}{
		{"fitting_error", p.FittingError, "loss"},
		{"grad_norm", p.GradNorm, "grad_norm"},
		{"H.lambda_min", p.H["lambda_min"], "lambda_min"},
		{"H.lambda_max", p.H["lambda_max"], "lambda_max"},
		{"H.trace", p.H["trace"], "trace"},
		{"H_S.lambda_min", p.HS["lambda_min"], "lambda_min_proj"},
		{"H_S.lambda_max", p.HS["lambda_max"], "lambda_max_proj"},
	}
	for _, c := range checks {
		got, ok := c.got.(float64)
		want := ref[c.ref].(float64)
		if !ok || math.Abs(got-want) > referenceTol*math.Abs(want) {
			t.Errorf("%s = %v, reference %s = %v (relative tolerance %g)", c.name, c.got, c.ref, want, referenceTol)
		}
	}
	for _, b := range p.Bounds {
		if b["valid"] == true && b["holds"] != true {
			t.Errorf("bound %v does not hold", b)
		}
	}
	if p.H["rank"] != 100.0 || p.HS["rank"] != 90.0 || p.HP == nil || len(p.Diagnosis) == 0 || p.Version == "" || p.Timings["total"] <= 0 {
		t.Errorf("H rank %v, H_S rank %v, H_p %v, diagnosis %v, version %q, timings %v", p.H["rank"], p.HS["rank"], p.HP, p.Diagnosis, p.Version, p.Timings)
	}

	// --spectrum: every eigenvalue, ascending; the five smallest and largest
	// match the reference's.
	var spec map[string][]float64
	b, err = os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec["H"]) != 100 || len(spec["H_S"]) != 90 || len(spec["H_p"]) != 100 {
		t.Fatalf("spectrum lengths H %d, H_S %d, H_p %d", len(spec["H"]), len(spec["H_S"]), len(spec["H_p"]))
	}
	for _, c := range []struct {
		key, ref string
		from     int
	}{{"H", "eig_smallest5", 0}, {"H", "eig_largest5", 95}, {"H_S", "eig_proj_smallest5", 0}, {"H_S", "eig_proj_largest5", 85}} {
		for i, w := range ref[c.ref].([]any) {
			want := w.(float64)
			if got := spec[c.key][c.from+i]; math.Abs(got-want) > referenceTol*want {
				t.Errorf("%s eigenvalue %d = %v, reference %s[%d] = %v", c.key, c.from+i, got, c.ref, i, want)
			}
		}
	}

	// The matrix-free operator Hv = J(Jᵀv) with Lanczos (never forming H)
	// gives the same extremes.
	code, out, errs = run(t, "probe", "--safetensors", st, "--model", "mlp", "--widths", "100,100", "--data", "mnist",
		"--n", "10", "--normalize", "none", "--input-precision", "float32", "--method", "matrixfree", "--json")
	if code != 0 {
		t.Fatalf("matrixfree: exit %d: %s", code, errs)
	}
	pm := decodeProbe(t, out)
	for _, c := range []struct {
		name string
		got  any
		ref  string
	}{
		{"H.lambda_min", pm.H["lambda_min"], "lambda_min"},
		{"H.lambda_max", pm.H["lambda_max"], "lambda_max"},
		{"H_S.lambda_min", pm.HS["lambda_min"], "lambda_min_proj"},
		{"H_S.lambda_max", pm.HS["lambda_max"], "lambda_max_proj"},
		{"H.trace", pm.H["trace"], "trace"},
	} {
		got, ok := c.got.(float64)
		want := ref[c.ref].(float64)
		if !ok || math.Abs(got-want) > referenceTol*math.Abs(want) {
			t.Errorf("matrixfree: %s = %v, reference %s = %v (relative tolerance %g)", c.name, c.got, c.ref, want, referenceTol)
		}
	}

	// With float64 inputs (x/255 exact to 1 ulp) the inputs differ from the
	// reference's by up to 3e-8 absolute, and so do the results, relatively.
	code, out, errs = run(t, "probe", "--safetensors", st, "--model", "mlp", "--widths", "100,100", "--data", "mnist",
		"--n", "10", "--normalize", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p64 := decodeProbe(t, out)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"grad_norm", p64.GradNorm, ref["grad_norm"].(float64)}, {"H.lambda_min", p64.H["lambda_min"].(float64), ref["lambda_min"].(float64)}} {
		if r := math.Abs(c.got-c.want) / c.want; r > float64InputTol || r < referenceTol {
			t.Errorf("float64 inputs: %s relative difference %.3g, expected between %g and %g", c.name, r, referenceTol, float64InputTol)
		}
	}

	// The human table says the same.
	code, out, errs = run(t, "probe", "--safetensors", st, "--model", "mlp", "--widths", "100,100", "--data", "mnist",
		"--n", "10", "--normalize", "none")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"fitting error E_f   2.29156", "H_S     90   0.176027", "bound (C)", "diagnosis:",
		"bound (C)             2.29156 ≤ "} { // (C) reads E_f ≤ (1/n)rᵀD⁻¹r ≤ E_s‖∇R‖²
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestProbeCheckpoint trains a tiny run and probes its checkpoint: the model,
// data, normalisation and loss come from the run unless flags override them.
func TestProbeCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "20", "--batch", "50", "--max-steps", "3", "--epochs", "0",
		"--loss", "sparsemax", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	ck := filepath.Join(dir, "checkpoint.bin")
	code, out, errs := run(t, "probe", "--checkpoint", ck, "--n", "20", "--split", "test", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	p := decodeProbe(t, out)
	if p.N != 20 || p.P != 784*20+20+20*10+10 || p.Loss != "sparsemax" || p.Data != "mnist-fixture:test" || p.Normalize != "standard" || p.Model != "mlp-20" {
		t.Errorf("probe of the checkpoint: n %d, P %d, loss %s, data %s, normalize %s, model %s", p.N, p.P, p.Loss, p.Data, p.Normalize, p.Model)
	}
	if p.HP != nil || p.HS == nil {
		t.Errorf("sparsemax: H_p %v (want none), H_S %v", p.HP, p.HS)
	}
	// Agreeing model flags are accepted, overrides of loss and normalisation apply.
	code, out, errs = run(t, "probe", "--checkpoint", ck, "--model", "mlp", "--widths", "20", "--loss", "softmax", "--normalize", "none", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if p := decodeProbe(t, out); p.Loss != "softmax" || p.Normalize != "none" || p.HP == nil {
		t.Errorf("overrides ignored: loss %s normalize %s", p.Loss, p.Normalize)
	}
}

func TestProbeErrors(t *testing.T) {
	st := filepath.Join(referenceDir, referenceCase+".safetensors")
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "20", "--max-steps", "1", "--epochs", "0", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	ck := filepath.Join(dir, "checkpoint.bin")
	junk := filepath.Join(t.TempDir(), "junk.bin")
	os.WriteFile(junk, []byte("not a gob stream at all"), 0o644)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no weights", []string{}, []string{"exactly one of --checkpoint and --safetensors"}},
		{"both weights", []string{"--checkpoint", ck, "--safetensors", st}, []string{"exactly one"}},
		{"n larger than the split", []string{"--safetensors", st, "--widths", "100,100", "--data", "fixture", "--n", "501"},
			[]string{"--n 501", "500 samples", "train split"}},
		{"n larger than the test split", []string{"--checkpoint", ck, "--split", "test", "--n", "201"}, []string{"--n 201", "200 samples", "test split"}},
		{"safetensors of another model", []string{"--safetensors", st, "--widths", "100", "--data", "fixture"},
			[]string{"extra keys", "4.weight", "4.bias", "key 2.weight: file shape [100 100], model shape [10 100]"}},
		{"safetensors missing keys", []string{"--safetensors", st, "--widths", "100,100,100", "--data", "fixture"},
			[]string{"missing keys", "6.weight", "6.bias"}},
		{"missing safetensors file", []string{"--safetensors", "nope.safetensors", "--data", "fixture"}, []string{"nope.safetensors"}},
		{"checkpoint of another width", []string{"--checkpoint", ck, "--widths", "30"},
			[]string{"holds model mlp-20", "flags describe mlp-30", "different model"}},
		{"checkpoint of another model", []string{"--checkpoint", ck, "--model", "a", "--depth", "2"},
			[]string{"holds model mlp-20", "a-k2", "different model"}},
		{"corrupt checkpoint", []string{"--checkpoint", junk}, []string{junk, "not a fenchel checkpoint"}},
		{"bad split", []string{"--checkpoint", ck, "--split", "val"}, []string{`--split "val"`}},
		{"bad normalize", []string{"--checkpoint", ck, "--normalize", "minmax"}, []string{`--normalize "minmax"`}},
		{"bad data", []string{"--safetensors", st, "--data", "cifar"}, []string{`--data "cifar"`}},
		{"bad loss", []string{"--checkpoint", ck, "--loss", "hinge"}, []string{"hinge"}},
		{"bad n", []string{"--checkpoint", ck, "--n", "0"}, []string{"--n 0"}},
		{"spectrum with lanczos", []string{"--checkpoint", ck, "--method", "lanczos", "--spectrum", filepath.Join(t.TempDir(), "s.json")},
			[]string{"--spectrum", "lanczos"}},
		{"bad method", []string{"--checkpoint", ck, "--method", "qr"}, []string{`"qr"`}},
		{"spectrum with matrixfree", []string{"--checkpoint", ck, "--method", "matrixfree", "--spectrum", filepath.Join(t.TempDir(), "s.json")},
			[]string{"--spectrum needs every eigenvalue", "matrixfree"}},
		// n = 200, nK = 2000: dense needs 3·8·2000² bytes and more, above
		// 80 MB; matrix-free (a basis of 1500 vectors of 2000) fits.
		{"dense above --max-memory", []string{"--checkpoint", ck, "--n", "200", "--method", "dense", "--max-memory", "80MB"},
			[]string{"method dense at n = 200 (nK = 2000) need about", "above the memory budget of 76.3 MiB", "--method matrixfree", "--n "}},
		{"bad --max-memory", []string{"--checkpoint", ck, "--max-memory", "lots"}, []string{`--max-memory "lots"`, "8GiB"}},
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
