package structural

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
)

// extremesTol is the agreement required between certified extremes
// (Lanczos converged to 1e-12) and the dense eigen-decomposition.
const extremesTol = 1e-10

// randomProbs returns n softmax-like rows of K probabilities.
func randomProbs(seed uint64, n, K int) []float64 {
	rng := rngFor(seed)
	p := make([]float64, n*K)
	for i := 0; i < n; i++ {
		s := 0.0
		for k := 0; k < K; k++ {
			p[i*K+k] = math.Exp(2 * rng.NormFloat64())
			s += p[i*K+k]
		}
		for k := 0; k < K; k++ {
			p[i*K+k] /= s
		}
	}
	return p
}

func allWants(m, K int, p []float64) []extremeWant {
	return []extremeWant{{kind: "H", op: identityOp(m)}, {kind: "H_S", op: sumZeroOp(m, K)}, {kind: "H_p", op: weightedOp(p)}, {kind: "H_pU", op: restrictedWeightedOp(p, K)}}
}

func TestCertifiedExtremesMatchDense(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, K, cols   int
		zeroP        bool
		wantSingular bool
	}{
		{"SPD 40×4", 40, 4, 400, false, false},
		{"ill-conditioned 30×3", 30, 3, 95, false, false},
		{"rank-deficient 25×4 rank 60", 25, 4, 60, false, true},
		{"probability underflow", 20, 5, 300, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.n * tc.K
			h := randomPSD(rngFor(21), m, tc.cols)
			p := randomProbs(22, tc.n, tc.K)
			if tc.zeroP {
				p[7] = 0
			}
			got, err := certifiedExtremes(context.Background(), h, tc.K, p, allWants(m, tc.K, p), 1e-12, DefaultRankTol, rngFor(23))
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range []*mat.SymDense{h, RestrictSumZero(h, tc.K), ProbabilityWeighted(h, p), RestrictWeighted(h, p, tc.K)} {
				d := oracleSpectrum(t, a)
				g := got[i]
				kind := []string{"H", "H_S", "H_p", "H_pU"}[i]
				if relErr(g.max, d.Max) > extremesTol {
					t.Errorf("%s λ_max = %.15g, dense %.15g", kind, g.max, d.Max)
				}
				if math.Abs(g.max-d.Max) > g.maxCert.Bound+1e-13*d.Max {
					t.Errorf("%s λ_max error %.3g exceeds its bound %.3g", kind, math.Abs(g.max-d.Max), g.maxCert.Bound)
				}
				singular := d.Singular()
				if singular != (tc.wantSingular || (tc.zeroP && (kind == "H_p" || kind == "H_pU"))) && kind != "H_S" {
					t.Errorf("%s: dense singular = %v, case expects %v", kind, singular, tc.wantSingular)
				}
				if singular {
					if math.Abs(g.min) > DefaultRankTol*d.Max {
						t.Errorf("%s λ_min = %.3g, dense %.3g: should be numerically zero", kind, g.min, d.Min)
					}
				} else {
					if relErr(g.min, d.Min) > extremesTol {
						t.Errorf("%s λ_min = %.15g, dense %.15g", kind, g.min, d.Min)
					}
					if math.Abs(g.min-d.Min) > g.minCert.Bound+1e-13*d.Max {
						t.Errorf("%s λ_min error %.3g exceeds its bound %.3g", kind, math.Abs(g.min-d.Min), g.minCert.Bound)
					}
				}
				for _, c := range []Certificate{g.minCert, g.maxCert} {
					if !(c.Residual >= 0) || !(c.Bound >= 0) || c.Bound > c.Residual {
						t.Errorf("%s: certificate %+v: want 0 ≤ Bound ≤ Residual", kind, c)
					}
				}
				if (g.shift > 0) != (tc.wantSingular && kind != "H_S") && kind == "H" {
					t.Errorf("%s: Cholesky shift %v; singular case %v", kind, g.shift, tc.wantSingular)
				}
				t.Logf("%s: λ_min %.6g (res %.2g, bound %.2g), λ_max %.6g (res %.2g, bound %.2g), %d products, shift %g",
					kind, g.min, g.minCert.Residual, g.minCert.Bound, g.max, g.maxCert.Residual, g.maxCert.Bound, g.iters, g.shift)
			}
		})
	}
}

func TestCertifiedExtremesCancelled(t *testing.T) {
	n, K := 30, 4
	m := n * K
	h := randomPSD(rngFor(31), m, 300)
	p := randomProbs(32, n, K)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := certifiedExtremes(ctx, h, K, p, allWants(m, K, p), 1e-12, DefaultRankTol, rngFor(33))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

// oracleSpectrum summarises gonum's mat.EigenSym eigenvalues of a, an
// oracle independent of linalg.
func oracleSpectrum(t *testing.T, a *mat.SymDense) Spectrum {
	var es mat.EigenSym
	if !es.Factorize(a, false) {
		t.Fatal("oracle EigenSym did not converge")
	}
	v := es.Values(nil)
	return Spectrum{Dim: len(v), Min: v[0], Max: v[len(v)-1], RankTol: DefaultRankTol}
}

// TestAnalyzeHonoursCtx checks that every spectral method stops on a
// cancelled Options.Ctx with an error wrapping context.Canceled.
func TestAnalyzeHonoursCtx(t *testing.T) {
	rng := rngFor(41)
	model := mlp(rng, "relu", 12, 9, 4)
	n := 30
	probe := Probe{X: randomX(rng, n, 12), Labels: randomLabels(rng, n, 4)}
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range Methods() {
		_, err := Analyze(model, probe, l, Options{Method: m, Ctx: ctx})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("method %s: err = %v, want context.Canceled", m, err)
		}
	}
}

// The numerical rank where λ_min does not certify full rank comes from
// pivotedRank (Method lanczos, and auto above DenseMax) and agrees with the
// dense path's count of eigenvalues above RankTol·λ_max: exactly on
// singular H with a clear gap (rank-deficient H, an exact zero
// probability), and near the tolerance it is either the dense count or −1
// (unknown), never a different number.
func TestPivotedRankMatchesDense(t *testing.T) {
	const n, K = 30, 4
	m := n * K
	tau := DefaultRankTol // λ_max = 1 below
	spectrum := func(rank int, extra ...float64) []float64 {
		v := make([]float64, m)
		for i := 0; i < rank; i++ {
			v[m-1-i] = math.Pow(1e-3, float64(i)/float64(rank-1))
		}
		copy(v, extra)
		return v
	}
	zeroP := randomProbs(72, n, K)
	zeroP[9] = 0
	// A subnormal probability: H_p, H_p|U singular by a Rayleigh quotient
	// (tinyWeightVector), Lanczos on their inverses would overflow.
	tinyP := randomProbs(72, n, K)
	tinyP[9] = 1e-320
	for _, tc := range []struct {
		name  string
		h     *mat.SymDense
		p     []float64
		exact bool // every rank must equal the dense one (no −1)
	}{
		{"rank 60 of 120, noise floor 0", psdWithSpectrum(rngFor(71), spectrum(60)), randomProbs(72, n, K), true},
		{"rank 100 of 120, eigenvalues 1e-14", psdWithSpectrum(rngFor(73), spectrum(100, 1e-14, 1e-14, 3e-15)), randomProbs(74, n, K), true},
		{"full-rank H, p_9 = 0", randomPSD(rngFor(75), m, 3*m), zeroP, true},
		{"rank 60 of 120, p_9 = 0", psdWithSpectrum(rngFor(76), spectrum(60)), zeroP, true},
		{"full-rank H, p_9 = 1e-320", randomPSD(rngFor(75), m, 3*m), tinyP, true},
		{"near tolerance: eigenvalues 3τ and τ/3", psdWithSpectrum(rngFor(77), spectrum(80, 3*tau, 3*tau, tau/3, tau/3)), randomProbs(78, n, K), false},
		{"near tolerance: eigenvalues 30τ and τ/30", psdWithSpectrum(rngFor(79), spectrum(80, 30*tau, tau/30)), randomProbs(80, n, K), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(method Method, denseMax int) []Spectrum {
				opts := Options{Method: method, DenseMax: denseMax}
				if err := opts.fill(); err != nil {
					t.Fatal(err)
				}
				out, err := spectraOnH(context.Background(), tc.h, K, tc.p, probeWants(m, K, tc.p), opts, func(string) {})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			dense := run(MethodDense, 0)
			for _, c := range []struct {
				label string
				got   []Spectrum
			}{{"lanczos", run(MethodLanczos, 0)}, {"auto above DenseMax", run(MethodAuto, 1)}} {
				for i, g := range c.got {
					kind, want := probeWants(m, K, tc.p)[i].kind, dense[i].Rank
					switch {
					case g.Rank == want:
					case g.Rank == -1 && !tc.exact:
						t.Logf("%s %s: rank unknown (−1) near the tolerance; dense %d of %d", c.label, kind, want, g.Dim)
					default:
						t.Errorf("%s %s: rank %d, dense %d of %d (λ_min %.3g, λ_max %.3g)", c.label, kind, g.Rank, want, g.Dim, dense[i].Min, dense[i].Max)
					}
					if g.Method != "lanczos" {
						t.Errorf("%s %s: method %q", c.label, kind, g.Method)
					}
					if d := dense[i]; g.Singular() != d.Singular() || math.Abs(g.Min-d.Min) > g.MinCert.Bound+d.MinCert.Bound+1e-9*math.Abs(d.Min) {
						t.Errorf("%s %s: λ_min %.6g (bound %.3g, singular %v), dense %.6g (bound %.3g, singular %v)", c.label, kind, g.Min, g.MinCert.Bound, g.Singular(), d.Min, d.MinCert.Bound, d.Singular())
					}
				}
			}
		})
	}
}

// Through Analyze on a model with fewer parameters than n(K−1) (H
// singular, its Cholesky factorisation fails): auto above DenseMax reports
// the dense path's ranks, from pivoted Cholesky.
func TestAnalyzePivotedRank(t *testing.T) {
	rng := rngFor(81)
	model := mlp(rng, "tanh", 3, 4, 5) // P = 41 < n(K−1) = 48
	n := 12
	probe := Probe{X: randomX(rng, n, 3), Labels: randomLabels(rng, n, 5)}
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	dense, err := Analyze(model, probe, l, Options{Method: MethodDense})
	if err != nil {
		t.Fatal(err)
	}
	auto, err := Analyze(model, probe, l, Options{DenseMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a, d *Spectrum
	}{{"H", auto.H, dense.H}, {"H_S", auto.HS, dense.HS}, {"H_p", auto.HP, dense.HP}, {"H_p|U", auto.HPU, dense.HPU}} {
		if !c.d.Singular() || c.d.Rank > 41 {
			t.Fatalf("test setup: dense %s rank %d of %d, singular %v", c.name, c.d.Rank, c.d.Dim, c.d.Singular())
		}
		if c.a.Method != "lanczos" || c.a.Rank != c.d.Rank {
			t.Errorf("%s: %s rank %d, dense rank %d of %d", c.name, c.a.Method, c.a.Rank, c.d.Rank, c.d.Dim)
		}
	}
}

func TestPivotedRankCancelled(t *testing.T) {
	const n, K = 20, 4
	m := n * K
	h := randomPSD(rngFor(91), m, 50)
	p := randomProbs(92, n, K)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, w := range probeWants(m, K, p) {
		if _, err := pivotedRank(ctx, h.RawSymmetric().Data, m, K, p, w, 1, DefaultRankTol, make([]float64, m*m), rngFor(93)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", w.kind, err)
		}
	}
}

// TestCertifiedExtremesInPlace: factoring H in its own upper triangle
// (inPlaceFactorMin ≤ m) gives the same bits as factoring a copy, on a
// positive definite H, a singular one (shifted refactorisation, pivoted
// rank) and with a zero probability, and leaves H as it was.
func TestCertifiedExtremesInPlace(t *testing.T) {
	saved := inPlaceFactorMin
	t.Cleanup(func() { inPlaceFactorMin = saved })
	for _, tc := range []struct {
		name       string
		n, K, cols int
		zeroP      bool
	}{
		{"SPD 40×4", 40, 4, 400, false},
		{"rank-deficient 25×4 rank 60", 25, 4, 60, false},
		{"probability underflow", 20, 5, 300, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.n * tc.K
			h := randomPSD(rngFor(41), m, tc.cols)
			p := randomProbs(42, tc.n, tc.K)
			if tc.zeroP {
				p[7] = 0
			}
			run := func(minOrder int) ([]extremeResult, []float64) {
				inPlaceFactorMin = minOrder
				hc := mat.NewSymDense(m, slices.Clone(h.RawSymmetric().Data))
				wants := allWants(m, tc.K, p)
				for i := range wants {
					wants[i].rank = true
				}
				res, err := certifiedExtremes(context.Background(), hc, tc.K, p, wants, 1e-12, DefaultRankTol, rngFor(43))
				if err != nil {
					t.Fatal(err)
				}
				return res, hc.RawSymmetric().Data
			}
			copied, _ := run(math.MaxInt)
			inPlace, after := run(0)
			for i, d := range h.RawSymmetric().Data {
				if math.Float64bits(after[i]) != math.Float64bits(d) {
					t.Fatalf("H[%d] = %v after the in-place factor, was %v", i, after[i], d)
				}
			}
			for i := range copied {
				if c, g := copied[i], inPlace[i]; c.min != g.min || c.max != g.max || c.minCert != g.minCert || c.maxCert != g.maxCert || c.shift != g.shift || c.rank != g.rank || c.iters != g.iters {
					t.Errorf("operator %d: in place %+v, on a copy %+v", i, g, c)
				}
			}
			t.Logf("H: shift %g, rank %d", inPlace[0].shift, inPlace[0].rank)
		})
	}
}

// TestAnalyzeSumZeroAlone: with H_S the only spectrum asked, Analyze on
// H_S compressed in H's storage (inPlaceFactorMin 0) agrees with the
// sum-zero correction through H's factor to 1e-9, certificates included.
func TestAnalyzeSumZeroAlone(t *testing.T) {
	saved := inPlaceFactorMin
	t.Cleanup(func() { inPlaceFactorMin = saved })
	rng := rngFor(61)
	model := mlp(rng, "relu", 20, 30, 10)
	n := 40
	probe := Probe{X: randomX(rng, n, 20), Labels: randomLabels(rng, n, 10)}
	run := func(minOrder int) *Spectrum {
		inPlaceFactorMin = minOrder
		rep, err := Analyze(model, probe, loss.Softmax{}, Options{Spectra: []string{"H_S"}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.H != nil || rep.HP != nil || rep.HPU != nil || rep.HS == nil {
			t.Fatalf("spectra H %v, H_S %v, H_p %v, H_p|U %v: want H_S alone", rep.H, rep.HS, rep.HP, rep.HPU)
		}
		return rep.HS
	}
	ref, got := run(math.MaxInt), run(0)
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"λ_min", got.Min, ref.Min}, {"λ_max", got.Max, ref.Max}, {"trace", got.Trace, ref.Trace}} {
		if relErr(c.got, c.want) > 1e-9 {
			t.Errorf("H_S %s = %.15g compressed in place, %.15g through H's factor", c.what, c.got, c.want)
		}
	}
	if got.Dim != ref.Dim || got.Rank != ref.Rank || got.Method != ref.Method {
		t.Errorf("dim %d rank %d method %s, want %d %d %s", got.Dim, got.Rank, got.Method, ref.Dim, ref.Rank, ref.Method)
	}
	for _, c := range []Certificate{got.MinCert, got.MaxCert} {
		if !(c.Residual > 0) || !(c.Bound >= 0) || c.Bound > c.Residual {
			t.Errorf("certificate %+v: want 0 ≤ Bound ≤ Residual, Residual > 0", c)
		}
	}
	if math.Abs(got.Min-ref.Min) > got.MinCert.Bound+ref.MinCert.Bound+1e-12*ref.Max {
		t.Errorf("λ_min differs by %.3g, beyond the bounds %.3g + %.3g", math.Abs(got.Min-ref.Min), got.MinCert.Bound, ref.MinCert.Bound)
	}
}
