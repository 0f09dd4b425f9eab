// Package linalg is fenchel's single seam for dense linear algebra.
//
// Every matrix product in the engine goes through Gemm or Syrk here, which
// dispatch to the BLAS implementations held in Float32 and Float64. By default
// these are Kernels (gonum with fenchel's blocked, packed, multi-goroutine
// GEMM/SYRK); with -tags openblas (cgo, libopenblas-dev) OpenBLAS replaces
// them in an init func and nothing else changes. The dense symmetric
// eigensolver follows the same switch: SymEigenvalues is fenchel's two-stage
// Householder reduction + sterf (dsterf, sterf.go) in pure Go; with OpenBLAS it is LAPACK
// dsyevd below n = 1000 and the same pure-Go reduction from there (faster
// than LAPACK's there, lapack_openblas.go says by how much); SymEigen with
// vectors is gonum's Dsyev, or LAPACK dsyevd.
//
// Build tags: openblas (cgo OpenBLAS backend), purego (no assembly; Kernels
// then falls back to gonum). The conformance tests in linalg_test.go check
// every backend against a naive triple loop.
package linalg

import (
	"runtime"

	"gonum.org/v1/gonum/blas"

	"github.com/fenchel-ml/fenchel/internal/parallel"
)

// Float is the set of element types the engine computes in.
type Float interface{ ~float32 | ~float64 }

// Float32 and Float64 are the BLAS implementations the engine calls. They are
// variables so that a build-tagged backend can install itself in an init func.
var (
	Float32 blas.Float32 = Kernels{}
	Float64 blas.Float64 = Kernels{}
)

// Backend names the BLAS backend in use, recorded with every result. For the
// pure-Go kernels it names the micro-kernel set: the fastest this CPU runs
// (AVX-512F, else AVX2/FMA, else gonum), or the one FENCHEL_KERNELS=avx512,
// avx2 or gonum asks for, so that runs on different machines can sum in the
// same order; a set that cannot run falls back and Backend says why.
var Backend = "fenchel pure-Go kernels (" + kernelName + ")"

// serialBackend is a backend (other than Kernels) that can multiply on one
// core, from several goroutines at once: OpenBLAS run single-threaded.
type serialBackend interface {
	serialGemm() bool
	sgemm1(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	dgemm1(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
}

// SerialGemm reports whether GemmSerial[T] computes on the calling goroutine
// alone, so that a caller may run one per core at once: true for fenchel's Go
// kernels and for OpenBLAS run single-threaded (FENCHEL_OPENBLAS_SPLIT=1),
// false for OpenBLAS with its own threads (concurrent calls into its thread
// pool made Model d's training step 1.9× slower).
func SerialGemm[T Float]() bool {
	var impl any = Float64
	if _, ok := any(T(0)).(float32); ok {
		impl = Float32
	}
	if _, ok := impl.(Kernels); ok {
		return true
	}
	sb, ok := impl.(serialBackend)
	return ok && sb.serialGemm()
}

// GemmSerial is Gemm for callers that already run one goroutine per core
// (nn's convolution splits its batch): when SerialGemm[T] it computes on the
// calling goroutine, with exactly Gemm's result; otherwise it runs Gemm.
func GemmSerial[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	var impl any = Float64
	if _, ok := any(a).([]float32); ok {
		impl = Float32
	}
	if sb, ok := impl.(serialBackend); ok && sb.serialGemm() {
		switch a := any(a).(type) {
		case []float32:
			sb.sgemm1(tA, tB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		case []float64:
			sb.dgemm1(tA, tB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
		}
		return
	}
	if _, ok := impl.(Kernels); !ok || !serialGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major slices, where op(A)
// is m×k, op(B) is k×n and C is m×n.
func Gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := trans(tA), trans(tB)
	switch a := any(a).(type) {
	case []float32:
		Float32.Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		Float64.Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		panic("linalg: unsupported element type")
	}
}

// Syrk computes the upper triangle of C = alpha·A·Aᵀ + beta·C (trans=false,
// A is n×k) or C = alpha·Aᵀ·A + beta·C (trans=true, A is k×n), C n×n row-major.
// Only the upper triangle of C is referenced and written; see Symmetrize.
func Syrk[T Float](trans bool, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) {
	if n == 0 {
		return
	}
	t := blas.NoTrans
	if trans {
		t = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		Float32.Ssyrk(blas.Upper, t, n, k, float32(alpha), a, lda, float32(beta), any(c).([]float32), ldc)
	case []float64:
		Float64.Dsyrk(blas.Upper, t, n, k, float64(alpha), a, lda, float64(beta), any(c).([]float64), ldc)
	default:
		panic("linalg: unsupported element type")
	}
}

// Symmetrize copies the upper triangle of the n×n row-major matrix c into its
// lower triangle. It works in square tiles, so that both the reads and the
// writes stay within a few cache lines per row, with tile rows dealt
// round-robin over GOMAXPROCS goroutines (the lower triangle grows with the
// row).
func Symmetrize[T Float](n int, c []T, ldc int) {
	const tile = 64
	nt := (n + tile - 1) / tile
	workers := min(runtime.GOMAXPROCS(0), nt)
	parallel.Run(workers, func(w int) {
		for t := w; t < nt; t += workers {
			symmetrizeTileRow(n, c, ldc, t, tile)
		}
	})
}

// symmetrizeTileRow fills the lower triangle in tile row t.
func symmetrizeTileRow[T Float](n int, c []T, ldc, t, tile int) {
	i0, i1 := t*tile, min((t+1)*tile, n)
	for j0 := 0; j0 <= i0; j0 += tile {
		j1 := min(j0+tile, n)
		for i := i0; i < i1; i++ {
			row := c[i*ldc:]
			for j := j0; j < min(j1, i); j++ {
				row[j] = c[j*ldc+i]
			}
		}
	}
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
