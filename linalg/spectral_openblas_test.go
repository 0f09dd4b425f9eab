//go:build openblas && cgo

package linalg

import (
	"context"
	"fmt"
	"slices"
	"testing"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

func init() {
	// LAPACK's dsyevd, dsyevd_2stage and dsyevr join the conformance suite
	// in this build.
	for _, s := range []struct {
		name string
		f    func(n int, a, w []float64) error
	}{{"dsyevd", dsyevdValues}, {"dsyevd_2stage", dsyevd2stage}, {"dsyevr", dsyevrValues}} {
		eigenSolvers = append(eigenSolvers, eigenSolver{s.name, func(ctx context.Context, n int, a, w []float64) error {
			if err := checkSymEigen(n, a, w); err != nil || n == 0 {
				return err
			}
			if err := checkFinite(n, a, n); err != nil {
				return err
			}
			return interruptible(ctx, "eigenvalues", func() error { return s.f(n, a, w) })
		}})
	}
}

// BenchmarkLAPACKEigenvalues times LAPACK's one-stage dsyevd and dsyevr
// (jobz 'N') and the two-stage dsyevd_2stage against the pure-Go two-stage
// reduction, in the OpenBLAS build.
func BenchmarkLAPACKEigenvalues(b *testing.B) {
	for _, n := range []int{500, 1000, 2000, 5000} {
		var a []float64
		w := make([]float64, n)
		for _, s := range []eigenSolver{
			{"dsyevd", func(_ context.Context, n int, a, w []float64) error { return dsyevdValues(n, a, w) }},
			{"dsyevr", func(_ context.Context, n int, a, w []float64) error { return dsyevrValues(n, a, w) }},
			{"dsyevd_2stage", func(_ context.Context, n int, a, w []float64) error { return dsyevd2stage(n, a, w) }},
			{"SymEigenvaluesGo", SymEigenvaluesGo},
		} {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				if a == nil {
					a = randomGram(n)
				}
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					if err := s.f(context.Background(), n, slices.Clone(a), w); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}

// BenchmarkLAPACKTridiagValues times the tridiagonal stage: sterf
// (SymEigenvaluesGo's) and gonum's Dsterf against LAPACK's dsterf and
// bisection (dstebz).
func BenchmarkLAPACKTridiagValues(b *testing.B) {
	for _, n := range []int{2000, 5000} {
		d0, e0 := randomTridiagonal(n)
		w := make([]float64, n)
		for _, s := range []struct {
			name string
			f    func(d, e []float64) error
		}{
			{"gonumDsterf", func(d, e []float64) error { lapackgonum.Implementation{}.Dsterf(len(d), d, e); return nil }},
			{"sterf", func(d, e []float64) error { sterf(d, e); return nil }},
			{"dsterf", dsterfLAPACK},
			{"dstebz", func(d, e []float64) error { return dstebzValues(d, e, w) }},
		} {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				cpu0 := cputime.Process().Seconds()
				for b.Loop() {
					if err := s.f(slices.Clone(d0), slices.Clone(e0)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cputime.Process().Seconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}
