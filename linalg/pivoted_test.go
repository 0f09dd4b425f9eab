package linalg

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// spectrumMatrix returns Q diag(vals) Qᵀ (both triangles, row-major) for a
// random orthogonal Q from the QR factorisation of a Gaussian matrix.
func spectrumMatrix(rng *rand.Rand, vals []float64) []float64 {
	n := len(vals)
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, a mat.Dense
	qr.QTo(&q)
	a.Mul(&q, mat.NewDiagDense(n, vals))
	a.Mul(&a, q.T())
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out[i*n+j] = 0.5 * (a.At(i, j) + a.At(j, i))
		}
	}
	return out
}

// oracleRank counts gonum's dense eigenvalues of a above tol (an oracle
// independent of this package).
func oracleRank(t *testing.T, n int, a []float64, tol float64) (int, []float64) {
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), a...)), false) {
		t.Fatal("oracle EigenSym did not converge")
	}
	v := es.Values(nil)
	r := 0
	for _, x := range v {
		if x > tol {
			r++
		}
	}
	return r, v
}

// TestPivotedCholeskyRank checks PivotedCholesky on matrices of known rank
// and spectrum against gonum's eigenvalues: the rank, the reconstruction
// PᵀAP = [U₁₁ U₁₂]ᵀ[U₁₁ U₁₂] + (0 ⊕ S), non-increasing pivots and
// max diag(S) ≤ tol, with the unblocked and the blocked panel paths.
func TestPivotedCholeskyRank(t *testing.T) {
	defer func(b int) { pivBlock = b }(pivBlock)
	type tc struct {
		name string
		vals []float64
		tol  float64
		rank int
	}
	geometric := func(n, rank int, lo float64) []float64 {
		v := make([]float64, n)
		for i := 0; i < rank; i++ {
			v[i] = math.Pow(lo, float64(i)/float64(max(1, rank-1)))
		}
		return v
	}
	var cases []tc
	for _, n := range []int{1, 7, 40, 131} {
		for _, r := range []int{0, 1, n / 3, n - 1, n} {
			if r < 0 || r > n {
				continue
			}
			cases = append(cases, tc{name: "rank", vals: geometric(n, r, 1e-4), tol: 1e-10 * float64(n), rank: r})
		}
	}
	// A gap of 10⁴ on each side of the tolerance: the rank is clear-cut.
	gap := geometric(90, 90, 1e-8)
	for i := range gap {
		if i >= 50 {
			gap[i] *= 1e-12
		}
	}
	cases = append(cases, tc{name: "noise floor 1e-20", vals: gap, tol: 1e-10, rank: 50})
	for _, bs := range []int{64, 5} {
		pivBlock = bs
		for _, c := range cases {
			n := len(c.vals)
			rng := rand.New(rand.NewPCG(uint64(n), uint64(c.rank)))
			a := spectrumMatrix(rng, c.vals)
			want, _ := oracleRank(t, n, a, c.tol)
			if want != c.rank {
				t.Fatalf("test setup %s n=%d: oracle rank %d, constructed %d", c.name, n, want, c.rank)
			}
			f := append([]float64(nil), a...)
			piv := make([]int, n)
			k, err := PivotedCholesky(context.Background(), n, f, n, piv, c.tol)
			if err != nil {
				t.Fatal(err)
			}
			if k != want {
				t.Errorf("block %d %s n=%d: rank %d, oracle %d", bs, c.name, n, k, want)
			}
			checkPivotedFactor(t, n, a, f, piv, k, c.tol)
		}
	}
}

// checkPivotedFactor verifies the factor, permutation and Schur complement.
func checkPivotedFactor(t *testing.T, n int, a, f []float64, piv []int, k int, tol float64) {
	t.Helper()
	seen := make([]bool, n)
	for _, p := range piv[:n] {
		if p < 0 || p >= n || seen[p] {
			t.Fatalf("piv %v is not a permutation", piv[:n])
		}
		seen[p] = true
	}
	norm := 0.0
	for _, v := range a {
		norm = math.Max(norm, math.Abs(v))
	}
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			s := 0.0
			for r := 0; r < min(i+1, k); r++ {
				s += f[r*n+i] * f[r*n+j]
			}
			if i >= k {
				s += f[i*n+j]
			}
			if d := math.Abs(s - a[piv[i]*n+piv[j]]); d > 1e-12*float64(n)*norm {
				t.Fatalf("n=%d rank %d: (UᵀU + 0⊕S)[%d,%d] = %.15g, (PᵀAP) = %.15g", n, k, i, j, s, a[piv[i]*n+piv[j]])
			}
		}
	}
	for i := 1; i < k; i++ {
		if f[i*n+i] > f[(i-1)*n+i-1]*(1+1e-12) {
			t.Errorf("n=%d: pivot %d = %.6g above pivot %d = %.6g", n, i, f[i*n+i], i-1, f[(i-1)*n+i-1])
		}
	}
	for i := k; i < n; i++ {
		if f[i*n+i] > tol {
			t.Errorf("n=%d rank %d: Schur diagonal %d = %.3g > tol %.3g", n, k, i, f[i*n+i], tol)
		}
	}
}

func TestPivotedCholeskyErrors(t *testing.T) {
	ctx := context.Background()
	a := []float64{4, 2, 2, 3}
	if _, err := PivotedCholesky(ctx, -1, a, 2, make([]int, 2), 0); err == nil {
		t.Error("n < 0 accepted")
	}
	if _, err := PivotedCholesky(ctx, 3, a, 3, make([]int, 3), 0); err == nil {
		t.Error("short a accepted")
	}
	if _, err := PivotedCholesky(ctx, 2, a, 2, make([]int, 1), 0); err == nil {
		t.Error("short piv accepted")
	}
	if _, err := PivotedCholesky(ctx, 2, a, 2, make([]int, 2), math.NaN()); err == nil {
		t.Error("NaN tolerance accepted")
	}
	if _, err := PivotedCholesky(ctx, 2, []float64{1, 0, 0, math.NaN()}, 2, make([]int, 2), 0); err == nil {
		t.Error("NaN diagonal accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := PivotedCholesky(cctx, 2, a, 2, make([]int, 2), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if k, err := PivotedCholesky(ctx, 0, nil, 0, nil, 0); k != 0 || err != nil {
		t.Errorf("n = 0: %d, %v", k, err)
	}
}

// The factor, pivots and rank do not depend on GOMAXPROCS (Syrk splits
// its work deterministically).
func TestPivotedCholeskyGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const n = 300
	vals := make([]float64, n)
	for i := 0; i < 200; i++ {
		vals[i] = math.Pow(1e-6, float64(i)/199)
	}
	a := spectrumMatrix(rand.New(rand.NewPCG(3, 4)), vals)
	var wantF []float64
	var wantP []int
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		f := append([]float64(nil), a...)
		piv := make([]int, n)
		k, err := PivotedCholesky(context.Background(), n, f, n, piv, 1e-12)
		if err != nil || k != 200 {
			t.Fatalf("GOMAXPROCS %d: rank %d, %v", procs, k, err)
		}
		if wantF == nil {
			wantF, wantP = f, piv
			continue
		}
		for i := range f {
			if f[i] != wantF[i] {
				t.Fatalf("GOMAXPROCS %d: factor[%d] = %v, GOMAXPROCS 1 %v", procs, i, f[i], wantF[i])
			}
		}
		for i := range piv {
			if piv[i] != wantP[i] {
				t.Fatalf("GOMAXPROCS %d: piv[%d] = %d, GOMAXPROCS 1 %d", procs, i, piv[i], wantP[i])
			}
		}
	}
}
