package structural

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

// operatorModels returns small models of every kind the operator must
// handle: an MLP, and from models.Build the conv nets of THEORY §5 (Model b
// with pooling, Model d with residual blocks) on 8×8 inputs, all with
// random N(0, 1/fan-in) parameters (biases included, so that no gradient is
// trivially zero).
func operatorModels(t *testing.T, rng *rand.Rand) map[string]nn.Layer[float64] {
	out := map[string]nn.Layer[float64]{"mlp tanh 6-9-4": mlp(rng, "tanh", 6, 9, 4)}
	for _, s := range []models.Spec{
		{Name: models.ModelB, Depth: 2, Input: nn.Shape{1, 8, 8}, Classes: 3},
		{Name: models.ModelD, Depth: 1, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3},
	} {
		m, err := models.Build[float64](s)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		for _, p := range m.Params() {
			sd := 1 / math.Sqrt(float64(max(1, p.FanIn)))
			for i := range p.Value {
				p.Value[i] = sd * rng.NormFloat64()
			}
		}
		out["model "+s.Name] = m
	}
	return out
}

// TestJacobianOperatorMatchesJacobian checks MulJ, MulJt and MulH against the
// explicit Jacobian (PerSampleGrad, an independent code path) and
// StructuralMatrix, adjointness ⟨Ju, v⟩ = ⟨u, Jᵀv⟩, that Param.Grad and
// Param.Tangent are left as found, and DiagonalBlocks against H.
func TestJacobianOperatorMatchesJacobian(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for name, model := range operatorModels(t, rng) {
		t.Run(name, func(t *testing.T) {
			n := 7
			x := randomX(rng, n, model.InShape().Size())
			op, err := NewJacobianOperator(model, x)
			if err != nil {
				t.Fatal(err)
			}
			m, P := op.Dims()
			K := model.OutShape().Size()
			if m != n*K || P != nn.NumParams(model) {
				t.Fatalf("Dims = %d, %d, want %d, %d", m, P, n*K, nn.NumParams(model))
			}
			// Sentinel gradients and tangents the operator must preserve.
			for _, p := range model.Params() {
				for i := range p.Grad {
					p.Grad[i] = 0.5
				}
				p.Tangent = nil
			}
			j := Jacobian(model, x)
			h := StructuralMatrix(model, x).RawSymmetric().Data
			u, v := randomVec(rng, P), randomVec(rng, m)
			ju, jtv, hv := make([]float64, m), make([]float64, P), make([]float64, m)
			op.MulJ(ju, u)
			op.MulJt(jtv, v)
			op.MulH(hv, v)
			wantJu, wantJtv, wantHv := make([]float64, m), make([]float64, P), make([]float64, m)
			for r := 0; r < m; r++ {
				row := j.Row(r)
				wantJu[r] = dot(row, u)
				axpy(wantJtv, v[r], row)
				wantHv[r] = dot(h[r*m:(r+1)*m], v)
			}
			for _, c := range []struct {
				what      string
				got, want []float64
			}{{"Ju", ju, wantJu}, {"Jᵀv", jtv, wantJtv}, {"Hv", hv, wantHv}} {
				if d := relDiff(c.got, c.want); d > exactTol {
					t.Errorf("%s: rel diff %.3g from the explicit Jacobian > %g", c.what, d, exactTol)
				}
			}
			if a, b := dot(ju, v), dot(u, jtv); relErr(a, b) > exactTol {
				t.Errorf("⟨Ju, v⟩ = %.15g, ⟨u, Jᵀv⟩ = %.15g", a, b)
			}
			for _, p := range model.Params() {
				for i, g := range p.Grad {
					if g != 0.5 {
						t.Fatalf("%s.Grad[%d] = %v after the products, want the caller's 0.5", p.Name, i, g)
					}
				}
				if p.Tangent != nil {
					t.Fatalf("%s.Tangent not restored to nil", p.Name)
				}
			}
			blocks := op.DiagonalBlocks(3) // 3 does not divide n = 7
			for i := 0; i < n; i++ {
				for a := 0; a < K; a++ {
					for b := 0; b < K; b++ {
						got, want := blocks[(i*K+a)*K+b], h[(i*K+a)*m+i*K+b]
						if math.Abs(got-want) > exactTol*math.Max(1, math.Abs(want)) {
							t.Fatalf("diagonal block %d[%d,%d] = %.15g, H has %.15g", i, a, b, got, want)
						}
					}
				}
			}
		})
	}
}

func randomVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// TestMatrixFreeAnalyzeAgreesWithDense runs Analyze with Method "matrixfree"
// and "dense" on small probes of an MLP and Model d for every loss family
// with a structural spectrum, and checks the extremes, traces, E_s, the
// indicator and every bound term against each other. It also checks that
// "auto" picks the matrix-free path when H exceeds MaxDenseBytes.
func TestMatrixFreeAnalyzeAgreesWithDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	ms := operatorModels(t, rng)
	for _, name := range []string{"mlp tanh 6-9-4", "model d"} {
		model := ms[name]
		K := model.OutShape().Size()
		n := 6
		probe := Probe{X: randomX(rng, n, model.InShape().Size()), Labels: randomLabels(rng, n, K)}
		for _, ln := range []string{"softmax", "sparsemax", "squared"} {
			t.Run(name+"/"+ln, func(t *testing.T) {
				l, err := loss.New(ln)
				if err != nil {
					t.Fatal(err)
				}
				dense, err := Analyze(model, probe, l, Options{Method: "dense"})
				if err != nil {
					t.Fatal(err)
				}
				for _, opts := range []Options{
					{Method: "matrixfree", LanczosTol: 1e-12},
					{Method: "auto", MaxDenseBytes: 1, LanczosTol: 1e-12},
				} {
					mf, err := Analyze(model, probe, l, opts)
					if err != nil {
						t.Fatalf("%s: %v", opts.Method, err)
					}
					for _, c := range []struct {
						name string
						a, b *Spectrum
					}{{"H", mf.H, dense.H}, {"H_S", mf.HS, dense.HS}, {"H_p", mf.HP, dense.HP}} {
						if (c.a == nil) != (c.b == nil) {
							t.Fatalf("%s: matrix-free %v, dense %v", c.name, c.a, c.b)
						}
						if c.a == nil {
							continue
						}
						if c.a.Method != "matrixfree" || c.a.Rank != -1 {
							t.Errorf("%s: Method %q Rank %d, want matrixfree, −1", c.name, c.a.Method, c.a.Rank)
						}
						if relErr(c.a.Max, c.b.Max) > lanczosTol || math.Abs(c.a.Min-c.b.Min) > lanczosTol*c.b.Max ||
							relErr(c.a.Trace, c.b.Trace) > exactTol {
							t.Errorf("%s: matrix-free [%.12g, %.12g] tr %.15g, dense [%.12g, %.12g] tr %.15g",
								c.name, c.a.Min, c.a.Max, c.a.Trace, c.b.Min, c.b.Max, c.b.Trace)
						}
					}
					agree := func(what string, a, b float64) {
						if math.IsInf(b, 0) || math.IsNaN(b) {
							if !(math.IsInf(a, 0) || math.IsNaN(a)) && !(math.IsNaN(a) && math.IsNaN(b)) {
								t.Errorf("%s: matrix-free %v, dense %v", what, a, b)
							}
							return
						}
						if relErr(a, b) > lanczosTol {
							t.Errorf("%s: matrix-free %.12g, dense %.12g", what, a, b)
						}
					}
					agree("E_s", mf.StructuralError, dense.StructuralError)
					agree("indicator", mf.Indicator, dense.Indicator)
					agree("E_f", mf.FittingError, dense.FittingError)
					for i, b := range dense.Bounds {
						a := mf.Bounds[i]
						if a.Valid != b.Valid || a.Holds != b.Holds {
							t.Errorf("bound %s: matrix-free valid %v holds %v, dense %v %v", b.Name, a.Valid, a.Holds, b.Valid, b.Holds)
						}
						for _, v := range [][2]float64{{a.Lower, b.Lower}, {a.Middle, b.Middle}, {a.Value, b.Value}, {a.Upper, b.Upper}} {
							if !(math.IsNaN(v[0]) && math.IsNaN(v[1])) && !(v[0] == v[1]) {
								agree("bound "+b.Name, v[0], v[1])
							}
						}
					}
					if _, ok := mf.Timings["spectra matrixfree"]; !ok {
						t.Errorf("%s: no matrix-free timing in %v", opts.Method, mf.Timings)
					}
				}
			})
		}
	}
}

// TestAnalyzeOptionErrors checks that bad options are rejected with a
// message naming the field and value.
func TestAnalyzeOptionErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	model := mlp(rng, "tanh", 3, 4, 3)
	probe := Probe{X: randomX(rng, 4, 3), Labels: randomLabels(rng, 4, 3)}
	l, _ := loss.New("softmax")
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Method: "eigen"}, `Method = "eigen", want auto, dense, lanczos or matrixfree`},
		{Options{MaxDenseBytes: -1}, "MaxDenseBytes = -1"},
		{Options{BlockSize: -2}, "BlockSize = -2"},
	} {
		_, err := Analyze(model, probe, l, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to contain %q", tc.opts, err, tc.want)
		}
	}
	if _, err := NewJacobianOperator(model, randomX(rng, 2, 5)); err == nil || !strings.Contains(err.Error(), "2×5") {
		t.Errorf("wrong input width: error %v", err)
	}
	if _, err := NewJacobianOperator(model, nil); err == nil {
		t.Error("nil x accepted")
	}
}
