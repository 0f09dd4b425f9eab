package structural

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/nn"
)

// numClasses is K, the number of logits of the model.
func numClasses(model nn.Layer[float64]) int { return model.OutShape().Size() }

// seededBackward runs the K batched backward passes of THEORY §6 as one pass
// over the batch replicated K times: row i·K+k of the replicated batch is
// sample i and its seed at the logits is e_k, so after the pass every layer
// holds δ_{l,k}(x_i) in row i·K+k of its dy. The parameter gradients the pass
// accumulates are discarded: Param.Grad is restored to its value on entry.
func seededBackward(model nn.Layer[float64], x *nn.Mat[float64]) {
	K := numClasses(model)
	if x.Cols != model.InShape().Size() || len(x.Data) != x.Rows*x.Cols {
		panic(fmt.Sprintf("structural: input %d×%d (len %d) does not match the model's per-sample shape %v",
			x.Rows, x.Cols, len(x.Data), model.InShape()))
	}
	n := x.Rows
	rep := nn.NewMat[float64](n*K, x.Cols)
	for i := 0; i < n; i++ {
		src := x.Row(i)
		for k := 0; k < K; k++ {
			copy(rep.Row(i*K+k), src)
		}
	}
	seed := nn.NewMat[float64](n*K, K)
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			seed.Row(i*K + k)[k] = 1
		}
	}
	// Only the δ's are needed: layers with a DeltaBackwarder (Dense and the
	// containers) skip their parameter-gradient products; the others add
	// into Param.Grad, which is restored.
	saved := saveGrads(model)
	nn.ForwardBroadcast(model, rep, K) // the products on the n distinct rows
	if _, touched := nn.BackwardDeltas(model, seed, false); touched {
		restoreGrads(model, saved)
	}
}

// saveGrads copies every Param.Grad so that the engine leaves a caller's
// accumulated gradients untouched.
func saveGrads(model nn.Layer[float64]) [][]float64 {
	ps := model.Params()
	out := make([][]float64, len(ps))
	for i, p := range ps {
		out[i] = append([]float64(nil), p.Grad...)
	}
	return out
}

func restoreGrads(model nn.Layer[float64], saved [][]float64) {
	for i, p := range model.Params() {
		copy(p.Grad, saved[i])
	}
}

// Jacobian returns J ∈ R^{nK×P} (THEORY §2): row i·K+k is ∂z_k(x_i)/∂θ with the
// parameters in model.Params() order, each flattened. It materialises J
// (8·nK·P bytes); use StructuralMatrix when only H = J Jᵀ is needed.
// The model's Param.Grad values are left unchanged; its layers' cached
// forward/backward state is overwritten.
func Jacobian(model nn.Layer[float64], x *nn.Mat[float64]) *nn.Mat[float64] {
	K := numClasses(model)
	seededBackward(model, x)
	j := nn.NewMat[float64](x.Rows*K, nn.NumParams(model))
	model.PerSampleGrad(j, 0)
	return j
}

// StructuralMatrix returns H = J Jᵀ (THEORY §2), nK×nK with sample-major rows
// i·K+k, without materialising J: one seeded backward pass over the batch
// replicated K times, then model.AddGram with rep = K so that Dense layers use
// the structured form of THEORY §6 and compute input Grams on the n distinct
// rows only. Both triangles of the result are filled.
//
// When the model is an nn.Chain whose parameterised layers are all
// nn.GramTermers (an MLP of nn.Dense), the replication starts after the first
// of them: it and the parameter-free layers before it run forward on the n
// distinct rows only, and its Gram term pairs the δ the next layer's Backward
// returns with its n distinct inputs. This is the same H (THEORY §6), without the K-fold
// forward, the discarded weight gradient and the unused input gradient of the
// widest layer.
//
// Memory: H itself takes 8·(nK)² bytes; every Dense layer additionally keeps a
// scratch of O(nK·512 + n²) elements (nn.AddDenseGram), and the replicated
// forward/backward keeps nK rows of every activation after the first Dense.
// H needs all cross-sample blocks, so the batch is not chunked: n = 500,
// K = 10 means 200 MB for H.
func StructuralMatrix(model nn.Layer[float64], x *nn.Mat[float64]) *mat.SymDense {
	h, _ := structuralMatrix(context.Background(), model, x) // never cancelled
	return h
}

// structuralMatrix is StructuralMatrix stopping with context.Cause(ctx)
// between the row blocks of the MLP fast path once ctx is done.
func structuralMatrix(ctx context.Context, model nn.Layer[float64], x *nn.Mat[float64]) (*mat.SymDense, error) {
	K := numClasses(model)
	m := x.Rows * K
	h := make([]float64, m*m)
	mlp, complete := addGramMLP(ctx, h, model, x)
	if !mlp {
		seededBackward(model, x)
		model.AddGram(h, m, K)
	}
	if !complete || ctx.Err() != nil {
		return nil, fmt.Errorf("structural: analyze: stopped while building H (%d×%d): %w", m, m, context.Cause(ctx))
	}
	linalg.Symmetrize(m, h, m)
	return mat.NewSymDense(m, h), nil
}

// addGramMLP adds J Jᵀ into h (upper triangle) for an nn.Chain whose
// parameterised layers are all nn.GramTermers, as StructuralMatrix documents,
// and reports whether the model had that form. It runs the forward and seeded
// backward passes layer by layer itself, keeping for every parameterised layer
// its input (n distinct rows for the first, nK replicated rows after it) and
// the δ its successor's Backward returns, then folds all the layers' Gram
// terms into h in one sweep (nn.AddGramTerms), stopping between row blocks
// once ctx is done (complete false).
func addGramMLP(ctx context.Context, h []float64, model nn.Layer[float64], x *nn.Mat[float64]) (mlp, complete bool) {
	chain, ok := model.(nn.Chain[float64])
	if !ok {
		return false, true
	}
	layers := chain.Chain()
	first := -1
	for i, l := range layers {
		if len(l.Params()) == 0 {
			continue
		}
		if _, ok := l.(nn.GramTermer[float64]); !ok {
			return false, true
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 {
		return false, true
	}
	if x.Cols != model.InShape().Size() || len(x.Data) != x.Rows*x.Cols {
		panic(fmt.Sprintf("structural: input %d×%d (len %d) does not match the model's per-sample shape %v",
			x.Rows, x.Cols, len(x.Data), model.InShape()))
	}
	K := numClasses(model)
	n := x.Rows
	L := len(layers)
	ins := make([]*nn.Mat[float64], L) // input of every layer
	a := x
	for l := 0; l <= first; l++ {
		ins[l] = a
		a = layers[l].Forward(a)
	}
	rep := nn.NewMat[float64](n*K, a.Cols)
	for i := 0; i < n; i++ {
		src := a.Row(i)
		for k := 0; k < K; k++ {
			copy(rep.Row(i*K+k), src)
		}
	}
	a = rep
	for l := first + 1; l < L; l++ {
		ins[l] = a
		a = layers[l].Forward(a)
	}
	seed := nn.NewMat[float64](n*K, K)
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			seed.Row(i*K + k)[k] = 1
		}
	}
	saved := saveGrads(model)
	var terms []nn.GramTerm[float64]
	dy := seed
	for l := L - 1; l >= first; l-- {
		if len(layers[l].Params()) > 0 {
			t := layers[l].(nn.GramTermer[float64]).GramTerm(ins[l], dy, K)
			if l == L-1 {
				addSeedTerm(h, n, K, t.S)
			} else {
				terms = append(terms, t)
			}
		}
		if l > first {
			dy = layers[l].Backward(dy)
		}
	}
	restoreGrads(model, saved)
	_, complete = nn.AddGramTermsUntil(h, n*K, K, terms, nil, func() bool { return ctx.Err() != nil })
	return true, complete
}

// addSeedTerm adds the Gram term of the chain's last layer (THEORY §6),
// whose Δ is the seed itself, into the upper triangle of the zero h
// (nK×nK): ΔΔᵀ = 1_n1_nᵀ ⊗ I_K, so the term (ΔΔᵀ) ∘ (S ⊗ 1_K1_Kᵀ + 1) is
// (S + 1)_ij at rows and columns i·K+k, j·K+k alone, n²K entries where
// nn.AddGramTerms would form and fold all (nK)² of ΔΔᵀ. Added first, as the
// first of AddGramTerms' terms is, it leaves the bits of H unchanged.
func addSeedTerm(h []float64, n, K int, s []float64) {
	m := n * K
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := s[i*n+j] + 1
			for k := 0; k < K; k++ {
				h[(i*K+k)*m+j*K+k] += v
			}
		}
	}
}

// Gradient returns ∇R = (1/n) Jᵀ r (THEORY §2) by one backward pass over the
// n distinct samples with r (n×K, sample-major) as the seed, never forming J.
// The model's Param.Grad values are left unchanged.
func Gradient(model nn.Layer[float64], x *nn.Mat[float64], r []float64) []float64 {
	K := numClasses(model)
	n := x.Rows
	if len(r) != n*K {
		panic(fmt.Sprintf("structural: residual has %d entries, want n·K = %d", len(r), n*K))
	}
	seed := nn.NewMat[float64](n, K)
	for i, v := range r {
		seed.Data[i] = v / float64(n)
	}
	saved := saveGrads(model)
	nn.ZeroGrad(model)
	model.Forward(x)
	model.Backward(seed)
	g := make([]float64, 0, nn.NumParams(model))
	for _, p := range model.Params() {
		g = append(g, p.Grad...)
	}
	restoreGrads(model, saved)
	return g
}
