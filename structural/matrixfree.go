package structural

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenchel-ml/fenchel/nn"
)

// DefaultMaxDenseBytes is Options.MaxDenseBytes by default: no limit on H
// of its own, Options.MaxMemory decides between materialising H and the
// matrix-free products (planSpectra).
const DefaultMaxDenseBytes = 1 << 62

// JacobianOperator applies the Jacobian J ∈ R^{nK×P} of a model at a fixed
// probe batch x (THEORY §2: row i·K+k is ∂z_k(x_i)/∂θ, parameters in
// model.Params() order) and its transpose without materialising J or
// H = J Jᵀ (THEORY §6): Jᵀv is one backward pass over the n rows seeded with v
// (reshaped n×K), Ju one forward-mode pass (nn.Layer.Tangent) with the
// parameter direction u. Every product first runs model.Forward(x), so the
// operator stays correct when the model is used in between; the model's
// Param.Grad and Param.Tangent values are restored after every product. It
// is not safe for concurrent use (the model's layers hold the pass state).
type JacobianOperator struct {
	model   nn.Layer[float64]
	x       *nn.Mat[float64]
	n, K, P int
	seed    *nn.Mat[float64]
	scratch []float64 // P, for MulH
}

// NewJacobianOperator returns the operator of model at the probe inputs x
// (one row per sample). x is kept, not copied: it must not change while the
// operator is in use.
func NewJacobianOperator(model nn.Layer[float64], x *nn.Mat[float64]) (*JacobianOperator, error) {
	if model == nil {
		return nil, errors.New("structural: jacobian operator: nil model")
	}
	if x == nil || x.Rows == 0 {
		return nil, errors.New("structural: jacobian operator: no probe samples (x empty)")
	}
	if x.Cols != model.InShape().Size() || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("structural: jacobian operator: x is %d×%d (len %d), the model takes %v per sample",
			x.Rows, x.Cols, len(x.Data), model.InShape())
	}
	P := nn.NumParams(model)
	if P == 0 {
		return nil, fmt.Errorf("structural: jacobian operator: model %s has no parameters", model.Kind())
	}
	K := numClasses(model)
	return &JacobianOperator{model: model, x: x, n: x.Rows, K: K, P: P,
		seed: nn.NewMat[float64](x.Rows, K), scratch: make([]float64, P)}, nil
}

// Dims returns the shape of J: nK rows, P columns.
func (op *JacobianOperator) Dims() (rows, cols int) { return op.n * op.K, op.P }

// MulJt sets dst = Jᵀv (dst of length P, v of length nK, sample-major): one
// forward and one backward pass over the n probe rows.
func (op *JacobianOperator) MulJt(dst, v []float64) {
	if len(dst) != op.P || len(v) != op.n*op.K {
		panic(fmt.Sprintf("structural: MulJt: len(dst) = %d, len(v) = %d, want P = %d, nK = %d", len(dst), len(v), op.P, op.n*op.K))
	}
	op.model.Forward(op.x)
	op.backward(dst, v)
}

// backward is MulJt after the caller's Forward at x.
func (op *JacobianOperator) backward(dst, v []float64) {
	copy(op.seed.Data, v)
	saved := saveGrads(op.model)
	nn.ZeroGrad(op.model)
	op.model.Backward(op.seed)
	off := 0
	for _, p := range op.model.Params() {
		off += copy(dst[off:], p.Grad)
	}
	restoreGrads(op.model, saved)
}

// MulJ sets dst = Ju (dst of length nK, sample-major; u of length P): one
// forward and one forward-mode (Tangent) pass.
func (op *JacobianOperator) MulJ(dst, u []float64) {
	if len(dst) != op.n*op.K || len(u) != op.P {
		panic(fmt.Sprintf("structural: MulJ: len(dst) = %d, len(u) = %d, want nK = %d, P = %d", len(dst), len(u), op.n*op.K, op.P))
	}
	op.model.Forward(op.x)
	op.tangent(dst, u)
}

// tangent is MulJ after the caller's Forward at x: Param.Tangent is pointed
// at the slices of u for the pass and restored afterwards.
func (op *JacobianOperator) tangent(dst, u []float64) {
	ps := op.model.Params()
	saved := make([][]float64, len(ps))
	off := 0
	for i, p := range ps {
		saved[i] = p.Tangent
		p.Tangent = u[off : off+p.Len()]
		off += p.Len()
	}
	dy := op.model.Tangent(nil)
	for i, p := range ps {
		p.Tangent = saved[i]
	}
	if dy.Rows != op.n || dy.Cols != op.K {
		panic(fmt.Sprintf("structural: MulJ: Tangent returned %d×%d, want %d×%d", dy.Rows, dy.Cols, op.n, op.K))
	}
	copy(dst, dy.Data)
}

// MulH sets dst = Hv = J(Jᵀv) (both of length nK): one forward, one
// backward and one forward-mode pass (THEORY §6).
func (op *JacobianOperator) MulH(dst, v []float64) {
	m := op.n * op.K
	if len(dst) != m || len(v) != m {
		panic(fmt.Sprintf("structural: MulH: len(dst) = %d, len(v) = %d, want nK = %d", len(dst), len(v), m))
	}
	op.model.Forward(op.x)
	op.backward(op.scratch, v)
	op.tangent(dst, op.scratch)
}

// DiagonalBlocks returns the n diagonal K×K blocks of H (block i, row-major,
// at [i·K², (i+1)·K²)), exact: block i is H of sample i alone, so the batch
// is processed in chunks of at most chunk samples with StructuralMatrix,
// costing O((chunk·K)²) memory. They give the exact traces of H, H_S and H_p
// on the matrix-free path (opTraceBlocks).
func (op *JacobianOperator) DiagonalBlocks(chunk int) []float64 {
	b, _ := op.diagonalBlocks(context.Background(), chunk) // never cancelled
	return b
}

// diagonalBlocks is DiagonalBlocks returning context.Cause(ctx) between
// chunks once ctx is done.
func (op *JacobianOperator) diagonalBlocks(ctx context.Context, chunk int) ([]float64, error) {
	if chunk < 1 {
		panic(fmt.Sprintf("structural: DiagonalBlocks: chunk %d", chunk))
	}
	n, K, d := op.n, op.K, op.x.Cols
	out := make([]float64, n*K*K)
	for i0 := 0; i0 < n; i0 += chunk {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		i1 := min(i0+chunk, n)
		xc := &nn.Mat[float64]{Rows: i1 - i0, Cols: d, Data: op.x.Data[i0*d : i1*d]}
		hm, err := structuralMatrix(ctx, op.model, xc)
		if err != nil {
			return nil, context.Cause(ctx)
		}
		h := hm.RawSymmetric()
		for i := i0; i < i1; i++ {
			b := (i - i0) * K
			for k := 0; k < K; k++ {
				copy(out[(i*K+k)*K:(i*K+k+1)*K], h.Data[(b+k)*h.Stride+b:(b+k)*h.Stride+b+K])
			}
		}
	}
	return out, nil
}

// opTraceBlocks returns the trace of Pᵀ H P (kind "H", "H_S" or "H_p", see
// hOperator) from the diagonal K×K blocks of H, exactly as opTrace does.
func opTraceBlocks(blocks []float64, K int, kind string, p []float64) float64 {
	t := 0.0
	for b := 0; b < len(blocks); b += K * K {
		blk := blocks[b : b+K*K]
		r0 := b / K // global row of the block's first row
		sum := 0.0
		for k := 0; k < K; k++ {
			switch kind {
			case "H", "H_S":
				t += blk[k*K+k]
			case "H_p":
				t += p[r0+k] * blk[k*K+k]
			}
			for c := 0; c < K; c++ {
				sum += blk[k*K+c]
			}
		}
		if kind == "H_S" {
			// trace(V_Kᵀ B V_K) = trace(B) − 1ᵀB1/K.
			t -= sum / float64(K)
		}
	}
	return t
}
