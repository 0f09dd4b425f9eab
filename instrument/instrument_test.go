package instrument

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// fdStep is the central-difference step; with O(1) weights the truncation
// error is O(h²) ≈ 1e-10 and the rounding error O(eps/h) ≈ 1e-11, so
// finite-difference values agree to fdTol relative.
const (
	fdStep = 1e-5
	fdTol  = 1e-7
)

// tinyModel is a float64 MLP dim → 4 → 4 → K with seeded random weights
// and non-zero biases.
func tinyModel(t *testing.T, dim, K int, seed uint64) nn.Layer[float64] {
	t.Helper()
	m, err := models.Build[float64](models.Spec{Name: models.MLP, Hidden: []int{4, 4}, Input: nn.Shape{dim}, Classes: K})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rng); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Bias {
			for j := range p.Value {
				p.Value[j] = 0.3 * rng.NormFloat64()
			}
		}
	}
	return m
}

// features returns a float-feature dataset with the given labels.
func features(t *testing.T, dim, K int, labels []int, seed uint64) *data.Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	feat := make([]float64, dim*len(labels))
	for i := range feat {
		feat[i] = rng.NormFloat64()
	}
	d, err := data.NewFeatures("test", nn.Shape{dim}, feat, labels, K)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func row(d *data.Dataset, i int) *nn.Mat[float64] { return data.Gather[float64](d, []int{i}, nil) }

// crossEntropy is log Σ exp z − z_y, written independently of package loss.
func crossEntropy(z []float64, y int) float64 {
	m := slices.Max(z)
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s) - z[y]
}

// fdJacobian is ∂f(x)/∂θ (K×P) by central differences, columns in Params order.
func fdJacobian(m nn.Layer[float64], x *nn.Mat[float64]) *mat.Dense {
	K := m.OutShape().Size()
	j := mat.NewDense(K, nn.NumParams(m), nil)
	col := 0
	for _, p := range m.Params() {
		for i := range p.Value {
			v := p.Value[i]
			p.Value[i] = v + fdStep
			zp := slices.Clone(m.Forward(x).Row(0))
			p.Value[i] = v - fdStep
			zm := m.Forward(x).Row(0)
			p.Value[i] = v
			for k := 0; k < K; k++ {
				j.Set(k, col, (zp[k]-zm[k])/(2*fdStep))
			}
			col++
		}
	}
	return j
}

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300) }

func TestPerImageAgainstFiniteDifferences(t *testing.T) {
	const dim, K = 5, 3
	labels := []int{1, 0, 2, 1, 2, 1, 0}
	test := features(t, dim, K, labels, 1)
	cases := []struct {
		class  int
		ia, ib int
	}{
		{FirstTestClass, 0, 3}, // class of test image 0 is 1
		{2, 2, 4},
		{0, 1, 6},
	}
	for _, c := range cases {
		m := tinyModel(t, dim, K, 2)
		h, err := NewPerImage(0, c.class, "")
		if err != nil {
			t.Fatal(err)
		}
		if h.Every() != DefaultPerImageEvery {
			t.Errorf("Every() = %d, want %d", h.Every(), DefaultPerImageEvery)
		}
		info := &train.StepInfo{Test: test, Model64: func() (nn.Layer[float64], error) { return m, nil }}
		rec, err := h.OnStep(info)
		if err != nil {
			t.Fatal(err)
		}
		meas := rec.(*PerImageMeasurement)
		f := measurementFields(meas)
		if a, b := h.Images(); a != c.ia || b != c.ib || f["index_a"] != c.ia || f["index_b"] != c.ib {
			t.Fatalf("class %d: images %d, %d (record %v, %v), want %d, %d", c.class, a, b, f["index_a"], f["index_b"], c.ia, c.ib)
		}
		checkPerImageRecord(t, meas)
		y := labels[c.ia]
		xa, xb := row(test, c.ia), row(test, c.ib)

		// g by central differences of the cross-entropy on x_a.
		g := 0.0
		for _, p := range m.Params() {
			for i := range p.Value {
				v := p.Value[i]
				p.Value[i] = v + fdStep
				lp := crossEntropy(m.Forward(xa).Row(0), y)
				p.Value[i] = v - fdStep
				lm := crossEntropy(m.Forward(xa).Row(0), y)
				p.Value[i] = v
				d := (lp - lm) / (2 * fdStep)
				g += d * d
			}
		}
		// λ of J Jᵀ with J by central differences.
		j := fdJacobian(m, xa)
		var jjt mat.SymDense
		jjt.SymOuterK(1, j)
		var es mat.EigenSym
		if !es.Factorize(&jjt, false) {
			t.Fatal("eigen failed")
		}
		ev := es.Values(nil)
		lmin, lmax := ev[0], ev[K-1]
		za, zb := slices.Clone(m.Forward(xa).Row(0)), slices.Clone(m.Forward(xb).Row(0))
		R := crossEntropy(zb, y)
		p := make([]float64, K)
		loss.Softmax{}.Predict(p, zb)
		p[y] -= 1
		res := math.Sqrt(p[0]*p[0] + p[1]*p[1] + p[2]*p[2])

		checks := []struct {
			name      string
			want, tol float64
		}{
			{"g", g, fdTol},
			{"lambda_min", lmin, fdTol},
			{"lambda_max", lmax, fdTol},
			{"kappa", lmax / lmin, fdTol},
			{"F", g * lmax / lmin, fdTol},
			{"R", R, 1e-13},
			{"residual_b", res, 1e-13},
			{"loss_a", crossEntropy(za, y), 1e-13},
			{"log2_g", math.Log2(g), fdTol},
			{"log2_kappa", math.Log2(lmax / lmin), fdTol},
			{"log2_F", math.Log2(g * lmax / lmin), fdTol},
			{"log2_R", math.Log2(R), 1e-12},
		}
		for _, ck := range checks {
			got, ok := f[ck.name].(float64)
			if !ok {
				t.Errorf("class %d: field %s = %v missing or not float64", c.class, ck.name, f[ck.name])
				continue
			}
			if e := relErr(got, ck.want); !(e <= ck.tol) {
				t.Errorf("class %d: %s = %.15g, want %.15g (relative error %.2g > %.2g)", c.class, ck.name, got, ck.want, e, ck.tol)
			}
		}
		// The output bias puts the identity into J Jᵀ (THEORY §5): λ_min ≥ 1.
		if lmin < 1-fdTol {
			t.Errorf("class %d: λ_min = %v < 1 despite the output bias", c.class, lmin)
		}
		for _, p := range m.Params() {
			for _, v := range p.Grad {
				if v != 0 {
					t.Fatalf("Measure left gradients in %s", p.Name)
				}
			}
		}
	}
}

func TestPerImageErrors(t *testing.T) {
	const dim, K = 3, 3
	test := features(t, dim, K, []int{0, 1, 0, 2}, 1)
	cases := []struct {
		class int
		want  string
	}{
		{1, "fewer than 2 images of class 1"},
		{3, "class 3, but test has 3 classes"},
	}
	for _, c := range cases {
		h, err := NewPerImage(2, c.class, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Select(test); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("class %d: error %v, want %q", c.class, err, c.want)
		}
	}
	if _, err := NewPerImage(2, -2, ""); err == nil {
		t.Error("class −2 accepted")
	}
	if _, err := NewPerImage(2, 0, "hinge"); err == nil || !strings.Contains(err.Error(), "hinge") {
		t.Errorf("unknown loss: error %v", err)
	}
	// A model that does not fit the data.
	h, _ := NewPerImage(2, 0, "")
	if err := h.Select(test); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Measure(tinyModel(t, dim+1, K, 1)); err == nil {
		t.Error("model with the wrong input size accepted")
	}
}

func TestNSampleMatchesAnalyze(t *testing.T) {
	const dim, K = 6, 3
	labels := []int{0, 1, 2, 1, 0, 2, 2, 1, 0, 1, 2, 0}
	trainSet := features(t, dim, K, labels, 3)
	testSet := features(t, dim, K, labels[:8], 4)
	cases := []struct {
		name      string
		cfg       NSampleConfig
		runLoss   string
		smoothing float64
		probe     *data.Dataset
		wantLoss  string
	}{
		{"train first 5, run loss", NSampleConfig{N: 5}, "softmax", 0, nil, "softmax"},
		{"smoothed run loss", NSampleConfig{N: 7}, "softmax", 0.1, nil, "softmax"},
		{"test split, squared", NSampleConfig{N: 8, Split: "test", Loss: "squared"}, "softmax", 0.1, nil, "squared"},
		{"explicit set, sparsemax run", NSampleConfig{Data: testSet}, "sparsemax", 0, testSet, "sparsemax"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, dim, K, 9)
			h, err := NewNSample(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var cfg train.Config
			cfg.Loss, cfg.Smoothing = c.runLoss, c.smoothing
			info := &train.StepInfo{Config: cfg, Train: trainSet, Test: testSet,
				Model64: func() (nn.Layer[float64], error) { return m, nil }}
			rec, err := h.OnStep(info)
			if err != nil {
				t.Fatal(err)
			}
			f := flatFields(rec.(*structural.Report))

			// The direct call, with the probe built here by hand.
			src := c.probe
			if src == nil {
				split := trainSet
				if c.cfg.Split == "test" {
					split = testSet
				}
				src = split.Subset(seq(c.cfg.N))
			}
			x := nn.NewMat[float64](src.N, dim)
			for i := 0; i < src.N; i++ {
				src.Row(x.Row(i), i)
			}
			probe := structural.Probe{X: x, Labels: src.Labels}
			if c.smoothing > 0 && c.cfg.Loss == "" {
				for _, y := range src.Labels {
					q := make([]float64, K)
					for k := range q {
						q[k] = c.smoothing / K
					}
					q[y] += 1 - c.smoothing
					probe.Q = append(probe.Q, q)
				}
			}
			l, _ := loss.New(c.wantLoss)
			rep, err := structural.Analyze(m, probe, l, structural.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"n": src.N, "K": K, "loss": c.wantLoss,
				"fitting_error": rep.FittingError, "residual_norm": rep.ResidualNorm, "grad_norm": rep.GradNorm,
				"H_lambda_min": rep.H.Min, "H_lambda_max": rep.H.Max, "H_lambda_mean": rep.H.Mean, "H_rank": rep.H.Rank,
				"structural_error": rep.StructuralError, "indicator": rep.Indicator}
			if rep.HS != nil {
				want["HS_lambda_min"], want["HS_lambda_max"], want["HS_rank"] = rep.HS.Min, rep.HS.Max, rep.HS.Rank
			}
			if rep.HP != nil {
				want["HP_lambda_min"], want["HP_lambda_max"] = rep.HP.Min, rep.HP.Max
			}
			for _, b := range rep.Bounds {
				want["bound_"+b.Name+"_lower"], want["bound_"+b.Name+"_value"] = b.Lower, b.Value
				want["bound_"+b.Name+"_upper"], want["bound_"+b.Name+"_holds"] = b.Upper, b.Holds
			}
			for k, w := range want {
				got := f[k]
				if gf, ok := got.(float64); ok && math.IsNaN(gf) && math.IsNaN(w.(float64)) {
					continue
				}
				if got != w {
					t.Errorf("%s = %v, direct Analyze gives %v", k, got, w)
				}
			}
			_, hasHS := f["HS_lambda_min"]
			_, hasHP := f["HP_lambda_min"]
			if hasHS != (c.wantLoss != "squared") || hasHP != (c.wantLoss == "softmax") {
				t.Errorf("%s: HS present %t, HP present %t", c.wantLoss, hasHS, hasHP)
			}
			if h.Last() == nil || h.Last().FittingError != rep.FittingError {
				t.Error("Last() does not hold the report")
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestNSampleErrors(t *testing.T) {
	trainSet := features(t, 4, 3, []int{0, 1, 2}, 1)
	for _, cfg := range []NSampleConfig{{Every: -1}, {N: -3}, {Split: "val"}, {Loss: "hinge"}} {
		if _, err := NewNSample(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	h, err := NewNSample(NSampleConfig{N: 4})
	if err != nil {
		t.Fatal(err)
	}
	info := &train.StepInfo{Config: train.Config{Loss: "softmax"}, Train: trainSet, Test: trainSet,
		Model64: func() (nn.Layer[float64], error) { return tinyModel(t, 4, 3, 1), nil }}
	if _, err := h.OnStep(info); err == nil || !strings.Contains(err.Error(), "probe size 4 exceeds the 3 samples of test") {
		t.Errorf("error %v, want the probe size named", err)
	}
}

// wrongGradient scales every parameter gradient after Backward: a
// deliberately broken layer whose ∇R disagrees with H, so the bound checks
// must fire.
type wrongGradient struct{ nn.Layer[float64] }

func (w wrongGradient) Backward(dy *nn.Mat[float64]) *nn.Mat[float64] {
	dx := w.Layer.Backward(dy)
	for _, p := range w.Params() {
		for i := range p.Grad {
			p.Grad[i] *= 1e3
		}
	}
	return dx
}

func TestNSampleBoundViolationStops(t *testing.T) {
	trainSet := features(t, 4, 3, []int{0, 1, 2, 0, 1}, 1)
	h, err := NewNSample(NSampleConfig{N: 5})
	if err != nil {
		t.Fatal(err)
	}
	m := wrongGradient{tinyModel(t, 4, 3, 1)}
	info := &train.StepInfo{Config: train.Config{Loss: "softmax"}, Train: trainSet, Test: trainSet,
		Model64: func() (nn.Layer[float64], error) { return m, nil }}
	_, err = h.OnStep(info)
	var bv *structural.BoundViolation
	if !errors.As(err, &bv) {
		t.Fatalf("error %v, want a *structural.BoundViolation", err)
	}
}

// TestHooksInRun attaches both instruments to a short float64 training run
// and checks that their records land in metrics.jsonl at the scheduled steps
// with the values the hooks computed.
func TestHooksInRun(t *testing.T) {
	cfg := train.DefaultConfig()
	cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{8}}
	cfg.Data = train.DataConfig{Source: "synthetic", Normalize: "none", Seed: 2,
		Synthetic: data.SyntheticConfig{NTrain: 120, NTest: 40, Dim: 6, Classes: 3, Separation: 3, Noise: 1}}
	cfg.Batch, cfg.Epochs, cfg.MaxSteps, cfg.LogEvery = 20, 0, 7, 5
	cfg.DType = "float64"
	pi, err := NewPerImage(2, FirstTestClass, "")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := NewNSample(NSampleConfig{Every: 3, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	rec := &lastFields{inner: pi}
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := train.Run(context.Background(), cfg, dir, []train.Hook{rec, ns}, train.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]int{}
	var lastPI, lastNS map[string]any
	var lastReport *structural.Report
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		kind := r["kind"].(string)
		steps[kind] = append(steps[kind], int(r["step"].(float64)))
		switch kind {
		case "per_image":
			lastPI = r
		case "nsample":
			lastNS = r
			if lastReport, err = structural.ReadReport(sc.Bytes(), "nsample record"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []int{0, 2, 4, 6, 7}; !slices.Equal(steps["per_image"], want) {
		t.Errorf("per_image records at steps %v, want %v", steps["per_image"], want)
	}
	if want := []int{0, 3, 6, 7}; !slices.Equal(steps["nsample"], want) {
		t.Errorf("nsample records at steps %v, want %v", steps["nsample"], want)
	}
	for _, k := range []string{"g", "lambda_min", "lambda_max", "F", "R", "log2_F", "log2_R"} {
		if lastPI[k] != rec.last[k] {
			t.Errorf("per_image %s: record %v, hook returned %v", k, lastPI[k], rec.last[k])
		}
	}
	if rep := ns.Last(); rep == nil || lastNS["fitting_error"] != rep.FittingError || lastNS["grad_norm"] != rep.GradNorm {
		t.Errorf("nsample record %v does not match the last report", lastNS)
	}
	if got := len(lastReport.Bounds); got != 4 {
		t.Fatalf("nsample record has %d bounds, want A, B, C, Cr", got)
	}
	for _, b := range lastReport.Bounds {
		if !b.Holds {
			t.Errorf("nsample bound_%s_holds = %v", b.Name, b.Holds)
		}
	}
}

// lastFields forwards to a hook and keeps the fields it returned last.
type lastFields struct {
	inner train.Hook
	last  map[string]any
}

func (l *lastFields) Name() string { return l.inner.Name() }
func (l *lastFields) Every() int   { return l.inner.Every() }
func (l *lastFields) OnStep(s *train.StepInfo) (any, error) {
	f, err := l.inner.OnStep(s)
	if m, ok := f.(*PerImageMeasurement); ok {
		l.last = measurementFields(m)
	}
	return f, err
}

// flatFields names the report's quantities by the flat keys the assertions
// above compare.
func flatFields(rep *structural.Report) map[string]any {
	f := map[string]any{
		"n": rep.N, "K": rep.K, "P": rep.P, "loss": rep.Loss,
		"fitting_error": rep.FittingError, "residual_norm": rep.ResidualNorm, "grad_norm": rep.GradNorm,
		"structural_error": rep.StructuralError, "indicator": rep.Indicator,
	}
	for _, sp := range []struct {
		prefix string
		s      *structural.Spectrum
	}{{"H", rep.H}, {"HS", rep.HS}, {"HP", rep.HP}} {
		if sp.s == nil {
			continue
		}
		p := sp.prefix + "_"
		f[p+"lambda_min"], f[p+"lambda_max"], f[p+"lambda_mean"], f[p+"rank"] = sp.s.Min, sp.s.Max, sp.s.Mean, sp.s.Rank
	}
	for _, b := range rep.Bounds {
		p := "bound_" + b.Name + "_"
		f[p+"lower"], f[p+"value"], f[p+"upper"], f[p+"holds"] = b.Lower, b.Value, b.Upper, b.Holds
	}
	return f
}

// measurementFields names a measurement's values by their JSON keys, as the
// assertions compare them.
func measurementFields(m *PerImageMeasurement) map[string]any {
	v := reflect.ValueOf(*m)
	f := map[string]any{}
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Tag.Get("json")
		switch x := v.Field(i).Interface().(type) {
		case jsonfloat.Float:
			f[name] = float64(x)
		default:
			f[name] = x
		}
	}
	return f
}

// checkPerImageRecord checks that a measurement, written as JSON, reads back
// as a PerImageRecord holding every value under the same name.
func checkPerImageRecord(t *testing.T, m *PerImageMeasurement) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	var rec PerImageRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	want, got := measurementFields(m), measurementFields(&rec.PerImageMeasurement)
	for k, w := range want {
		g := got[k]
		if wf, ok := w.(float64); ok && math.IsNaN(wf) && math.IsNaN(g.(float64)) {
			continue
		}
		if g != w {
			t.Errorf("per_image field %s: PerImageRecord reads %v, Measure wrote %v", k, g, w)
		}
		if _, ok := keys[k]; !ok {
			t.Errorf("per_image field %s missing from the JSON %s", k, b)
		}
	}
	if len(keys) != len(want) {
		t.Errorf("the JSON has %d fields, the measurement %d: %s", len(keys), len(want), b)
	}
}
