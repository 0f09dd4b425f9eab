package structural

import (
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
	saved := saveGrads(model)
	model.Forward(rep)
	model.Backward(seed)
	restoreGrads(model, saved)
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
// rows only.
//
// Memory: H itself takes 8·(nK)² bytes; every Dense layer additionally keeps a
// scratch of 8·((nK)² + n²) bytes (nn.Dense.AddGram), and the replicated
// forward/backward keeps nK rows of every activation. H needs all cross-sample
// blocks, so the batch is not chunked: n = 500, K = 10 means 200 MB for H
// plus 200 MB per Dense layer.
func StructuralMatrix(model nn.Layer[float64], x *nn.Mat[float64]) *mat.SymDense {
	K := numClasses(model)
	m := x.Rows * K
	seededBackward(model, x)
	h := make([]float64, m*m)
	model.AddGram(h, m, K)
	linalg.Symmetrize(m, h, m)
	return mat.NewSymDense(m, h)
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
