//go:build openblas && cgo

package linalg

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

// LAPACK's Cholesky factorisation as shipped in libopenblas (Fortran
// calling convention, column-major).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

// LAPACK's two-stage symmetric eigensolver (dsytrd_2stage, then dsterf for
// eigenvalues only); jobz must be 'N'.
void dsyevd_2stage_(const char *jobz, const char *uplo, const int *n, double *a,
	const int *lda, double *w, double *work, const int *lwork, int *iwork,
	const int *liwork, int *info);

// The one-stage dsyevd (dsytrd, then dsterf for jobz 'N').
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
	const int *lda, double *w, double *work, const int *lwork, int *iwork,
	const int *liwork, int *info);
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"unsafe"
)

// SymEigenvalues computes every eigenvalue of the n×n symmetric matrix in
// the upper triangle of the row-major a, ascending into w (len ≥ n),
// without eigenvectors, by LAPACK dsyevd_2stage with jobz = 'N' (the
// two-stage tridiagonal reduction dsytrd_2stage, then dsterf); a is
// destroyed. LAPACK cannot be interrupted: on cancellation SymEigenvalues
// returns ctx.Err() at once and the call finishes in the background (a
// stays referenced until then).
func SymEigenvalues(ctx context.Context, n int, a []float64, w []float64) error {
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if err := checkFinite(n, a, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return interruptible(ctx, "eigenvalues", func() error { return dsyevd2stage(n, a, w) })
}

// dsyevd2stage runs dsyevd_2stage with jobz = 'N' on the row-major upper
// triangle of a (the column-major lower triangle), n ≥ 1.
func dsyevd2stage(n int, a, w []float64) error {
	return eigenvaluesLAPACK("dsyevd_2stage", n, a, w, func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int) {
		C.dsyevd_2stage_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
	})
}

// dsyevdValues is the one-stage dsyevd with jobz = 'N', the reference the
// conformance suite holds dsyevd_2stage to in this build.
func dsyevdValues(n int, a, w []float64) error {
	return eigenvaluesLAPACK("dsyevd", n, a, w, func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int) {
		C.dsyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
	})
}

// eigenvaluesLAPACK runs a dsyevd-shaped LAPACK routine with jobz = 'N':
// a workspace query, then the call.
func eigenvaluesLAPACK(name string, n int, a, w []float64,
	call func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int)) error {
	jobz, uplo := C.char('N'), C.char('L')
	cn, lda := C.int(n), C.int(n)
	var info C.int
	var wq C.double
	var iwq C.int
	lw, liw := C.int(-1), C.int(-1)
	call(&jobz, &uplo, &cn, &lda, (*C.double)(&a[0]), (*C.double)(&w[0]), &wq, &lw, &iwq, &liw, &info)
	if info != 0 {
		return fmt.Errorf("linalg: SymEigenvalues: %s workspace query: info %d", name, int(info))
	}
	work := make([]float64, max(int(wq), 1))
	iwork := make([]C.int, max(int(iwq), 1))
	lw, liw = C.int(len(work)), C.int(len(iwork))
	call(&jobz, &uplo, &cn, &lda, (*C.double)(&a[0]), (*C.double)(&w[0]),
		(*C.double)(unsafe.Pointer(&work[0])), &lw, &iwork[0], &liw, &info)
	runtime.KeepAlive(work)
	runtime.KeepAlive(iwork)
	if info != 0 {
		return fmt.Errorf("linalg: SymEigenvalues: %s failed to converge (info %d) for n = %d", name, int(info), n)
	}
	return nil
}

// Cholesky factors the n×n symmetric positive definite matrix in the upper
// triangle of the row-major a (stride lda) as A = UᵀU by LAPACK dpotrf
// (uplo 'L' of the column-major view), U overwriting the upper triangle. A
// pivot ≤ 0 returns *NotPositiveDefiniteError. Cancellation as SymEigenvalues.
func Cholesky(ctx context.Context, n int, a []float64, lda int) error {
	if err := checkSquare("Cholesky", n, a, lda); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return interruptible(ctx, "Cholesky", func() error {
		uplo := C.char('L')
		cn, clda := C.int(n), C.int(lda)
		var info C.int
		C.dpotrf_(&uplo, &cn, (*C.double)(&a[0]), &clda, &info)
		switch {
		case info > 0:
			j := int(info) - 1
			return &NotPositiveDefiniteError{Index: j, Pivot: a[j*lda+j]}
		case info < 0:
			return fmt.Errorf("linalg: Cholesky: dpotrf argument %d invalid", -int(info))
		}
		return nil
	})
}

// interruptible runs f, returning early with ctx's error if ctx is
// cancelled first (f then completes unobserved).
func interruptible(ctx context.Context, what string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("linalg: %s interrupted: %w", what, err)
	}
	if ctx.Done() == nil {
		return f()
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("linalg: %s interrupted: %w", what, ctx.Err())
	}
}

// SolveUpperT solves Uᵀ·X = B in place (B n×r row-major, stride ldb) for the
// upper triangular U that Cholesky leaves in u, by cblas_dtrsm; with at most
// narrowRHS columns by the Go solve (one memory-bound pass over U, which
// dtrsm does not beat).
func SolveUpperT(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		SolveUpperTGo(n, r, u, ldu, b, ldb)
		return
	}
	trsm(C.CblasTrans, n, r, u, ldu, b, ldb)
}

// SolveUpper solves U·X = B in place; see SolveUpperT.
func SolveUpper(n, r int, u []float64, ldu int, b []float64, ldb int) {
	if r <= narrowRHS {
		SolveUpperGo(n, r, u, ldu, b, ldb)
		return
	}
	trsm(C.CblasNoTrans, n, r, u, ldu, b, ldb)
}

func trsm(t C.enum_CBLAS_TRANSPOSE, n, r int, u []float64, ldu int, b []float64, ldb int) {
	if n == 0 || r == 0 {
		return
	}
	if ldu < n || ldb < r || len(u) < (n-1)*ldu+n || len(b) < (n-1)*ldb+r {
		panic("linalg: triangular solve: short u or b, or bad stride")
	}
	C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasUpper, t, C.CblasNonUnit, C.blasint(n), C.blasint(r),
		1, (*C.double)(&u[0]), C.blasint(ldu), (*C.double)(&b[0]), C.blasint(ldb))
}
