package structural

import (
	"context"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/linalg"
)

// hOperator is a symmetric operator A = Pᵀ H P on R^dim defined through the
// nK×nK matrix H, with P applied by pre (u = P v, u ∈ R^{nK}) and Pᵀ by post
// (w = Pᵀ y). H_S on range(Π) (P = I_n ⊗ V_K, see RestrictSumZero) and
// H_p = D^{1/2} H D^{1/2} are of this form, so their Lanczos runs never need
// the matrices RestrictSumZero and ProbabilityWeighted materialise.
type hOperator struct {
	dim       int
	pre, post func(dst, src []float64) // nil means the identity
}

// identityOp is H itself.
func identityOp(m int) hOperator { return hOperator{dim: m} }

// sumZeroOp is H_S restricted to range(Π) in the Helmert basis: the operator
// whose matrix RestrictSumZero returns.
func sumZeroOp(m, K int) hOperator {
	n := m / K
	return hOperator{dim: n * (K - 1),
		pre: func(u, v []float64) {
			for i := 0; i < n; i++ {
				helmertT(u[i*K:(i+1)*K], v[i*(K-1):(i+1)*(K-1)])
			}
		},
		post: func(w, y []float64) {
			for i := 0; i < n; i++ {
				helmert(w[i*(K-1):(i+1)*(K-1)], y[i*K:(i+1)*K])
			}
		}}
}

// weightedOp is H_p = D^{1/2} H D^{1/2}, D = diag(p): the operator whose
// matrix ProbabilityWeighted returns.
func weightedOp(p []float64) hOperator {
	s := make([]float64, len(p))
	for i, v := range p {
		s[i] = math.Sqrt(v)
	}
	scale := func(dst, src []float64) {
		for i, v := range src {
			dst[i] = s[i] * v
		}
	}
	return hOperator{dim: len(p), pre: scale, post: scale}
}

// helmertT writes V_K y into dst (length K) for y of length K−1: the inverse
// of helmert on the sum-zero subspace. With c_j = 1/√(j(j+1)),
// x_0 = Σ_j c_j y_j and x_k = −k·c_k y_k + Σ_{j>k} c_j y_j.
func helmertT(dst, y []float64) {
	K := len(dst)
	suffix := 0.0
	for k := K - 1; k >= 1; k-- {
		fk := float64(k)
		c := y[k-1] / math.Sqrt(fk*(fk+1))
		dst[k] = suffix - fk*c
		suffix += c
	}
	dst[0] = suffix
}

// opTrace returns the trace of Pᵀ H P exactly from H's diagonal blocks.
func opTrace(h *mat.SymDense, kind string, K int, p []float64) float64 {
	m := h.SymmetricDim()
	t := 0.0
	switch kind {
	case "H":
		return trace(h)
	case "H_p":
		for r := 0; r < m; r++ {
			t += p[r] * h.At(r, r)
		}
	case "H_S":
		// trace(V_Kᵀ B V_K) = trace(B) − 1ᵀB1/K for each K×K diagonal block B.
		for b := 0; b < m; b += K {
			sum := 0.0
			for r := b; r < b+K; r++ {
				t += h.At(r, r)
				for c := b; c < b+K; c++ {
					sum += h.At(r, c)
				}
			}
			t -= sum / float64(K)
		}
	}
	return t
}

// mulRows sets ys[j] = H·us[j] for every j in one pass over the upper
// triangle of the symmetric m×m matrix h (linalg.SymvBatch).
func mulRows(h []float64, m int, us, ys [][]float64) {
	linalg.SymvBatch(m, h, m, us, ys)
}

// lanczosResult is one operator's outcome of lockstepExtremes.
type lanczosResult struct {
	lo, hi float64
	iters  int // operator applications (vectors)
	steps  int // block steps (passes over H)
	err    error
}

// lockstepExtremes runs BlockLanczosExtremes (block size block) on every
// operator at once, sharing each pass over H among all runs that have not
// yet converged: one pass (mulRows) serves every column of every active
// block, and costs far less than one pass per vector. Start blocks are drawn
// from rng in the order of ops. Once ctx is done it returns
// context.Cause(ctx) before the next pass.
func lockstepExtremes(ctx context.Context, h *mat.SymDense, ops []hOperator, tol float64, block int, rng *rand.Rand) ([]lanczosResult, error) {
	raw := h.RawSymmetric()
	m := raw.N
	if raw.Stride != m {
		panic("structural: lockstepExtremes: H must be stored contiguously")
	}
	res := make([]lanczosResult, len(ops))
	runs := make([]*blockLanczos, len(ops))
	for i, op := range ops {
		lz, err := newBlockLanczos(op.dim, block, tol, min(op.dim, 1500), rng)
		if err != nil {
			res[i].err = err
			continue
		}
		runs[i] = lz
	}
	var us, ys [][]float64
	var active []int
	for {
		us, ys, active = us[:0], ys[:0], active[:0]
		for i, lz := range runs {
			if lz == nil || lz.done {
				continue
			}
			active = append(active, i)
			for c := range lz.q {
				if ops[i].pre == nil {
					us, ys = append(us, lz.q[c]), append(ys, lz.w[c])
					continue
				}
				u := make([]float64, m)
				ops[i].pre(u, lz.q[c])
				us, ys = append(us, u), append(ys, make([]float64, m))
			}
		}
		if len(active) == 0 {
			break
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		mulRows(raw.Data, m, us, ys)
		j := 0
		for _, i := range active {
			lz := runs[i]
			for c := range lz.q {
				if ops[i].post != nil {
					ops[i].post(lz.w[c], ys[j])
				}
				j++
			}
			lz.advance()
		}
	}
	for i, lz := range runs {
		if lz != nil {
			res[i] = lanczosResult{lo: lz.lo, hi: lz.hi, iters: lz.products, steps: lz.steps, err: lz.err}
		}
	}
	return res, nil
}
