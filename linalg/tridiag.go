package linalg

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/gonum"
)

// tridiagBlock is the panel width of symTridiagonalize: each panel's
// trailing update is one rank-2·tridiagBlock GEMM pass over the trailing
// triangle, so a wider panel reads and writes it fewer times, while the
// panel's own corrections grow as N·tridiagBlock per column
// (BenchmarkSymEigenvalues chose it).
var tridiagBlock = 48

// syr2kColumns is the column width of the blocks of the trailing update.
const syr2kColumns = 384

// SymEigenvaluesGo is the pure-Go eigenvalue solver behind SymEigenvalues in
// the default build (and, from n = 1000 on, in the OpenBLAS build):
// Householder tridiagonalisation T = QᵀAQ, then the eigenvalues of
// T by the root-free QR of Pal, Walker and Kahan (sterf, LAPACK dsterf
// with one division per step on its recurrence). From twoStageMin on (and up to fullBandMax) the reduction goes
// through a band matrix, as LAPACK dsytrd_2stage: symToBand, all level 3
// through fenchel's GEMM kernels (bandGemm), then bulge chasing
// (bandMatrix.tridiagonalize) on GOMAXPROCS goroutines. In between
// it is the one-stage blocked reduction of LAPACK dsytrd (Dongarra,
// Sorensen and Hammarling, "Block reduction of matrices to condensed forms
// for eigenvalue computations", J. Comput. Appl. Math. 27, 1989), half of
// whose flops are memory-bound products with the trailing matrix (Symv).
// Q is never formed. The upper triangle of the row-major a is read and a
// is destroyed; w receives the eigenvalues in ascending order. ctx is
// checked between panels and groups of sweeps; the extra memory is
// O(n·bandWidth) and bandSymm's column parts, O(n²·bandWidth/symmBlock)
// (12 MB at n = 5000).
func SymEigenvaluesGo(ctx context.Context, n int, a []float64, w []float64) error {
	return symEigenvaluesGo(ctx, n, a, w, n <= fullBandMax || n >= twoStageMin)
}

// symEigenvaluesGo is SymEigenvaluesGo through the two-stage reduction or
// the one-stage one.
func symEigenvaluesGo(ctx context.Context, n int, a []float64, w []float64, twoStage bool) error {
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if err := checkFinite(n, a, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	d, e := w[:n], make([]float64, max(n-1, 1))
	if twoStage {
		nb := bandWidth
		if n >= widestBandMin {
			nb = widestBandWidth
		} else if n >= wideBandMin {
			nb = wideBandWidth
		}
		if n <= fullBandMax {
			nb = n - 1
		}
		if err := symTridiagonalize2Stage(ctx, n, a, n, nb, d, e); err != nil {
			return err
		}
	} else if err := symTridiagonalize(ctx, n, a, n, d, e); err != nil {
		return err
	}
	if ok := sterf(d, e[:n-1]); !ok {
		return fmt.Errorf("linalg: SymEigenvalues: tridiagonal QR (dsterf) did not converge for n = %d", n)
	}
	return nil
}

// fullBandMax is the order up to which SymEigenvaluesGo takes the whole
// matrix as a band of bandwidth n−1 and only chases bulges: at n = 30 and
// n = 60 that took 1/3 and 1/2 of the CPU time of the one-stage reduction
// (BenchmarkSymEigenvaluesStages, bandwidth n−1).
const fullBandMax = 64

// twoStageMin is the order from which SymEigenvaluesGo reduces through a
// band (symTridiagonalize2Stage); from fullBandMax to it the one-stage
// reduction runs. On the 2-core AMD EPYC (AVX-512; load 8-9, medians of 3,
// BenchmarkSymEigenvaluesStages) the one-stage reduction took 0.85× the
// CPU time of the two-stage one at n = 400, the same at n = 150, 200 and
// 700, and 1.3× at n = 1000.
const twoStageMin = 600

// bandWidth is the bandwidth of the two-stage reduction below
// wideBandMin, wideBandWidth from it and widestBandWidth from
// widestBandMin: a wider band reads the trailing matrix in fewer, wider
// passes in stage one, which is bound by memory traffic on 2 cores, but
// costs proportionally more in stage two (about 6n²·b flops, on GOMAXPROCS
// goroutines). On the 2-core AMD EPYC (Zen 5), at n = 5000, 48 took 0.87×
// the CPU time of 32 (medians of 6 interleaved runs, load 5-10) and 64 the
// same as 48; on the 2-core Intel Xeon (Sapphire Rapids class), 64 took
// 0.85× the CPU time and 0.96× the wall time of 48 (band 1.84-1.91 s
// against 1.92-2.02 s, chasing 0.33 against 0.27 s; 3 interleaved runs,
// quiet machine). At n = 2000 32, 48 and 64 took the same within the noise
// on the AMD, and 64 took 1.13× the wall time of 48 on the Intel; at
// n = 700 and 1000 32 took 0.9× the CPU time of 64 (BenchmarkTwoStageParts,
// BenchmarkSymEigenvaluesStages). All are multiples of 16, the width of
// bandSymm's kernel.
var bandWidth, wideBandWidth, widestBandWidth = 32, 48, 64

// wideBandMin and widestBandMin are the orders from which the band is
// wideBandWidth and widestBandWidth wide (variables so tests can lower
// them).
var wideBandMin, widestBandMin = 2000, 4000

// symTridiagonalize2Stage is symTridiagonalize by way of a band matrix of
// bandwidth nb (LAPACK dsytrd_2stage): symToBand, then bulge chasing.
func symTridiagonalize2Stage(ctx context.Context, n int, a []float64, lda, nb int, d, e []float64) error {
	nb = max(1, min(nb, n-1))
	if err := symToBand(ctx, n, a, lda, nb, new(bandWork)); err != nil {
		return err
	}
	return bandFromRows(n, nb, a, lda).tridiagonalize(ctx, d, e)
}

// checkFinite returns an error naming the first non-finite entry of the
// upper triangle of a.
func checkFinite(n int, a []float64, lda int) error {
	for i := 0; i < n; i++ {
		for j, v := range a[i*lda+i : i*lda+n] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("linalg: matrix entry (%d, %d) = %v is not finite", i, i+j, v)
			}
		}
	}
	return nil
}

// symTridiagonalize reduces the symmetric n×n matrix held in the upper
// triangle of the row-major a (stride lda) to tridiagonal form, writing the
// diagonal to d (n) and the off-diagonal to e (n−1); a is destroyed.
//
// The row-major upper triangle is the column-major lower triangle, so this
// is dsytrd with uplo = 'L' and every column of LAPACK's algorithm is a
// contiguous row here: row p0+c holds column c of the trailing matrix, and
// the reflector that annihilates it below the subdiagonal overwrites it.
// For each panel of nb columns dlatrd computes W such that the trailing
// matrix after the panel is A − VWᵀ − WVᵀ; that rank-2nb update is then one
// GEMM per block column of the upper triangle.
func symTridiagonalize(ctx context.Context, n int, a []float64, lda int, d, e []float64) error {
	nb := tridiagBlock
	var sw SymvWork
	var g gonum.Implementation
	// The last panel takes up to 2nb columns.
	wp := make([]float64, min(n, 2*nb)*n) // W_j in row j, length N
	x := make([]float64, 2*nb*n)
	y := make([]float64, 2*nb*n)
	t1, t2 := make([]float64, 2*nb), make([]float64, 2*nb)
	for p0 := 0; p0 < n; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("linalg: tridiagonalisation interrupted at column %d of %d: %w", p0, n, err)
		}
		N := n - p0
		cols, last := nb, false
		if N <= 2*nb {
			cols, last = N, true
		}
		col := func(c int) []float64 { return a[(p0+c)*lda+p0 : (p0+c)*lda+p0+N] }
		wr := func(j int) []float64 { return wp[j*n : j*n+N] }
		for i := 0; i < cols; i++ {
			ai := col(i)
			// Apply the panel's earlier reflectors to column i.
			for j := 0; j < i; j++ {
				vj, wj := col(j), wr(j)
				g.Daxpy(N-i, -wj[i], vj[i:], 1, ai[i:], 1)
				g.Daxpy(N-i, -vj[i], wj[i:], 1, ai[i:], 1)
			}
			d[p0+i] = ai[i]
			if p0+i == n-1 {
				break
			}
			beta, tau := larfg(N-i-1, ai[i+1], ai[min(i+2, N):N])
			e[p0+i] = beta
			ai[i+1] = 1
			v := ai[i+1 : N]
			wi := wr(i)
			clear(wi[:i+1])
			w := wi[i+1 : N]
			if tau == 0 {
				clear(w)
				continue
			}
			// w = τ(A₂₂v − V Wᵀv − W Vᵀv), then w −= (τ/2)(wᵀv)v.
			Symv(N-i-1, a[(p0+i+1)*lda+p0+i+1:], lda, v, w, &sw)
			for j := 0; j < i; j++ {
				t1[j] = g.Ddot(N-i-1, wr(j)[i+1:], 1, v, 1)
				t2[j] = g.Ddot(N-i-1, col(j)[i+1:], 1, v, 1)
			}
			for j := 0; j < i; j++ {
				g.Daxpy(N-i-1, -t1[j], col(j)[i+1:], 1, w, 1)
				g.Daxpy(N-i-1, -t2[j], wr(j)[i+1:], 1, w, 1)
			}
			g.Dscal(N-i-1, tau, w, 1)
			alpha := -0.5 * tau * g.Ddot(N-i-1, w, 1, v, 1)
			g.Daxpy(N-i-1, alpha, v, 1, w, 1)
		}
		if last {
			return nil
		}
		// Trailing update C −= XᵀY with X = [V; W], Y = [W; V] (rows of
		// length N' from column cols on), upper triangle by block columns.
		np := N - cols
		k := 2 * cols
		for j := 0; j < cols; j++ {
			copy(x[j*np:(j+1)*np], col(j)[cols:])
			copy(x[(cols+j)*np:(cols+j+1)*np], wr(j)[cols:])
			copy(y[j*np:(j+1)*np], wr(j)[cols:])
			copy(y[(cols+j)*np:(cols+j+1)*np], col(j)[cols:])
		}
		c := a[(p0+cols)*lda+p0+cols:]
		for j0 := 0; j0 < np; j0 += syr2kColumns {
			j1 := min(j0+syr2kColumns, np)
			Gemm(true, false, j1, j1-j0, k, -1, x, np, y[j0:], np, 1, c[j0:], lda)
		}
		p0 += cols
	}
	return nil
}
