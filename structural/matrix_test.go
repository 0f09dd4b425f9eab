package structural

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

const (
	// fdStep and fdTol: central differences of smooth (tanh) logits; the
	// truncation error O(h²)·|f'''| ≈ 1e-10 and rounding O(eps/h) ≈ 1e-11 are
	// both well below fdTol on the O(1) entries of J Jᵀ.
	fdStep = 1e-5
	fdTol  = 1e-8
	// exactTol is for identities without differencing (structured Gram
	// against the explicit J Jᵀ), which agree to a few ulps times the sums'
	// length.
	exactTol = 1e-12
)

// fdJacobian is J by central differences of the logits with respect to each
// parameter, independent of Backward, PerSampleGrad and AddGram.
func fdJacobian(model nn.Layer[float64], x *nn.Mat[float64]) *nn.Mat[float64] {
	K := model.OutShape().Size()
	n := x.Rows
	P := nn.NumParams(model)
	j := nn.NewMat[float64](n*K, P)
	col := 0
	for _, p := range model.Params() {
		for e := range p.Value {
			orig := p.Value[e]
			p.Value[e] = orig + fdStep
			plus := append([]float64(nil), model.Forward(x).Data...)
			p.Value[e] = orig - fdStep
			minus := model.Forward(x).Data
			p.Value[e] = orig
			for r := 0; r < n*K; r++ {
				j.Data[r*P+col] = (plus[r] - minus[r]) / (2 * fdStep)
			}
			col++
		}
	}
	return j
}

// gramOf returns J Jᵀ (rows×rows, full) by an explicit product.
func gramOf(j *nn.Mat[float64]) []float64 {
	h := make([]float64, j.Rows*j.Rows)
	linalg.Gemm(false, true, j.Rows, j.Rows, j.Cols, 1, j.Data, j.Cols, j.Data, j.Cols, 0, h, j.Rows)
	return h
}

func TestStructuralMatrixMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		act   string
		sizes []int
		n     int
	}{
		{"tanh 6-5-4-3 n=3", "tanh", []int{6, 5, 4, 3}, 3},
		{"tanh 4-7-2 n=5", "tanh", []int{4, 7, 2}, 5},
		{"relu 6-5-4-3 n=3", "relu", []int{6, 5, 4, 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			model := mlp(rng, tc.act, tc.sizes...)
			x := randomX(rng, tc.n, tc.sizes[0])
			// Gradients already accumulated must survive the engine.
			for _, p := range model.Params() {
				for i := range p.Grad {
					p.Grad[i] = float64(i) + 0.5
				}
			}
			h := StructuralMatrix(model, x)
			m := h.SymmetricDim()
			if want := tc.n * tc.sizes[len(tc.sizes)-1]; m != want {
				t.Fatalf("H is %d×%d, want %d", m, m, want)
			}
			got := h.RawSymmetric().Data
			j := Jacobian(model, x)
			if d := relDiff(got, gramOf(j)); d > exactTol {
				t.Errorf("structured H vs Jacobian()·Jacobian()ᵀ: rel diff %.3g > %g", d, exactTol)
			}
			// ReLU kinks: the FD step may cross one with vanishing probability
			// for Gaussian inputs; the relu case still checks the wiring.
			if d := relDiff(got, gramOf(fdJacobian(model, x))); d > fdTol {
				t.Errorf("structured H vs finite-difference J Jᵀ: rel diff %.3g > %g", d, fdTol)
			}
			for r := 0; r < m; r++ {
				for c := 0; c < m; c++ {
					if got[r*m+c] != got[c*m+r] {
						t.Fatalf("H not symmetric at (%d,%d)", r, c)
					}
				}
			}
			for _, p := range model.Params() {
				for i, g := range p.Grad {
					if g != float64(i)+0.5 {
						t.Fatalf("%s.Grad[%d] changed to %v", p.Name, i, g)
					}
				}
			}
		})
	}
}

func TestGradientMatchesJacobian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	model := mlp(rng, "tanh", 5, 6, 4)
	n, K := 7, 4
	x := randomX(rng, n, 5)
	r := make([]float64, n*K)
	for i := range r {
		r[i] = rng.NormFloat64()
	}
	g := Gradient(model, x, r)
	j := Jacobian(model, x)
	want := make([]float64, j.Cols)
	linalg.Gemm(true, false, j.Cols, 1, j.Rows, 1/float64(n), j.Data, j.Cols, r, 1, 0, want, 1)
	if d := relDiff(g, want); d > exactTol {
		t.Errorf("Gradient vs (1/n) Jᵀ r: rel diff %.3g > %g", d, exactTol)
	}
}

// TestStructuralMatrixPaths checks both ways StructuralMatrix builds H against
// the explicit J Jᵀ, on batches large enough that nn.AddDenseGram works in
// several row blocks: the MLP path (first Dense forwarded on the distinct
// rows, its Gram from nn.AddDenseGram) and the generic path (K-fold replicated
// batch, every layer's AddGram with rep = K), also behind a leading
// parameter-free layer.
func TestStructuralMatrixPaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		act   string
		sizes []int
		n     int
		lead  bool // prepend a ReLU so the first parameterised layer is not layer 0
	}{
		{"tanh 5-7-3 n=400", "tanh", []int{5, 7, 3}, 400, false},
		{"relu 4-6-5-4 n=300", "relu", []int{4, 6, 5, 4}, 300, false},
		{"leading relu, tanh 4-6-3 n=350", "tanh", []int{4, 6, 3}, 350, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(8, 9))
			var model nn.Layer[float64] = mlp(rng, tc.act, tc.sizes...)
			if tc.lead {
				layers := append([]nn.Layer[float64]{nn.NewReLU[float64](nn.Shape{tc.sizes[0]})}, model.(*nn.Sequential[float64]).Layers...)
				s, err := nn.NewSequential(layers...)
				if err != nil {
					t.Fatal(err)
				}
				model = s
			}
			x := randomX(rng, tc.n, tc.sizes[0])
			K := tc.sizes[len(tc.sizes)-1]
			m := tc.n * K
			want := gramOf(Jacobian(model, x))
			got := StructuralMatrix(model, x).RawSymmetric().Data
			if d := relDiff(got, want); d > exactTol {
				t.Errorf("StructuralMatrix vs J Jᵀ: rel diff %.3g > %g", d, exactTol)
			}
			generic := make([]float64, m*m)
			seededBackward(model, x)
			model.AddGram(generic, m, K)
			linalg.Symmetrize(m, generic, m)
			if d := relDiff(generic, want); d > exactTol {
				t.Errorf("generic AddGram path vs J Jᵀ: rel diff %.3g > %g", d, exactTol)
			}
		})
	}
}

// TestStructuralMatrixEveryModelKind checks, for every model kind of package
// models (THEORY §5 Models a–d with skips on and off, the plain and the
// residual MLP, on small inputs), that the structured H equals J Jᵀ of the
// explicit Jacobian to exactTol, and that this J is right: J·u equals the
// forward-mode product (Tangent, a code path independent of Backward,
// PerSampleGrad and AddGram) for random directions u — a wrong entry of J
// changes J·u for a random u with probability 1.
func TestStructuralMatrixEveryModelKind(t *testing.T) {
	specs := []models.Spec{
		{Name: models.MLP, Hidden: []int{7, 5}, Input: nn.Shape{1, 4, 4}, Classes: 4},
		{Name: models.ModelA, Depth: 2, Width: 6, Input: nn.Shape{1, 4, 4}, Classes: 4},
		{Name: models.ModelA, Depth: 1, Width: 6, LogitReLU: true, Input: nn.Shape{1, 4, 4}, Classes: 4},
		{Name: models.ModelB, Depth: 1, Input: nn.Shape{1, 5, 5}, Classes: 3},
		{Name: models.ModelC, Depth: 2, Skip: true, Input: nn.Shape{1, 6, 6}, Classes: 3},
		{Name: models.ModelC, Depth: 2, Skip: false, Input: nn.Shape{1, 6, 6}, Classes: 3},
		{Name: models.ModelD, Depth: 1, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3},
		{Name: models.ModelD, Depth: 1, Skip: false, Input: nn.Shape{1, 8, 8}, Classes: 3},
		{Name: models.ResMLP, Depth: 2, Width: 6, Skip: true, Input: nn.Shape{1, 4, 4}, Classes: 4},
		{Name: models.ResMLP, Depth: 2, Width: 6, Skip: false, Input: nn.Shape{1, 4, 4}, Classes: 4},
	}
	rng := rand.New(rand.NewPCG(31, 31))
	for _, s := range specs {
		t.Run(s.String(), func(t *testing.T) {
			model, err := models.Build[float64](s)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range model.Params() {
				sd := 1 / math.Sqrt(float64(max(1, p.FanIn)))
				for i := range p.Value {
					p.Value[i] = sd * rng.NormFloat64()
				}
			}
			const n = 3
			x := randomX(rng, n, model.InShape().Size())
			got := StructuralMatrix(model, x).RawSymmetric().Data
			j := Jacobian(model, x)
			if d := relDiff(got, gramOf(j)); d > exactTol {
				t.Errorf("structured H vs J Jᵀ: rel diff %.3g > %g", d, exactTol)
			}
			op, err := NewJacobianOperator(model, x)
			if err != nil {
				t.Fatal(err)
			}
			rows, P := op.Dims()
			for trial := 0; trial < 2; trial++ {
				u := make([]float64, P)
				for i := range u {
					u[i] = rng.NormFloat64()
				}
				fwd := make([]float64, rows)
				op.MulJ(fwd, u)
				ju := make([]float64, rows)
				linalg.Gemm(false, false, rows, 1, P, 1, j.Data, P, u, 1, 0, ju, 1)
				if d := relDiff(ju, fwd); d > 1e-10 {
					t.Errorf("J·u (explicit J) vs forward mode: rel diff %.3g", d)
				}
			}
		})
	}
}
