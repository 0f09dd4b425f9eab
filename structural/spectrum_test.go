package structural

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// lanczosTol is the agreement required between Lanczos extremes (converged
// to DefaultLanczosTol) and the dense eigen-decomposition.
const lanczosTol = 1e-8

func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// randomPSD returns G Gᵀ/cols for a dim×cols Gaussian G: rank min(dim, cols).
func randomPSD(rng *rand.Rand, dim, cols int) *mat.SymDense {
	g := mat.NewDense(dim, cols, nil)
	for i := 0; i < dim; i++ {
		for j := 0; j < cols; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var s mat.SymDense
	s.SymOuterK(1/float64(cols), g)
	// SymOuterK fills the upper triangle; store both for the parallel product.
	out := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := 0; j < dim; j++ {
			out.RawSymmetric().Data[i*dim+j] = s.At(i, j)
		}
	}
	return out
}

func TestLanczosMatchesDense(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dim, cols int
	}{
		{"SPD 200", 200, 400},
		{"SPD 60 ill-conditioned", 60, 70},
		{"rank-deficient 150 rank 40", 150, 40},
		{"tiny 3", 3, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rngFor(11)
			a := randomPSD(rng, tc.dim, tc.cols)
			d, err := DenseSpectrum(a, false)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi, it, err := LanczosExtremes(SymMul(a), tc.dim, DefaultLanczosTol, tc.dim, rng)
			if err != nil {
				t.Fatal(err)
			}
			if relErr(hi, d.Max) > lanczosTol {
				t.Errorf("λ_max: Lanczos %.15g, dense %.15g", hi, d.Max)
			}
			// A numerically zero eigenvalue (both solvers return rounding
			// noise of order eps·λ_max) must be found numerically zero.
			if d.Singular() {
				if math.Abs(lo) > DefaultRankTol*d.Max {
					t.Errorf("λ_min: Lanczos %.15g, dense %.15g: should be numerically zero", lo, d.Min)
				}
			} else if relErr(lo, d.Min) > lanczosTol {
				t.Errorf("λ_min: Lanczos %.15g, dense %.15g", lo, d.Min)
			}
			t.Logf("%d Lanczos steps for dim %d", it, tc.dim)
		})
	}
	// A non-converged run must report it.
	rng := rngFor(12)
	a := randomPSD(rng, 300, 300)
	if _, _, _, err := LanczosExtremes(SymMul(a), 300, 1e-14, 5, rng); err == nil {
		t.Error("5 Lanczos steps on a 300×300 matrix reported convergence to 1e-14")
	}
}

func TestSymMulUpperOnly(t *testing.T) {
	rng := rngFor(13)
	a := randomPSD(rng, 40, 50)
	upper := mat.NewSymDense(40, nil)
	for i := 0; i < 40; i++ {
		for j := i; j < 40; j++ {
			upper.RawSymmetric().Data[i*40+j] = a.At(i, j) // lower triangle left 0
		}
	}
	v := make([]float64, 40)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	got, want := make([]float64, 40), make([]float64, 40)
	SymMul(upper)(got, v)
	SymMul(a)(want, v)
	if d := relDiff(got, want); d > exactTol {
		t.Errorf("upper-only product differs from full product: %.3g", d)
	}
}

// explicitPi returns Π = I_n ⊗ (I_K − 11ᵀ/K) as a dense matrix.
func explicitPi(n, K int) *mat.Dense {
	p := mat.NewDense(n*K, n*K, nil)
	for i := 0; i < n; i++ {
		for a := 0; a < K; a++ {
			for b := 0; b < K; b++ {
				v := -1 / float64(K)
				if a == b {
					v++
				}
				p.Set(i*K+a, i*K+b, v)
			}
		}
	}
	return p
}

func TestProjections(t *testing.T) {
	rng := rngFor(14)
	n, K := 4, 5
	h := randomPSD(rng, n*K, 30)
	pi := explicitPi(n, K)
	var want mat.Dense
	want.Product(pi, h, pi)
	got := ProjectSumZero(h, K)
	if d := relDiff(mat.NewDense(n*K, n*K, got.RawSymmetric().Data).RawMatrix().Data, want.RawMatrix().Data); d > exactTol {
		t.Errorf("ProjectSumZero vs explicit Π H Π: %.3g", d)
	}

	// Helmert basis: VᵀV = I_{K−1} and V Vᵀ = I − 11ᵀ/K.
	v := mat.NewDense(K, K-1, nil)
	e := make([]float64, K)
	row := make([]float64, K-1)
	for k := 0; k < K; k++ {
		clear(e)
		e[k] = 1
		helmert(row, e) // row k of V is Vᵀe_k
		v.SetRow(k, row)
	}
	var vtv, vvt mat.Dense
	vtv.Mul(v.T(), v)
	vvt.Mul(v, v.T())
	for a := 0; a < K-1; a++ {
		for b := 0; b < K-1; b++ {
			w := 0.0
			if a == b {
				w = 1
			}
			if math.Abs(vtv.At(a, b)-w) > exactTol {
				t.Fatalf("VᵀV[%d,%d] = %v", a, b, vtv.At(a, b))
			}
		}
	}
	if d := relDiff(vvt.RawMatrix().Data, explicitPi(1, K).RawMatrix().Data); d > exactTol {
		t.Errorf("V Vᵀ ≠ I − 11ᵀ/K: %.3g", d)
	}

	// RestrictSumZero equals (I_n ⊗ V)ᵀ H (I_n ⊗ V).
	bigV := mat.NewDense(n*K, n*(K-1), nil)
	for i := 0; i < n; i++ {
		bigV.Slice(i*K, (i+1)*K, i*(K-1), (i+1)*(K-1)).(*mat.Dense).Copy(v)
	}
	var b mat.Dense
	b.Product(bigV.T(), h, bigV)
	r := RestrictSumZero(h, K)
	if r.SymmetricDim() != n*(K-1) {
		t.Fatalf("RestrictSumZero dimension %d, want %d", r.SymmetricDim(), n*(K-1))
	}
	if d := relDiff(r.RawSymmetric().Data, b.RawMatrix().Data); d > exactTol {
		t.Errorf("RestrictSumZero vs explicit VᵀHV: %.3g", d)
	}

	// ProbabilityWeighted equals D^{1/2} H D^{1/2}.
	p := make([]float64, n*K)
	for i := range p {
		p[i] = rng.Float64()
	}
	p[3] = 0
	dh := mat.NewDiagDense(n*K, nil)
	for i, pi := range p {
		dh.SetDiag(i, math.Sqrt(pi))
	}
	var hp mat.Dense
	hp.Product(dh, h, dh)
	if d := relDiff(ProbabilityWeighted(h, p).RawSymmetric().Data, hp.RawMatrix().Data); d > exactTol {
		t.Errorf("ProbabilityWeighted vs explicit D^½HD^½: %.3g", d)
	}
}

func TestDenseSpectrumSummaries(t *testing.T) {
	// diag(0, 1, 2, 3): rank 3, trace 6, mean 1.5, κ = ∞, floor 0.
	a := mat.NewSymDense(4, []float64{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3})
	s, err := DenseSpectrum(a, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rank != 3 || s.Trace != 6 || s.Mean != 1.5 || !math.IsInf(s.Cond, 1) || s.NormFloor != 0 || s.Max != 3 || len(s.Values) != 4 || !s.Singular() {
		t.Errorf("summary of diag(0,1,2,3): %+v", s)
	}
}

// TestHelmertRoundTrip checks helmertT against helmert: V_K has orthonormal
// columns spanning the sum-zero subspace, so Vᵀ(V y) = y and V y sums to 0.
func TestHelmertRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, K := range []int{2, 3, 10} {
		y := make([]float64, K-1)
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		x := make([]float64, K)
		helmertT(x, y)
		back := make([]float64, K-1)
		helmert(back, x)
		sum := 0.0
		for _, v := range x {
			sum += v
		}
		if d := relDiff(back, y); d > exactTol || math.Abs(sum) > exactTol {
			t.Errorf("K=%d: Vᵀ V y differs from y by %.3g, 1ᵀ V y = %.3g", K, d, sum)
		}
	}
}

// TestLockstepMatchesMaterialised runs the three operators of Analyze in lock
// step on H and compares with LanczosExtremes and the dense spectra of the
// matrices RestrictSumZero and ProbabilityWeighted materialise.
func TestLockstepMatchesMaterialised(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	model := mlp(rng, "tanh", 5, 30, 4)
	n, K := 30, 4
	h := StructuralMatrix(model, randomX(rng, n, 5))
	p := make([]float64, n*K)
	for i := range p {
		p[i] = 0.05 + rng.Float64()
	}
	ops := []hOperator{identityOp(n * K), sumZeroOp(n*K, K), weightedOp(p)}
	for _, block := range []int{1, 3, DefaultBlockSize, 8} {
		res, _ := lockstepExtremes(context.Background(), h, ops, DefaultLanczosTol, block, rand.New(rand.NewPCG(1, 1)))
		for i, a := range []*mat.SymDense{h, RestrictSumZero(h, K), ProbabilityWeighted(h, p)} {
			d, err := DenseSpectrum(a, false)
			if err != nil {
				t.Fatal(err)
			}
			r := res[i]
			if r.err != nil {
				t.Fatalf("operator %d: %v", i, r.err)
			}
			if relErr(r.lo, d.Min) > lanczosTol || relErr(r.hi, d.Max) > lanczosTol {
				t.Errorf("block %d, operator %d: lock step [%.12g, %.12g], dense [%.12g, %.12g]", block, i, r.lo, r.hi, d.Min, d.Max)
			}
			kind := []string{"H", "H_S", "H_p"}[i]
			if tr := opTrace(h, kind, K, p); relErr(tr, d.Trace) > exactTol {
				t.Errorf("%s: trace %.15g, materialised %.15g", kind, tr, d.Trace)
			}
		}
	}
}

// blockMul adapts a one-vector product to BlockLanczosExtremes.
func blockMul(mul func(dst, v []float64)) func(dst, src [][]float64) {
	return func(dst, src [][]float64) {
		for c := range src {
			mul(dst[c], src[c])
		}
	}
}

// TestBlockLanczosMatchesDense checks BlockLanczosExtremes against the dense
// spectrum for several block sizes, including a rank-deficient matrix (where
// blocks deflate), an exactly low-rank one whose Krylov space becomes
// invariant, block sizes beyond the dimension, and a non-converged run.
func TestBlockLanczosMatchesDense(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dim, cols int
	}{
		{"SPD 200", 200, 400},
		{"SPD 60 ill-conditioned", 60, 70},
		{"rank-deficient 150 rank 40", 150, 40},
		{"rank 3 in 50", 50, 3},
		{"tiny 3", 3, 5},
	} {
		for _, block := range []int{1, 2, 4, DefaultBlockSize, 8} {
			t.Run(fmt.Sprintf("%s/block=%d", tc.name, block), func(t *testing.T) {
				rng := rngFor(11)
				a := randomPSD(rng, tc.dim, tc.cols)
				d, err := DenseSpectrum(a, false)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi, it, steps, err := BlockLanczosExtremes(blockMul(SymMul(a)), tc.dim, block, DefaultLanczosTol, tc.dim, rng)
				if err != nil {
					t.Fatal(err)
				}
				if relErr(hi, d.Max) > lanczosTol {
					t.Errorf("λ_max: block Lanczos %.15g, dense %.15g", hi, d.Max)
				}
				if d.Singular() {
					if math.Abs(lo) > DefaultRankTol*d.Max {
						t.Errorf("λ_min: block Lanczos %.15g, dense %.15g: should be numerically zero", lo, d.Min)
					}
				} else if relErr(lo, d.Min) > lanczosTol {
					t.Errorf("λ_min: block Lanczos %.15g, dense %.15g", lo, d.Min)
				}
				if it > tc.dim+block || steps > it {
					t.Errorf("%d vectors in %d steps for dim %d", it, steps, tc.dim)
				}
				t.Logf("%d vectors, %d block steps for dim %d", it, steps, tc.dim)
			})
		}
	}
	rng := rngFor(12)
	a := randomPSD(rng, 300, 300)
	_, _, _, _, err := BlockLanczosExtremes(blockMul(SymMul(a)), 300, 4, 1e-14, 12, rng)
	if !errors.Is(err, ErrNotConverged) {
		t.Errorf("12 vectors on a 300×300 matrix: err = %v, want ErrNotConverged", err)
	}
	for _, bad := range []struct{ dim, block, maxIter int }{{0, 4, 10}, {10, 0, 10}, {10, 4, 0}} {
		if _, _, _, _, err := BlockLanczosExtremes(blockMul(SymMul(a)), bad.dim, bad.block, 1e-10, bad.maxIter, rng); err == nil {
			t.Errorf("dim %d block %d maxIter %d: no error", bad.dim, bad.block, bad.maxIter)
		}
	}
}

// TestMulRowsUpperOnly checks the lock-step product (fused four-row panels
// and the Ddot/Daxpy remainder) against an explicit symmetric product, for
// sizes that do and do not divide into panels and worker ranges, with
// garbage in the lower triangle that must never be read.
func TestMulRowsUpperOnly(t *testing.T) {
	rng := rngFor(31)
	for _, m := range []int{1, 3, 4, 7, 130, 257} {
		h := make([]float64, m*m)
		sym := make([]float64, m*m)
		for r := 0; r < m; r++ {
			for c := r; c < m; c++ {
				v := rng.NormFloat64()
				h[r*m+c], sym[r*m+c], sym[c*m+r] = v, v, v
			}
			for c := 0; c < r; c++ {
				h[r*m+c] = math.NaN()
			}
		}
		us, ys := make([][]float64, 3), make([][]float64, 3)
		for j := range us {
			us[j], ys[j] = make([]float64, m), make([]float64, m)
			for i := range us[j] {
				us[j][i] = rng.NormFloat64()
			}
		}
		mulRows(h, m, us, ys)
		for j := range us {
			want := make([]float64, m)
			for r := 0; r < m; r++ {
				want[r] = dot(sym[r*m:(r+1)*m], us[j])
			}
			if d := relDiff(ys[j], want); !(d <= 1e-13) {
				t.Errorf("m = %d, vector %d: rel diff %.3g", m, j, d)
			}
		}
	}
}

// TestRestrictSumZeroInPlace: the compression in H's own storage equals
// RestrictSumZero to rounding (it keeps the upper triangle's values where
// RestrictSumZero averages both), with the buffer forcing chunks of one,
// three and every block row.
func TestRestrictSumZeroInPlace(t *testing.T) {
	saved := sumZeroInPlaceBuffer
	t.Cleanup(func() { sumZeroInPlaceBuffer = saved })
	for _, tc := range []struct{ n, K int }{{7, 2}, {12, 5}, {30, 10}} {
		m := tc.n * tc.K
		h := randomPSD(rngFor(51), m, m/2+3)
		want := RestrictSumZero(h, tc.K)
		d := want.SymmetricDim()
		scale := 0.0
		for _, v := range want.RawSymmetric().Data {
			scale = math.Max(scale, math.Abs(v))
		}
		for _, rows := range []int{1, 3, tc.n} {
			sumZeroInPlaceBuffer = rows * (tc.K - 1) * d
			hc := mat.NewSymDense(m, slices.Clone(h.RawSymmetric().Data))
			got, err := restrictSumZeroInPlace(context.Background(), hc, tc.K)
			if err != nil {
				t.Fatal(err)
			}
			if got.SymmetricDim() != d {
				t.Fatalf("dimension %d, want %d", got.SymmetricDim(), d)
			}
			g, w := got.RawSymmetric().Data, want.RawSymmetric().Data
			for i := 0; i < d; i++ {
				for j := 0; j < d; j++ {
					if g[i*d+j] != g[j*d+i] {
						t.Fatalf("n=%d K=%d chunk %d: B[%d,%d] = %v ≠ B[%d,%d] = %v", tc.n, tc.K, rows, i, j, g[i*d+j], j, i, g[j*d+i])
					}
					if math.Abs(g[i*d+j]-w[i*d+j]) > 1e-14*scale {
						t.Fatalf("n=%d K=%d chunk %d: B[%d,%d] = %v, RestrictSumZero %v", tc.n, tc.K, rows, i, j, g[i*d+j], w[i*d+j])
					}
				}
			}
		}
	}
}
