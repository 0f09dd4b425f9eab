package structural

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
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
// triangle of the symmetric m×m matrix h: row r contributes H[r, r:]·u[r:]
// to y[r] and H[r, r+1:]ᵀ·u[r] to y[r+1:], so each stored entry is read
// once per pass for all vectors (the products are memory-bound). Rows are
// split over GOMAXPROCS goroutines in ranges of equal triangle area, each
// accumulating into its own vectors, summed at the end.
func mulRows(h []float64, m int, us, ys [][]float64) {
	workers := max(1, min(runtime.GOMAXPROCS(0), m/64))
	acc := make([][][]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		// Rows [r0, r1) hold 1/workers of the triangle's area.
		r0 := int(float64(m) * (1 - math.Sqrt(1-float64(w)/float64(workers))))
		r1 := int(float64(m) * (1 - math.Sqrt(1-float64(w+1)/float64(workers))))
		if w == workers-1 {
			r1 = m
		}
		acc[w] = make([][]float64, len(us))
		for j := range us {
			acc[w][j] = make([]float64, m)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := r0; r < r1; r += 4 {
				for j, u := range us {
					symPanel(h, m, u, acc[w][j], r, min(r+4, r1))
				}
			}
		}()
	}
	wg.Wait()
	for j, y := range ys {
		copy(y, acc[0][j])
		for w := 1; w < workers; w++ {
			for i, v := range acc[w][j] {
				y[i] += v
			}
		}
	}
}

// symPanel adds the contribution of the upper-triangle rows [r, rb) of the
// symmetric m×m matrix h to y = H·u. A full panel of four rows is fused into
// one sweep over its columns: each column's four entries update the four
// row sums and y[c] at once, so y and u are loaded once per four rows (about
// 1.6× faster than a Ddot and a Daxpy per row, pure Go, nK = 5000). Shorter
// panels use Ddot and Daxpy.
func symPanel(h []float64, m int, u, y []float64, r, rb int) {
	if rb-r < 4 {
		for ; r < rb; r++ {
			row := h[r*m+r : (r+1)*m]
			y[r] += dot(row, u[r:])
			axpy(y[r+1:], u[r], row[1:])
		}
		return
	}
	a0 := h[r*m : (r+1)*m]
	a1 := h[(r+1)*m : (r+2)*m]
	a2 := h[(r+2)*m : (r+3)*m]
	a3 := h[(r+3)*m : (r+4)*m]
	u0, u1, u2, u3 := u[r], u[r+1], u[r+2], u[r+3]
	// The 4×4 diagonal tile, read from its upper triangle.
	s0 := a0[r]*u0 + a0[r+1]*u1 + a0[r+2]*u2 + a0[r+3]*u3
	s1 := a0[r+1]*u0 + a1[r+1]*u1 + a1[r+2]*u2 + a1[r+3]*u3
	s2 := a0[r+2]*u0 + a1[r+2]*u1 + a2[r+2]*u2 + a2[r+3]*u3
	s3 := a0[r+3]*u0 + a1[r+3]*u1 + a2[r+3]*u2 + a3[r+3]*u3
	c0 := r + 4
	yy := y[c0:m]
	b0, b1, b2, b3, uu := a0[c0:m], a1[c0:m], a2[c0:m], a3[c0:m], u[c0:m]
	b0, b1, b2, b3, uu = b0[:len(yy)], b1[:len(yy)], b2[:len(yy)], b3[:len(yy)], uu[:len(yy)]
	for c := range yy {
		x0, x1, x2, x3, v := b0[c], b1[c], b2[c], b3[c], uu[c]
		s0 += x0 * v
		s1 += x1 * v
		s2 += x2 * v
		s3 += x3 * v
		yy[c] += u0*x0 + u1*x1 + u2*x2 + u3*x3
	}
	y[r] += s0
	y[r+1] += s1
	y[r+2] += s2
	y[r+3] += s3
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
