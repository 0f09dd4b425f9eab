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

// dsyevr (dsytrd, then for all values without vectors dsterf).
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
	double *a, const int *lda, const double *vl, const double *vu, const int *il,
	const int *iu, const double *abstol, int *m, double *w, double *z, const int *ldz,
	int *isuppz, double *work, const int *lwork, int *iwork, const int *liwork, int *info);

// The tridiagonal eigenvalue solvers: root-free QR and bisection.
void dsterf_(const int *n, double *d, double *e, int *info);
void dstebz_(const char *range, const char *order, const int *n, const double *vl,
	const double *vu, const int *il, const int *iu, const double *abstol,
	const double *d, const double *e, int *m, int *nsplit, double *w, int *iblock,
	int *isplit, double *work, int *iwork, int *info);
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
// without eigenvectors; a is destroyed. Below lapackEigenMax it is LAPACK
// dsyevd with jobz = 'N' (dsytrd, then dsterf); from it on, on a CPU with
// fenchel's GEMM kernels, SymEigenvaluesGo (fenchel's two-stage reduction
// through those kernels, its bulge chasing on GOMAXPROCS goroutines, then
// dsterf), else LAPACK dsyevd_2stage; eigenRoute says which, in Backend.
// LAPACK cannot be interrupted: on cancellation SymEigenvalues returns
// ctx.Err() at once and the call finishes in the background (a stays
// referenced until then).
func SymEigenvalues(ctx context.Context, n int, a []float64, w []float64) error {
	if n >= lapackEigenMax && kernel64 != nil {
		return SymEigenvaluesGo(ctx, n, a, w)
	}
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if err := checkFinite(n, a, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if n >= lapackEigenMax {
		return interruptible(ctx, "eigenvalues", func() error { return dsyevd2stage(n, a, w) })
	}
	return interruptible(ctx, "eigenvalues", func() error { return dsyevdValues(n, a, w) })
}

// lapackEigenMax is the order from which SymEigenvalues leaves LAPACK. In
// BenchmarkLAPACKEigenvalues (2 cores, load 4-6, CPU seconds) dsyevd and
// SymEigenvaluesGo took about the same at n = 500 and 1000 (dsyevd the
// shorter wall time at 500), dsyevd_2stage 1.5-2× either; at n = 2000
// SymEigenvaluesGo took 0.40 s, dsyevd_2stage 0.56, dsyevd 0.73, dsyevr
// 0.63; at n = 5000 3.6 s against 9.6 (dsyevd_2stage), 11.5 (dsyevr) and
// 11.7-16.9 (dsyevd).
const lapackEigenMax = 1000

// eigenRoute names, for Backend, the solver behind SymEigenvalues.
var eigenRoute = func() string {
	big := "LAPACK dsyevd_2stage"
	if kernel64 != nil {
		big = "fenchel's two-stage reduction"
	}
	return fmt.Sprintf("; eigenvalues: LAPACK dsyevd below n = %d, %s from it", lapackEigenMax, big)
}()

// dsyevd2stage runs dsyevd_2stage with jobz = 'N' on the row-major upper
// triangle of a (the column-major lower triangle), n ≥ 1.
func dsyevd2stage(n int, a, w []float64) error {
	return eigenvaluesLAPACK("dsyevd_2stage", n, a, w, func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int) {
		C.dsyevd_2stage_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
	})
}

// dsyevdValues is the one-stage dsyevd with jobz = 'N'.
func dsyevdValues(n int, a, w []float64) error {
	return eigenvaluesLAPACK("dsyevd", n, a, w, func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int) {
		C.dsyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
	})
}

// dsyevrValues is dsyevr with jobz = 'N', range = 'A'.
func dsyevrValues(n int, a, w []float64) error {
	return eigenvaluesLAPACK("dsyevr", n, a, w, func(jobz, uplo *C.char, n, lda *C.int, a, w, work *C.double, lwork, iwork, liwork, info *C.int) {
		rng := C.char('A')
		var vl, vu, abstol C.double
		var il, iu, m C.int
		ldz := C.int(1)
		var z C.double
		isuppz := make([]C.int, 2*int(*n))
		C.dsyevr_(jobz, &rng, uplo, n, a, lda, &vl, &vu, &il, &iu, &abstol, &m, w, &z, &ldz,
			&isuppz[0], work, lwork, iwork, liwork, info)
	})
}

// dsterfLAPACK is LAPACK's dsterf on the tridiagonal (d, e), d ascending
// on return.
func dsterfLAPACK(d, e []float64) error {
	n := C.int(len(d))
	if n == 0 {
		return nil
	}
	var info C.int
	C.dsterf_(&n, (*C.double)(&d[0]), (*C.double)(&e[0]), &info)
	if info != 0 {
		return fmt.Errorf("linalg: dsterf failed to converge (info %d) for n = %d", int(info), int(n))
	}
	return nil
}

// dstebzValues sets w to the eigenvalues of the tridiagonal (d, e) by
// LAPACK's bisection dstebz, ascending.
func dstebzValues(d, e, w []float64) error {
	n := C.int(len(d))
	if n == 0 {
		return nil
	}
	rng, order := C.char('A'), C.char('E')
	var vl, vu, abstol C.double
	var il, iu, m, nsplit, info C.int
	iblock, isplit := make([]C.int, n), make([]C.int, n)
	work, iwork := make([]float64, 4*n), make([]C.int, 3*n)
	C.dstebz_(&rng, &order, &n, &vl, &vu, &il, &iu, &abstol, (*C.double)(&d[0]), (*C.double)(&e[0]),
		&m, &nsplit, (*C.double)(&w[0]), &iblock[0], &isplit[0], (*C.double)(&work[0]), &iwork[0], &info)
	if info != 0 {
		return fmt.Errorf("linalg: dstebz failed (info %d) for n = %d", int(info), int(n))
	}
	return nil
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
