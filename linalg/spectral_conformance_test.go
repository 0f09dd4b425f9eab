package linalg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/linalg/internal/sb2st"
)

// Conformance suite of the eigenvalue and Cholesky seam: every case runs
// against the routine the build installs (pure Go, or LAPACK with -tags
// openblas) and against the pure-Go one, with gonum's LAPACK as the oracle.

// backwardTol scales n·ε·‖A‖_F: a backward-stable eigensolver or Cholesky
// factorisation errs by a modest multiple of it (Golub and Van Loan §8.3,
// Higham §10.1); 64 leaves room for the blocked summation orders.
const backwardTol = 64 * 0x1p-52

// testMatrix is a symmetric test matrix with its known spectrum, if any.
type testMatrix struct {
	name string
	n    int
	a    []float64 // full, row-major
	want []float64 // ascending eigenvalues, nil when only the oracle knows
}

// withSpectrum returns Q diag(vals) Qᵀ for a random orthogonal Q (product
// of Householder reflections).
func withSpectrum(rnd *rand.Rand, vals []float64) []float64 {
	n := len(vals)
	a := make([]float64, n*n)
	for i, v := range vals {
		a[i*n+i] = v
	}
	v := make([]float64, n)
	for k := 0; k < 3; k++ {
		for i := range v {
			v[i] = rnd.NormFloat64()
		}
		nv := 0.0
		for _, x := range v {
			nv += x * x
		}
		// A ← (I − 2vvᵀ/vᵀv) A (I − 2vvᵀ/vᵀv)
		av := make([]float64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				av[i] += a[i*n+j] * v[j]
			}
		}
		vav := 0.0
		for i := range v {
			vav += v[i] * av[i]
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				a[i*n+j] += -2*(v[i]*av[j]+av[i]*v[j])/nv + 4*vav*v[i]*v[j]/(nv*nv)
			}
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			m := 0.5 * (a[i*n+j] + a[j*n+i])
			a[i*n+j], a[j*n+i] = m, m
		}
	}
	return a
}

func testMatrices(rnd *rand.Rand) []testMatrix {
	var out []testMatrix
	// Orders around the default bandwidth 32 and its multiples, and
	// below and above the small-block bandwidth 5.
	for _, n := range []int{1, 2, 3, 4, 5, 6, 17, 31, 32, 33, 65, 95, 96, 97, 150, 311} {
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := 2*rnd.Float64() - 1
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		out = append(out, testMatrix{name: "random", n: n, a: a})
	}
	for _, n := range []int{4, 60, 200} {
		// Second difference: λ_j = 2 − 2cos(jπ/(n+1)).
		a := make([]float64, n*n)
		want := make([]float64, n)
		for i := 0; i < n; i++ {
			a[i*n+i] = 2
			if i+1 < n {
				a[i*n+i+1], a[(i+1)*n+i] = -1, -1
			}
			want[i] = 2 - 2*math.Cos(float64(i+1)*math.Pi/float64(n+1))
		}
		out = append(out, testMatrix{name: "second difference", n: n, a: a, want: want})
	}
	for _, n := range []int{40, 180} {
		graded := make([]float64, n)
		for i := range graded {
			graded[i] = math.Pow(10, -12*float64(i)/float64(n-1))
		}
		clustered := make([]float64, n)
		for i := range clustered {
			clustered[i] = 1 + 1e-10*float64(i%3)
			if i == n-1 {
				clustered[i] = 7
			}
		}
		singular := make([]float64, n) // PSD, rank n/2
		for i := n / 2; i < n; i++ {
			singular[i] = float64(i)
		}
		multiple := make([]float64, n) // three eigenvalues, each of multiplicity ≈ n/3
		for i := range multiple {
			multiple[i] = float64(i%3) - 1
		}
		for _, c := range []struct {
			name string
			vals []float64
		}{{"graded", graded}, {"clustered", clustered}, {"singular", singular}, {"multiple", multiple}} {
			want := slices.Clone(c.vals)
			slices.Sort(want)
			out = append(out, testMatrix{name: c.name, n: n, a: withSpectrum(rnd, c.vals), want: want})
		}
	}
	for _, n := range []int{70, 257} {
		// JJᵀ with J n×(n/7): positive semidefinite of rank n/7, as the
		// structural matrices H = JJᵀ with fewer parameters than outputs.
		r := n / 7
		j := make([]float64, n*r)
		for i := range j {
			j[i] = rnd.NormFloat64()
		}
		a := make([]float64, n*n)
		for p := 0; p < n; p++ {
			for q := p; q < n; q++ {
				s := 0.0
				for k := 0; k < r; k++ {
					s += j[p*r+k] * j[q*r+k]
				}
				a[p*n+q], a[q*n+p] = s, s
			}
		}
		out = append(out, testMatrix{name: "JJᵀ rank-deficient", n: n, a: a})
	}
	return out
}

func frobenius(a []float64) float64 {
	s := 0.0
	for _, v := range a {
		s += v * v
	}
	return math.Sqrt(s)
}

// oracleEigenvalues returns gonum's Dsyev eigenvalues of the full matrix a.
func oracleEigenvalues(n int, a []float64) []float64 {
	c := slices.Clone(a)
	w := make([]float64, n)
	var impl lapackgonum.Implementation
	var q [1]float64
	impl.Dsyev(lapack.EVNone, blas.Upper, n, c, n, w, q[:], -1)
	work := make([]float64, int(q[0]))
	if !impl.Dsyev(lapack.EVNone, blas.Upper, n, c, n, w, work, len(work)) {
		panic("oracle Dsyev did not converge")
	}
	return w
}

// withSmallBlocks runs f with the tridiagonalisation, Cholesky and solve
// blocks shrunk so that small matrices cross every block boundary.
func withSmallBlocks(t *testing.T, f func()) {
	tb, cb, ci, sb := tridiagBlock, cholBlock, cholInner, trsmBlock
	bw, wbw, wtbw, mb := bandWidth, wideBandWidth, widestBandWidth, symmBlock
	tridiagBlock, cholBlock, cholInner, trsmBlock = 5, 13, 4, 7
	bandWidth, wideBandWidth, widestBandWidth, symmBlock = 5, 5, 5, 12
	t.Cleanup(func() {
		tridiagBlock, cholBlock, cholInner, trsmBlock = tb, cb, ci, sb
		bandWidth, wideBandWidth, widestBandWidth, symmBlock = bw, wbw, wtbw, mb
	})
	f()
}

type eigenSolver struct {
	name string
	f    func(ctx context.Context, n int, a, w []float64) error
}

var eigenSolvers = []eigenSolver{
	{"SymEigenvalues", SymEigenvalues},
	{"SymEigenvaluesGo", SymEigenvaluesGo},
	{"SymEigen", func(_ context.Context, n int, a, w []float64) error { return SymEigen(n, a, w, false) }},
	{"oneStage", func(ctx context.Context, n int, a, w []float64) error { return symEigenvaluesGo(ctx, n, a, w, false) }},
	{"twoStage", func(ctx context.Context, n int, a, w []float64) error { return symEigenvaluesGo(ctx, n, a, w, true) }},
}

func TestSymEigenvaluesConformance(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	mats := testMatrices(rnd)
	run := func(t *testing.T, blocks string) {
		for _, s := range eigenSolvers {
			for _, m := range mats {
				a := slices.Clone(m.a)
				for i := 0; i < m.n; i++ {
					for j := 0; j < i; j++ {
						a[i*m.n+j] = math.NaN() // the lower triangle must not be read
					}
				}
				w := make([]float64, m.n)
				if err := s.f(context.Background(), m.n, a, w); err != nil {
					t.Fatalf("%s %s n=%d (%s blocks): %v", s.name, m.name, m.n, blocks, err)
				}
				want := m.want
				if want == nil {
					want = oracleEigenvalues(m.n, m.a)
				}
				tol := backwardTol * float64(m.n) * frobenius(m.a)
				for i := range w {
					if math.Abs(w[i]-want[i]) > tol {
						t.Errorf("%s %s n=%d (%s blocks): λ_%d = %.17g, want %.17g (|Δ| %.3g > %.3g)",
							s.name, m.name, m.n, blocks, i, w[i], want[i], math.Abs(w[i]-want[i]), tol)
						break
					}
				}
			}
		}
	}
	run(t, "default")
	func() {
		// The wide band on the test orders (48 wide from n = 150), with
		// bandSymm's tiles small enough that its kernel runs.
		defer func(m, b int) { wideBandMin, symmBlock = m, b }(wideBandMin, symmBlock)
		wideBandMin, symmBlock = 150, 60
		run(t, "wide band")
	}()
	func() {
		// The widest band (64 wide from n = 150).
		defer func(m, b int) { widestBandMin, symmBlock = m, b }(widestBandMin, symmBlock)
		widestBandMin, symmBlock = 150, 60
		run(t, "widest band")
	}()
	withSmallBlocks(t, func() { run(t, "small") })
	if sb2st.Built {
		// The bulge chasing's Go loops, which other CPUs and -tags purego run.
		bandAsmAllowed = false
		t.Cleanup(func() { bandAsmAllowed = true })
		run(t, "default, Go bulge chasing")
		withSmallBlocks(t, func() { run(t, "small, Go bulge chasing") })
	}
}

// TestBandKernels checks the bulge chasing's kernels, assembly and Go, on
// random blocks of every size up to past two bandwidths (tails of the
// 8-element chunks included) against a plain sum of the formula each
// implements, to ε times the sizes summed.
func TestBandKernels(t *testing.T) {
	rnd := rand.New(rand.NewPCG(31, 32))
	normal := func(n int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rnd.NormFloat64()
		}
		return x
	}
	const tol = 1e-13 // ≈ 100ε: sums of ≤ 70 products of N(0,1) values
	check := func(what string, got, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(got[i]-want[i]) > tol*math.Max(1, math.Abs(want[i])) {
				t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for _, asm := range []bool{false, sb2st.Built && kernel64 != nil && kernel64.mr == 12} {
		bm := bandMatrix{asm: asm}
		for _, rows := range []int{1, 2, 7, 8, 9, 16, 31, 32, 33, 64, 70} {
			for _, cols := range []int{1, 3, 4, 5, 32, 33} {
				ldb := rows + 3
				b0 := normal(cols * ldb)
				v := normal(max(rows, cols))
				tau := rnd.Float64()
				name := fmt.Sprintf("asm=%v rows=%d cols=%d", asm, rows, cols)
				// rightReflect: B − τ(Bv)vᵀ.
				want := slices.Clone(b0)
				for p := 0; p < rows; p++ {
					s := 0.0
					for q := 0; q < cols; q++ {
						s += b0[q*ldb+p] * v[q]
					}
					for q := 0; q < cols; q++ {
						want[q*ldb+p] -= tau * s * v[q]
					}
				}
				got := slices.Clone(b0)
				bm.rightReflect(rows, cols, got, ldb, v, tau, make([]float64, rows))
				check("rightReflect "+name, got, want)
				// leftReflect: B − τv(vᵀB).
				want = slices.Clone(b0)
				for q := 0; q < cols; q++ {
					s := 0.0
					for p := 0; p < rows; p++ {
						s += v[p] * b0[q*ldb+p]
					}
					for p := 0; p < rows; p++ {
						want[q*ldb+p] -= tau * s * v[p]
					}
				}
				got = slices.Clone(b0)
				bm.leftReflect(rows, cols, got, ldb, v, tau)
				check("leftReflect "+name, got, want)
				if asm {
					// GerDotAxpyCols: B + αyxᵀ, then (I − τuuᵀ) times that.
					x, y, u := normal(cols), normal(rows), normal(rows)
					alpha := rnd.NormFloat64()
					want = slices.Clone(b0)
					for q := 0; q < cols; q++ {
						col := want[q*ldb : q*ldb+rows]
						s := 0.0
						for p := range col {
							col[p] += alpha * x[q] * y[p]
							s += u[p] * col[p]
						}
						for p := range col {
							col[p] -= tau * s * u[p]
						}
					}
					got = slices.Clone(b0)
					sb2st.GerDotAxpyCols(rows, cols, &got[0], ldb, &x[0], &y[0], alpha, &u[0], tau)
					check("GerDotAxpyCols "+name, got, want)
				}
			}
			// symReflect: HDH on the lower triangle, H = I − τvvᵀ.
			m, ldd := rows, rows+5
			d0 := normal(m * ldd)
			v := normal(m)
			tau := rnd.Float64()
			full := func(p, q int) float64 { return d0[min(p, q)*ldd+max(p, q)] }
			hd := make([]float64, m*m) // H·D, row-major
			for p := 0; p < m; p++ {
				for q := 0; q < m; q++ {
					s := 0.0
					for r := 0; r < m; r++ {
						s += v[r] * full(r, q)
					}
					hd[p*m+q] = full(p, q) - tau*v[p]*s
				}
			}
			want := slices.Clone(d0)
			for p := 0; p < m; p++ {
				for q := p; q < m; q++ {
					s := 0.0
					for r := 0; r < m; r++ {
						s += hd[q*m+r] * v[r]
					}
					want[p*ldd+q] = hd[q*m+p] - tau*s*v[p]
				}
			}
			got := slices.Clone(d0)
			bm.symReflect(m, got, ldd, v, tau, make([]float64, m))
			for p := 0; p < m; p++ {
				for q := p; q < m; q++ {
					if d := math.Abs(got[p*ldd+q] - want[p*ldd+q]); d > tol*float64(m) {
						t.Fatalf("symReflect asm=%v m=%d: (%d,%d) = %v, want %v", asm, m, q, p, got[p*ldd+q], want[p*ldd+q])
					}
				}
				for q := 0; q < p; q++ {
					if got[p*ldd+q] != d0[p*ldd+q] {
						t.Fatalf("symReflect asm=%v m=%d: wrote (%d,%d) above the diagonal", asm, m, q, p)
					}
				}
			}
		}
	}
}

// TestSymEigenvaluesTwoStageDeterministic: the two-stage reduction gives
// the same bits on one goroutine as on several (the band reduction's tasks
// own their outputs, summed in a fixed order).
func TestSymEigenvaluesTwoStageDeterministic(t *testing.T) {
	defer func(m, b int) { bandCopyMin, symmBlock = m, b }(bandCopyMin, symmBlock)
	// The band reduction's copies and sums on every goroutine, bandSymm's
	// column parts from several blocks.
	bandCopyMin, symmBlock = 1, 60
	rnd := rand.New(rand.NewPCG(21, 22))
	n := 400
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			a[i*n+j] = rnd.NormFloat64()
		}
	}
	var got [][]float64
	for _, procs := range []int{1, 2, 3} {
		prev := runtime.GOMAXPROCS(procs)
		w := make([]float64, n)
		err := symEigenvaluesGo(context.Background(), n, slices.Clone(a), w, true)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	for k := 1; k < len(got); k++ {
		if !slices.Equal(got[0], got[k]) {
			t.Fatalf("run %d differs from run 0", k)
		}
	}
	// Without the band reduction's look-ahead: the same eigenvalues to the
	// conformance tolerance.
	lookAhead = false
	defer func() { lookAhead = true }()
	w := make([]float64, n)
	if err := symEigenvaluesGo(context.Background(), n, slices.Clone(a), w, true); err != nil {
		t.Fatal(err)
	}
	tol := backwardTol * float64(n) * frobenius(a)
	for i := range w {
		if math.Abs(w[i]-got[0][i]) > tol {
			t.Fatalf("without look-ahead λ_%d = %.17g, with %.17g", i, w[i], got[0][i])
		}
	}
}

func TestSymEigenvaluesErrors(t *testing.T) {
	ctx := context.Background()
	if err := SymEigenvaluesGo(ctx, 3, make([]float64, 8), make([]float64, 3)); err == nil {
		t.Error("short a: no error")
	}
	a := []float64{1, math.Inf(1), 0, 1}
	for _, s := range withCtx(eigenSolvers) {
		if err := s.f(ctx, 2, slices.Clone(a), make([]float64, 2)); err == nil {
			t.Errorf("%s: +Inf entry: no error", s.name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	n := 300
	big := make([]float64, n*n)
	for i := range n {
		big[i*n+i] = 1
	}
	bm := bandFromRows(n, 8, big, n)
	if err := bm.tridiagonalize(cancelled, make([]float64, n), make([]float64, n)); !errors.Is(err, context.Canceled) {
		t.Errorf("bulge chasing: cancelled context: err = %v, want context.Canceled", err)
	}
	for _, s := range withCtx(eigenSolvers) {
		err := s.f(cancelled, n, slices.Clone(big), make([]float64, n))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context: err = %v, want context.Canceled", s.name, err)
		}
	}
}

// withCtx drops the solvers that take no context.
func withCtx(solvers []eigenSolver) []eigenSolver {
	return slices.DeleteFunc(slices.Clone(solvers), func(s eigenSolver) bool { return s.name == "SymEigen" })
}

var choleskies = []struct {
	name string
	f    func(ctx context.Context, n int, a []float64, lda int) error
}{{"Cholesky", Cholesky}, {"CholeskyGo", CholeskyGo}}

var solvers = []struct {
	name     string
	lower, u func(n, r int, u []float64, ldu int, b []float64, ldb int)
}{{"SolveUpper", SolveUpperT, SolveUpper}, {"SolveUpperGo", SolveUpperTGo, SolveUpperGo}}

// spd returns a random symmetric positive definite n×n matrix, stored with
// stride lda, with eigenvalues in [1, cond].
func spd(rnd *rand.Rand, n, lda int, cond float64) (full, strided []float64) {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.Pow(cond, rnd.Float64())
	}
	full = withSpectrum(rnd, vals)
	strided = make([]float64, (n-1)*lda+n)
	for i := range strided {
		strided[i] = math.NaN()
	}
	for i := 0; i < n; i++ {
		copy(strided[i*lda+i:i*lda+n], full[i*n+i:i*n+n])
	}
	return full, strided
}

func TestCholeskyConformance(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	run := func(t *testing.T, blocks string) {
		for _, c := range choleskies {
			for _, n := range []int{1, 2, 9, 13, 14, 40, 200, 450} {
				for _, lda := range []int{n, n + 3} {
					full, a := spd(rnd, n, lda, 1e6)
					if err := c.f(context.Background(), n, a, lda); err != nil {
						t.Fatalf("%s n=%d lda=%d (%s blocks): %v", c.name, n, lda, blocks, err)
					}
					// ‖UᵀU − A‖ entrywise against backwardTol·n·‖A‖_F.
					tol := backwardTol * float64(n) * frobenius(full)
					worst := 0.0
					for i := 0; i < n; i++ {
						for j := i; j < n; j++ {
							s := 0.0
							for p := 0; p <= i; p++ {
								s += a[p*lda+i] * a[p*lda+j]
							}
							worst = math.Max(worst, math.Abs(s-full[i*n+j]))
						}
						for j := 0; j < i; j++ {
							if !math.IsNaN(a[i*lda+j]) {
								t.Fatalf("%s n=%d: lower entry (%d,%d) written", c.name, n, i, j)
							}
						}
					}
					if worst > tol {
						t.Errorf("%s n=%d lda=%d (%s blocks): max |UᵀU − A| = %.3g > %.3g", c.name, n, lda, blocks, worst, tol)
					}
				}
			}
		}
	}
	run(t, "default")
	func() {
		// The wide band on the test orders (48 wide from n = 150), with
		// bandSymm's tiles small enough that its kernel runs.
		defer func(m, b int) { wideBandMin, symmBlock = m, b }(wideBandMin, symmBlock)
		wideBandMin, symmBlock = 150, 60
		run(t, "wide band")
	}()
	withSmallBlocks(t, func() { run(t, "small") })
}

func TestCholeskyNotPositiveDefinite(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	n := 60
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = float64(i + 1)
	}
	vals[17] = -0.5
	a := withSpectrum(rnd, vals)
	for _, c := range choleskies {
		err := c.f(context.Background(), n, slices.Clone(a), n)
		var npd *NotPositiveDefiniteError
		if !errors.As(err, &npd) {
			t.Errorf("%s: indefinite matrix: err = %v, want *NotPositiveDefiniteError", c.name, err)
		}
		// The oracle fails at the same pivot.
		b := slices.Clone(a)
		if (lapackgonum.Implementation{}).Dpotrf(blas.Upper, n, b, n) {
			t.Fatal("oracle Dpotrf factored an indefinite matrix")
		}
		if npd != nil && !(npd.Pivot <= 0 || math.IsNaN(npd.Pivot)) {
			t.Errorf("%s: reported pivot %v is positive", c.name, npd.Pivot)
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, s := spd(rnd, 300, 300, 10)
	for _, c := range choleskies {
		if err := c.f(cancelled, 300, slices.Clone(s), 300); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context: err = %v, want context.Canceled", c.name, err)
		}
	}
}

func TestTriangularSolves(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	run := func(t *testing.T, blocks string) {
		for _, n := range []int{1, 7, 8, 30, 300} {
			for _, r := range []int{1, 2, 3, 4, 20} {
				full, u := spd(rnd, n, n+1, 100)
				_ = full
				if err := CholeskyGo(context.Background(), n, u, n+1); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					for j := 0; j < i; j++ {
						u[i*(n+1)+j] = 0
					}
				}
				x := make([]float64, n*r)
				for i := range x {
					x[i] = rnd.NormFloat64()
				}
				// b1 = Uᵀx, b2 = Ux.
				ldb := r + 2
				b1, b2 := make([]float64, n*ldb), make([]float64, n*ldb)
				for i := 0; i < n; i++ {
					for q := 0; q < r; q++ {
						for p := 0; p < n; p++ {
							b1[i*ldb+q] += u[p*(n+1)+i] * x[p*r+q]
							b2[i*ldb+q] += u[i*(n+1)+p] * x[p*r+q]
						}
					}
				}
				// cond(U) ≤ 10 here, so the solves are accurate to a few hundred ulps.
				const solveTol = 1e-12
				for _, s := range solvers {
					c1, c2 := slices.Clone(b1), slices.Clone(b2)
					s.lower(n, r, u, n+1, c1, ldb)
					s.u(n, r, u, n+1, c2, ldb)
					for i := 0; i < n; i++ {
						for q := 0; q < r; q++ {
							if d := math.Abs(c1[i*ldb+q] - x[i*r+q]); d > solveTol*math.Max(1, math.Abs(x[i*r+q])) {
								t.Fatalf("%s Uᵀ n=%d r=%d (%s): x[%d,%d] off by %.3g", s.name, n, r, blocks, i, q, d)
							}
							if d := math.Abs(c2[i*ldb+q] - x[i*r+q]); d > solveTol*math.Max(1, math.Abs(x[i*r+q])) {
								t.Fatalf("%s U n=%d r=%d (%s): x[%d,%d] off by %.3g", s.name, n, r, blocks, i, q, d)
							}
						}
					}
				}
			}
		}
	}
	run(t, "default")
	func() {
		// The wide band on the test orders (48 wide from n = 150), with
		// bandSymm's tiles small enough that its kernel runs.
		defer func(m, b int) { wideBandMin, symmBlock = m, b }(wideBandMin, symmBlock)
		wideBandMin, symmBlock = 150, 60
		run(t, "wide band")
	}()
	withSmallBlocks(t, func() { run(t, "small") })
}

// upperSymmetric returns a random symmetric n×n matrix twice: a, its upper
// triangle row-major with stride lda and NaN below the diagonal (so a
// routine that reads the lower triangle shows it), and full, dense n×n.
func upperSymmetric(rnd *rand.Rand, n, lda int) (a, full []float64) {
	a = make([]float64, (n-1)*lda+n)
	full = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if j >= i {
				v := rnd.NormFloat64()
				a[i*lda+j], full[i*n+j], full[j*n+i] = v, v, v
			} else {
				a[i*lda+j] = math.NaN()
			}
		}
	}
	return a, full
}

// checkSymProduct checks y = full·x against a plain sum: sums of n products
// in another order agree to n·ε relative to Σ|a x|.
func checkSymProduct(t *testing.T, what string, full []float64, n int, x, y []float64) {
	t.Helper()
	for i := 0; i < n; i++ {
		s, m := 0.0, 0.0
		for j := 0; j < n; j++ {
			s += full[i*n+j] * x[j]
			m += math.Abs(full[i*n+j] * x[j])
		}
		if d := math.Abs(y[i] - s); d > float64(n)*0x1p-52*m {
			t.Fatalf("%s: y[%d] = %v, want %v", what, i, y[i], s)
		}
	}
}

func TestSymv(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	var w SymvWork
	for _, n := range []int{1, 3, 4, 5, 255, 256, 600, 1031} {
		lda := n + 5
		a, full := upperSymmetric(rnd, n, lda)
		x := make([]float64, n)
		for i := range x {
			x[i] = rnd.NormFloat64()
		}
		y := make([]float64, n)
		for i := range y {
			y[i] = math.NaN() // overwritten, not accumulated
		}
		Symv(n, a, lda, x, y, &w)
		checkSymProduct(t, fmt.Sprintf("n=%d", n), full, n, x, y)
	}
}

// TestSymvBatch: SymvBatch gives every vector the product of a plain sum
// over the full matrix (to n·ε relative to Σ|a x|), never reads the lower
// triangle, overwrites ys, and its bits do not depend on GOMAXPROCS's
// run-to-run scheduling (two calls agree exactly).
func TestSymvBatch(t *testing.T) {
	rnd := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 3, 4, 5, 63, 64, 130, 600} {
		lda := n + 3
		a, full := upperSymmetric(rnd, n, lda)
		const vecs = 3
		xs, ys, again := make([][]float64, vecs), make([][]float64, vecs), make([][]float64, vecs)
		for j := range xs {
			xs[j], ys[j], again[j] = make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range xs[j] {
				xs[j][i] = rnd.NormFloat64()
				ys[j][i] = math.NaN() // overwritten, not accumulated
			}
		}
		SymvBatch(n, a, lda, xs, ys)
		SymvBatch(n, a, lda, xs, again)
		for j := range xs {
			checkSymProduct(t, fmt.Sprintf("n=%d vector %d", n, j), full, n, xs[j], ys[j])
			for i := 0; i < n; i++ {
				if ys[j][i] != again[j][i] {
					t.Fatalf("n=%d vector %d: y[%d] differs between two calls: %v, %v", n, j, i, ys[j][i], again[j][i])
				}
			}
		}
	}
}

// TestTridiagEigen checks the closed form of the second-difference matrix
// and the eigenvector equation T z_j = λ_j z_j.
func TestTridiagEigen(t *testing.T) {
	for _, n := range []int{1, 2, 9, 64} {
		d, e := make([]float64, n), make([]float64, max(n-1, 0))
		for i := range d {
			d[i] = 2
		}
		for i := range e {
			e[i] = -1
		}
		z := make([]float64, n*n)
		if !TridiagEigen(d, slices.Clone(e), z) {
			t.Fatalf("n=%d: no convergence", n)
		}
		for j := 0; j < n; j++ {
			want := 2 - 2*math.Cos(float64(j+1)*math.Pi/float64(n+1))
			if math.Abs(d[j]-want) > backwardTol*float64(n)*4 {
				t.Errorf("n=%d: λ_%d = %v, want %v", n, j, d[j], want)
			}
			for i := 0; i < n; i++ {
				tz := 2 * z[i*n+j]
				if i > 0 {
					tz -= z[(i-1)*n+j]
				}
				if i+1 < n {
					tz -= z[(i+1)*n+j]
				}
				if math.Abs(tz-d[j]*z[i*n+j]) > 1e-13 {
					t.Fatalf("n=%d: (T z_%d)[%d] − λ z = %g", n, j, i, tz-d[j]*z[i*n+j])
				}
			}
		}
	}
}

// TestBulgeChasingWavefront: the grouped, multi-goroutine bulge chasing
// leaves the same bits as the sweeps run one after another, whatever the
// number of goroutines, for bandwidths below, at and above the group size
// and orders that leave partial groups and short last sweeps.
func TestBulgeChasingWavefront(t *testing.T) {
	defer func(m int) { chaseParallelMin = m }(chaseParallelMin)
	chaseParallelMin = 0
	rnd := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct{ n, b int }{{3, 2}, {9, 2}, {40, 3}, {101, 5}, {130, 8}, {250, 9}, {333, 32}, {260, 64}} {
		a := make([]float64, c.n*c.n)
		for i := 0; i < c.n; i++ {
			for j := i; j < min(c.n, i+c.b+1); j++ {
				a[i*c.n+j] = rnd.NormFloat64()
			}
		}
		for _, asm := range []bool{false, true} {
			ref := bandFromRows(c.n, c.b, a, c.n)
			ref.asm = ref.asm && asm
			s := newSweepState(c.b)
			w := make([]float64, c.b)
			for st := 0; st < c.n-2; st++ {
				ref.sweep(st, &s, w)
			}
			for _, workers := range []int{1, 2, 3, 4} {
				bm := bandFromRows(c.n, c.b, a, c.n)
				bm.asm = bm.asm && asm
				d, e := make([]float64, c.n), make([]float64, c.n)
				if err := bm.tridiagonalizeOn(context.Background(), d, e, workers); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(bm.ab, ref.ab) {
					i := 0
					for bm.ab[i] == ref.ab[i] {
						i++
					}
					t.Fatalf("n=%d b=%d asm=%v workers=%d: band[%d] = %v, sweep by sweep %v",
						c.n, c.b, asm, workers, i, bm.ab[i], ref.ab[i])
				}
				for j := 0; j < c.n; j++ {
					if d[j] != ref.ab[j*ref.ld] || (j+1 < c.n && e[j] != ref.ab[j*ref.ld+1]) {
						t.Fatalf("n=%d b=%d workers=%d: d or e at %d not the band's", c.n, c.b, workers, j)
					}
				}
			}
		}
	}
}

// TestBandSymm checks the band reduction's symmetric product C·Vᵀ, with
// and without sy2sb's kernels, against a plain sum over the full matrix,
// for block heights that leave partial tiles and kernel edges, on output
// and scratch buffers that start as NaN.
func TestBandSymm(t *testing.T) {
	defer func(b int, a bool) { symmBlock, bandSymmAsm = b, a }(symmBlock, bandSymmAsm)
	rnd := rand.New(rand.NewPCG(51, 52))
	for _, c := range []struct{ m, k, block int }{{1, 16, 256}, {40, 16, 24}, {100, 32, 36}, {77, 5, 12}, {300, 32, 256}, {130, 64, 60}} {
		full := make([]float64, c.m*c.m)
		a := make([]float64, c.m*c.m)
		for i := 0; i < c.m; i++ {
			for j := i; j < c.m; j++ {
				x := rnd.NormFloat64()
				full[i*c.m+j], full[j*c.m+i] = x, x
				a[i*c.m+j] = x
				if j > i {
					a[j*c.m+i] = math.NaN() // the lower triangle must not be read
				}
			}
		}
		v := make([]float64, c.k*c.m)
		for i := range v {
			v[i] = rnd.NormFloat64()
		}
		for _, asm := range []bool{false, true} {
			symmBlock, bandSymmAsm = c.block, asm
			// Zᵀ and the scratch start as NaN: every value must be written
			// before it is read.
			zt := make([]float64, c.m*c.k)
			w := &bandWork{col: make([]float64, c.m*c.m*c.k), diag: [][]float64{make([]float64, c.block*c.block)}}
			for _, s := range [][]float64{zt, w.col, w.diag[0]} {
				for i := range s {
					s[i] = math.NaN()
				}
			}
			bandSymm(c.m, c.k, a, c.m, v, zt, w)
			for r := 0; r < c.m; r++ {
				for q := 0; q < c.k; q++ {
					want, mag := 0.0, 0.0
					for p := 0; p < c.m; p++ {
						want += full[r*c.m+p] * v[q*c.m+p]
						mag += math.Abs(full[r*c.m+p] * v[q*c.m+p])
					}
					if d := math.Abs(zt[r*c.k+q] - want); !(d <= 1e-14*mag) {
						t.Fatalf("m=%d k=%d block=%d asm=%v: Zᵀ(%d,%d) = %v, want %v", c.m, c.k, c.block, asm, r, q, zt[r*c.k+q], want)
					}
				}
			}
		}
	}
}
