package structural

import (
	"context"
	"errors"
	"math"
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
