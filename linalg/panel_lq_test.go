package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// panelLQTol bounds the entrywise difference of two backward-stable LQ
// factorisations of a panel with entries of order 1: a modest multiple of
// m·ε.
const panelLQTol = 1e-12

// TestPanelLQ checks panelLQ against gonum's Dgelqf and Dlarft (the same
// factorisation, summed in another order) on panels with leaves of every
// size, row counts that split unevenly and a stride wider than the panel.
func TestPanelLQ(t *testing.T) {
	rnd := rand.New(rand.NewPCG(31, 32))
	var lp lapackgonum.Implementation
	for _, c := range []struct{ k, m int }{{1, 1}, {1, 5}, {5, 7}, {8, 8}, {9, 30}, {17, 40}, {32, 33}, {48, 48}, {48, 300}, {61, 500}} {
		k, m := c.k, c.m
		lda := m + 3
		p := make([]float64, k*lda)
		for i := range p {
			p[i] = rnd.NormFloat64()
		}
		// gonum: L and the reflectors in place, then V explicit and T.
		ref := slices.Clone(p)
		tauRef := make([]float64, k)
		work := make([]float64, k*m)
		lp.Dgelqf(k, m, ref, lda, tauRef, work, len(work))
		vRef := make([]float64, k*m)
		for r := 0; r < k; r++ {
			vRef[r*m+r] = 1
			copy(vRef[r*m+r+1:(r+1)*m], ref[r*lda+r+1:r*lda+m])
		}
		tRef := make([]float64, k*k)
		lp.Dlarft(lapack.Forward, lapack.RowWise, m, k, vRef, m, tauRef, tRef, k)

		got := slices.Clone(p)
		v, tt, tau := make([]float64, k*m), make([]float64, k*k), make([]float64, k)
		for i := range v {
			v[i] = math.NaN() // every entry must be written
		}
		panelLQ(k, m, got, lda, v, tt, tau, new(panelWork))

		name := fmt.Sprintf("k=%d m=%d", k, m)
		check := func(what string, i int, g, w float64) bool {
			if math.Abs(g-w) > panelLQTol*float64(m) || math.IsNaN(g) {
				t.Errorf("%s: %s[%d] = %.17g, gonum %.17g", name, what, i, g, w)
				return false
			}
			return true
		}
		for r := 0; r < k; r++ {
			for j := 0; j <= r; j++ {
				if !check("L", r*lda+j, got[r*lda+j], ref[r*lda+j]) {
					break
				}
			}
		}
		for i := range tau {
			check("tau", i, tau[i], tauRef[i])
		}
		for i := range v {
			if !check("V", i, v[i], vRef[i]) {
				break
			}
		}
		for r := 0; r < k; r++ {
			for j := 0; j < k; j++ {
				want := tRef[r*k+j]
				if j < r {
					want = 0
				}
				if !check("T", r*k+j, tt[r*k+j], want) {
					break
				}
			}
		}
	}
}

// BenchmarkPanelLQ times the band reduction's panel factorisation, gonum's
// Dgelqf and Dlarft against panelLQ, on 48-row panels.
func BenchmarkPanelLQ(b *testing.B) {
	var lp lapackgonum.Implementation
	const k = 48
	for _, m := range []int{1000, 5000} {
		rnd := rand.New(rand.NewPCG(33, 34))
		p0 := make([]float64, k*m)
		for i := range p0 {
			p0[i] = rnd.NormFloat64()
		}
		p := make([]float64, k*m)
		v, t, tau := make([]float64, k*m), make([]float64, k*k), make([]float64, k)
		work := make([]float64, k*m)
		b.Run(fmt.Sprintf("gonum/m=%d", m), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				copy(p, p0)
				lp.Dgelqf(k, m, p, m, tau, work, len(work))
				for r := 0; r < k; r++ {
					row := v[r*m : (r+1)*m]
					clear(row[:r])
					row[r] = 1
					copy(row[r+1:], p[r*m+r+1:r*m+m])
				}
				lp.Dlarft(lapack.Forward, lapack.RowWise, m, k, v, m, tau, t, k)
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("panelLQ/m=%d", m), func(b *testing.B) {
			pw := new(panelWork)
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				copy(p, p0)
				panelLQ(k, m, p, m, v, t, tau, pw)
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// TestLarfg checks larfg against gonum's Dlarfg, on vectors whose sum of
// squares is plain and on ones that take Dlarfg's scaled path.
func TestLarfg(t *testing.T) {
	rnd := rand.New(rand.NewPCG(35, 36))
	for _, n := range []int{1, 2, 3, 5, 8, 100} {
		for _, scale := range []float64{1, 1e-300, 1e300, 0} {
			x := make([]float64, n-1)
			for i := range x {
				x[i] = scale * rnd.NormFloat64()
			}
			alpha := rnd.NormFloat64()
			wantX := slices.Clone(x)
			wantBeta, wantTau := lapackgonum.Implementation{}.Dlarfg(n, alpha, wantX, 1)
			beta, tau := larfg(n, alpha, x)
			const tol = 1e-14
			if math.Abs(beta-wantBeta) > tol*math.Abs(wantBeta) || math.Abs(tau-wantTau) > tol {
				t.Errorf("n=%d scale %g: β, τ = %g, %g, Dlarfg %g, %g", n, scale, beta, tau, wantBeta, wantTau)
			}
			for i := range x {
				if math.Abs(x[i]-wantX[i]) > tol*math.Abs(wantX[i])+1e-300 {
					t.Errorf("n=%d scale %g: v[%d] = %g, Dlarfg %g", n, scale, i, x[i], wantX[i])
					break
				}
			}
		}
	}
}
