package structural

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// referenceDir is the PyTorch reference case shipped in the repository
// (testdata/pytorch, described in its README.md).
var referenceDir = filepath.Join("..", "testdata", "pytorch")

const referenceStem = "mlp784-100-100-10_n10_seed0"

// Tolerances against the PyTorch reference (float64 throughout): H and the
// loss/gradient differ only by summation order (1e-12); eigenvalues pass
// through two independent eigensolvers, so 1e-10 relative.
const (
	refMatTol   = 1e-12
	refEigenTol = 1e-10
)

type referenceLayout struct {
	Sizes  []int `json:"sizes"`
	Arrays []struct {
		Name   string `json:"name"`
		Shape  []int  `json:"shape"`
		Offset int    `json:"offset"`
	} `json:"arrays"`
}

type referenceEigs struct {
	N, K, P             int
	Loss                float64   `json:"loss"`
	GradNorm            float64   `json:"grad_norm"`
	LambdaMin           float64   `json:"lambda_min"`
	LambdaMax           float64   `json:"lambda_max"`
	LambdaMinProj       float64   `json:"lambda_min_proj"`
	LambdaMaxProj       float64   `json:"lambda_max_proj"`
	EigSmallest5        []float64 `json:"eig_smallest5"`
	EigLargest5         []float64 `json:"eig_largest5"`
	EigProjSmallest5    []float64 `json:"eig_proj_smallest5"`
	EigProjLargest5     []float64 `json:"eig_proj_largest5"`
	Trace, Fro, Sum     float64
	H00, H01, H0K, HEnd float64
}

type reference struct {
	model  *nn.Sequential[float64]
	x      *nn.Mat[float64]
	labels []int
	h      []float64
	eigs   referenceEigs
}

func readFloats(t *testing.T, b []byte, off, count int, what string) []float64 {
	t.Helper()
	if off < 0 || off+8*count > len(b) {
		t.Fatalf("reference: %s: bytes [%d, %d) outside the %d-byte file", what, off, off+8*count, len(b))
	}
	out := make([]float64, count)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[off+8*i:]))
	}
	return out
}

// loadReference reads the PyTorch reference case; a missing folder fails the
// test (it must run in CI, never skip).
func loadReference(t *testing.T) *reference {
	t.Helper()
	path := func(suffix string) string { return filepath.Join(referenceDir, referenceStem+suffix) }
	if _, err := os.Stat(referenceDir); err != nil {
		t.Fatalf("reference data missing: %v (expected testdata/pytorch at the repository root, at %s)", err, referenceDir)
	}
	var layout referenceLayout
	var ref reference
	for _, f := range []struct {
		suffix string
		dst    any
	}{{".json", &layout}, {"_eigs.json", &ref.eigs}} {
		b, err := os.ReadFile(path(f.suffix))
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		if err := json.Unmarshal(b, f.dst); err != nil {
			t.Fatalf("reference: %s: %v", path(f.suffix), err)
		}
	}
	bin, err := os.ReadFile(path(".bin"))
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	arrays := map[string][]float64{}
	shapes := map[string][]int{}
	for _, a := range layout.Arrays {
		size := 1
		for _, d := range a.Shape {
			size *= d
		}
		arrays[a.Name] = readFloats(t, bin, a.Offset, size, a.Name)
		shapes[a.Name] = a.Shape
	}
	s := layout.Sizes
	if len(s) != 4 {
		t.Fatalf("reference: sizes %v, want 4 entries", s)
	}
	model, err := nn.NewSequential(
		nn.NewDense[float64](s[0], s[1]), nn.NewReLU[float64](nn.Shape{s[1]}),
		nn.NewDense[float64](s[1], s[2]), nn.NewReLU[float64](nn.Shape{s[2]}),
		nn.NewDense[float64](s[2], s[3]))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"W1", "b1", "W2", "b2", "W3", "b3"}
	for i, p := range model.Params() {
		v, ok := arrays[names[i]]
		if !ok || len(v) != len(p.Value) {
			t.Fatalf("reference: %s has %d values, parameter %s needs %d", names[i], len(v), p.Name, len(p.Value))
		}
		copy(p.Value, v)
	}
	xs := shapes["X"]
	if len(xs) != 2 || xs[1] != s[0] {
		t.Fatalf("reference: X shape %v", xs)
	}
	ref.model = model
	ref.x = &nn.Mat[float64]{Rows: xs[0], Cols: xs[1], Data: arrays["X"]}
	for i, v := range arrays["y"] {
		if v != math.Trunc(v) || v < 0 || int(v) >= s[3] {
			t.Fatalf("reference: y[%d] = %v is not a label", i, v)
		}
		ref.labels = append(ref.labels, int(v))
	}
	m := xs[0] * s[3]
	ref.h = readFloats(t, mustRead(t, path("_H.bin")), 0, m*m, "H")
	return &ref
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	return b
}

func TestReferenceStructuralMatrix(t *testing.T) {
	ref := loadReference(t)
	h := StructuralMatrix(ref.model, ref.x)
	if d := relDiff(h.RawSymmetric().Data, ref.h); d > refMatTol {
		t.Errorf("H vs PyTorch reference: rel diff %.3g > %g", d, refMatTol)
	}

	full, err := DenseSpectrum(h, true)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := DenseSpectrum(RestrictSumZero(h, 10), true)
	if err != nil {
		t.Fatal(err)
	}
	if proj.Dim != 90 {
		t.Errorf("projected spectrum has dimension %d, want n(K−1) = 90", proj.Dim)
	}
	e := ref.eigs
	checks := []struct {
		name      string
		got, want float64
	}{
		{"lambda_min", full.Min, e.LambdaMin},
		{"lambda_max", full.Max, e.LambdaMax},
		{"lambda_min_proj", proj.Min, e.LambdaMinProj},
		{"lambda_max_proj", proj.Max, e.LambdaMaxProj},
		{"trace", full.Trace, e.Trace},
	}
	for i := 0; i < 5; i++ {
		checks = append(checks,
			struct {
				name      string
				got, want float64
			}{"eig_smallest5", full.Values[i], e.EigSmallest5[i]},
			struct {
				name      string
				got, want float64
			}{"eig_largest5", full.Values[95+i], e.EigLargest5[i]},
			struct {
				name      string
				got, want float64
			}{"eig_proj_smallest5", proj.Values[i], e.EigProjSmallest5[i]},
			struct {
				name      string
				got, want float64
			}{"eig_proj_largest5", proj.Values[85+i], e.EigProjLargest5[i]})
	}
	for _, c := range checks {
		if r := relErr(c.got, c.want); r > refEigenTol {
			t.Errorf("%s = %.17g, reference %.17g (rel err %.3g > %g)", c.name, c.got, c.want, r, refEigenTol)
		}
	}
	// The n-dimensional kernel that RestrictSumZero removes: the nK×nK
	// matrix Π H Π has the same nonzero spectrum plus n zeros.
	hs, err := DenseSpectrum(ProjectSumZero(h, 10), true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if v := hs.Values[i]; v > 1e-12*hs.Max || v < -1e-12*hs.Max {
			t.Errorf("Π H Π eigenvalue %d = %.3g, want 0 (null(Π))", i, v)
		}
	}
	if d := relDiff(hs.Values[10:], proj.Values); d > refEigenTol {
		t.Errorf("Π H Π nonzero spectrum vs VᵀHV: rel diff %.3g", d)
	}
	// Lanczos on the real H_S.
	lo, hi, _, err := LanczosExtremes(SymMul(RestrictSumZero(h, 10)), 90, 1e-12, 90, rngFor(7))
	if err != nil {
		t.Fatal(err)
	}
	if relErr(lo, e.LambdaMinProj) > lanczosTol || relErr(hi, e.LambdaMaxProj) > lanczosTol {
		t.Errorf("Lanczos on H_S: [%.12g, %.12g], reference [%.12g, %.12g]", lo, hi, e.LambdaMinProj, e.LambdaMaxProj)
	}
}

func TestReferenceLossAndGradient(t *testing.T) {
	ref := loadReference(t)
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(ref.model, Probe{X: ref.x, Labels: ref.labels}, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := relErr(rep.FittingError, ref.eigs.Loss); r > refMatTol {
		t.Errorf("fitting error %.17g, reference loss %.17g (rel err %.3g)", rep.FittingError, ref.eigs.Loss, r)
	}
	if r := relErr(rep.GradNorm, ref.eigs.GradNorm); r > refMatTol {
		t.Errorf("gradient norm %.17g, reference %.17g (rel err %.3g)", rep.GradNorm, ref.eigs.GradNorm, r)
	}
	if r := relErr(rep.HS.Min, ref.eigs.LambdaMinProj); r > refEigenTol {
		t.Errorf("report λ_min(H_S) %.17g, reference %.17g", rep.HS.Min, ref.eigs.LambdaMinProj)
	}
	if rep.HS.Dim != 90 || rep.H.Dim != 100 || rep.HP == nil || rep.HP.Dim != 100 {
		t.Errorf("report dimensions: H %d, H_S %d, H_p %v", rep.H.Dim, rep.HS.Dim, rep.HP)
	}
}
