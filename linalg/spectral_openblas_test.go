//go:build openblas && cgo

package linalg

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func init() {
	// LAPACK's one-stage dsyevd joins the conformance suite in this build.
	eigenSolvers = append(eigenSolvers, eigenSolver{"dsyevd", func(ctx context.Context, n int, a, w []float64) error {
		if err := checkSymEigen(n, a, w); err != nil || n == 0 {
			return err
		}
		if err := checkFinite(n, a, n); err != nil {
			return err
		}
		return interruptible(ctx, "eigenvalues", func() error { return dsyevdValues(n, a, w) })
	}})
}

// BenchmarkLAPACKEigenvalues times LAPACK's one-stage dsyevd (jobz 'N')
// against the two-stage dsyevd_2stage that SymEigenvalues calls and the
// pure-Go two-stage reduction, in the OpenBLAS build.
func BenchmarkLAPACKEigenvalues(b *testing.B) {
	for _, n := range []int{2000, 5000} {
		var a []float64
		w := make([]float64, n)
		for _, s := range []eigenSolver{
			{"dsyevd", func(_ context.Context, n int, a, w []float64) error { return dsyevdValues(n, a, w) }},
			{"dsyevd_2stage", SymEigenvalues},
			{"SymEigenvaluesGo", SymEigenvaluesGo},
		} {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				if a == nil {
					a = randomGram(n)
				}
				cpu0 := cpuSeconds()
				for b.Loop() {
					if err := s.f(context.Background(), n, slices.Clone(a), w); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			})
		}
	}
}
