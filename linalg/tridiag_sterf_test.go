package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// sterfCase is a symmetric tridiagonal test matrix, with its spectrum when
// it is known in closed form.
type sterfCase struct {
	name string
	d, e []float64
	want []float64
}

// sterfCases are the hard cases of the tridiagonal eigenvalue solver:
// orders 1 and 2, zero and negligible off-diagonals, glued Wilkinson
// matrices (pairs of eigenvalues agreeing to many digits), tight clusters,
// graded matrices over 10⁻²⁴⁰..1 in either direction, entries near the ends
// of the exponent range, and matrices with known spectra.
func sterfCases() []sterfCase {
	rnd := rand.New(rand.NewPCG(11, 12))
	var out []sterfCase
	add := func(name string, d, e, want []float64) {
		out = append(out, sterfCase{name, d, e, want})
	}
	randn := func(n int, scale float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = scale * rnd.NormFloat64()
		}
		return x
	}
	add("n=1", []float64{-3.5}, []float64{}, []float64{-3.5})
	add("n=2", []float64{1, 3}, []float64{2}, []float64{2 - math.Sqrt(5), 2 + math.Sqrt(5)})
	add("n=2 zero off-diagonal", []float64{4, -1}, []float64{0}, []float64{-1, 4})
	add("n=3", []float64{2, 2, 2}, []float64{-1, -1}, []float64{2 - math.Sqrt2, 2, 2 + math.Sqrt2})
	for _, n := range []int{3, 10, 100, 1000} {
		add(fmt.Sprintf("random n=%d", n), randn(n, 1), randn(n-1, 1), nil)
	}
	add("random n=300 scale 1e250", randn(300, 1e250), randn(299, 1e250), nil)
	add("random n=300 scale 1e-250", randn(300, 1e-250), randn(299, 1e-250), nil)
	add("random n=300 scale 1e60", randn(300, 1e60), randn(299, 1e60), nil)
	{
		n := 200
		d := randn(n, 1)
		add("zero off-diagonals", d, make([]float64, n-1), nil)
		e := randn(n-1, 1)
		for i := 0; i < n-1; i += 7 {
			e[i] = 0
		}
		for i := 3; i < n-1; i += 11 {
			e[i] = 1e-300
		}
		add("some zero and negligible off-diagonals", randn(n, 1), e, nil)
		add("zero diagonal", make([]float64, n), randn(n-1, 1), nil)
		add("zero", make([]float64, n), make([]float64, n-1), make([]float64, n))
	}
	for _, glue := range []float64{1e-4, 1e-10, 1e-15} {
		// Ten copies of W21⁺ (d = |10 − i|, e = 1), glued by glue.
		var d, e []float64
		for c := 0; c < 10; c++ {
			for i := 0; i < 21; i++ {
				d = append(d, math.Abs(10-float64(i)))
				if i < 20 {
					e = append(e, 1)
				}
			}
			if c < 9 {
				e = append(e, glue)
			}
		}
		add(fmt.Sprintf("glued Wilkinson glue=%g", glue), d, e, nil)
	}
	{
		n := 300
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = 1 + 1e-12*rnd.NormFloat64()
		}
		for i := range e {
			e[i] = 1e-10 * rnd.NormFloat64()
		}
		add("clustered", d, e, nil)
		for i := range e {
			e[i] = 1e-8
		}
		add("clustered constant coupling", slices.Repeat([]float64{1}, n), e, nil)
	}
	for _, n := range []int{50, 400} {
		d, e := make([]float64, n), make([]float64, n-1)
		for i := range d {
			d[i] = math.Pow(10, -240*float64(i)/float64(n-1))
		}
		for i := range e {
			e[i] = 0.5 * math.Sqrt(d[i]*d[i+1])
		}
		add(fmt.Sprintf("graded decreasing n=%d", n), d, e, nil)
		rd, re := slices.Clone(d), slices.Clone(e)
		slices.Reverse(rd)
		slices.Reverse(re)
		add(fmt.Sprintf("graded increasing n=%d", n), rd, re, nil)
	}
	for _, n := range []int{9, 64, 500} {
		// Second difference: λ_j = 2 − 2cos(jπ/(n+1)).
		d, e := slices.Repeat([]float64{2}, n), slices.Repeat([]float64{-1}, n-1)
		want := make([]float64, n)
		for j := range want {
			want[j] = 2 - 2*math.Cos(float64(j+1)*math.Pi/float64(n+1))
		}
		add(fmt.Sprintf("second difference n=%d", n), d, e, want)
		// Clement: d = 0, e_i = √(i(n−i)), λ = −(n−1), −(n−3), …, n−1.
		ce := make([]float64, n-1)
		for i := range ce {
			ce[i] = math.Sqrt(float64((i + 1) * (n - i - 1)))
		}
		cw := make([]float64, n)
		for j := range cw {
			cw[j] = float64(2*j - (n - 1))
		}
		add(fmt.Sprintf("Clement n=%d", n), make([]float64, n), ce, cw)
	}
	return out
}

// tridiagNorm is the ∞-norm of the tridiagonal (d, e).
func tridiagNorm(d, e []float64) float64 {
	norm := 0.0
	for i := range d {
		r := math.Abs(d[i])
		if i > 0 {
			r += math.Abs(e[i-1])
		}
		if i < len(e) {
			r += math.Abs(e[i])
		}
		norm = max(norm, r)
	}
	return norm
}

// moderate reports whether every nonzero of x lies in [1e-100, 1e100].
func moderate(x []float64) bool {
	for _, v := range x {
		if v != 0 && (math.Abs(v) < 1e-100 || math.Abs(v) > 1e100) {
			return false
		}
	}
	return true
}

// TestSterf checks sterf against gonum's Dsterf and the known spectra to
// backwardTol·n·‖T‖, and with every step on dsterf's formulas against
// Dsterf bit for bit where Dsterf does not rescale.
func TestSterf(t *testing.T) {
	for _, c := range sterfCases() {
		n := len(c.d)
		// Dsterf's own scaling of a matrix of norm past 1e±150 indexes
		// out of range (gonum v0.17), so the oracle sees it scaled by a
		// power of two.
		_, k := math.Frexp(tridiagNorm(c.d, c.e))
		scaled := k < -40 || k > 40
		if !scaled {
			k = 0
		}
		oracle, oe := slices.Clone(c.d), slices.Clone(c.e)
		for i := range oracle {
			oracle[i] = math.Ldexp(oracle[i], -k)
		}
		for i := range oe {
			oe[i] = math.Ldexp(oe[i], -k)
		}
		if !(lapackgonum.Implementation{}).Dsterf(n, oracle, oe) {
			t.Fatalf("%s: Dsterf did not converge", c.name)
		}
		for i := range oracle {
			oracle[i] = math.Ldexp(oracle[i], k)
		}
		got := slices.Clone(c.d)
		if !sterf(got, slices.Clone(c.e)) {
			t.Fatalf("%s: sterf did not converge", c.name)
		}
		tol := backwardTol * float64(n) * tridiagNorm(c.d, c.e)
		for _, ref := range []struct {
			what string
			w    []float64
		}{{"Dsterf", oracle}, {"closed form", c.want}} {
			if ref.w == nil {
				continue
			}
			for i := range got {
				if math.Abs(got[i]-ref.w[i]) > tol {
					t.Errorf("%s: λ_%d = %.17g, %s %.17g (|Δ| %.3g > %.3g)",
						c.name, i, got[i], ref.what, ref.w[i], math.Abs(got[i]-ref.w[i]), tol)
					break
				}
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("%s: eigenvalues not ascending", c.name)
		}
		if !moderate(c.d) || !moderate(c.e) {
			// Dsterf rescales blocks of norm below 1e-122 by non-powers of
			// two, which rounds.
			continue
		}
		sterfFastAllowed = false
		slow := slices.Clone(c.d)
		sterf(slow, slices.Clone(c.e))
		sterfFastAllowed = true
		for i := range slow {
			if math.Float64bits(slow[i]) != math.Float64bits(oracle[i]) {
				t.Errorf("%s, dsterf's formulas: λ_%d = %.17g, Dsterf %.17g", c.name, i, slow[i], oracle[i])
				break
			}
		}
	}
}
