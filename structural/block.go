package structural

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/fenchel-ml/fenchel/linalg"
)

// DefaultBlockSize is the block size of the Lanczos runs Analyze uses on a
// materialised H: 1 (plain Lanczos), because larger blocks need more vectors
// at the slowly converging λ_min end than their cheaper passes save
// (BenchmarkSpectrum; figures in bench/README.md).
const DefaultBlockSize = 1

// BlockLanczosExtremes estimates the smallest and largest eigenvalues of the
// symmetric operator mul (dst[c] = A·src[c] for every column c of a block,
// dim×dim) by block Lanczos with full reorthogonalisation, starting from
// block random orthonormal vectors drawn from rng. It returns the extremes,
// the number of operator applications (vectors) and the number of block
// steps (calls of mul).
//
// Each step orthogonalises W = A·Q_j against the whole basis twice and
// factors the remainder W = Q_{j+1}R_j (Gram–Schmidt, twice, within the
// block); a column whose remainder is at most 1e-14·‖A‖_est·(basis size) is
// deflated (dropped) and its norm accumulated in δ_drop. The Rayleigh–Ritz
// matrix T (block tridiagonal, blocks Q_jᵀAQ_j and R_j) is diagonalised every
// few steps. A Ritz pair (θ, s) then has residual ‖A·Qs − θ·Qs‖ ≤ r =
// ‖R_j s_last‖ + δ_drop (s_last: the entries of s on the last block), so an
// eigenvalue of A lies within r of θ, and within r²/δ when δ separates θ from
// the rest of the spectrum (Kato–Temple, as tridiagExtremes). An end has
// converged when that bound is at most tol·|θ|, with the absolute floor
// tol²·|θ_max|. The run stops exactly when the block Krylov space becomes
// invariant (every column deflated) or spans R^dim. As for every Krylov
// method this assumes the start block is not orthogonal to the extreme
// eigenvectors (probability one for a random start). Memory: maxIter vectors
// of length dim (maxIter counts vectors, not block steps).
func BlockLanczosExtremes(mul func(dst, src [][]float64), dim, block int, tol float64, maxIter int, rng *rand.Rand) (lo, hi float64, iters, steps int, err error) {
	lz, err := newBlockLanczos(dim, block, tol, maxIter, rng)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	for !lz.done {
		mul(lz.w, lz.q)
		lz.advance()
	}
	return lz.lo, lz.hi, lz.products, lz.steps, lz.err
}

// blockLanczos is the state of one BlockLanczosExtremes run, advanced one
// block step at a time so that several runs can share a pass over H (see
// lockstepExtremes): the caller writes A·q[c] into w[c] and calls advance
// until done.
type blockLanczos struct {
	dim, limit, block int
	tol               float64
	basis             [][]float64 // orthonormal; the current block is the tail
	q, w              [][]float64
	k0                int       // index in basis of q[0]
	t                 []float64 // T, row-major with stride ts (growT)
	ts                int
	r                 []float64 // R_j of the last step, len(new block)×len(q)
	next              int
	scale             float64 // running estimate of ‖A‖
	dropped           float64 // δ_drop, sum of deflated remainders
	done              bool
	lo, hi            float64
	elo, ehi          float64 // error bounds of lo and hi at the last Rayleigh–Ritz
	products, steps   int
	err               error
	// topOnly converges the largest eigenvalue alone (the other end is
	// still estimated): certifiedExtremes runs the smallest end on A⁻¹.
	topOnly bool
}

func newBlockLanczos(dim, block int, tol float64, maxIter int, rng *rand.Rand) (*blockLanczos, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("structural: block Lanczos: dimension %d", dim)
	}
	if block < 1 {
		return nil, fmt.Errorf("structural: block Lanczos: block size %d", block)
	}
	if !(tol > 0) {
		return nil, fmt.Errorf("structural: block Lanczos: tolerance %v must be positive", tol)
	}
	limit := min(maxIter, dim)
	if limit < 1 {
		return nil, fmt.Errorf("structural: block Lanczos: maxIter %d", maxIter)
	}
	block = min(block, dim)
	lz := &blockLanczos{dim: dim, limit: limit, block: block, tol: tol}
	// Random start block, orthonormalised (Gram–Schmidt twice); a column that
	// is numerically dependent is redrawn.
	for len(lz.q) < block {
		v := make([]float64, dim)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		nv := norm(v)
		for pass := 0; pass < 2; pass++ {
			for _, b := range lz.q {
				axpy(v, -dot(b, v), b)
			}
		}
		if nb := norm(v); nb > 1e-8*nv {
			scal(v, 1/nb)
			lz.q = append(lz.q, v)
		}
	}
	if len(lz.q) > limit {
		lz.q = lz.q[:limit]
	}
	lz.basis = append(lz.basis, lz.q...)
	lz.w = make([][]float64, len(lz.q))
	for c := range lz.w {
		lz.w[c] = make([]float64, dim)
	}
	lz.next = 2 * block
	return lz, nil
}

// growT makes T at least n×n (n ≤ limit), doubling its stride: a run
// that converges in a few dozen steps never allocates the limit² entries.
func (lz *blockLanczos) growT(n int) {
	if n <= lz.ts {
		return
	}
	ts := min(lz.limit, max(n, 2*lz.ts, 64))
	t := make([]float64, ts*ts)
	for i := 0; i < lz.ts; i++ {
		copy(t[i*ts:i*ts+lz.ts], lz.t[i*lz.ts:(i+1)*lz.ts])
	}
	lz.t, lz.ts = t, ts
}

// advance takes w[c] = A·q[c] and performs one block step.
func (lz *blockLanczos) advance() {
	q, w := lz.q, lz.w
	bq, k0 := len(q), lz.k0
	lz.growT(min(lz.limit, k0+2*bq))
	L := lz.ts
	k1 := k0 + bq
	lz.products += bq
	lz.steps++
	// Diagonal block A_j = Q_jᵀ A Q_j, symmetrised.
	rowSum := 0.0
	for a := 0; a < bq; a++ {
		s := 0.0
		for c := 0; c <= a; c++ {
			v := 0.5 * (dot(q[a], w[c]) + dot(q[c], w[a]))
			lz.t[(k0+a)*L+k0+c], lz.t[(k0+c)*L+k0+a] = v, v
		}
		for c := 0; c < bq; c++ {
			s += math.Abs(lz.t[(k0+a)*L+k0+c])
		}
		rowSum = math.Max(rowSum, s)
	}
	// Full reorthogonalisation of every column against the basis, twice;
	// the columns are independent, so they are split over goroutines.
	basis := lz.basis
	mid := make([]float64, bq) // ‖w[c]‖ before the second pass
	parallelCols(bq, func(c int) {
		for pass := 0; pass < 2; pass++ {
			if pass == 1 {
				mid[c] = norm(w[c])
			}
			for _, b := range basis {
				axpy(w[c], -dot(b, w[c]), b)
			}
		}
	})
	// W = Q_{j+1} R_j by Gram–Schmidt (twice) within the block, deflating
	// numerically dependent columns, and never beyond dim basis vectors.
	var fresh [][]float64
	var rows [][]float64 // rows[i][c] = R_j[i, c]
	coef := make([][]float64, bq)
	for c := range coef {
		coef[c] = make([]float64, bq)
	}
	maxBeta := 0.0
	for c := 0; c < bq; c++ {
		for pass := 0; pass < 2; pass++ {
			for i, f := range fresh {
				d := dot(f, w[c])
				coef[c][i] += d
				axpy(w[c], -d, f)
			}
		}
		beta := norm(w[c])
		// While a pass still cancels more than half the norm, the
		// remainder is not yet orthogonal to working precision (Kahan–
		// Parlett): another pass over the basis and the fresh columns.
		// A column still cancelling after three extra passes is rounding
		// noise and is deflated.
		cancelling := beta < 0.5*mid[c]
		for extra := 0; cancelling && extra < 3; extra++ {
			prev := beta
			for _, b := range basis {
				axpy(w[c], -dot(b, w[c]), b)
			}
			for i, f := range fresh {
				d := dot(f, w[c])
				coef[c][i] += d
				axpy(w[c], -d, f)
			}
			beta = norm(w[c])
			cancelling = beta < 0.5*prev
		}
		maxBeta = math.Max(maxBeta, beta)
		drop := cancelling || beta <= 1e-14*math.Max(lz.scale, rowSum)*float64(k1)
		if k1+len(fresh) >= lz.dim {
			// The basis spans R^dim: w[c] is rounding only, and T is
			// similar to A, so nothing is lost by discarding it.
			continue
		}
		if drop {
			lz.dropped += beta
			continue
		}
		scal(w[c], 1/beta)
		coef[c][len(fresh)] = beta
		fresh = append(fresh, w[c])
	}
	for i := range fresh {
		row := make([]float64, bq)
		for c := 0; c < bq; c++ {
			row[c] = coef[c][i]
		}
		rows = append(rows, row)
	}
	lz.scale = math.Max(lz.scale, rowSum+maxBeta)
	lz.r = lz.r[:0]
	for _, row := range rows {
		lz.r = append(lz.r, row...)
	}
	nf := len(fresh)
	invariant := nf == 0
	full := k1 == lz.dim
	// Beyond maxIter vectors the next block is cut short; at the limit the
	// run ends (the residuals still use the whole of R_j).
	keep := min(nf, lz.limit-k1)
	atLimit := keep == 0 && !invariant
	if k1 >= lz.next || invariant || full || atLimit {
		lz.next = k1 + max(2*lz.block, k1/8)
		lo, hi, elo, ehi, err := lz.ritz(k1, nf, bq)
		lz.lo, lz.hi, lz.elo, lz.ehi = lo, hi, elo, ehi
		if err != nil {
			lz.done, lz.err = true, err
			return
		}
		if full {
			lz.done = true
			return
		}
		floor := lz.tol * lz.tol * math.Max(math.Abs(lo), math.Abs(hi))
		loDone := lz.topOnly || elo <= math.Max(lz.tol*math.Abs(lo), floor)
		if (loDone && ehi <= math.Max(lz.tol*math.Abs(hi), floor)) || invariant {
			lz.done = true
			return
		}
		if atLimit {
			lz.done = true
			lz.err = fmt.Errorf("%w after %d vectors in %d block steps (dim %d, block %d): error bounds %.3g at λ_min ≈ %.6g, %.3g at λ_max ≈ %.6g, tol %g",
				ErrNotConverged, k1, lz.steps, lz.dim, lz.block, elo, lo, ehi, hi, lz.tol)
			return
		}
	}
	// Off-diagonal blocks of T: Q_{j+1}ᵀ A Q_j = R_j.
	fresh = fresh[:keep]
	nf = keep
	for i := 0; i < nf; i++ {
		for c := 0; c < bq; c++ {
			v := lz.r[i*bq+c]
			lz.t[(k1+i)*L+k0+c], lz.t[(k0+c)*L+k1+i] = v, v
		}
	}
	// The fresh vectors become the next block; w gets new storage since the
	// basis keeps the fresh slices.
	lz.basis = append(lz.basis, fresh...)
	lz.k0 = k1
	lz.q = fresh
	lz.w = make([][]float64, nf)
	for c := range lz.w {
		lz.w[c] = make([]float64, lz.dim)
	}
}

// ritz diagonalises T[0:k, 0:k] and returns its extreme eigenvalues with
// their Kato–Temple error bounds, δ_drop included: the residual of Ritz
// vector s is ‖R_j s[k−bq:k]‖, R_j being nf×bq.
func (lz *blockLanczos) ritz(k, nf, bq int) (lo, hi, elo, ehi float64, err error) {
	d := lz.dropped
	if lz.block == 1 {
		// Every block has one column: T is tridiagonal and Dsteqr is
		// O(k²) instead of the dense O(k³).
		alpha, beta := make([]float64, k), make([]float64, k)
		for i := 0; i < k; i++ {
			alpha[i] = lz.t[i*lz.ts+i]
			if i+1 < k {
				beta[i] = lz.t[(i+1)*lz.ts+i]
			}
		}
		if nf > 0 {
			beta[k-1] = lz.r[0]
		}
		lo, hi, elo, ehi, ok := tridiagExtremes(alpha, beta)
		if !ok {
			return 0, 0, 0, 0, fmt.Errorf("structural: block Lanczos: tridiagonal eigen-decomposition failed at step %d", lz.steps)
		}
		return lo, hi, elo + 2*d, ehi + 2*d, nil
	}
	a := make([]float64, k*k)
	for i := 0; i < k; i++ {
		copy(a[i*k:(i+1)*k], lz.t[i*lz.ts:i*lz.ts+k])
	}
	vals := make([]float64, k)
	if err := linalg.SymEigen(k, a, vals, true); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("structural: block Lanczos: eigen-decomposition of T (%d×%d) at step %d: %w", k, k, lz.steps, err)
	}
	res := func(j int) float64 {
		// Column j of a is the Ritz vector s; its last bq entries meet R_j.
		s := 0.0
		for i := 0; i < nf; i++ {
			v := 0.0
			for c := 0; c < bq; c++ {
				v += lz.r[i*bq+c] * a[(k-bq+c)*k+j]
			}
			s += v * v
		}
		return math.Sqrt(s)
	}
	// With δ_drop > 0 the Ritz values are those of QᵀAQ perturbed by at
	// most δ_drop, hence r includes it and it is added once more.
	bound := func(j, nb int) float64 {
		r := res(j) + d
		if nb >= 0 && nb < k {
			if gap := math.Abs(vals[nb]-vals[j]) - res(nb) - 2*d; gap > 0 {
				r = math.Min(r, r*r/gap)
			}
		}
		return r + d
	}
	return vals[0], vals[k-1], bound(0, 1), bound(k-1, k-2), nil
}

// parallelCols runs f(c) for c < n, over at most GOMAXPROCS goroutines.
func parallelCols(n int, f func(c int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for c := 0; c < n; c++ {
			f(c)
		}
		return
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := wk; c < n; c += workers {
				f(c)
			}
		}()
	}
	wg.Wait()
}

// ritzPair is an approximate eigenpair of A from a Lanczos basis: value θ,
// unit vector v = Q·s, and the Ritz value next to θ (for a gap estimate).
type ritzPair struct {
	theta, next float64
	bound       float64 // the run's error bound on theta
	v           []float64
}

// topRitz returns the Ritz pair of the largest Ritz value of a finished
// run, from the dense eigen-decomposition of T over the whole basis.
func (lz *blockLanczos) topRitz() (ritzPair, error) {
	_, top, err := lz.ritzPairs()
	return top, err
}

// ritzPairs returns the Ritz pairs of the smallest and the largest Ritz
// values of a finished run (the smallest with its bound unknown: NaN).
func (lz *blockLanczos) ritzPairs() (low, top ritzPair, err error) {
	k := len(lz.basis)
	a := make([]float64, k*k)
	for i := 0; i < k; i++ {
		copy(a[i*k:(i+1)*k], lz.t[i*lz.ts:i*lz.ts+k])
	}
	vals := make([]float64, k)
	if err := linalg.SymEigen(k, a, vals, true); err != nil {
		return ritzPair{}, ritzPair{}, fmt.Errorf("structural: Lanczos Ritz vector (T %d×%d): %w", k, k, err)
	}
	pair := func(j, next int, bound float64) ritzPair {
		rp := ritzPair{theta: vals[j], next: math.Inf(-1), bound: bound, v: make([]float64, lz.dim)}
		if next >= 0 && next < k {
			rp.next = vals[next]
		}
		for i, b := range lz.basis {
			axpy(rp.v, a[i*k+j], b)
		}
		scal(rp.v, 1/norm(rp.v))
		return rp
	}
	return pair(0, 1, math.NaN()), pair(k-1, k-2, lz.ehi), nil
}

// startFrom replaces the random start vector of a fresh one-column run by
// v (normalised; v is not kept).
func (lz *blockLanczos) startFrom(v []float64) {
	if lz.block != 1 || lz.steps != 0 || len(v) != lz.dim {
		panic("structural: startFrom: not a fresh one-column run of this dimension")
	}
	q := append([]float64(nil), v...)
	scal(q, 1/norm(q))
	lz.q[0], lz.basis[0] = q, q
}
