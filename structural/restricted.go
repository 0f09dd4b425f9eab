package structural

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// The restricted softmax bound (C_r), THEORY §7. With u = D^{-1/2} r the
// χ² term of (C) is ‖u‖², and n²‖∇R‖² = uᵀ H_p u. Each sample's block u_i is
// orthogonal to √p_i (Σ_k √p_ik·u_ik = Σ_k r_ik = 0), so u lies in
// U = ⊕_i (√p_i)^⊥ and n²‖∇R‖² ≥ λ_min(H_p|U)·‖u‖², where H_p|U = Wᵀ H_p W
// for an orthonormal basis W of U. By Courant–Fischer λ_min(H_p|U) ≥
// λ_min(H_p), so (C_r) is valid and at least as tight as (C).

// weightedBasis holds, per sample i, the Householder vector v_i of the
// reflection R_i = I − 2 v_i v_iᵀ/‖v_i‖² that maps s_i = √p_i to −e_0;
// columns 1…K−1 of R_i are an orthonormal basis of s_i^⊥. The operator
// pre/post below apply W_i = D_i^{1/2} R_i[:, 1:], so Wᵀ H W is H_p|U in
// that basis.
type weightedBasis struct {
	n, K int
	s, v []float64 // √p and the Householder vectors, sample-major
	vv   []float64 // ‖v_i‖² per sample
}

func newWeightedBasis(p []float64, K int) weightedBasis {
	n := len(p) / K
	b := weightedBasis{n: n, K: K, s: make([]float64, len(p)), v: make([]float64, len(p)), vv: make([]float64, n)}
	for i := 0; i < n; i++ {
		s, v := b.s[i*K:(i+1)*K], b.v[i*K:(i+1)*K]
		norm2 := 0.0
		for k := range s {
			s[k] = math.Sqrt(p[i*K+k])
			norm2 += s[k] * s[k]
		}
		// Σ_k p_k = 1 up to rounding; normalising keeps R_i exactly orthogonal.
		nrm := math.Sqrt(norm2)
		for k := range v {
			v[k] = s[k] / nrm
		}
		// s_0 ≥ 0, so v = ŝ + e_0 never cancels (‖v‖² ≥ 1).
		v[0]++
		for _, x := range v {
			b.vv[i] += x * x
		}
	}
	return b
}

// apply writes u_i = W_i y_i (length K) for y_i of length K−1.
func (b weightedBasis) apply(u, y []float64) {
	b.reflect(u, y)
	for j := range u {
		u[j] *= b.s[j]
	}
}

// applyT writes w_i = W_iᵀ x_i (length K−1) for x_i of length K.
func (b weightedBasis) applyT(w, x []float64) {
	K := b.K
	t := make([]float64, K)
	for i := 0; i < b.n; i++ {
		xi, s := x[i*K:(i+1)*K], b.s[i*K:(i+1)*K]
		for k := range t {
			t[k] = s[k] * xi[k]
		}
		b.reflectBlockT(i, w[i*(K-1):(i+1)*(K-1)], t)
	}
}

// applyInv writes u_i = D_i^{-1/2} R_i[:, 1:] y_i (length K) for y_i of
// length K−1: the map in front of H⁻¹ in H_p|U's inverse (every p_ik > 0).
func (b weightedBasis) applyInv(u, y []float64) {
	b.reflect(u, y)
	for j := range u {
		u[j] /= b.s[j]
	}
}

// applyInvT writes w_i = R_i[:, 1:]ᵀ D_i^{-1/2} x_i, the transpose of applyInv.
func (b weightedBasis) applyInvT(w, x []float64) {
	K := b.K
	t := make([]float64, K)
	for i := 0; i < b.n; i++ {
		xi, s := x[i*K:(i+1)*K], b.s[i*K:(i+1)*K]
		for k := range t {
			t[k] = xi[k] / s[k]
		}
		b.reflectBlockT(i, w[i*(K-1):(i+1)*(K-1)], t)
	}
}

// reflect writes u_i = R_i[:, 1:] y_i, the orthonormal basis of U alone.
func (b weightedBasis) reflect(u, y []float64) {
	K := b.K
	for i := 0; i < b.n; i++ {
		ui, yi, v := u[i*K:(i+1)*K], y[i*(K-1):(i+1)*(K-1)], b.v[i*K:(i+1)*K]
		// R[:, 1:] y = (0, y) − 2 v (vᵀ(0, y))/‖v‖²
		dot := 0.0
		for a, x := range yi {
			dot += v[a+1] * x
		}
		c := 2 * dot / b.vv[i]
		ui[0] = -c * v[0]
		for a, x := range yi {
			ui[a+1] = x - c*v[a+1]
		}
	}
}

// reflectBlockT writes w = R_i[:, 1:]ᵀ x for one sample's x of length K.
func (b weightedBasis) reflectBlockT(i int, w, x []float64) {
	K := b.K
	v := b.v[i*K : (i+1)*K]
	dot := 0.0
	for k, xk := range x {
		dot += v[k] * xk
	}
	c := 2 * dot / b.vv[i]
	for a := range w {
		w[a] = x[a+1] - c*v[a+1]
	}
}

// block writes sample i's W_i = D_i^{1/2} R_i[:, 1:] (K×(K−1), row-major)
// into dst.
func (b weightedBasis) block(i int, dst []float64) {
	K := b.K
	one := weightedBasis{n: 1, K: K, s: b.s[i*K : (i+1)*K], v: b.v[i*K : (i+1)*K], vv: b.vv[i : i+1]}
	y, col := make([]float64, K-1), make([]float64, K)
	for a := 0; a < K-1; a++ {
		clear(y)
		y[a] = 1
		one.apply(col, y)
		for k, x := range col {
			dst[k*(K-1)+a] = x
		}
	}
}

// op is H_p|U = Wᵀ H W as an hOperator on R^{n(K−1)}.
func (b weightedBasis) op() hOperator {
	return hOperator{dim: b.n * (b.K - 1), pre: b.apply, post: b.applyT}
}

// restrictedWeightedOp is H_p|U as an hOperator on R^{n(K−1)}.
func restrictedWeightedOp(p []float64, K int) hOperator {
	return newWeightedBasis(p, K).op()
}

// restrictedScale is max_i (Σ_k p_ik − max_k p_ik), the largest probability
// mass a sample puts outside its top class. W = D^{1/2} R[:, 1:] has entries
// of order its square root, so H_p|U = 0 exactly when it is 0 (every
// prediction exactly one-hot), and its entries underflow when it is tiny.
func restrictedScale(p []float64, K int) float64 {
	c := 0.0
	for i := 0; i < len(p)/K; i++ {
		pi := p[i*K : (i+1)*K]
		top, sum := 0, 0.0
		for k, v := range pi {
			if v > pi[top] {
				top = k
			}
		}
		for k, v := range pi {
			if k != top {
				sum += v
			}
		}
		c = math.Max(c, sum)
	}
	return c
}

// restrictedTinyScale is the restrictedScale below which the operator is
// built on p/c (H_p|U(p/c) = H_p|U(p)/c, since R_i depends only on √p_i's
// direction) so that no product underflows, as scaledDenseSpectrum does for
// the dense matrix.
const restrictedTinyScale = 0x1p-500

// RestrictWeighted returns H_p restricted to U = ⊕_i (√p_i)^⊥, the
// n(K−1)×n(K−1) matrix Wᵀ H W with W = blockdiag_i(D_i^{1/2} Q_i), Q_i an
// orthonormal basis of √p_i^⊥ (THEORY §7). Rows are sample-major,
// i·(K−1) + a, like RestrictSumZero's.
func RestrictWeighted(h *mat.SymDense, p []float64, K int) *mat.SymDense {
	b, _ := restrictWeighted(context.Background(), h, p, K)
	return b
}

// restrictWeighted is RestrictWeighted polling ctx every restrictPoll rows
// or columns of its two passes, so a cancelled analysis stops within one
// such stretch at every size.
func restrictWeighted(ctx context.Context, h *mat.SymDense, p []float64, K int) (*mat.SymDense, error) {
	m := h.SymmetricDim()
	checkBlocks("RestrictWeighted", m, K)
	if len(p) != m {
		panic(fmt.Sprintf("structural: RestrictWeighted: %d probabilities for a %d×%d matrix", len(p), m, m))
	}
	for i, v := range p {
		if !(v >= 0) {
			panic(fmt.Sprintf("structural: RestrictWeighted: p[%d] = %v is not a probability", i, v))
		}
	}
	b := newWeightedBasis(p, K)
	n := m / K
	d := n * (K - 1)
	raw := h.RawSymmetric()
	// T = H W (m × d), row by row; then B = Wᵀ T column by column.
	t := make([]float64, m*d)
	row := make([]float64, m)
	for r := 0; r < m; r++ {
		if r%restrictPoll == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		for c := 0; c < m; c++ {
			if c >= r {
				row[c] = raw.Data[r*raw.Stride+c]
			} else {
				row[c] = raw.Data[c*raw.Stride+r]
			}
		}
		b.applyT(t[r*d:(r+1)*d], row)
	}
	out := make([]float64, d*d)
	col := make([]float64, m)
	dst := make([]float64, d)
	for c := 0; c < d; c++ {
		if c%restrictPoll == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		for r := 0; r < m; r++ {
			col[r] = t[r*d+c]
		}
		b.applyT(dst, col)
		for r, v := range dst {
			out[r*d+c] = v
		}
	}
	symmetrizeAverage(d, out)
	return mat.NewSymDense(d, out), nil
}

// restrictPoll is the number of rows (columns) restrictWeighted runs between
// polls of its context: each costs O(nK²), well under a millisecond at the
// dense sizes.
const restrictPoll = 32

// restrictedTrace is trace(H_p|U) from H's diagonal K×K blocks: per sample
// Σ_a w_aᵀ B w_a over the columns w_a of W_i = D_i^{1/2} R_i[:, 1:]. Summing
// the quadratic forms (all ≥ 0) keeps the relative accuracy that the
// equivalent Σ_k p_k B_kk − pᵀBp/Σp loses to cancellation when p_i is
// nearly one-hot.
func restrictedTrace(block func(i int) []float64, p []float64, K int) float64 {
	b := newWeightedBasis(p, K)
	n := len(p) / K
	y := make([]float64, K-1)
	col, bw := make([]float64, K), make([]float64, K)
	t := 0.0
	for i := 0; i < n; i++ {
		bl := block(i)
		one := weightedBasis{n: 1, K: K, s: b.s[i*K : (i+1)*K], v: b.v[i*K : (i+1)*K], vv: b.vv[i : i+1]}
		for a := 0; a < K-1; a++ {
			clear(y)
			y[a] = 1
			one.apply(col, y)
			for r := 0; r < K; r++ {
				bw[r] = dot(bl[r*K:(r+1)*K], col)
			}
			t += dot(col, bw)
		}
	}
	return t
}

// symBlock returns the i-th diagonal K×K block of h, row-major.
func symBlock(h *mat.SymDense, K int) func(i int) []float64 {
	bl := make([]float64, K*K)
	return func(i int) []float64 {
		for r := 0; r < K; r++ {
			for c := 0; c < K; c++ {
				bl[r*K+c] = h.At(i*K+r, i*K+c)
			}
		}
		return bl
	}
}

// restrictedBound is (C_r) of THEORY §7, E_f ≤ (1/n)·rᵀD⁻¹r ≤
// n‖∇R‖²/λ_min(H_p|U), built on the χ² term of c (softmax; Valid false for
// the other losses).
func restrictedBound(rep *Report, c Bound) Bound {
	b := Bound{Name: "Cr", Lower: math.Inf(-1), Middle: math.NaN(), Value: rep.FittingError, Upper: math.Inf(1)}
	if rep.HPU == nil {
		b.Note = "defined for softmax only (THEORY §7)"
		return b
	}
	nf := float64(rep.N)
	b.Valid, b.Middle = true, c.Middle
	if !rep.HPU.Singular() {
		b.Upper = nf * rep.GradNorm * rep.GradNorm / rep.HPU.Min
	}
	b.Holds = LessEq(b.Value, b.Middle, 0) && LessEq(b.Middle, b.Upper, 0)
	b.Note = "E_f ≤ (1/n)·rᵀD⁻¹r ≤ n‖∇R‖²/λ_min(H_p|U), U = ⊕_i (√p_i)^⊥"
	return b
}

// scaledDenseSpectrum is denseSpectrum of a matrix whose entries may all be
// subnormal or zero (H_p|U once every sample's prediction is one-hot: the
// basis of √p_i^⊥ is weighted by the underflowed probabilities). LAPACK's
// internal rescaling fails on such input, so a is scaled to max |a_ij| = 1
// first and the eigenvalues scaled back; an all-zero a has the zero spectrum.
func scaledDenseSpectrum(ctx context.Context, a *mat.SymDense, keep bool, rankTol float64) (Spectrum, error) {
	m := a.SymmetricDim()
	raw := a.RawSymmetric()
	big := 0.0
	for r := 0; r < m; r++ {
		for _, v := range raw.Data[r*raw.Stride+r : r*raw.Stride+m] {
			big = math.Max(big, math.Abs(v))
		}
	}
	if big == 0 {
		s := Spectrum{Dim: m, RankTol: rankTol, Method: "dense"}
		if keep {
			s.Values = make([]float64, m)
		}
		s.finish()
		return s, nil
	}
	if big >= 0x1p-500 {
		return denseSpectrum(ctx, a, keep, rankTol)
	}
	b := mat.NewSymDense(m, nil)
	b.ScaleSym(1/big, a)
	s, err := denseSpectrum(ctx, b, keep, rankTol)
	if err != nil {
		return s, err
	}
	s.Min, s.Max, s.Trace = s.Min*big, s.Max*big, s.Trace*big
	for i := range s.Values {
		s.Values[i] *= big
	}
	s.finish()
	return s, nil
}
