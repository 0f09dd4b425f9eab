//go:build openblas && cgo

package linalg

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

// Declared in OpenBLAS's cblas.h since 0.2.x; repeated so that an older
// header does not break the build.
char *openblas_get_corename(void);
char *openblas_get_config(void);

// dsyevd_ is LAPACK's divide-and-conquer symmetric eigensolver as shipped in
// libopenblas (Fortran calling convention, column-major).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
	const int *lda, double *w, double *work, const int *lwork, int *iwork,
	const int *liwork, int *info);
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// OpenBLAS is gonum's implementation with Sgemm, Dgemm, Ssyrk and Dsyrk
// replaced by OpenBLAS's cblas routines (row-major). It is installed in
// Float32/Float64 when built with -tags openblas and cgo.
type OpenBLAS struct{ gonum.Implementation }

var _ blas.Float32 = OpenBLAS{}
var _ blas.Float64 = OpenBLAS{}

func init() {
	// Threads: OpenBLAS runs GOMAXPROCS threads of its own (its default can
	// oversubscribe when the engine already runs goroutines); an explicit
	// OPENBLAS_NUM_THREADS in the environment is respected.
	// FENCHEL_OPENBLAS_SPLIT=1 instead runs OpenBLAS single-threaded and
	// splits each large product across GOMAXPROCS goroutines (splitGemm,
	// splitSyrk), as the pure-Go kernels do. OpenBLAS's workers spin for a
	// while after each call, holding a core the Go work between two GEMMs
	// (activations, loss, optimiser update) could use; the split avoids
	// that but repacks shared operands in each goroutine.
	switch {
	case os.Getenv("OPENBLAS_NUM_THREADS") != "":
	case os.Getenv("FENCHEL_OPENBLAS_SPLIT") == "1":
		C.openblas_set_num_threads(1)
		splitWorkers = runtime.GOMAXPROCS(0)
	default:
		C.openblas_set_num_threads(C.int(runtime.GOMAXPROCS(0)))
	}
	Float32 = OpenBLAS{}
	Float64 = OpenBLAS{}
	core := C.GoString(C.openblas_get_corename())
	threads := fmt.Sprintf("%d threads", int(C.openblas_get_num_threads()))
	if splitWorkers > 1 {
		threads = fmt.Sprintf("1 thread × %d goroutines", splitWorkers)
	}
	Backend = fmt.Sprintf("openblas (%s, %s kernels, %s)",
		strings.Join(strings.Fields(C.GoString(C.openblas_get_config())), " "), core, threads) + eigenRoute
	BackendNote = coreNote(core, os.Getenv("OPENBLAS_CORETYPE"), cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
		cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL)
}

// avx512Cores are the OpenBLAS (DYNAMIC_ARCH) kernel sets that use AVX-512.
var avx512Cores = map[string]bool{"skylakex": true, "cooperlake": true, "sapphirerapids": true}

// coreNote explains, when the CPU supports AVX-512 but OpenBLAS runs kernels
// without it, why and how to change that; "" otherwise. OpenBLAS picks its
// kernels once, when the library loads, from OPENBLAS_CORETYPE or its own CPU
// detection, and a CPU it does not know may get AVX2 kernels.
func coreNote(core, env string, avx512 bool) string {
	if !avx512 || avx512Cores[strings.ToLower(core)] {
		return ""
	}
	why := "OpenBLAS did not recognise this CPU"
	if env != "" {
		why = "OPENBLAS_CORETYPE=" + env + " is set"
	}
	return fmt.Sprintf("OpenBLAS runs its %s kernels (no AVX-512) because %s, but this CPU has AVX-512: "+
		"OPENBLAS_CORETYPE=SkylakeX selects the AVX-512 kernels (about 1.5–1.8× faster GEMMs on Zen 5)", core, why)
}

func cTrans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

func (OpenBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc) // A and B may be empty: don't take their address
		return
	}
	splitGemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, lda, ldb, ldc, a, b, c,
		func(m, n int, a, b, c []float32) {
			C.cblas_sgemm(C.CblasRowMajor, cTrans(tA), cTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
				C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
				C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
		})
}

func (OpenBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	splitGemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, lda, ldb, ldc, a, b, c,
		func(m, n int, a, b, c []float64) {
			C.cblas_dgemm(C.CblasRowMajor, cTrans(tA), cTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
				C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
				C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
		})
}

// serialGemm: with FENCHEL_OPENBLAS_SPLIT=1 OpenBLAS runs one thread, so
// goroutines may call it at once, one product per core (GemmSerial).
func (OpenBLAS) serialGemm() bool { return splitWorkers > 1 }

// sgemm1 is Sgemm on the calling goroutine: the same blocks of C as
// Sgemm's split (so the same result), one after another.
func (OpenBLAS) sgemm1(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := trans(tA), trans(tB)
	checkGemm(ta, tb, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	w := splitWorkers
	if m*n*k < parallelFlops {
		w = 1
	}
	splitBlocks(tA, tB, m, n, lda, ldb, ldc, w, splitAlign, splitAlign, a, b, c, func(m, n int, a, b, c []float32) {
		C.cblas_sgemm(C.CblasRowMajor, cTrans(ta), cTrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
			C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
			C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
	}, false)
}

// dgemm1 is Dgemm on the calling goroutine (see sgemm1).
func (OpenBLAS) dgemm1(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ta, tb := trans(tA), trans(tB)
	checkGemm(ta, tb, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	w := splitWorkers
	if m*n*k < parallelFlops {
		w = 1
	}
	splitBlocks(tA, tB, m, n, lda, ldb, ldc, w, splitAlign, splitAlign, a, b, c, func(m, n int, a, b, c []float64) {
		C.cblas_dgemm(C.CblasRowMajor, cTrans(ta), cTrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
			C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
			C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
	}, false)
}

func cTrans2(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func cUplo(ul blas.Uplo) C.enum_CBLAS_UPLO {
	if ul == blas.Upper {
		return C.CblasUpper
	}
	return C.CblasLower
}

func (OpenBLAS) Ssyrk(ul blas.Uplo, t blas.Transpose, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	if ul != blas.Upper && ul != blas.Lower {
		panic("blas: illegal uplo")
	}
	checkSyrk(t, n, k, len(a), lda, len(c), ldc)
	if n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleTriangle(ul, n, beta, c, ldc)
		return
	}
	splitSyrk(ul == blas.Upper, t != blas.NoTrans, n, k, lda, ldc, a, c,
		func(n int, a, c []float32) {
			C.cblas_ssyrk(C.CblasRowMajor, cUplo(ul), cTrans(t), C.blasint(n), C.blasint(k),
				C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
		},
		func(tA, tB bool, m, n int, a, b, c []float32, ldb int) {
			C.cblas_sgemm(C.CblasRowMajor, cTrans2(tA), cTrans2(tB), C.blasint(m), C.blasint(n), C.blasint(k),
				C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
				C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
		})
}

func (OpenBLAS) Dsyrk(ul blas.Uplo, t blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if ul != blas.Upper && ul != blas.Lower {
		panic("blas: illegal uplo")
	}
	checkSyrk(t, n, k, len(a), lda, len(c), ldc)
	if n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleTriangle(ul, n, beta, c, ldc)
		return
	}
	splitSyrk(ul == blas.Upper, t != blas.NoTrans, n, k, lda, ldc, a, c,
		func(n int, a, c []float64) {
			C.cblas_dsyrk(C.CblasRowMajor, cUplo(ul), cTrans(t), C.blasint(n), C.blasint(k),
				C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
		},
		func(tA, tB bool, m, n int, a, b, c []float64, ldb int) {
			C.cblas_dgemm(C.CblasRowMajor, cTrans2(tA), cTrans2(tB), C.blasint(m), C.blasint(n), C.blasint(k),
				C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
				C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
		})
}

// scaleTriangle sets the ul triangle of C to beta·C.
func scaleTriangle[T Float](ul blas.Uplo, n int, beta T, c []T, ldc int) {
	for i := 0; i < n; i++ {
		if ul == blas.Upper {
			scaleC(1, n-i, beta, c[i*ldc+i:], ldc)
		} else {
			scaleC(1, i+1, beta, c[i*ldc:], ldc)
		}
	}
}

// SymEigen computes the eigenvalues of the n×n symmetric row-major matrix a,
// in ascending order into w (len ≥ n): values only by SymEigenvalues, with
// vectors by LAPACK dsyevd from OpenBLAS.
// Only the upper triangle of a is referenced. If vectors is true, a is
// overwritten with the orthonormal eigenvectors, column j holding the vector
// of w[j] (as gonum's mat.EigenSym); otherwise a is destroyed.
func SymEigen(n int, a []float64, w []float64, vectors bool) error {
	if err := checkSymEigen(n, a, w); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if !vectors {
		return SymEigenvalues(context.Background(), n, a, w)
	}
	// Row-major upper = column-major lower of the same (symmetric) matrix.
	jobz, uplo := C.char('N'), C.char('L')
	if vectors {
		jobz = 'V'
	}
	cn, lda := C.int(n), C.int(n)
	var info C.int
	// Workspace query.
	var wq C.double
	var iwq C.int
	lw, liw := C.int(-1), C.int(-1)
	C.dsyevd_(&jobz, &uplo, &cn, (*C.double)(&a[0]), &lda, (*C.double)(&w[0]), &wq, &lw, &iwq, &liw, &info)
	if info != 0 {
		return fmt.Errorf("linalg: SymEigen: dsyevd workspace query: info %d", int(info))
	}
	work := make([]float64, int(wq))
	iwork := make([]C.int, int(iwq))
	lw, liw = C.int(len(work)), C.int(len(iwork))
	C.dsyevd_(&jobz, &uplo, &cn, (*C.double)(&a[0]), &lda, (*C.double)(&w[0]),
		(*C.double)(unsafe.Pointer(&work[0])), &lw, &iwork[0], &liw, &info)
	runtime.KeepAlive(work)
	runtime.KeepAlive(iwork)
	if info != 0 {
		return fmt.Errorf("linalg: SymEigen: dsyevd failed to converge (info %d) for n = %d", int(info), n)
	}
	if vectors {
		// Column-major eigenvectors are rows of the row-major view: transpose.
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				a[i*n+j], a[j*n+i] = a[j*n+i], a[i*n+j]
			}
		}
	}
	return nil
}
