package linalg

import (
	"fmt"
	"os"

	"github.com/fenchel-ml/fenchel/linalg/internal/kern"
)

// kernelSet is one family of micro-kernels for the packed GEMM (gemm.go).
// Results can differ in the last bits between sets (gonum sums in another
// order; the assembly sets add alpha·Σ to C with one rounding on full tiles
// and two on edge tiles, and their tile shapes differ), so FENCHEL_KERNELS
// pins one for results that must be reproducible across machines.
type kernelSet struct {
	name string                // value of FENCHEL_KERNELS that selects it
	desc string                // shapes, for Backend
	k32  *microKernel[float32] // nil: delegate to gonum
	k64  *microKernel[float64] // nil: delegate to gonum
	why  string                // why it cannot run here; "" if it can
	vec  *vecKernels           // level-2 kernels (trsv.go, symv.go); nil: their Go twins
}

// asmKernel wraps an assembly micro-kernel with the bounds checks of its
// packed panels and C tile, which the assembly does not do.
func asmKernel[T Float](mr, nr int, f func(k int, a, b, c *T, ldc int, alpha T)) *microKernel[T] {
	return &microKernel[T]{mr: mr, nr: nr, tile: func(k int, a, b, c []T, ldc int, alpha T) {
		_, _, _ = a[mr*k-1], b[nr*k-1], c[(mr-1)*ldc+nr-1]
		f(k, &a[0], &b[0], &c[0], ldc, alpha)
	}}
}

// withStore adds the overwriting variant of mk's full-tile kernel.
func withStore[T Float](mk *microKernel[T], f func(k int, a, b, c *T, ldc int, alpha T)) *microKernel[T] {
	mr, nr := mk.mr, mk.nr
	mk.store = func(k int, a, b, c []T, ldc int, alpha T) {
		_, _, _ = a[mr*k-1], b[nr*k-1], c[(mr-1)*ldc+nr-1]
		f(k, &a[0], &b[0], &c[0], ldc, alpha)
	}
	return mk
}

// withStoreBias adds the overwriting-with-bias variant of mk's full-tile
// kernel.
func withStoreBias[T Float](mk *microKernel[T], f func(k int, a, b, c *T, ldc int, alpha T, bias *T)) *microKernel[T] {
	mr, nr := mk.mr, mk.nr
	mk.storeBias = func(k int, a, b, c []T, ldc int, alpha T, bias []T) {
		_, _, _, _ = a[mr*k-1], b[nr*k-1], c[(mr-1)*ldc+nr-1], bias[nr-1]
		f(k, &a[0], &b[0], &c[0], ldc, alpha, &bias[0])
	}
	return mk
}

// withLdb adds mk's full-tile kernel and its store variant reading B in
// place with a row stride ldb.
func withLdb[T Float](mk *microKernel[T], tile, store func(k int, a, b, c *T, ldc int, alpha T, ldb int)) *microKernel[T] {
	mr, nr := mk.mr, mk.nr
	wrap := func(f func(k int, a, b, c *T, ldc int, alpha T, ldb int)) func(k int, a, b []T, ldb int, c []T, ldc int, alpha T) {
		return func(k int, a, b []T, ldb int, c []T, ldc int, alpha T) {
			_, _, _ = a[mr*k-1], b[(k-1)*ldb+nr-1], c[(mr-1)*ldc+nr-1]
			f(k, &a[0], &b[0], &c[0], ldc, alpha, ldb)
		}
	}
	mk.tileLdb, mk.storeLdb = wrap(tile), wrap(store)
	return mk
}

// withTranspose adds an assembly block transpose of width tw, with the
// bounds checks of its source and destination, to mk.
func withTranspose[T Float](mk *microKernel[T], tw int, f func(n int, src *T, lds int, dst *T, ldd int)) *microKernel[T] {
	mk.tw = tw
	mk.transpose = func(n int, src []T, lds int, dst []T, ldd int) {
		n = n / tw * tw
		if n == 0 {
			return
		}
		_, _ = src[(tw-1)*lds+n-1], dst[(n-1)*ldd+tw-1]
		f(n, &src[0], lds, &dst[0], ldd)
	}
	return mk
}

// edgeTile wraps an assembly edge kernel computing the rows×cols corner of a
// tile from mr×nr-packed panels, with the bounds checks of the panels and
// of the corner of C.
func edgeTile[T Float](rows, cols, mr, nr int, f func(k int, a, b, c *T, ldc int, alpha T)) func(k int, a, b, c []T, ldc int, alpha T) {
	return func(k int, a, b, c []T, ldc int, alpha T) {
		_, _, _ = a[mr*k-1], b[nr*k-1], c[(rows-1)*ldc+cols-1]
		f(k, &a[0], &b[0], &c[0], ldc, alpha)
	}
}

// withPackRows adds an A-panel packer to mk.
func withPackRows[T Float](mk *microKernel[T], f func(n int, src []T, lda int, dst []T) int) *microKernel[T] {
	mk.packRows = f
	return mk
}

// packRows12f32 packs 12 rows of A into a 12-row panel, 16 columns at a time.
func packRows12f32(n int, src []float32, lda int, dst []float32) int {
	n = n / 16 * 16
	if n > 0 {
		_, _ = src[11*lda+n-1], dst[n*12-1]
		kern.Transpose12x16S(n, &src[0], lda, &dst[0], 12)
	}
	return n
}

// packRows12f64 packs 12 rows of A into a 12-row panel, 8 columns at a time:
// rows 0–7 with an 8×8 transpose, rows 8–11 with a 4×8 one.
func packRows12f64(n int, src []float64, lda int, dst []float64) int {
	n = n / 8 * 8
	if n > 0 {
		_, _ = src[11*lda+n-1], dst[n*12-1]
		kern.Transpose8x8D(n, &src[0], lda, &dst[0], 12)
		kern.Transpose4x8D(n, &src[8*lda], lda, &dst[8], 12)
	}
	return n
}

// withDots adds few-column kernels (gemmDot), smallest first, to mk.
func withDots[T Float](mk *microKernel[T], dots ...dotKernel[T]) *microKernel[T] {
	mk.dots = dots
	return mk
}

// withEdges adds edge kernels, smallest tile first, to mk.
func withEdges[T Float](mk *microKernel[T], edges ...edgeKernel[T]) *microKernel[T] {
	mk.edges = edges
	return mk
}

// kernelSets returns every kernel set in order of preference (fastest
// first); each says whether it can run on this CPU and build.
func kernelSets() []kernelSet {
	sets := []kernelSet{
		{name: "avx512", desc: "amd64 AVX-512F 12×32 f32, 12×16 f64",
			k32: withDots(withEdges(withLdb(withStoreBias(withStore(withPackRows(withTranspose(asmKernel(12, 32, kern.Sgemm12x32AVX512), 16, kern.Transpose16x16S), packRows12f32), kern.Sgemm12x32StoreAVX512), kern.Sgemm12x32StoreBiasAVX512), kern.Sgemm12x32LdbAVX512, kern.Sgemm12x32StoreLdbAVX512),
				edgeKernel[float32]{4, 16, edgeTile(4, 16, 12, 32, kern.Sgemm4x16Of12x32AVX512)},
				edgeKernel[float32]{8, 16, edgeTile(8, 16, 12, 32, kern.Sgemm8x16Of12x32AVX512)},
				edgeKernel[float32]{4, 32, edgeTile(4, 32, 12, 32, kern.Sgemm4x32Of12x32AVX512)},
				edgeKernel[float32]{12, 16, edgeTile(12, 16, 12, 32, kern.Sgemm12x16Of12x32AVX512)},
				edgeKernel[float32]{8, 32, edgeTile(8, 32, 12, 32, kern.Sgemm8x32Of12x32AVX512)}),
				dotKernel[float32]{4, kern.SdotR1x4AVX512, kern.SdotR2x4AVX512},
				dotKernel[float32]{8, kern.SdotR1x8AVX512, kern.SdotR2x8AVX512},
				dotKernel[float32]{12, kern.SdotR1x12AVX512, kern.SdotR2x12AVX512}),
			k64: withEdges(withStore(withPackRows(withTranspose(asmKernel(12, 16, kern.Dgemm12x16AVX512), 8, kern.Transpose8x8D), packRows12f64), kern.Dgemm12x16StoreAVX512),
				edgeKernel[float64]{4, 8, edgeTile(4, 8, 12, 16, kern.Dgemm4x8Of12x16AVX512)},
				edgeKernel[float64]{8, 8, edgeTile(8, 8, 12, 16, kern.Dgemm8x8Of12x16AVX512)},
				edgeKernel[float64]{4, 16, edgeTile(4, 16, 12, 16, kern.Dgemm4x16Of12x16AVX512)},
				edgeKernel[float64]{12, 8, edgeTile(12, 8, 12, 16, kern.Dgemm12x8Of12x16AVX512)},
				edgeKernel[float64]{8, 16, edgeTile(8, 16, 12, 16, kern.Dgemm8x16Of12x16AVX512)}),
			vec: vecAVX512},
		{name: "avx2", desc: "amd64 AVX2/FMA 6×16 f32, 6×8 f64",
			k32: asmKernel(6, 16, kern.Sgemm6x16), k64: asmKernel(6, 8, kern.Dgemm6x8), vec: vecAVX2},
		{name: "gonum", desc: "gonum fallback"},
	}
	sets[0].why = cpuLacks(kern.AVX512, "AVX-512F (or the OS does not enable it)")
	sets[1].why = cpuLacks(kern.AVX2, "AVX2 and FMA3")
	return sets
}

// cpuLacks returns "" if ok, else why a kernel set cannot run.
func cpuLacks(ok bool, what string) string {
	switch {
	case ok:
		return ""
	case !kern.Assembly:
		return "no assembly in this build (purego or not amd64)"
	default:
		return "CPU lacks " + what
	}
}

// availableKernelSets returns the kernel sets that can run here, fastest
// first; the last is always gonum.
func availableKernelSets() []kernelSet {
	var ok []kernelSet
	for _, s := range kernelSets() {
		if s.why == "" {
			ok = append(ok, s)
		}
	}
	return ok
}

// chooseKernels returns the kernel set asked for by want (a FENCHEL_KERNELS
// value: auto, "" or a set's name) and its description for Backend. A set
// that cannot run here, or an unknown name, falls back to the fastest that
// can; the description says why, and so does note (a known set that cannot
// run) or the error (an unknown name).
func chooseKernels(want string) (kernelSet, string, string, error) {
	best := availableKernelSets()[0]
	if want == "" || want == "auto" {
		return best, best.desc, "", nil
	}
	for _, s := range kernelSets() {
		if s.name != want {
			continue
		}
		if s.why != "" {
			desc := fmt.Sprintf("%s; FENCHEL_KERNELS=%s unavailable: %s", best.desc, want, s.why)
			return best, desc, "running " + desc, nil
		}
		return s, s.desc, "", nil
	}
	const known = "want auto, avx512, avx2 or gonum"
	return best, fmt.Sprintf("%s; FENCHEL_KERNELS=%q unknown (%s)", best.desc, want, known),
		"", fmt.Errorf("environment variable FENCHEL_KERNELS=%q: unknown kernel set (%s)", want, known)
}

// useKernels installs a kernel set in Kernels. It is the in-process switch
// for tests; Backend is not changed (it names the set chosen at start-up, or
// another backend such as OpenBLAS).
func useKernels(s kernelSet) {
	kernel32, kernel64, vec = s.k32, s.k64, s.vec
}

// kernel32 and kernel64 are the micro-kernels in use; nil when the CPU (or
// the purego build) has none, in which case Kernels falls back to gonum.
// kernelName describes them for Backend.
var kernel32, kernel64, kernelName = pickKernels()

func pickKernels() (*microKernel[float32], *microKernel[float64], string) {
	s, desc, note, err := chooseKernels(os.Getenv("FENCHEL_KERNELS"))
	if note != "" {
		BackendNote = note
	}
	envErr = err
	return s.k32, s.k64, desc
}

// envErr is CheckEnv's error.
var envErr error

// CheckEnv returns an error naming the variable and its value when an
// environment variable linalg reads (FENCHEL_KERNELS) holds a value it does
// not know; the engine then runs with the default, so commands should refuse
// to start rather than let a typo pass.
func CheckEnv() error { return envErr }
