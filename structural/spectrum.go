package structural

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/linalg"
)

// DefaultRankTol is the relative numerical-rank tolerance (THEORY §3
// "Numerics"): eigenvalues above DefaultRankTol·λ_max count towards the rank.
const DefaultRankTol = 1e-10

// DefaultLanczosTol is the relative accuracy to which LanczosExtremes
// converges both ends of the spectrum when Analyze uses it.
const DefaultLanczosTol = 1e-10

// DefaultDenseMax is the largest dimension at which Method "auto"
// recomputes a numerically singular spectrum dense, for its rank: where the
// dense eigenvalues still take well under a second on 2 cores (they grow
// like dim³; BenchmarkSymEigenvalues).
const DefaultDenseMax = 1000

// Spectrum summarises the eigenvalues of a symmetric positive semi-definite
// matrix (THEORY §2 "Spectral summaries").
type Spectrum struct {
	Dim       int     // dimension of the space the operator acts on
	Min, Max  float64 // extreme eigenvalues
	Mean      float64 // Trace/Dim
	Trace     float64 // exact, from the diagonal
	Cond      float64 // Max/Min; +Inf when Min ≤ RankTol·Max
	Rank      int     // eigenvalues > RankTol·Max; −1 when unknown (see Method)
	RankTol   float64 // relative rank tolerance used
	NormFloor float64 // Min/Mean, the normalised floor
	Values    []float64
	// Method is "dense" (every eigenvalue computed), "lanczos" (only the
	// extremes, on the materialised H; Values nil) or "matrixfree" (Lanczos
	// extremes on Hv = J(Jᵀv), H never formed; Values nil). What Rank
	// means on each: "dense", the count of the computed eigenvalues above
	// RankTol·Max. "lanczos", Dim when the certified λ_min − MinCert.Bound
	// exceeds RankTol·(Max + MaxCert.Bound); otherwise (auto above
	// DenseMax, lanczos at every dimension) the pivot count of a pivoted
	// Cholesky factorisation of the materialised operator, reported only
	// when two checks certify it is the eigenvalue count (the Schur
	// complement's Frobenius norm and λ_min of the pivoted leading block
	// on either side of RankTol·Max), else −1, as for eigenvalues close to
	// the tolerance. "matrixfree", −1.
	Method string
	// Iterations is the number of operator applications (Lanczos vectors;
	// 0 for dense), Passes the number of (block) Lanczos steps, i.e. of
	// passes over H, over a Cholesky factor or of matrix-free block products.
	Iterations, Passes int
	// MinCert and MaxCert certify Min and Max (see Certificate).
	MinCert, MaxCert Certificate
}

// DenseSpectrum computes every eigenvalue of a with linalg.SymEigenvalues
// (blocked tridiagonalisation and root-free QR; LAPACK with -tags openblas)
// and summarises them with DefaultRankTol; keep retains the ascending
// spectrum in Values.
func DenseSpectrum(a *mat.SymDense, keep bool) (Spectrum, error) {
	return denseSpectrum(context.Background(), a, keep, DefaultRankTol)
}

func denseSpectrum(ctx context.Context, a *mat.SymDense, keep bool, rankTol float64) (Spectrum, error) {
	m := a.SymmetricDim()
	if m == 0 {
		return Spectrum{}, errors.New("structural: spectrum of an empty matrix")
	}
	raw := a.RawSymmetric()
	work := make([]float64, m*m)
	for i := 0; i < m; i++ {
		copy(work[i*m+i:(i+1)*m], raw.Data[i*raw.Stride+i:i*raw.Stride+m])
	}
	vals := make([]float64, m) // ascending
	if err := linalg.SymEigenvalues(ctx, m, work, vals); err != nil {
		return Spectrum{}, fmt.Errorf("structural: dense eigenvalues of a %d×%d matrix: %w", m, m, err)
	}
	s := Spectrum{Dim: m, Min: vals[0], Max: vals[m-1], Trace: trace(a), RankTol: rankTol, Method: "dense"}
	s.MinCert, s.MaxCert = denseCertificate(m, vals), denseCertificate(m, vals)
	for _, v := range vals {
		if v > rankTol*s.Max {
			s.Rank++
		}
	}
	if keep {
		s.Values = vals
	}
	s.finish()
	return s, nil
}

// denseBackwardTol is c in the backward error c·dim·ε·‖A‖₂ of a dense
// symmetric eigensolver (Golub and Van Loan §8.3: Householder
// tridiagonalisation and implicit QR are backward stable with a modest c).
const denseBackwardTol = 4

// denseCertificate is the certificate of an eigenvalue computed by the dense
// solver: no vector (Residual NaN), Bound the backward error bound.
func denseCertificate(m int, vals []float64) Certificate {
	norm := math.Max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1]))
	return Certificate{Residual: math.NaN(), Bound: denseBackwardTol * float64(m) * 0x1p-52 * norm}
}

// finish fills the derived summaries from Min, Max, Trace and Dim.
func (s *Spectrum) finish() {
	s.Mean = s.Trace / float64(s.Dim)
	s.NormFloor = s.Min / s.Mean
	if s.Min > s.RankTol*s.Max {
		s.Cond = s.Max / s.Min
	} else {
		s.Cond = math.Inf(1)
	}
}

// MinLower is the lower end of what is proven about λ_min: Min itself
// when certified (MinCert), 0 (A ⪰ 0) when MinCert.NotCertified.
func (s *Spectrum) MinLower() float64 {
	if s.MinCert.NotCertified != "" {
		return 0
	}
	return s.Min
}

// Singular reports whether λ_min is at or below the rank tolerance, i.e. the
// matrix is numerically singular (THEORY §2: E_s = +∞).
func (s *Spectrum) Singular() bool { return !(s.Min > s.RankTol*s.Max) }

func trace(a *mat.SymDense) float64 {
	t := 0.0
	for i := 0; i < a.SymmetricDim(); i++ {
		t += a.At(i, i)
	}
	return t
}

// SymMul returns the product v ↦ a·v for use with LanczosExtremes. When a
// holds both triangles (as every matrix this package builds does) the rows are
// split over GOMAXPROCS goroutines; otherwise it falls back to BLAS Dsymv.
func SymMul(a *mat.SymDense) func(dst, v []float64) {
	raw := a.RawSymmetric()
	m := raw.N
	full := true
	for r := 0; r < m && full; r++ {
		for c := r + 1; c < m; c++ {
			if raw.Data[r*raw.Stride+c] != raw.Data[c*raw.Stride+r] {
				full = false
				break
			}
		}
	}
	if !full {
		var w linalg.SymvWork
		return func(dst, v []float64) {
			linalg.Symv(m, raw.Data, raw.Stride, v, dst, &w)
		}
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), m/64))
	return func(dst, v []float64) {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			r0, r1 := w*m/workers, (w+1)*m/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				linalg.Gemv(r1-r0, m, 1, raw.Data[r0*raw.Stride:], raw.Stride, v, 0, dst[r0:r1])
			}()
		}
		wg.Wait()
	}
}

// ErrNotConverged is wrapped by LanczosExtremes when maxIter steps did not
// reach the requested accuracy; the returned estimates are then the best
// Ritz values found.
var ErrNotConverged = errors.New("structural: Lanczos did not converge")

// LanczosExtremes estimates the smallest and largest eigenvalues of the
// symmetric operator mul (dst = A·v, dim×dim) by the Lanczos process with full
// reorthogonalisation (classical Gram–Schmidt applied twice, "twice is
// enough": Parlett, The Symmetric Eigenvalue Problem, §6.9), starting from a
// random vector drawn from rng. Every few steps the tridiagonal T_j is
// diagonalised with LAPACK Dsteqr; a Ritz value θ with Ritz vector s has
// residual r = β_j·|s_j|, lies within r of an eigenvalue of A, and within
// r²/δ when δ separates it from the rest of the spectrum (tridiagExtremes).
// An end has converged when that error bound is at most tol·|θ|, with an absolute
// floor tol²·|θ_max| so that a zero eigenvalue (rank-deficient A) converges
// too. The process stops early and exactly when the Krylov space becomes
// invariant, and after dim steps T_dim is similar to A. Memory: maxIter
// vectors of length dim.
func LanczosExtremes(mul func(dst, v []float64), dim int, tol float64, maxIter int, rng *rand.Rand) (lo, hi float64, iters int, err error) {
	return lanczosExtremes(context.Background(), mul, dim, tol, maxIter, rng)
}

// lanczosExtremes is LanczosExtremes returning a wrapped ctx.Err() between
// two operator applications once ctx is done.
func lanczosExtremes(ctx context.Context, mul func(dst, v []float64), dim int, tol float64, maxIter int, rng *rand.Rand) (lo, hi float64, iters int, err error) {
	// Block Lanczos with one column is this process; its T is tridiagonal
	// and its Rayleigh–Ritz step tridiagExtremes.
	lz, err := newBlockLanczos(dim, 1, tol, maxIter, rng)
	if err != nil {
		return 0, 0, 0, err
	}
	for !lz.done {
		if err := ctx.Err(); err != nil {
			return lz.lo, lz.hi, lz.steps, fmt.Errorf("structural: Lanczos interrupted after %d steps: %w", lz.steps, err)
		}
		mul(lz.w[0], lz.q[0])
		lz.advance()
	}
	return lz.lo, lz.hi, lz.steps, lz.err
}

// tridiagExtremes returns the extreme eigenvalues of the Lanczos tridiagonal
// T (diagonal alpha, off-diagonal beta[:len-1]) and bounds on their errors.
// A Ritz value θ with Ritz vector s has residual r = β_last·|s_last|, so an
// eigenvalue lies within r of θ; when θ is separated from the rest of the
// spectrum by δ the error is at most r²/δ (Kato–Temple; Parlett, The
// Symmetric Eigenvalue Problem, §11.7). δ is estimated from the neighbouring
// Ritz value θ' less its own residual (|θ' − θ| − r'); the bound returned is
// min(r, r²/δ), or r when that estimate is not positive. Like every Lanczos
// estimate this assumes the Krylov space has not missed an eigenvalue.
func tridiagExtremes(alpha, beta []float64) (lo, hi, elo, ehi float64, ok bool) {
	n := len(alpha)
	d := append([]float64(nil), alpha...)
	e := append([]float64(nil), beta[:n-1]...)
	z := make([]float64, n*n)
	ok = linalg.TridiagEigen(d, e, z)
	if !ok {
		return 0, 0, 0, 0, false
	}
	// Dsteqr sorts ascending.
	b := beta[n-1]
	res := func(i int) float64 { return math.Abs(b * z[(n-1)*n+i]) }
	bound := func(i, next int) float64 {
		r := res(i)
		if next < 0 || next >= n {
			return r
		}
		if gap := math.Abs(d[next]-d[i]) - res(next); gap > 0 {
			return math.Min(r, r*r/gap)
		}
		return r
	}
	return d[0], d[n-1], bound(0, 1), bound(n-1, n-2), true
}

func dot(a, b []float64) float64 {
	return linalg.Dot(a, b)
}

func axpy(y []float64, alpha float64, x []float64) {
	linalg.Axpy(alpha, x, y)
}

func scal(x []float64, alpha float64) {
	linalg.Scal(alpha, x)
}

func norm(x []float64) float64 {
	return linalg.Nrm2(x)
}
