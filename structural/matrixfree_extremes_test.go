package structural

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
)

// TestMulHBatchMatchesMulH checks that the batched products (one forward
// pass, then a backward and a forward-mode pass per vector) are bit-for-bit
// those of MulH, one full set of passes per vector.
func TestMulHBatchMatchesMulH(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	for name, model := range operatorModels(t, rng) {
		x := randomX(rng, 5, model.InShape().Size())
		op, err := NewJacobianOperator(model, x)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := op.Dims()
		vs, got := make([][]float64, 3), make([][]float64, 3)
		for c := range vs {
			vs[c], got[c] = randomX(rng, 1, m).Data, make([]float64, m)
		}
		op.mulHBatch(got, vs)
		for c, v := range vs {
			want := make([]float64, m)
			op.MulH(want, v)
			if !slices.Equal(got[c], want) {
				t.Errorf("%s: column %d: mulHBatch differs from MulH by %.3g relative", name, c, relDiff(got[c], want))
			}
		}
	}
}

// TestMatrixFreeBudget runs the matrix-free path with a product budget too
// small for λ_min but enough for λ_max, and checks against the dense
// spectra that what it claims is true: λ_max within its bound, λ_min ∈
// [0, Min] and marked not certified (in the JSON too), and that the bounds
// and E_s that need λ_min do not use Min as if it were λ_min.
func TestMatrixFreeBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 32))
	model := mlp(rng, "tanh", 12, 40, 5)
	n, K := 40, 5
	probe := Probe{X: randomX(rng, n, 12), Labels: randomLabels(rng, n, K)}
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	dense, err := Analyze(model, probe, l, Options{Method: "dense", FullSpectrum: true})
	if err != nil {
		t.Fatal(err)
	}
	mf, err := Analyze(model, probe, l, Options{Method: "matrixfree", MatrixFreeProducts: 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a, b *Spectrum
	}{{"H", mf.H, dense.H}, {"H_S", mf.HS, dense.HS}, {"H_p", mf.HP, dense.HP}, {"H_p|U", mf.HPU, dense.HPU}} {
		a, b := c.a, c.b
		if a.MaxCert.NotCertified != "" || math.Abs(a.Max-b.Max) > a.MaxCert.Bound+1e-12*b.Max {
			t.Errorf("%s: λ_max %.15g ± %.3g (%q), dense %.15g", c.name, a.Max, a.MaxCert.Bound, a.MaxCert.NotCertified, b.Max)
		}
		if a.MinCert.NotCertified == "" {
			t.Errorf("%s: λ_min %.6g certified after %d products, dense %.6g (budget too large for this test)", c.name, a.Min, a.Iterations, b.Min)
			continue
		}
		if !(b.Min <= a.Min*(1+1e-12)) || a.MinLower() != 0 || a.MinCert.Bound != a.Min {
			t.Errorf("%s: λ_min interval [%v, %v] (bound %v) does not hold dense λ_min %v", c.name, a.MinLower(), a.Min, a.MinCert.Bound, b.Min)
		}
		// Weyl: some eigenvalue lies within the residual of each reported value.
		for _, e := range []struct {
			v float64
			r Certificate
		}{{a.Min, a.MinCert}, {a.Max, a.MaxCert}} {
			near := math.Inf(1)
			for _, w := range b.Values {
				near = math.Min(near, math.Abs(w-e.v))
			}
			if !(near <= e.r.Residual+1e-12*b.Max) {
				t.Errorf("%s: nearest eigenvalue %.3g from %.12g, residual %.3g", c.name, near, e.v, e.r.Residual)
			}
		}
		js, err := json.Marshal(a)
		if err != nil || !strings.Contains(string(js), `"lambda_min_not_certified"`) {
			t.Errorf("%s: JSON %s (%v) lacks lambda_min_not_certified", c.name, js, err)
		}
	}
	if mf.Bounds[0].Lower != 0 || !math.IsNaN(mf.Indicator) || !math.IsNaN(mf.StructuralError) {
		t.Errorf("bound A lower %v, indicator %v, E_s %v: want 0, NaN, NaN with λ_min not certified", mf.Bounds[0].Lower, mf.Indicator, mf.StructuralError)
	}
	for _, b := range mf.Bounds[2:] {
		if !b.Valid || !b.Holds || !math.IsInf(b.Upper, 1) {
			t.Errorf("bound %s: valid %v holds %v upper %v, want a valid bound with upper +Inf", b.Name, b.Valid, b.Holds, b.Upper)
		}
	}
	if !strings.Contains(strings.Join(mf.Diagnosis, "\n"), "not certified") {
		t.Errorf("diagnosis does not say λ_min is not certified: %q", mf.Diagnosis)
	}
}

// TestSpectraOption checks Options.Spectra: only the spectra named (and
// the one of bounds (A)(B)) are computed, equal to those of a full run, and
// what needs a missing one is reported as not computed.
func TestSpectraOption(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 33))
	model := mlp(rng, "relu", 10, 30, 4)
	n := 20
	probe := Probe{X: randomX(rng, n, 10), Labels: randomLabels(rng, n, 4)}
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []Method{"dense", "lanczos", "matrixfree"} {
		full, err := Analyze(model, probe, l, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		only, err := Analyze(model, probe, l, Options{Method: method, Spectra: []string{"H_S"}})
		if err != nil {
			t.Fatal(err)
		}
		if only.H != nil || only.HP != nil || only.HPU != nil || only.HS == nil {
			t.Fatalf("%s: Spectra [H_S]: H %v, H_S %v, H_p %v, H_p|U %v", method, only.H, only.HS, only.HP, only.HPU)
		}
		if relErr(only.HS.Min, full.HS.Min) > 1e-9 || relErr(only.HS.Max, full.HS.Max) > 1e-9 {
			t.Errorf("%s: H_S alone [%v, %v], with the others [%v, %v]", method, only.HS.Min, only.HS.Max, full.HS.Min, full.HS.Max)
		}
		if only.Bounds[2].Valid || only.Bounds[3].Valid || !strings.Contains(only.Bounds[2].Note, "not computed") ||
			!strings.Contains(only.Bounds[3].Note, "not computed") || !math.IsNaN(only.StructuralError) {
			t.Errorf("%s: bounds C %+v, Cr %+v, E_s %v", method, only.Bounds[2], only.Bounds[3], only.StructuralError)
		}
		if relErr(only.Indicator, full.Indicator) > 1e-9 {
			t.Errorf("%s: indicator %v, with every spectrum %v", method, only.Indicator, full.Indicator)
		}
	}
	// The bound spectrum is always there; an unknown name is refused.
	withH, err := Analyze(model, probe, l, Options{Spectra: []string{"H"}})
	if err != nil || withH.H == nil || withH.HS == nil || withH.HP != nil {
		t.Errorf("Spectra [H]: err %v, H %v, H_S %v, H_p %v", err, withH.H, withH.HS, withH.HP)
	}
	if _, err := Analyze(model, probe, l, Options{Spectra: []string{"H_q"}}); err == nil || !strings.Contains(err.Error(), `"H_q"`) {
		t.Errorf("Spectra [H_q]: err = %v, want one naming H_q", err)
	}
}
