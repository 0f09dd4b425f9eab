package structural

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/linalg"
)

// extremeWant is one operator A = Pᵀ H P whose extreme eigenvalues
// certifiedExtremes computes: kind "H", "H_S" (sum-zero, Helmert basis),
// "H_p" (D^½ H D^½) or "H_pU" (H_p|U, THEORY §7).
type extremeWant struct {
	kind  string
	op    hOperator
	phase string // timing phase of a dense spectrum ("spectrum H", ...)
	// basis is H_pU's basis W (op is basis.op()); nil means newWeightedBasis(p, K).
	basis *weightedBasis
	// rank asks for the numerical rank by pivoted Cholesky (pivotedRank)
	// when the λ_min certificate leaves the spectrum possibly singular.
	rank bool
}

// spectraOnH computes the spectra of wants on the materialised H (both
// triangles stored) as opts asks: every eigenvalue (linalg.SymEigenvalues)
// for Method "dense" or a full spectrum; otherwise certifiedExtremes for
// all of them at once (H_S alone from nK = inPlaceFactorMin: on H_S itself,
// compressed in H's storage, which it overwrites), and with "auto" a spectrum found numerically
// singular of dimension ≤ DenseMax is recomputed dense for its rank; a
// larger one ("lanczos": any) gets pivotedRank's. A certified non-singular
// spectrum has rank Dim: λ_min − Bound > RankTol·λ_max puts every
// eigenvalue above the tolerance. H_p|U is exactly zero when every
// prediction is one-hot (restrictedScale 0): its spectrum is then reported
// as zero, rank 0, without a computation.
func spectraOnH(ctx context.Context, h *mat.SymDense, K int, p []float64, wants []extremeWant, opts Options, lap func(string)) ([]Spectrum, error) {
	out := make([]Spectrum, len(wants))
	dense := func(i int) error {
		var s Spectrum
		var err error
		switch wants[i].kind {
		case "H":
			s, err = denseSpectrum(ctx, h, opts.FullSpectrum, opts.RankTol)
		case "H_S":
			s, err = denseSpectrum(ctx, RestrictSumZero(h, K), opts.FullSpectrum, opts.RankTol)
		case "H_p":
			s, err = denseSpectrum(ctx, ProbabilityWeighted(h, p), opts.FullSpectrum, opts.RankTol)
		case "H_pU":
			var b *mat.SymDense
			if b, err = restrictWeighted(ctx, h, p, K); err == nil {
				s, err = scaledDenseSpectrum(ctx, b, opts.FullSpectrum, opts.RankTol)
			}
		}
		lap(wants[i].phase)
		if err != nil {
			return fmt.Errorf("%s: %w", wants[i].phase, err)
		}
		out[i] = s
		return nil
	}
	if opts.Method == "dense" || opts.FullSpectrum {
		for i := range wants {
			if err := dense(i); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if len(wants) == 1 && wants[0].kind == "H_S" && h.SymmetricDim() >= inPlaceFactorMin {
		// H_S alone: compressed in H's own storage, it is the matrix itself.
		b, err := restrictSumZeroInPlace(ctx, h, K)
		if err != nil {
			return nil, err
		}
		w := extremeWant{kind: "H", op: identityOp(b.SymmetricDim()), phase: wants[0].phase}
		return spectraOnH(ctx, b, K-1, nil, []extremeWant{w}, opts, lap)
	}
	// H_p|U on a basis of p/c when its entries would underflow (restrictedTinyScale).
	scale := make([]float64, len(wants))
	probs := make([][]float64, len(wants)) // H_p|U's p or p/c
	var certified []extremeWant
	var at []int // index in wants of each certified want
	for i, w := range wants {
		scale[i] = 1
		if w.kind == "H_pU" {
			c := restrictedScale(p, K)
			if c == 0 {
				out[i] = Spectrum{Dim: w.op.dim, RankTol: opts.RankTol, Method: "lanczos"}
				out[i].finish()
				continue
			}
			q := p
			if c < restrictedTinyScale {
				scale[i], q = c, make([]float64, len(p))
				for j, v := range p {
					q[j] = v / c
				}
			}
			b := newWeightedBasis(q, K)
			w.basis, w.op, probs[i] = &b, b.op(), q
		}
		w.rank = opts.Method == MethodLanczos || (opts.Method == MethodAuto && w.op.dim > opts.DenseMax)
		certified = append(certified, w)
		at = append(at, i)
	}
	res, err := certifiedExtremes(ctx, h, K, p, certified, opts.LanczosTol, opts.RankTol, opts.Rng)
	if err != nil {
		return nil, fmt.Errorf("spectra: %w", err)
	}
	for c, w := range certified {
		i, r, f := at[c], res[c], scale[at[c]]
		tr := opTrace(h, w.kind, K, p)
		if w.kind == "H_pU" {
			tr = f * restrictedTrace(symBlock(h, K), probs[i], K)
		}
		s := Spectrum{Dim: w.op.dim, Min: f * r.min, Max: f * r.max, Trace: tr, Rank: -1,
			RankTol: opts.RankTol, Method: "lanczos", Iterations: r.iters, Passes: r.passes,
			MinCert: r.minCert.scaled(f), MaxCert: r.maxCert.scaled(f)}
		switch {
		case r.min-r.minCert.Bound > opts.RankTol*(r.max+r.maxCert.Bound):
			s.Rank = s.Dim
		case r.rank >= 0:
			s.Rank = r.rank
		}
		s.finish()
		out[i] = s
	}
	lap("spectra lanczos")
	if opts.Method == "auto" {
		for i, s := range out {
			if s.Rank < 0 && s.Dim <= opts.DenseMax {
				if err := dense(i); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// extremeResult holds the certified extremes of one operator.
type extremeResult struct {
	min, max         float64
	minCert, maxCert Certificate
	iters, passes    int     // operator applications and passes (over H or a factor), both ends
	shift            float64 // Cholesky shift σ of the λ_min run; 0 when A itself was factored
	rank             int     // pivotedRank's rank; −1 when not computed or not certified
}

// Certificate is the evidence for one reported eigenvalue λ: Residual is
// ‖Av − λv‖ for the unit vector v found with it, computed explicitly (one
// product with A, not a recurrence), so some eigenvalue of A lies within
// Residual of λ (Weyl; Parlett, The Symmetric Eigenvalue Problem, §4.5).
// Bound tightens that with the gap δ between λ and the rest of the
// spectrum, estimated from the neighbouring Ritz value: min(Residual,
// Residual²/δ) (Kato–Temple, Parlett §10.2). Like every Krylov estimate,
// that the eigenvalue within Bound is the extreme one rests on a random
// start vector not orthogonal to its eigenvector. For a dense spectrum
// (every eigenvalue by a backward-stable solver, no vector) Residual is
// NaN and Bound is the backward error c·dim·ε·‖A‖. A λ_min of H_p or
// H_p|U shown numerically zero by one unit vector's Rayleigh quotient ρ ≤
// RankTol·λ_max (a probability near underflow, tinyWeightVector) is
// reported as ρ with Bound ρ: 0 ≤ λ_min ≤ ρ, no random start involved.
type Certificate struct {
	Residual, Bound float64
	// NotCertified, when not empty, says why λ is not certified as the
	// extreme eigenvalue (a matrix-free λ_min that did not converge within
	// Options.MatrixFreeProducts): λ is then the Rayleigh quotient of the
	// best vector found, an upper bound on λ_min (Courant–Fischer),
	// Residual is still ‖Av − λv‖, and Bound = λ is only what A ⪰ 0 gives,
	// λ_min ∈ [0, λ].
	NotCertified string
}

// scaled is the certificate of f·λ for the operator f·A (f > 0).
func (c Certificate) scaled(f float64) Certificate {
	return Certificate{Residual: f * c.Residual, Bound: f * c.Bound}
}

// inPlaceFactorMin is the order of H from which certifiedExtremes factors
// H in its own upper triangle (H 128 MiB and more) instead of a copy: half
// the memory, and no first touch of a second m×m array; one transposed
// copy (linalg.RestoreUpper) gives H back. A variable for the tests.
var inPlaceFactorMin = 4096

// cholShiftTries is how many times a failed Cholesky factorisation is
// retried with a larger shift σ (RankTol·λ_max, then ×100 each time).
const cholShiftTries = 4

// certifiedExtremes computes λ_min and λ_max of every operator in wants on
// the materialised H (both triangles stored), with certificates:
//
//   - λ_max by Lanczos on A (lockstepped over all operators: one pass over
//     H serves every run), converging only that well-separated end;
//   - λ_min by Lanczos on A⁻¹ through the Cholesky factor H = UᵀU, where
//     1/λ_min is the well-separated end and converges in a few dozen steps
//     where Lanczos on A needs hundreds. The one factor serves all three
//     operators (H_p⁻¹ = D^-½ H⁻¹ D^-½; H_S⁻¹ and H_p|U⁻¹ by
//     sumZeroInverse), in lock step. A factorisation that fails (H
//     numerically singular) is retried on H + σI with σ = RankTol·λ_max,
//     growing; the runs then find
//     λ_min(H + σI), λ_min(H_S + σI), λ_min(H_p + σD) and
//     λ_min(H_p|U + σWᵀW), and the certificates are taken with the
//     operators themselves.
//
// Each reported value is the Rayleigh quotient vᵀAv of its Ritz vector,
// with the residual from one explicit product (Certificate). A want with
// rank set whose λ_min does not certify full rank gets pivotedRank's rank,
// computed in the factor's memory. Memory beyond H: one copy of H (its
// factor, then pivotedRank's work space) below inPlaceFactorMin, from it
// the factor in H's upper triangle (H's lower triangle and a copy of its
// diagonal keep H, restored before the certificates; after an error H is
// left holding the factor) and pivotedRank's work space only if a rank is
// asked; and, for H_S and H_p|U, Z (8·nK·n bytes).
func certifiedExtremes(ctx context.Context, h *mat.SymDense, K int, p []float64, wants []extremeWant, tol, rankTol float64, rng *rand.Rand) ([]extremeResult, error) {
	raw := h.RawSymmetric()
	m := raw.N
	if raw.Stride != m {
		panic("structural: certifiedExtremes: H must be stored contiguously")
	}
	res := make([]extremeResult, len(wants))
	ops := make([]hOperator, len(wants))
	for i, w := range wants {
		ops[i] = w.op
	}

	// Below inPlaceFactorMin, when some operator is sure to run on the
	// factor of H itself (H, H_S), the unshifted factor of a copy (and Z)
	// is computed while the λ_max runs read H: they are independent.
	var u []float64 // the factor of H, then pivotedRank's work space
	copyUpper := func() []float64 {
		if u == nil {
			u = make([]float64, m*m)
		}
		for r := 0; r < m; r++ { // the factorisation reads the upper triangle only
			copy(u[r*m+r:(r+1)*m], raw.Data[r*m+r:(r+1)*m])
		}
		return u
	}
	var early *earlyFactor
	if m < inPlaceFactorMin && slices.ContainsFunc(wants, func(w extremeWant) bool { return w.kind == "H" || w.kind == "H_S" }) {
		needZ := slices.ContainsFunc(wants, func(w extremeWant) bool { return w.kind == "H_S" || w.kind == "H_pU" })
		early = &earlyFactor{done: make(chan struct{})}
		go func() {
			defer close(early.done)
			a := copyUpper()
			early.err = linalg.Cholesky(ctx, m, a, m)
			if early.err == nil && needZ {
				early.sumZero, early.zErr = newSumZeroInverse(ctx, m, K, a)
			}
		}()
		defer func() { <-early.done }()
	}

	// λ_max of every operator, lockstepped on H.
	top := make([]*blockLanczos, len(wants))
	for i, w := range wants {
		lz, err := newBlockLanczos(w.op.dim, 1, tol, min(w.op.dim, 1500), rng)
		if err != nil {
			return nil, err
		}
		lz.topOnly = true
		top[i] = lz
	}
	err := lockstep(ctx, top, func(active []int, qs, ws [][]float64) {
		mulOps(raw.Data, m, ops, active, qs, ws)
	})
	if err != nil {
		return nil, fmt.Errorf("structural: λ_max Lanczos: %w", err)
	}
	topPairs := make([]ritzPair, len(wants))
	lowPairs := make([]ritzPair, len(wants)) // warm starts of the λ_min runs
	for i, lz := range top {
		if lz.err != nil {
			return nil, fmt.Errorf("structural: λ_max of %s: %w", wants[i].kind, lz.err)
		}
		if lowPairs[i], topPairs[i], err = lz.ritzPairs(); err != nil {
			return nil, err
		}
		res[i].iters, res[i].passes = lz.products, lz.steps
	}

	// λ_min by Lanczos on A⁻¹, one factor at a time.
	bottom := make([]ritzPair, len(wants))
	exactZero := make([]bool, len(wants))
	byRayleigh := make([]bool, len(wants))
	lambdaMaxOf := func(kind string) float64 {
		for i, w := range wants {
			if w.kind == kind {
				return topPairs[i].theta
			}
		}
		return topPairs[0].theta
	}
	// Every operator runs on the one factor of H (H_p and H_p|U unless
	// some p_j = 0, when e_j is an exact null vector of H_p and Wᵀe_j one
	// of H_p|U = WᵀH_pW: e_j ⊥ √p_i lies in U).
	bases := make([]*weightedBasis, len(wants))
	var onH []int
	for i, w := range wants {
		if w.kind == "H_pU" {
			bases[i] = w.basis
			if bases[i] == nil {
				b := newWeightedBasis(p, K)
				bases[i] = &b
			}
		}
		if zeroAt := zeroIndex(p); zeroAt >= 0 && (w.kind == "H_p" || w.kind == "H_pU") {
			exactZero[i] = true
			v := unitVector(w.op.dim, zeroAt)
			if w.kind == "H_pU" {
				v = make([]float64, w.op.dim)
				e := unitVector(K, zeroAt%K)
				i0 := zeroAt / K
				bases[i].reflectBlockT(i0, v[i0*(K-1):(i0+1)*(K-1)], e)
			}
			bottom[i] = ritzPair{theta: 0, next: math.Inf(1), v: v}
			continue
		}
		if v := tinyWeightVector(raw.Data, m, K, p, w.kind, bases[i], rankTol*topPairs[i].theta); v != nil {
			byRayleigh[i] = true
			bottom[i] = ritzPair{next: math.Inf(1), v: v}
			continue
		}
		onH = append(onH, i)
	}
	if len(onH) > 0 {
		// Above inPlaceFactorMin the factor overwrites H's upper triangle;
		// H's lower triangle and diag keep H, restored after the solves.
		var diag []float64
		fill := func() []float64 {
			if diag != nil {
				linalg.RestoreUpper(m, raw.Data, m, diag)
				return raw.Data
			}
			if m >= inPlaceFactorMin {
				diag = make([]float64, m)
				for r := range diag {
					diag[r] = raw.Data[r*m+r]
				}
				return raw.Data
			}
			return copyUpper()
		}
		var f []float64
		var shift float64
		if early != nil {
			<-early.done
			f, shift, err = shiftedRetry(ctx, m, fill, rankTol*lambdaMaxOf("H"), u, early.err)
		} else {
			f, shift, err = factorShifted(ctx, m, fill, rankTol*lambdaMaxOf("H"))
		}
		u = f
		if err != nil {
			return nil, fmt.Errorf("structural: Cholesky factor of H (%d×%d): %w", m, m, err)
		}
		invs := make([]inverseOp, len(onH))
		var sumZero *sumZeroInverse // shared by H_S and H_p|U
		for c, i := range onH {
			invs[c].dim = wants[i].op.dim
			invs[c].start = lowPairs[i].v
			switch wants[i].kind {
			case "H_p":
				inv := make([]float64, m)
				for j, v := range p {
					inv[j] = 1 / math.Sqrt(v)
				}
				scale := func(dst, src []float64) {
					for j, v := range src {
						dst[j] = inv[j] * v
					}
				}
				invs[c].pre, invs[c].post = scale, scale
			case "H_S":
				invs[c].pre, invs[c].post = sumZeroOp(m, K).pre, sumZeroOp(m, K).post
			case "H_pU":
				invs[c].pre, invs[c].post = bases[i].applyInv, bases[i].applyInvT
			}
			if k := wants[i].kind; k == "H_S" || k == "H_pU" {
				if sumZero == nil && early != nil && shift == 0 && (early.sumZero != nil || early.zErr != nil) {
					if early.zErr != nil {
						return nil, fmt.Errorf("structural: %s⁻¹: %w", k, early.zErr)
					}
					sumZero = early.sumZero
				}
				if sumZero == nil {
					if sumZero, err = newSumZeroInverse(ctx, m, K, u); err != nil {
						return nil, fmt.Errorf("structural: %s⁻¹: %w", k, err)
					}
				}
				invs[c].sumZero = sumZero
			}
		}
		runs, err := inverseTop(ctx, m, u, invs, tol, rng)
		if err != nil {
			return nil, fmt.Errorf("structural: λ_min by Lanczos on A⁻¹: %w", err)
		}
		for c, i := range onH {
			if bottom[i], err = runs[c].topRitz(); err != nil {
				return nil, err
			}
			res[i].shift = shift
			res[i].iters += runs[c].products
			res[i].passes += runs[c].steps
		}
		if diag != nil {
			linalg.RestoreUpper(m, raw.Data, m, diag)
			u = nil // pivotedRank needs work space of its own
		}
	}

	// Certificates: one more pass over H for every Ritz vector of both ends.
	idx := make([]int, 0, 2*len(wants))
	vs := make([][]float64, 0, 2*len(wants))
	for i := range wants {
		idx = append(idx, i, i)
		vs = append(vs, topPairs[i].v, bottom[i].v)
	}
	avs := make([][]float64, len(vs))
	for j, v := range vs {
		avs[j] = make([]float64, len(v))
	}
	mulOpsIdx(raw.Data, m, ops, idx, vs, avs)
	for i := range wants {
		rho, r := rayleigh(vs[2*i], avs[2*i])
		res[i].max = rho
		res[i].maxCert = Certificate{Residual: r, Bound: katoTemple(r, rho-topPairs[i].next-r)}
		rho, r = rayleigh(vs[2*i+1], avs[2*i+1])
		if exactZero[i] {
			// H_p e_j = D^½ H D^½ e_j = 0 exactly (p_j = 0).
			res[i].min, res[i].minCert = 0, Certificate{}
			continue
		}
		if byRayleigh[i] {
			// A is positive semi-definite, so 0 ≤ λ_min ≤ ρ (Courant–Fischer).
			res[i].min, res[i].minCert = rho, Certificate{Residual: r, Bound: math.Abs(rho)}
			continue
		}
		next := math.Inf(1) // second-smallest eigenvalue, from A⁻¹'s second Ritz value
		if b := bottom[i].next; b > 0 {
			next = 1/b - res[i].shift
		}
		res[i].min, res[i].minCert = rho, Certificate{Residual: r, Bound: katoTemple(r, next-rho-r)}
		// The Ritz value θ of A⁻¹ converged to tol relative; ρ's error is up
		// to cond(A) times larger (Σ(λ_j − λ_1)|c_j|² against Σ(1/λ_1 − 1/λ_j)|c_j|²),
		// so without a shift 1/θ is reported, its residual ‖Av − v/θ‖ and
		// bound the better of the residual's and θ's own mapped through 1/θ.
		if th, e := bottom[i].theta, bottom[i].bound; res[i].shift == 0 && th > 0 {
			lambda := 1 / th
			rl := math.Hypot(r, rho-lambda) // Av − ρv ⊥ v
			b := katoTemple(r, next-rho-r) + math.Abs(rho-lambda)
			if e < th {
				b = math.Min(b, e/(th*(th-e)))
			}
			res[i].min, res[i].minCert = lambda, Certificate{Residual: rl, Bound: math.Min(b, rl)}
		}
	}
	// Numerical ranks where λ_min does not certify full rank (H singular:
	// the Cholesky factorisation failed, or some p_j = 0).
	for i, w := range wants {
		res[i].rank = -1
		if !w.rank || res[i].min-res[i].minCert.Bound > rankTol*(res[i].max+res[i].maxCert.Bound) {
			continue
		}
		if u == nil {
			u = make([]float64, m*m)
		}
		if res[i].rank, err = pivotedRank(ctx, raw.Data, m, K, p, w, res[i].max, rankTol, u, rng); err != nil {
			return nil, fmt.Errorf("structural: numerical rank of %s: %w", w.kind, err)
		}
	}
	return res, nil
}

// pivotedRank returns the number of eigenvalues of A = Pᵀ H P (w's
// operator, dim d) above τ = rankTol·λ_max, or −1 when it cannot certify
// that count. A is materialised in work (d×d) and factored by
// linalg.PivotedCholesky with the stopping tolerance τ: PᵀAP = UᵀU +
// (0 ⊕ S), k pivots above τ. Two checks make k the eigenvalue count:
// λ_{k+1}(A) ≤ ‖S‖₂ ≤ ‖S‖_F (A − U₁ᵀU₁ = 0 ⊕ S with U₁ᵀU₁ ⪰ 0 of rank k,
// Weyl), so ‖S‖_F ≤ τ puts at most k eigenvalues above τ; and λ_k(A) ≥
// λ_min(A₁₁) (Cauchy interlacing, A₁₁ = U₁₁ᵀU₁₁ the leading k×k block),
// which Lanczos on A₁₁⁻¹ through U₁₁ bounds from below by 1/(θ + bound),
// so 1/(θ + bound) > τ puts at least k above τ. A matrix with eigenvalues
// close to τ on either side (within the factor between the pivots and
// λ_min(A₁₁), or (d−k)·τ above) fails a check and gets −1.
func pivotedRank(ctx context.Context, h []float64, m, K int, p []float64, w extremeWant, lambdaMax, rankTol float64, work []float64, rng *rand.Rand) (int, error) {
	d := w.op.dim
	a := work[:d*d]
	if err := compressInto(ctx, h, m, K, p, w, a); err != nil {
		return 0, err
	}
	tau := rankTol * lambdaMax
	if !(tau > 0) {
		return -1, nil
	}
	piv := make([]int, d)
	k, err := linalg.PivotedCholesky(ctx, d, a, d, piv, tau)
	if err != nil {
		return 0, err
	}
	fro := 0.0
	for i := k; i < d; i++ {
		fro += a[i*d+i] * a[i*d+i]
		for _, v := range a[i*d+i+1 : (i+1)*d] {
			fro += 2 * v * v
		}
	}
	if math.Sqrt(fro) > tau {
		return -1, nil
	}
	if k == 0 {
		return 0, nil
	}
	lz, err := newBlockLanczos(k, 1, pivotedRankTol, k, rng)
	if err != nil {
		return 0, err
	}
	lz.topOnly = true
	for !lz.done {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		copy(lz.w[0], lz.q[0])
		linalg.SolveUpperT(k, 1, a, d, lz.w[0], 1)
		linalg.SolveUpper(k, 1, a, d, lz.w[0], 1)
		lz.advance()
	}
	if lz.err != nil || !(1/(lz.hi+lz.ehi) > tau) {
		return -1, nil
	}
	return k, nil
}

// pivotedRankTol is the relative accuracy of pivotedRank's λ_max(A₁₁⁻¹):
// it only has to separate λ_min(A₁₁) from τ.
const pivotedRankTol = 1e-3

// compressInto writes the upper triangle of w's operator Pᵀ H P (dim d,
// row-major d×d) into a from H (m×m, both triangles): P is block diagonal
// with one K×c block per sample (H: I; H_p: D_i^½; H_S: the Helmert V_K;
// H_p|U: W_i), so each K×K block of H is compressed on its own. ctx is
// polled per block row.
func compressInto(ctx context.Context, h []float64, m, K int, p []float64, w extremeWant, a []float64) error {
	n := m / K
	switch w.kind {
	case "H":
		for r := 0; r < m; r++ {
			copy(a[r*m+r:(r+1)*m], h[r*m+r:(r+1)*m])
		}
		return nil
	case "H_p":
		s := make([]float64, m)
		for j, v := range p {
			s[j] = math.Sqrt(v)
		}
		for r := 0; r < m; r++ {
			for c := r; c < m; c++ {
				a[r*m+c] = s[r] * h[r*m+c] * s[c]
			}
		}
		return nil
	}
	c := K - 1
	d := n * c
	bases := make([]float64, n*K*c) // sample i's K×c block at i·K·c
	switch w.kind {
	case "H_S":
		y := make([]float64, c)
		col := make([]float64, K)
		for x := 0; x < c; x++ {
			clear(y)
			y[x] = 1
			helmertT(col, y)
			for k, v := range col {
				for i := 0; i < n; i++ {
					bases[i*K*c+k*c+x] = v
				}
			}
		}
	case "H_pU":
		b := w.basis
		if b == nil {
			nb := newWeightedBasis(p, K)
			b = &nb
		}
		for i := 0; i < n; i++ {
			b.block(i, bases[i*K*c:(i+1)*K*c])
		}
	default:
		panic("structural: compressInto: unknown operator " + w.kind)
	}
	t := make([]float64, K*c)
	for bi := 0; bi < n; bi++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("structural: compressing %s, block row %d of %d: %w", w.kind, bi, n, err)
		}
		pi := bases[bi*K*c : (bi+1)*K*c]
		for bj := bi; bj < n; bj++ {
			pj := bases[bj*K*c : (bj+1)*K*c]
			// T = H[bi, bj]·P_j, then P_iᵀ T.
			for r := 0; r < K; r++ {
				row := h[(bi*K+r)*m+bj*K : (bi*K+r)*m+bj*K+K]
				for y := 0; y < c; y++ {
					s := 0.0
					for k, v := range row {
						s += v * pj[k*c+y]
					}
					t[r*c+y] = s
				}
			}
			for x := 0; x < c; x++ {
				for y := 0; y < c; y++ {
					s := 0.0
					for r := 0; r < K; r++ {
						s += pi[r*c+x] * t[r*c+y]
					}
					a[(bi*c+x)*d+bj*c+y] = s
				}
			}
		}
	}
	return nil
}

// tinyWeightVector returns, for H_p and H_p|U, a unit vector whose
// Rayleigh quotient ρ is ≤ tau, or nil: e_j (H_p, ρ = p_j·H_jj) or the
// normalised R_iᵀe_j (H_p|U, ρ = uᵀH_ii u, u = W_i R_iᵀe_j) for the j
// minimising p_j·H_jj. Such a spectrum is numerically singular (λ_min ≤ ρ),
// and Lanczos on its inverse would need 1/√p_j, which overflows for a
// probability near underflow.
func tinyWeightVector(h []float64, m, K int, p []float64, kind string, b *weightedBasis, tau float64) []float64 {
	if kind != "H_p" && kind != "H_pU" {
		return nil
	}
	j, best := -1, math.Inf(1)
	for r, v := range p {
		if q := v * h[r*m+r]; q < best {
			j, best = r, q
		}
	}
	if j < 0 || !(best <= tau) {
		return nil
	}
	if kind == "H_p" {
		return unitVector(m, j)
	}
	i, n := j/K, m/K
	v := make([]float64, n*(K-1))
	vi := v[i*(K-1) : (i+1)*(K-1)]
	b.reflectBlockT(i, vi, unitVector(K, j%K))
	nv := math.Sqrt(dot(vi, vi))
	if !(nv > 0.5) { // ‖R_iᵀe_j‖² = 1 − ŝ_j², and p_j is not the sample's top class
		return nil
	}
	scal(vi, 1/nv)
	one := weightedBasis{n: 1, K: K, s: b.s[i*K : (i+1)*K], v: b.v[i*K : (i+1)*K], vv: b.vv[i : i+1]}
	u := make([]float64, K)
	one.apply(u, vi)
	rho := 0.0
	for a := 0; a < K; a++ {
		for c := 0; c < K; c++ {
			rho += u[a] * h[(i*K+a)*m+i*K+c] * u[c]
		}
	}
	if !(rho <= tau) {
		return nil
	}
	return v
}

// factorShifted factors the matrix fill returns (n×n, upper triangle
// read) by Cholesky, in place; when A is not numerically positive definite
// (the factorisation fails, or a pivot² is below shift0) it refills and
// factors A + σI, σ = shift0 and then ×100, at most cholShiftTries times.
// It returns the factor and σ (0: A itself).
func factorShifted(ctx context.Context, n int, fill func() []float64, shift0 float64) ([]float64, float64, error) {
	a := fill()
	return shiftedRetry(ctx, n, fill, shift0, a, linalg.Cholesky(ctx, n, a, n))
}

// shiftedRetry is factorShifted from the outcome err of the unshifted
// factorisation of A in a.
func shiftedRetry(ctx context.Context, n int, fill func() []float64, shift0 float64, a []float64, err error) ([]float64, float64, error) {
	shift := 0.0
	for try := 0; ; try++ {
		if try > 0 {
			a = fill()
			for j := 0; j < n; j++ {
				a[j*n+j] += shift
			}
			err = linalg.Cholesky(ctx, n, a, n)
		}
		var npd *linalg.NotPositiveDefiniteError
		switch {
		case err == nil && shift == 0 && shift0 > 0 && minPivotSq(n, a) < shift0:
			// λ_min(A) ≤ min u_ii² < σ: A is singular at the tolerance, and
			// H⁻¹ through this factor would be rounding noise.
			shift = shift0
		case err == nil:
			return a, shift, nil
		case !errors.As(err, &npd) || try == cholShiftTries || !(shift0 > 0):
			return nil, 0, err
		case shift == 0:
			shift = shift0
		default:
			shift *= 100
		}
	}
}

// minPivotSq returns min_i u_ii² of the n×n Cholesky factor in a, an upper
// bound on λ_min(UᵀU) (each pivot² is the leading entry of a Schur
// complement, whose λ_min is at least λ_min of the matrix).
func minPivotSq(n int, a []float64) float64 {
	m := math.Inf(1)
	for i := 0; i < n; i++ {
		m = math.Min(m, a[i*n+i]*a[i*n+i])
	}
	return m
}

// earlyFactor is the outcome of the unshifted Cholesky factorisation of
// H (and Z from it) that certifiedExtremes runs beside the λ_max runs.
type earlyFactor struct {
	done    chan struct{}
	err     error // of the factorisation
	sumZero *sumZeroInverse
	zErr    error
}

// inverseOp is one operator A⁻¹ = post ∘ H⁻¹ ∘ pre applied through the
// Cholesky factor U of H (or H + σI), with sumZero's correction between the
// two solves when set: H⁻¹ itself (pre, post nil), H_p⁻¹ = D^-½ H⁻¹ D^-½,
// H_S⁻¹ = (VᵀHV)⁻¹ (pre V, post Vᵀ) and H_p|U⁻¹ (pre D^-½R, post RᵀD^-½,
// R = blockdiag_i R_i[:, 1:]; see sumZeroInverse).
type inverseOp struct {
	dim       int
	pre, post func(dst, src []float64) // nil means the identity
	sumZero   *sumZeroInverse
	// start, if not nil, is the start vector: the Ritz vector of the
	// smallest Ritz value of the λ_max run, already rich in the eigenvectors
	// at the bottom of the spectrum (fewer steps than a random start).
	start []float64
}

// sumZeroInverse applies (VᵀHV)⁻¹ with the factor H = UᵀU of H alone, V =
// I_n ⊗ V_K the Helmert basis and E = I_n ⊗ 1/√K its orthogonal
// complement: x = (VᵀHV)⁻¹b is Vᵀy for y = H⁻¹(Vb + Ec) with c chosen so
// that Eᵀy = 0, i.e. c = −S⁻¹EᵀH⁻¹Vb with the n×n Schur complement S =
// EᵀH⁻¹E. With Z = U⁻ᵀE (nK×n) and z = U⁻ᵀVb that is y = U⁻¹(z + Zc),
// c = −S⁻¹Zᵀz, S = ZᵀZ: one forward and one back solve per product, as
// for H itself, so H_S shares every pass over U with H and H_p and needs
// neither its own matrix nor its own factor.
//
// H_p|U⁻¹ uses the same correction: with W = D^½R (restricted.go),
// range(W) = D^½U is the sum-zero subspace again (Σ_k √p_k·u_k = 0 for
// u ∈ U), so (WᵀHW)⁻¹b = Rᵀ D^-½ y with y = H⁻¹(D^-½Rb + Ec), Eᵀy = 0 for
// the same E, and the correction depends only on range(E): H_p|U⁻¹ =
// RᵀD^-½ U⁻¹(I − Z S⁻¹ Zᵀ)U⁻ᵀ D^-½R.
type sumZeroInverse struct {
	n, K int
	z    []float64 // Z, nK×n row-major
	s    []float64 // Cholesky factor of S, n×n
	t    []float64 // scratch, n per corrected column
}

// sumZeroGroup is the number of columns of E solved together in
// newSumZeroInverse.
const sumZeroGroup = 128

func newSumZeroInverse(ctx context.Context, m, K int, u []float64) (*sumZeroInverse, error) {
	n := m / K
	z := make([]float64, m*n)
	e := 1 / math.Sqrt(float64(K))
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			z[(i*K+k)*n+i] = e
		}
	}
	// Column i of E is zero above row iK, and so is column i of U⁻ᵀE:
	// each group of columns is solved with the trailing triangle of U from
	// its first row on, a third of the flops of one solve with all of U.
	for c0 := 0; c0 < n; c0 += sumZeroGroup {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c1 := min(c0+sumZeroGroup, n)
		r0 := c0 * K
		linalg.SolveUpperT(m-r0, c1-c0, u[r0*m+r0:], m, z[r0*n+c0:], n)
	}
	s := make([]float64, n*n)
	linalg.Syrk(true, n, m, 1, z, n, 0, s, n)
	if err := linalg.Cholesky(ctx, n, s, n); err != nil {
		return nil, fmt.Errorf("Schur complement EᵀH⁻¹E (%d×%d): %w", n, n, err)
	}
	return &sumZeroInverse{n: n, K: K, z: z, s: s}, nil
}

// correct sets z ← z + Zc with c = −S⁻¹Zᵀz for every column z = b[c::r]
// (length nK) of the nK×r row-major b, c in cols: Z is read twice per call
// however many columns, each column computed as it would be alone.
func (sz *sumZeroInverse) correct(b []float64, r int, cols []int) {
	n, m := sz.n, sz.n*sz.K
	sz.t = grow(sz.t, n*len(cols))
	t := sz.t
	clear(t)
	for j := 0; j < m; j++ {
		zj := sz.z[j*n : (j+1)*n]
		for q, c := range cols {
			axpy(t[q*n:(q+1)*n], b[j*r+c], zj)
		}
	}
	for q := range cols {
		linalg.SolveUpperT(n, 1, sz.s, n, t[q*n:(q+1)*n], 1)
		linalg.SolveUpper(n, 1, sz.s, n, t[q*n:(q+1)*n], 1)
	}
	for j := 0; j < m; j++ {
		zj := sz.z[j*n : (j+1)*n]
		for q, c := range cols {
			b[j*r+c] -= dot(zj, t[q*n:(q+1)*n])
		}
	}
}

// inverseTop runs Lanczos for the largest eigenvalue of every operator in
// invs (A⁻¹ through the factor U in u, m×m), in lock step: each step is one
// forward and one back solve with one column per active run.
func inverseTop(ctx context.Context, m int, u []float64, invs []inverseOp, tol float64, rng *rand.Rand) ([]*blockLanczos, error) {
	runs := make([]*blockLanczos, len(invs))
	for c, inv := range invs {
		lz, err := newBlockLanczos(inv.dim, 1, tol, min(inv.dim, 1500), rng)
		if err != nil {
			return nil, err
		}
		lz.topOnly = true
		if inv.start != nil {
			lz.startFrom(inv.start)
		}
		runs[c] = lz
	}
	var b, col []float64
	var cols []int
	err := lockstep(ctx, runs, func(active []int, qs, ws [][]float64) {
		r := len(qs)
		b = grow(b, m*r)
		col = grow(col, m)
		for c, q := range qs {
			v := q
			if pre := invs[active[c]].pre; pre != nil {
				v = col
				pre(v, q)
			}
			for j, x := range v {
				b[j*r+c] = x
			}
		}
		linalg.SolveUpperT(m, r, u, m, b, r)
		var sz *sumZeroInverse // one, shared by H_S and H_p|U
		cols = cols[:0]
		for c := range qs {
			if s := invs[active[c]].sumZero; s != nil {
				sz, cols = s, append(cols, c)
			}
		}
		if sz != nil {
			sz.correct(b, r, cols)
		}
		linalg.SolveUpper(m, r, u, m, b, r)
		for c, w := range ws {
			post := invs[active[c]].post
			if post == nil {
				for j := range w {
					w[j] = b[j*r+c]
				}
				continue
			}
			for j := range col {
				col[j] = b[j*r+c]
			}
			post(w, col)
		}
	})
	if err != nil {
		return nil, err
	}
	for _, lz := range runs {
		if lz.err != nil {
			return nil, lz.err
		}
	}
	return runs, nil
}

// lockstep advances every run by one step per call of apply until all are
// done; apply(active, qs, ws) sets ws[c] = A_{active[c]}·qs[c] (each run's
// single current vector), so that one pass can serve every run.
func lockstep(ctx context.Context, runs []*blockLanczos, apply func(active []int, qs, ws [][]float64)) error {
	var active []int
	var qs, ws [][]float64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		active, qs, ws = active[:0], qs[:0], ws[:0]
		for i, lz := range runs {
			if lz.done {
				continue
			}
			if len(lz.q) != 1 {
				panic("structural: lockstep: runs must have block size 1")
			}
			active = append(active, i)
			qs, ws = append(qs, lz.q[0]), append(ws, lz.w[0])
		}
		if len(active) == 0 {
			return nil
		}
		apply(active, qs, ws)
		for _, i := range active {
			runs[i].advance()
		}
	}
}

// mulOps sets ws[c] = A_{active[c]}·qs[c] for the operators ops through one
// pass over H (mulRows).
func mulOps(h []float64, m int, ops []hOperator, active []int, qs, ws [][]float64) {
	mulOpsIdx(h, m, ops, active, qs, ws)
}

// mulOpsIdx is mulOps with idx[c] naming the operator of qs[c] (an
// operator may appear more than once).
func mulOpsIdx(h []float64, m int, ops []hOperator, idx []int, qs, ws [][]float64) {
	us := make([][]float64, len(qs))
	ys := make([][]float64, len(qs))
	for c, q := range qs {
		op := ops[idx[c]]
		us[c], ys[c] = q, ws[c]
		if op.pre != nil {
			us[c] = make([]float64, m)
			op.pre(us[c], q)
		}
		if op.post != nil {
			ys[c] = make([]float64, m)
		}
	}
	mulRows(h, m, us, ys)
	for c := range qs {
		if op := ops[idx[c]]; op.post != nil {
			op.post(ws[c], ys[c])
		}
	}
}

// rayleigh returns ρ = vᵀAv and ‖Av − ρv‖ for a unit v and av = A·v.
func rayleigh(v, av []float64) (rho, res float64) {
	rho = dot(v, av)
	s := 0.0
	for i, x := range av {
		d := x - rho*v[i]
		s += d * d
	}
	return rho, math.Sqrt(s)
}

// katoTemple returns the error bound min(r, r²/δ) for a residual r and a
// gap estimate δ (r alone when δ ≤ 0 or unknown, e.g. a one-vector basis).
func katoTemple(r, gap float64) float64 {
	if gap > 0 && !math.IsInf(gap, 0) {
		return math.Min(r, r*r/gap)
	}
	return r
}

// zeroIndex returns the first j with p[j] == 0, or −1.
func zeroIndex(p []float64) int {
	for j, v := range p {
		if v == 0 {
			return j
		}
	}
	return -1
}

// unitVector returns e_j of length n.
func unitVector(n, j int) []float64 {
	v := make([]float64, n)
	v[j] = 1
	return v
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
