package structural

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
)

// restrictedTol is the relative agreement of λ_min(H_p|U) with the explicit
// construction: both are dense eigen-decompositions of the same matrix in
// different orthonormal bases, so they differ by rounding of order
// dim·eps·λ_max.
const restrictedTol = 1e-9

// complementBasis returns an nK × n(K−1) matrix whose block i holds an
// orthonormal basis of √p_i^⊥, built by Gram–Schmidt on e_1…e_K after √p_i
// (independent of the Householder basis of restricted.go).
func complementBasis(p []float64, n, K int) *mat.Dense {
	w := mat.NewDense(n*K, n*(K-1), nil)
	for i := 0; i < n; i++ {
		basis := [][]float64{make([]float64, K)}
		for k := 0; k < K; k++ {
			basis[0][k] = math.Sqrt(p[i*K+k])
		}
		nrm := math.Sqrt(dot(basis[0], basis[0]))
		scal(basis[0], 1/nrm)
		for e := 0; e < K && len(basis) < K; e++ {
			v := make([]float64, K)
			v[e] = 1
			for pass := 0; pass < 2; pass++ {
				for _, b := range basis {
					axpy(v, -dot(v, b), b)
				}
			}
			if nv := math.Sqrt(dot(v, v)); nv > 1e-8 {
				scal(v, 1/nv)
				basis = append(basis, v)
			}
		}
		for a, b := range basis[1:] {
			for k, v := range b {
				w.Set(i*K+k, i*(K-1)+a, v)
			}
		}
	}
	return w
}

// The restricted bound (C_r) on random models: λ_min(H_p|U) agrees with an
// independent construction of U, it is ≥ λ_min(H_p) (so (C_r) is at least as
// tight as (C)), u = D^{-1/2}r lies in U, and the chain
// E_f ≤ χ²/n ≤ n‖∇R‖²/λ_min(H_p|U) holds.
func TestRestrictedBoundOnRandomModels(t *testing.T) {
	soft, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	tighter, total := 0, 0
	for _, tc := range []struct {
		name  string
		sizes []int
		n     int
		scale float64
	}{
		{"relu 5-16-4 n=6", []int{5, 16, 4}, 6, 1},
		{"relu 6-40-3 n=5", []int{6, 40, 3}, 5, 1},
		{"relu 8-30-5 n=4 peaked", []int{8, 30, 5}, 4, 4},
		{"relu 4-3-5 n=8 (P < n(K−1))", []int{4, 3, 5}, 8, 1},
	} {
		for seed := uint64(1); seed <= 4; seed++ {
			rng := rand.New(rand.NewPCG(seed, 77))
			model := mlp(rng, "relu", tc.sizes...)
			K := tc.sizes[len(tc.sizes)-1]
			x := randomX(rng, tc.n, tc.sizes[0])
			for i := range x.Data {
				x.Data[i] *= tc.scale
			}
			probe := Probe{X: x, Labels: randomLabels(rng, tc.n, K)}
			rep, err := Analyze(model, probe, soft, Options{})
			if err != nil {
				t.Fatalf("%s seed %d: %v", tc.name, seed, err)
			}
			n := tc.n
			z := model.Forward(x)
			p := make([]float64, n*K)
			for i := 0; i < n; i++ {
				soft.Predict(p[i*K:(i+1)*K], z.Row(i))
			}
			// u = D^{-1/2} r is orthogonal to √p_i in every sample block.
			for i := 0; i < n; i++ {
				s := 0.0
				for k := 0; k < K; k++ {
					q := 0.0
					if k == probe.Labels[i] {
						q = 1
					}
					s += math.Sqrt(p[i*K+k]) * (p[i*K+k] - q) / math.Sqrt(p[i*K+k])
				}
				if math.Abs(s) > 1e-12 {
					t.Errorf("%s seed %d sample %d: ⟨√p, D^{-1/2}r⟩ = %g", tc.name, seed, i, s)
				}
			}
			h := StructuralMatrix(model, x)
			w := complementBasis(p, n, K)
			var hp, b mat.Dense
			hpSym := ProbabilityWeighted(h, p)
			hp.CloneFrom(hpSym)
			b.Product(w.T(), &hp, w)
			want, err := DenseSpectrum(mat.NewSymDense(n*(K-1), b.RawMatrix().Data), false)
			if err != nil {
				t.Fatal(err)
			}
			got := rep.HPU
			if got == nil || got.Dim != n*(K-1) {
				t.Fatalf("%s seed %d: HPU = %+v, want dimension %d", tc.name, seed, got, n*(K-1))
			}
			if math.Abs(got.Min-want.Min) > restrictedTol*want.Max || relErr(got.Max, want.Max) > restrictedTol || relErr(got.Trace, want.Trace) > restrictedTol {
				t.Errorf("%s seed %d: H_p|U min/max/trace %.12g %.12g %.12g, explicit %.12g %.12g %.12g",
					tc.name, seed, got.Min, got.Max, got.Trace, want.Min, want.Max, want.Trace)
			}
			if got.Min < rep.HP.Min-restrictedTol*rep.HP.Max {
				t.Errorf("%s seed %d: λ_min(H_p|U) = %.12g < λ_min(H_p) = %.12g (Courant–Fischer)", tc.name, seed, got.Min, rep.HP.Min)
			}
			c, cr := rep.Bounds[2], rep.Bounds[3]
			if cr.Name != "Cr" || !cr.Valid || !cr.Holds {
				t.Errorf("%s seed %d: (C_r) %+v", tc.name, seed, cr)
			}
			if cr.Upper > c.Upper*(1+restrictedTol) {
				t.Errorf("%s seed %d: (C_r) upper %.12g above (C) upper %.12g", tc.name, seed, cr.Upper, c.Upper)
			}
			if !(cr.Middle <= cr.Upper*(1+BoundRelTol)) || !(cr.Value <= cr.Middle*(1+BoundRelTol)) {
				t.Errorf("%s seed %d: chain E_f %.12g ≤ χ²/n %.12g ≤ %.12g fails", tc.name, seed, cr.Value, cr.Middle, cr.Upper)
			}
			total++
			if cr.Upper < c.Upper*(1-1e-6) {
				tighter++
			}
			// Lanczos on the materialised H agrees with the dense spectrum.
			lz, err := Analyze(model, probe, soft, Options{Method: "lanczos"})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lz.HPU.Min-want.Min) > 1e-7*want.Max || relErr(lz.HPU.Trace, want.Trace) > restrictedTol {
				t.Errorf("%s seed %d: Lanczos H_p|U λ_min %.12g trace %.12g, explicit %.12g %.12g", tc.name, seed, lz.HPU.Min, lz.HPU.Trace, want.Min, want.Trace)
			}
			mf, err := Analyze(model, probe, soft, Options{Method: "matrixfree"})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(mf.HPU.Min-want.Min) > 1e-7*want.Max || relErr(mf.HPU.Trace, want.Trace) > restrictedTol {
				t.Errorf("%s seed %d: matrix-free H_p|U λ_min %.12g trace %.12g, explicit %.12g %.12g", tc.name, seed, mf.HPU.Min, mf.HPU.Trace, want.Min, want.Trace)
			}
		}
	}
	t.Logf("(C_r) strictly tighter than (C) in %d of %d random models", tighter, total)
}

// RestrictWeighted's basis is orthonormal and spans √p^⊥ in every block,
// also with an underflowed probability.
func TestWeightedBasisOrthonormal(t *testing.T) {
	p := []float64{0.7, 0.2, 0.1, 0, 1, 0, 0.25, 0.25, 0.5}
	const K = 3
	b := newWeightedBasis(p, K)
	n := len(p) / K
	for i := 0; i < n; i++ {
		cols := make([][]float64, K-1)
		for a := range cols {
			y := make([]float64, n*(K-1))
			y[i*(K-1)+a] = 1
			u := make([]float64, n*K)
			b.apply(u, y)
			col := u[i*K : (i+1)*K]
			// apply includes D^{1/2}; undo it where p > 0 to test the basis itself.
			for k := range col {
				if p[i*K+k] > 0 {
					col[k] /= math.Sqrt(p[i*K+k])
				}
			}
			cols[a] = col
		}
		for a := range cols {
			if p[i*K] == 0 || p[i*K+1] == 0 || p[i*K+2] == 0 {
				continue // D^{1/2} erased a coordinate; orthonormality is not recoverable here
			}
			s := 0.0
			for k := 0; k < K; k++ {
				s += cols[a][k] * math.Sqrt(p[i*K+k])
			}
			if math.Abs(s) > 1e-14 {
				t.Errorf("block %d column %d: ⟨column, √p⟩ = %g", i, a, s)
			}
			for c := range cols {
				want := 0.0
				if a == c {
					want = 1
				}
				if d := dot(cols[a], cols[c]); math.Abs(d-want) > 1e-14 {
					t.Errorf("block %d: ⟨column %d, column %d⟩ = %g, want %g", i, a, c, d, want)
				}
			}
		}
	}
}

// psdWithSpectrum returns Q diag(vals) Qᵀ (both triangles stored) for a
// random orthogonal Q (QR of a Gaussian matrix).
func psdWithSpectrum(rng *rand.Rand, vals []float64) *mat.SymDense {
	m := len(vals)
	g := mat.NewDense(m, m, nil)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	var a mat.Dense
	a.Mul(&q, mat.NewDiagDense(m, vals))
	a.Mul(&a, q.T())
	out := mat.NewSymDense(m, nil)
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			v := 0.5 * (a.At(i, j) + a.At(j, i))
			out.SetSym(i, j, v)
			out.RawSymmetric().Data[j*m+i] = v
		}
	}
	return out
}

// probeWants is the set of spectra Analyze asks spectraOnH for (softmax).
func probeWants(m, K int, p []float64) []extremeWant {
	return []extremeWant{
		{kind: "H", op: identityOp(m), phase: "spectrum H"},
		{kind: "H_S", op: sumZeroOp(m, K), phase: "spectrum H_S"},
		{kind: "H_p", op: weightedOp(p), phase: "spectrum H_p"},
		{kind: "H_pU", op: restrictedWeightedOp(p, K), phase: "spectrum H_p|U"},
	}
}

// The certified extremes of H_p|U (λ_max by Lanczos on WᵀHW, λ_min by
// Lanczos on its inverse through H's Cholesky factor and the sum-zero Schur
// complement) agree with the dense path on random, ill-conditioned and
// singular H, and with probabilities that are tiny (the rescaled basis) or
// exactly one-hot (H_p|U = 0). Agreement is 1e-9 relative plus the dense
// solver's own backward error c·dim·ε·λ_max, the accuracy the dense value
// has; on a singular H both report λ_min ≤ RankTol·λ_max.
func TestRestrictedExtremesMatchDense(t *testing.T) {
	const n, K = 30, 4
	m := n * K
	geometric := func(lo float64, rank int) []float64 {
		v := make([]float64, m)
		for i := 0; i < rank; i++ {
			v[m-1-i] = math.Pow(lo, float64(i)/float64(rank-1))
		}
		return v
	}
	onehotTiny := func(tiny float64) []float64 {
		p := randomProbs(52, n, K)
		for i := 0; i < n; i++ {
			for k := 1; k < K; k++ {
				p[i*K+k] *= tiny
			}
			p[i*K] = 1
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		h        *mat.SymDense
		p        []float64
		singular bool
	}{
		{"random SPD", randomPSD(rngFor(51), m, 3*m), randomProbs(52, n, K), false},
		{"cond 1e6", psdWithSpectrum(rngFor(53), geometric(1e-6, m)), randomProbs(54, n, K), false},
		{"cond 1e9 (near RankTol·λ_max after weighting)", psdWithSpectrum(rngFor(55), geometric(1e-9, m)), randomProbs(56, n, K), false},
		{"singular H, rank 80 < n(K−1) = 90", psdWithSpectrum(rngFor(57), geometric(1e-3, 80)), randomProbs(58, n, K), true},
		{"singular H, rank 100 > n(K−1)", psdWithSpectrum(rngFor(59), geometric(1e-3, 100)), randomProbs(60, n, K), false},
		{"tiny off-top probabilities 1e-200", randomPSD(rngFor(61), m, 3*m), onehotTiny(1e-200), false},
		{"one-hot probabilities", randomPSD(rngFor(62), m, 3*m), onehotTiny(0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(method Method) Spectrum {
				opts := Options{Method: method, LanczosTol: 1e-12}
				if err := opts.fill(); err != nil {
					t.Fatal(err)
				}
				out, err := spectraOnH(context.Background(), tc.h, K, tc.p, probeWants(m, K, tc.p), opts, func(string) {})
				if err != nil {
					t.Fatal(err)
				}
				return out[3]
			}
			got, want := run(MethodLanczos), run(MethodDense)
			if want.Singular() != tc.singular {
				t.Fatalf("test setup: dense H_p|U singular = %v (min %.3g, max %.3g), case expects %v", want.Singular(), want.Min, want.Max, tc.singular)
			}
			if got.Dim != want.Dim || got.Method != "lanczos" || relErr(got.Trace, want.Trace) > 1e-12 {
				t.Errorf("dim %d method %s trace %.15g, dense dim %d trace %.15g", got.Dim, got.Method, got.Trace, want.Dim, want.Trace)
			}
			if relErr(got.Max, want.Max) > restrictedTol {
				t.Errorf("λ_max %.15g, dense %.15g", got.Max, want.Max)
			}
			if math.Abs(got.Max-want.Max) > got.MaxCert.Bound+want.MaxCert.Bound {
				t.Errorf("λ_max differs from dense by %.3g, beyond the bounds %.3g + %.3g", math.Abs(got.Max-want.Max), got.MaxCert.Bound, want.MaxCert.Bound)
			}
			if got.Singular() != tc.singular {
				t.Errorf("certified λ_min %.6g (bound %.3g), λ_max %.6g: singular = %v, dense says %v", got.Min, got.MinCert.Bound, got.Max, got.Singular(), tc.singular)
			}
			if tc.singular {
				if got.Rank >= 0 && got.Rank != want.Rank {
					t.Errorf("rank %d, dense %d", got.Rank, want.Rank)
				}
				return
			}
			if d := math.Abs(got.Min - want.Min); d > restrictedTol*want.Min+want.MinCert.Bound || d > got.MinCert.Bound+want.MinCert.Bound {
				t.Errorf("λ_min %.15g (bound %.3g), dense %.15g (bound %.3g)", got.Min, got.MinCert.Bound, want.Min, want.MinCert.Bound)
			}
			if got.Rank != got.Dim || want.Rank != want.Dim {
				t.Errorf("rank %d, dense %d, dimension %d", got.Rank, want.Rank, got.Dim)
			}
			t.Logf("λ_min %.12g (res %.2g, bound %.2g) dense %.12g; λ_max %.12g dense %.12g; %d products",
				got.Min, got.MinCert.Residual, got.MinCert.Bound, want.Min, got.Max, want.Max, got.Iterations)
		})
	}
}
