package structural

import (
	"errors"
	"fmt"
	"math"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// DefaultMatrixFreeProducts is Options.MatrixFreeProducts by default. λ_max
// converges in a few dozen products; λ_min, at the bottom of a dense
// spectrum, needs far more: for MLP 784-1000-10 (H_S, κ ≈ 7·10⁴) 826 at
// n = 1000, and at n = 10 000 (κ > 10⁶) 300 leave a residual of 5 at a
// Rayleigh quotient of 0.8. Each product is a forward, a backward and a
// forward-mode pass over the whole probe: 300 take about 5 min on 2 cores
// at n = 10 000.
const DefaultMatrixFreeProducts = 300

// spectraMatrixFree fills rep.H, rep.HS (simplex losses), rep.HP and
// rep.HPU (softmax) by Lanczos on the matrix-free products Hv = J(Jᵀv) of
// JacobianOperator (THEORY §6), with the Helmert basis, D^½ and the basis
// of U applied on the fly (hOperator). The runs advance in lock step, so
// that one forward pass over the probe serves every operator's product
// (JacobianOperator.mulHBatch). Each run stops when both ends converge or
// after opts.MatrixFreeProducts products; the reported values are the
// Rayleigh quotients of the extreme Ritz vectors, with residuals from one
// explicit product each (Certificate). λ_max must converge within the
// budget; a λ_min that has not is reported with NotCertified and the
// interval [0, Min] (matrixFreeCertificates). The traces are exact, from
// the diagonal K×K blocks of H.
func spectraMatrixFree(rep *Report, model nn.Layer[float64], x *nn.Mat[float64], p []float64, l loss.Loss, opts Options, lap func(string)) error {
	n, K := rep.N, rep.K
	m := n * K
	jop, err := NewJacobianOperator(model, x)
	if err != nil {
		return fmt.Errorf("structural: analyze: %w", err)
	}
	blocks, err := jop.diagonalBlocks(opts.Ctx, max(1, 4096/K))
	if err != nil {
		return fmt.Errorf("structural: analyze: stopped during the diagonal blocks of H: %w", err)
	}
	lap("H diagonal blocks")
	wants := spectrumWants(rep, l, p, opts.Spectra)
	runs := make([]*blockLanczos, len(wants))
	for i, w := range wants {
		if runs[i], err = newBlockLanczos(w.op.dim, 1, opts.LanczosTol, min(w.op.dim, opts.MatrixFreeProducts), opts.Rng); err != nil {
			return fmt.Errorf("structural: analyze: %s (matrix-free): %w", w.phase, err)
		}
	}
	// apply sets ws[c] = A_{idx[c]}·qs[c] through one forward pass.
	us, ys := make([][]float64, 0, len(wants)), make([][]float64, 0, len(wants))
	apply := func(idx []int, qs, ws [][]float64) {
		us, ys = us[:0], ys[:0]
		for c, q := range qs {
			op := wants[idx[c]].op
			u, y := q, ws[c]
			if op.pre != nil {
				u = make([]float64, m)
				op.pre(u, q)
			}
			if op.post != nil {
				y = make([]float64, m)
			}
			us, ys = append(us, u), append(ys, y)
		}
		jop.mulHBatch(ys, us)
		for c := range qs {
			if op := wants[idx[c]].op; op.post != nil {
				op.post(ws[c], ys[c])
			}
		}
	}
	err = lockstep(opts.Ctx, runs, func(active []int, qs, ws [][]float64) { apply(active, qs, ws) })
	if err != nil {
		return fmt.Errorf("structural: analyze: stopped during the matrix-free spectra (dimension %d): %w", m, err)
	}
	specs, err := matrixFreeCertificates(wants, runs, opts, apply)
	if err != nil {
		return fmt.Errorf("structural: analyze: %w", err)
	}
	for i, w := range wants {
		s := specs[i]
		s.Trace = opTraceBlocks(blocks, K, w.kind, p)
		if w.kind == "H_pU" {
			s.Trace = restrictedTrace(func(i int) []float64 { return blocks[i*K*K : (i+1)*K*K] }, p, K)
		}
		s.finish()
		*w.dst = &s
	}
	lap("spectra matrixfree")
	return nil
}

// matrixFreeCertificates turns finished Lanczos runs into spectra: the
// Ritz vectors of both ends, one explicit product each (apply), their
// Rayleigh quotients ρ and residuals r. λ_max gets the Kato–Temple bound
// with the gap to the next Ritz value, as on the materialised H. λ_min
// likewise when its run converged; otherwise ρ is only an upper bound on
// λ_min (every Rayleigh quotient is, Courant–Fischer) and A ⪰ 0 the lower
// one, so Bound = ρ and NotCertified says why.
func matrixFreeCertificates(wants []spectrumWant, runs []*blockLanczos, opts Options, apply func(idx []int, qs, ws [][]float64)) ([]Spectrum, error) {
	out := make([]Spectrum, len(wants))
	var idx []int
	var vs, avs [][]float64
	lows, tops := make([]ritzPair, len(wants)), make([]ritzPair, len(wants))
	for i, lz := range runs {
		if lz.err != nil && !errors.Is(lz.err, ErrNotConverged) {
			return nil, fmt.Errorf("%s (matrix-free Lanczos): %w", wants[i].phase, lz.err)
		}
		if lz.ehi > math.Max(lz.tol*math.Abs(lz.hi), lz.tol*lz.tol*math.Abs(lz.hi)) {
			return nil, fmt.Errorf("%s (matrix-free Lanczos): λ_max not converged within %d products (Options.MatrixFreeProducts, probe --matrix-free-products): %w", wants[i].phase, lz.products, lz.err)
		}
		var err error
		if lows[i], tops[i], err = lz.ritzPairs(); err != nil {
			return nil, err
		}
		for _, v := range []([]float64){tops[i].v, lows[i].v} {
			idx, vs, avs = append(idx, i), append(vs, v), append(avs, make([]float64, len(v)))
		}
	}
	apply(idx, vs, avs)
	for i, lz := range runs {
		s := Spectrum{Dim: wants[i].op.dim, Rank: -1, RankTol: opts.RankTol, Method: string(MethodMatrixFree),
			Iterations: lz.products + 2, Passes: lz.steps + 1}
		rho, r := rayleigh(vs[2*i], avs[2*i])
		s.Max, s.MaxCert = rho, Certificate{Residual: r, Bound: katoTemple(r, rho-tops[i].next-r)}
		rho, r = rayleigh(vs[2*i+1], avs[2*i+1])
		s.Min = rho
		if lz.err == nil {
			next := lows[i].next
			if math.IsInf(next, -1) {
				next = math.Inf(1)
			}
			s.MinCert = Certificate{Residual: r, Bound: katoTemple(r, next-rho-r)}
		} else {
			s.MinCert = Certificate{Residual: r, Bound: math.Max(rho, 0),
				NotCertified: fmt.Sprintf("matrix-free Lanczos did not converge at λ_min within %d products (Options.MatrixFreeProducts, probe --matrix-free-products; its own error estimate %.3g): λ_min ∈ [0, %.6g] (Rayleigh quotient, residual %.3g)",
					lz.products, lz.elo, rho, r)}
		}
		out[i] = s
	}
	return out, nil
}

// mulHBatch sets dsts[c] = H·vs[c] for every c after one forward pass at x
// (MulH runs one per product): then per vector one backward and one
// forward-mode pass, which read the forward state and leave it as found.
func (op *JacobianOperator) mulHBatch(dsts, vs [][]float64) {
	m := op.n * op.K
	for c := range vs {
		if len(dsts[c]) != m || len(vs[c]) != m {
			panic(fmt.Sprintf("structural: mulHBatch: len(dst) = %d, len(v) = %d, want nK = %d", len(dsts[c]), len(vs[c]), m))
		}
	}
	if len(vs) == 0 {
		return
	}
	op.model.Forward(op.x)
	for c, v := range vs {
		op.backward(op.scratch, v)
		op.tangent(dsts[c], op.scratch)
	}
}
