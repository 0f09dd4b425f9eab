package reproduce

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// Tolerances of the calibration tests.
const (
	// lambdaRelTol: λ_max(H_S) from the explicit Jacobian against the
	// structural engine's (both float64, different code paths).
	lambdaRelTol = 1e-9
	// float32RelTol: the float32 training run's step-0 probe against the
	// float64 calibration (weights rounded to float32).
	float32RelTol = 1e-4
)

// lambdaMaxHS computes λ_max(H_S) independently of structural.Analyze: the
// explicit Jacobian J, each K-block of rows centred (J_S = (I ⊗ Π) J), the
// dense eigenvalues of J_S J_Sᵀ (their non-zero part is the spectrum of H_S).
func lambdaMaxHS(t *testing.T, model nn.Layer[float64], d *data.Dataset) float64 {
	t.Helper()
	x := data.Gather[float64](d, firstIdx(d.N), nil)
	j := structural.Jacobian(model, x)
	K := d.K
	for i := 0; i < d.N; i++ {
		for c := 0; c < j.Cols; c++ {
			var m float64
			for k := 0; k < K; k++ {
				m += j.Data[(i*K+k)*j.Cols+c]
			}
			m /= float64(K)
			for k := 0; k < K; k++ {
				j.Data[(i*K+k)*j.Cols+c] -= m
			}
		}
	}
	js := mat.NewDense(j.Rows, j.Cols, j.Data)
	var h mat.SymDense
	h.SymOuterK(1, js)
	var es mat.EigenSym
	if !es.Factorize(&h, false) {
		t.Fatal("eigendecomposition failed")
	}
	v := es.Values(nil)
	return v[len(v)-1]
}

func firstIdx(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func TestCalibrateInitTiny(t *testing.T) {
	tr, _ := fixture(t)
	ref, n, err := calibrationRef(Tiny, ExpInit)
	if err != nil {
		t.Fatal(err)
	}
	a, err := CalibrateInit(ref, n, tr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := CalibrateInit(ref, n, tr)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two calibrations differ:\n%+v\n%+v", a, b)
	}
	ratio := a.LambdaMaxSymmetric / a.LambdaMaxReference
	if ratio > calibTolRatio || ratio < 1/calibTolRatio {
		t.Errorf("λ_max ratio %g (sym %g, ref %g), want within %g", ratio, a.LambdaMaxSymmetric, a.LambdaMaxReference, calibTolRatio)
	}
	if a.Constant == initializer.DefaultConstant || a.Evaluations < 2 {
		t.Errorf("calibration did not search: %+v", a)
	}

	// Independent λ_max of both nets from the explicit Jacobian.
	spec := ref.Model
	spec.Input, spec.Classes = tr.Shape, tr.K
	model, err := models.Build[float64](spec)
	if err != nil {
		t.Fatal(err)
	}
	probe, _ := tr.First(n)
	if err := initializer.Apply(model.Params(), initializer.Options{Scheme: initializer.Symmetric, Constant: a.Constant}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if got := lambdaMaxHS(t, model, probe); math.Abs(got-a.LambdaMaxSymmetric) > lambdaRelTol*got {
		t.Errorf("symmetric λ_max(H_S): calibration %.12g, explicit Jacobian %.12g", a.LambdaMaxSymmetric, got)
	}
	var mean float64
	for i := range CalibRefDraws {
		if err := initializer.Apply(model.Params(), initializer.Options{Scheme: initializer.PyTorch}, rand.New(rand.NewPCG(ref.Seed, calibStream+uint64(i)))); err != nil {
			t.Fatal(err)
		}
		mean += lambdaMaxHS(t, model, probe) / CalibRefDraws
	}
	if math.Abs(mean-a.LambdaMaxReference) > lambdaRelTol*mean || len(a.LambdaMaxDraws) != CalibRefDraws {
		t.Errorf("pytorch λ_max(H_S): calibration mean %.12g of %d draws, explicit Jacobian %.12g", a.LambdaMaxReference, len(a.LambdaMaxDraws), mean)
	}

	// σ in closed form for 784 → w → 10: √((w/3 + 10/3)/(784w + 10w)).
	w := float64(ref.Model.Width)
	if want := math.Sqrt((w/3 + 10.0/3) / (784*w + 10*w)); math.Abs(a.WeightScale-want) > 1e-15 {
		t.Errorf("weight scale %g, want %g", a.WeightScale, want)
	}

	if _, err := CalibrateInit(ref, tr.N+1, tr); err == nil || !strings.Contains(err.Error(), "probe size") {
		t.Errorf("probe larger than the set: err %v", err)
	}
}

func TestCalibrationApply(t *testing.T) {
	runs, err := Plan(Quick, []string{ExpInit})
	if err != nil {
		t.Fatal(err)
	}
	cal := InitCalibration{Constant: 7, WeightScale: 0.02}
	got := cal.Apply(runs)
	var rels []float64
	for i, r := range got {
		sc := r.Params.Scheme
		want := sc == initializer.Symmetric || sc == initializer.SymmetricNoise
		if r.CalibrateInit != want || runs[i].CalibrateInit != want {
			t.Errorf("%s: CalibrateInit %v, want %v", r.ID, r.CalibrateInit, want)
		}
		if !want {
			if r.Calibration != nil || r.Config.Hash() != runs[i].Config.Hash() {
				t.Errorf("%s changed by Apply", r.ID)
			}
			continue
		}
		if r.Calibration == nil || r.Config.Init.Constant != 7 {
			t.Errorf("%s: constant %g, calibration %v", r.ID, r.Config.Init.Constant, r.Calibration)
		}
		if sc == initializer.SymmetricNoise {
			rels = append(rels, r.Params.EpsRel)
			if e := r.Params.EpsRel * 0.02; r.Config.Init.Eps != e || r.Params.Eps != e {
				t.Errorf("%s: eps %g / %g, want %g", r.ID, r.Config.Init.Eps, r.Params.Eps, e)
			}
		}
		if runs[i].Config.Init.Constant != 0 || runs[i].Calibration != nil {
			t.Errorf("%s: Apply modified the plan", r.ID)
		}
	}
	// The quick ladder spans negligible (10⁻⁶σ) to dominant (σ) noise, increasing.
	if len(rels) != len(epsLadder) || rels[0] != 1e-6 || rels[len(rels)-1] != 1 {
		t.Errorf("ladder %v", rels)
	}
	for i := 1; i < len(rels); i++ {
		if !(rels[i] > rels[i-1]) {
			t.Errorf("ladder not increasing: %v", rels)
		}
	}
}

// TestExecuteRecordsCalibration runs the tiny init experiment and checks that
// the calibration reaches the run directories and that the symmetric run's
// own step-0 probe sees the calibrated λ_max.
func TestExecuteRecordsCalibration(t *testing.T) {
	tr, te := fixture(t)
	dir := t.TempDir()
	if _, err := Execute(context.Background(), Options{Mode: Tiny, Experiments: []string{ExpInit}, Out: dir, Train: tr, Test: te}); err != nil {
		t.Fatal(err)
	}
	runs, err := LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cal *InitCalibration
	for _, d := range runs {
		if !d.Spec.CalibrateInit {
			continue
		}
		if d.Spec.Calibration == nil {
			t.Fatalf("%s: no calibration in %s", d.Spec.ID, SpecFile)
		}
		cal = d.Spec.Calibration
		b, err := os.ReadFile(filepath.Join(dir, d.Spec.ID, train.ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		var cfg train.Config
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Init.Constant != cal.Constant {
			t.Errorf("%s: config constant %g, calibration %g", d.Spec.ID, cfg.Init.Constant, cal.Constant)
		}
		if d.Spec.Params.Scheme == initializer.Symmetric {
			if got := d.First().hs().Max; math.Abs(got-cal.LambdaMaxSymmetric) > float32RelTol*got {
				t.Errorf("symmetric run: step-0 λ_max(H_S) %g, calibration %g", got, cal.LambdaMaxSymmetric)
			}
		}
	}
	if cal == nil {
		t.Fatal("no calibrated run")
	}
	doc, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tab := range doc.Tables {
		found = found || strings.HasPrefix(tab.Title, "Symmetric-init calibration")
	}
	if !found {
		t.Error("report has no calibration table")
	}
}
