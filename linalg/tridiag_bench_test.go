package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// randomTridiagonal returns the diagonal and off-diagonal of a random
// symmetric tridiagonal matrix of order n.
func randomTridiagonal(n int) (d, e []float64) {
	rnd := rand.New(rand.NewPCG(7, 8))
	d, e = make([]float64, n), make([]float64, n-1)
	for i := range d {
		d[i] = rnd.NormFloat64()
	}
	for i := range e {
		e[i] = rnd.NormFloat64()
	}
	return d, e
}

// BenchmarkTridiagValues times the eigenvalues of a random tridiagonal
// matrix: gonum's Dsterf (root-free QR) against sterf (the same with one
// division per step on the recurrence) and dqds on a shifted LDLᵀ
// (dlasq2). gonum's dlasq2 took 3× Dsterf's CPU time at n = 2000 and 5000,
// so SymEigenvaluesGo ends in sterf.
func BenchmarkTridiagValues(b *testing.B) {
	for _, n := range []int{2000, 5000} {
		d0, e0 := randomTridiagonal(n)
		b.Run(fmt.Sprintf("dsterf/n=%d", n), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				d, e := slices.Clone(d0), slices.Clone(e0)
				(lapackgonum.Implementation{}).Dsterf(n, d, e)
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("sterf/n=%d", n), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			for b.Loop() {
				d, e := slices.Clone(d0), slices.Clone(e0)
				sterf(d, e)
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("dlasq2/n=%d", n), func(b *testing.B) {
			cpu0 := cputime.Process().Seconds()
			z := make([]float64, 4*n)
			for b.Loop() {
				// Gershgorin shift, then qd array of T − σI = LDLᵀ.
				sigma := d0[0] - math.Abs(e0[0])
				for i := 1; i < n; i++ {
					r := math.Abs(e0[i-1])
					if i < n-1 {
						r += math.Abs(e0[i])
					}
					sigma = min(sigma, d0[i]-r)
				}
				sigma -= 1e-3
				q := d0[0] - sigma
				for i := 0; i < n-1; i++ {
					z[2*i] = q
					l := e0[i] / q
					z[2*i+1] = l * e0[i]
					q = d0[i+1] - sigma - l*e0[i]
				}
				z[2*n-2] = q
				if info := (lapackgonum.Implementation{}).Dlasq2(n, z); info != 0 {
					b.Fatal(info)
				}
			}
			b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkBandSymm times the symmetric product of the band reduction,
// C·Vᵀ with C m×m (upper triangle) and V k×m, with and without sy2sb's
// kernel.
func BenchmarkBandSymm(b *testing.B) {
	for _, mk := range []struct{ m, k int }{{2000, 32}, {4000, 32}, {4000, 64}} {
		m, k := mk.m, mk.k
		c := randomGram(m)
		rnd := rand.New(rand.NewPCG(9, 10))
		v := make([]float64, k*m)
		for i := range v {
			v[i] = rnd.NormFloat64()
		}
		zt := make([]float64, m*k)
		for _, asm := range []bool{true, false} {
			b.Run(fmt.Sprintf("asm=%v/m=%d/k=%d", asm, m, k), func(b *testing.B) {
				defer func(a bool) { bandSymmAsm = a }(bandSymmAsm)
				bandSymmAsm = asm
				w := new(bandWork)
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					bandSymm(m, k, c, m, v, zt, w)
				}
				b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
				b.ReportMetric(2*float64(m)*float64(m)*float64(k)/1e9/((cputime.Process().Seconds()-cpu0)/float64(b.N)), "GFLOP/cpu-s")
			})
		}
	}
}
