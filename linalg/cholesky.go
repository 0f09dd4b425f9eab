package linalg

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// NotPositiveDefiniteError is returned by Cholesky when a pivot is not
// positive: the leading (Index+1)×(Index+1) block of A is not positive
// definite to working precision, so λ_min(A) ≤ O(n·ε·‖A‖).
type NotPositiveDefiniteError struct {
	Index int     // the failing pivot
	Pivot float64 // its value (≤ 0 or NaN)
}

func (e *NotPositiveDefiniteError) Error() string {
	return fmt.Sprintf("linalg: Cholesky: pivot %d = %.3g ≤ 0: matrix not positive definite", e.Index, e.Pivot)
}

// cholBlock is the order up to which CholeskyGo factors a diagonal block
// unblocked; cholInner the row count up to which its triangular solve
// substitutes (larger solves recurse, with GEMM between the halves).
// Variables so tests can shrink them to exercise every path on small
// matrices.
var (
	cholBlock = 128
	cholInner = 32
)

// cholSolveCols is the column block of the triangular solve in
// cholRecursive: narrow enough that the blocks of a 1000-order factor's
// solve keep both cores busy, wide enough for GEMM's micro-tiles. A
// variable for the benchmarks.
var cholSolveCols = 256

// cholUpdateFlops is the work of one trailing-update GEMM of CholeskyGo
// between two polls of ctx (about a second on 2 cores at half speed); a
// variable so tests can split small updates too.
var cholUpdateFlops = 4e10

// CholeskyGo is the pure-Go Cholesky factorisation behind Cholesky in the
// default build: A = UᵀU for the n×n symmetric positive definite A in the
// upper triangle of the row-major a (stride lda), U overwriting it (the
// lower triangle is neither read nor written). It is the recursive
// algorithm of LAPACK dpotrf2 (Gustavson, "Recursion leads to automatic
// variable blocking for dense linear-algebra algorithms", IBM J. Res. Dev.
// 41(6), 1997): factor the leading half, solve U₁₂ = U₁₁⁻ᵀA₁₂, update
// A₂₂ −= U₁₂ᵀU₁₂ by SYRK and GEMM, factor the trailing half. Almost all of
// the n³/3 flops are then in large GEMMs on every core: the solve splits
// A₁₂'s columns over goroutines (each column block solved recursively with
// serial GEMMs), the update is the parallel SYRK/GEMM. ctx is checked
// between the steps, the solve's column blocks and the update's row blocks.
func CholeskyGo(ctx context.Context, n int, a []float64, lda int) error {
	if err := checkSquare("Cholesky", n, a, lda); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return cholRecursive(ctx, n, a, lda, 0, n)
}

// cholRecursive factors the n×n diagonal block at a[0] (rows off… of the
// whole order-total matrix, for errors).
func cholRecursive(ctx context.Context, n int, a []float64, lda, off, total int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("linalg: Cholesky interrupted at row %d of %d: %w", off, total, err)
	}
	if n <= cholBlock {
		return cholUnblocked(n, a, lda, off)
	}
	n1 := n / 2
	if n1 > 64 {
		n1 -= n1 % 64 // GEMM operands on micro-tile boundaries
	}
	n2 := n - n1
	if err := cholRecursive(ctx, n1, a, lda, off, total); err != nil {
		return err
	}
	if err := solveUpperTCols(ctx, n1, n2, a, lda, a[n1:], lda); err != nil {
		return fmt.Errorf("linalg: Cholesky interrupted at row %d of %d: %w", off+n1, total, err)
	}
	// A₂₂ −= U₁₂ᵀU₁₂ in row blocks of about cholUpdateFlops each: the
	// diagonal block by SYRK, the rest of the block row by GEMM.
	u12, a22 := a[n1:], a[n1*lda+n1:]
	rows := int(cholUpdateFlops / (2 * float64(n1) * float64(n2)))
	rows = max(256, rows-rows%64)
	for i0 := 0; i0 < n2; i0 += rows {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("linalg: Cholesky interrupted at row %d of %d: %w", off+n1, total, err)
		}
		i1 := min(i0+rows, n2)
		Syrk(true, i1-i0, n1, -1, u12[i0:], lda, 1, a22[i0*lda+i0:], lda)
		if i1 < n2 {
			Gemm(true, false, i1-i0, n2-i1, n1, -1, u12[i0:], lda, u12[i1:], lda, 1, a22[i0*lda+i1:], lda)
		}
	}
	return cholRecursive(ctx, n2, a22, lda, off+n1, total)
}

// cholUnblocked is LAPACK dpotf2 in its left-looking AXPY (row)
// form: row i of U is row i of A minus the rows above it, each weighted by
// its entry in column i (axpyRows, the level-2 kernels of trsv.go), then
// scaled by its pivot.
func cholUnblocked(n int, a []float64, lda, off int) error {
	var col [256]float64
	coef := col[:0]
	if n > len(col) {
		coef = make([]float64, 0, n)
	}
	for i := 0; i < n; i++ {
		row := a[i*lda+i : i*lda+n]
		if i > 0 {
			coef = coef[:i]
			for k := range coef {
				coef[k] = a[k*lda+i]
			}
			axpyRows(i, n-i, a[i:], lda, coef, row)
		}
		p := row[0]
		if !(p > 0) {
			return &NotPositiveDefiniteError{Index: off + i, Pivot: p}
		}
		p = math.Sqrt(p)
		row[0] = p
		r := 1 / p
		for j := 1; j < len(row); j++ {
			row[j] *= r
		}
	}
	return nil
}

// solveUpperTCols solves Uᵀ·X = B in place for the n×n upper triangular U
// (stride ldu) and B n×r (stride ldb) with B's columns in blocks of
// cholSolveCols dealt to GOMAXPROCS goroutines, each solved by
// solveUpperTRec: every column is computed the same way however many
// goroutines run. It returns ctx's error, leaving B partly solved, once
// ctx is done.
func solveUpperTCols(ctx context.Context, n, r int, u []float64, ldu int, b []float64, ldb int) error {
	width := cholSolveCols
	blocks := (r + width - 1) / width
	var next atomic.Int64
	parallel.Run(min(runtime.GOMAXPROCS(0), blocks), func(int) {
		for {
			j := int(next.Add(1)) - 1
			if j >= blocks || ctx.Err() != nil {
				return
			}
			c0 := j * width
			solveUpperTRec(n, min(width, r-c0), u, ldu, b[c0:], ldb)
		}
	})
	return ctx.Err()
}

// solveUpperTRec solves Uᵀ·X = B in place on the calling goroutine: the
// leading half, then B₂ −= U₁₂ᵀX₁ by a serial GEMM, then the trailing
// half (the recursive dtrsm of Elmroth et al., "Recursive blocked
// algorithms and hybrid data structures for dense matrix library
// software", SIAM Review 46(1), 2004), substituting from cholInner rows.
func solveUpperTRec(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if n <= cholInner {
		solveDiagT(0, n, r, u, ldu, b, ldb)
		return
	}
	n1 := n / 2
	if n1 > 16 {
		n1 -= n1 % 16
	}
	solveUpperTRec(n1, r, u, ldu, b, ldb)
	GemmSerial(true, false, n-n1, r, n1, -1, u[n1:], ldu, b, ldb, 1, b[n1*ldb:], ldb)
	solveUpperTRec(n-n1, r, u[n1*ldu+n1:], ldu, b[n1*ldb:], ldb)
}

// checkSquare validates an n×n matrix argument with stride lda.
func checkSquare(fn string, n int, a []float64, lda int) error {
	switch {
	case n < 0:
		return fmt.Errorf("linalg: %s: negative order n = %d", fn, n)
	case n == 0:
		return nil
	case lda < n:
		return fmt.Errorf("linalg: %s: stride %d < n = %d", fn, lda, n)
	case len(a) < (n-1)*lda+n:
		return fmt.Errorf("linalg: %s: len(a) = %d < (n−1)·lda + n = %d", fn, len(a), (n-1)*lda+n)
	}
	return nil
}

// trsmBlock is the row block of the triangular solves; between blocks the
// update is a GEMM with the block's rows of U. A variable for the tests.
var trsmBlock = 256

// SolveUpperTGo solves Uᵀ·X = B in place of b (n×r row-major, stride ldb)
// for the n×n upper triangular U in the row-major u (stride ldu): forward
// substitution, one row block of U at a time, the rest of B updated by GEMM.
func SolveUpperTGo(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		solveUpperTNarrow(n, r, u, ldu, b, ldb)
		return
	}
	for i0 := 0; i0 < n; i0 += trsmBlock {
		i1 := min(i0+trsmBlock, n)
		solveDiagT(i0, i1, r, u, ldu, b, ldb)
		if i1 < n {
			// B[i1:] −= U[i0:i1, i1:]ᵀ · X[i0:i1]
			Gemm(true, false, n-i1, r, i1-i0, -1, u[i0*ldu+i1:], ldu, b[i0*ldb:], ldb, 1, b[i1*ldb:], ldb)
		}
	}
}

// SolveUpperGo solves U·X = B in place of b (n×r row-major, stride ldb) for
// the n×n upper triangular U in the row-major u (stride ldu): back
// substitution, one row block of U at a time from the bottom, each block's
// right-hand side first reduced by GEMM with the rows already solved.
func SolveUpperGo(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		solveUpperNarrow(n, r, u, ldu, b, ldb)
		return
	}
	for i1 := n; i1 > 0; i1 -= trsmBlock {
		i0 := max(i1-trsmBlock, 0)
		if i1 < n {
			// B[i0:i1] −= U[i0:i1, i1:] · X[i1:]
			Gemm(false, false, i1-i0, r, n-i1, -1, u[i0*ldu+i1:], ldu, b[i1*ldb:], ldb, 1, b[i0*ldb:], ldb)
		}
		solveDiag(i0, i1, r, u, ldu, b, ldb)
	}
}

// RestoreUpper copies the strict lower triangle of the n×n row-major a
// (stride lda) into its strict upper triangle and diag (len n) onto the
// diagonal: it gives back the symmetric matrix that Cholesky factored in
// place, since the factorisation reads and writes the upper triangle only
// and leaves the copy below the diagonal intact. Square tiles keep reads
// and writes within a few cache lines per row; tile rows are dealt
// round-robin over GOMAXPROCS goroutines.
func RestoreUpper(n int, a []float64, lda int, diag []float64) {
	const tile = 64
	nt := (n + tile - 1) / tile
	workers := min(runtime.GOMAXPROCS(0), nt)
	parallel.Run(workers, func(w int) {
		for t := w; t < nt; t += workers {
			i0, i1 := t*tile, min((t+1)*tile, n)
			for j0 := i0; j0 < n; j0 += tile {
				j1 := min(j0+tile, n)
				for i := i0; i < i1; i++ {
					row := a[i*lda:]
					for j := max(j0, i+1); j < j1; j++ {
						row[j] = a[j*lda+i]
					}
				}
			}
			for i := i0; i < i1; i++ {
				a[i*lda+i] = diag[i]
			}
		}
	})
}
