package structural

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// MemoryError is returned by Analyze, before anything large is allocated,
// when the spectra by the method asked (or every method "auto" may choose)
// would need more memory than Options.MaxMemory.
type MemoryError struct {
	Method string // the method that does not fit
	N, Dim int    // probe samples and nK
	Need   int64  // estimated peak bytes of Method
	Parts  string // what Need is made of
	Budget int64  // Options.MaxMemory
	// MatrixFreeNeed is the estimate of the matrix-free path (0 when that
	// is the method asked); MaxN the largest probe size whose Method fits.
	MatrixFreeNeed int64
	MaxN           int
	// Seconds is a rough time estimate of Method at the engine's measured
	// rates (see estimateSeconds), for the message.
	Seconds float64
}

func (e *MemoryError) Error() string {
	msg := fmt.Sprintf("structural: spectra by method %s at n = %d (nK = %d) need about %s (%s), above the memory budget of %s",
		e.Method, e.N, e.Dim, Bytes(e.Need), e.Parts, Bytes(e.Budget))
	if e.Seconds > 0 {
		msg += fmt.Sprintf(", and would take about %s", seconds(e.Seconds))
	}
	if e.MatrixFreeNeed > 0 {
		fit := "fits"
		if e.MatrixFreeNeed > e.Budget {
			fit = "does not fit either"
		}
		msg += fmt.Sprintf("; the matrix-free path needs about %s (%s)", Bytes(e.MatrixFreeNeed), fit)
	}
	if e.MaxN > 0 {
		msg += fmt.Sprintf("; method %s fits up to n = %d", e.Method, e.MaxN)
	}
	return msg
}

// Bytes formats a byte count with a binary unit.
func Bytes(b int64) string {
	v := float64(b)
	for _, u := range []string{"B", "KiB", "MiB", "GiB"} {
		if v < 1024 {
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1024
	}
	return fmt.Sprintf("%.1f TiB", v)
}

// Seconds formats a duration estimate in s, min or h.
func Seconds(s float64) string { return seconds(s) }

func seconds(s float64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%.0f s", s)
	case s < 7200:
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

// DefaultMaxMemory is Options.MaxMemory when it is 0: three quarters of
// the memory available when first asked (MemAvailable in /proc/meminfo),
// or 4 GiB where that cannot be read.
func DefaultMaxMemory() int64 {
	defaultMemOnce.Do(func() {
		defaultMem = 4 << 30
		if avail, ok := memAvailable(); ok {
			defaultMem = avail / 4 * 3
		}
	})
	return defaultMem
}

var (
	defaultMemOnce sync.Once
	defaultMem     int64
)

func memAvailable() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// spectraPlan is the memory estimate of one way of computing the spectra.
type spectraPlan struct {
	need  int64
	parts string
}

// materialisedNeed estimates the peak bytes of the spectra on a
// materialised H (nK = m): H itself; for dense spectra a projected copy
// (H_S, H_p) and the solver's working copy; for certified extremes the
// Cholesky factor (in H's own triangle from inPlaceFactorMin) and Z
// (8·m·n, sumZeroInverse; not needed there for a single spectrum: H alone,
// or H_S alone compressed in H's storage); plus the activations and
// δ's of the K-fold replicated passes that build H (16·m per activation,
// per layer output). From inPlaceFactorMin a spectrum found numerically
// singular whose rank comes from pivotedRank (above DenseMax) allocates
// that work space, up to 8·m² more, which the estimate leaves out: it
// counts the common, non-singular case.
func materialisedNeed(m, n, actsPerSample, spectra int, dense bool) spectraPlan {
	h := 8 * float64(m) * float64(m)
	acts := 16 * float64(m) * float64(actsPerSample)
	if dense {
		return spectraPlan{need: clampBytes(3*h + acts),
			parts: fmt.Sprintf("H %s, a projected copy and the eigensolver's copy of the same size, activations %s", Bytes(clampBytes(h)), Bytes(clampBytes(acts)))}
	}
	z := 8 * float64(m) * float64(n)
	if m >= inPlaceFactorMin {
		if spectra == 1 {
			return spectraPlan{need: clampBytes(h + acts),
				parts: fmt.Sprintf("H %s (the spectrum's matrix and its Cholesky factor in place), activations %s", Bytes(clampBytes(h)), Bytes(clampBytes(acts)))}
		}
		return spectraPlan{need: clampBytes(h + z + acts),
			parts: fmt.Sprintf("H %s (its Cholesky factor in place), the Schur basis %s, activations %s", Bytes(clampBytes(h)), Bytes(clampBytes(z)), Bytes(clampBytes(acts)))}
	}
	return spectraPlan{need: clampBytes(2*h + z + acts),
		parts: fmt.Sprintf("H %s, its Cholesky factor %s, the Schur basis %s, activations %s", Bytes(clampBytes(h)), Bytes(clampBytes(h)), Bytes(clampBytes(z)), Bytes(clampBytes(acts)))}
}

// matrixFreeNeed estimates the matrix-free path: one Lanczos basis per
// spectrum (at most products vectors of length nK each, all alive while the
// runs advance in lock step), the diagonal K×K blocks and the chunked H of
// DiagonalBlocks, and one pass's activations over n rows.
func matrixFreeNeed(m, n, K, actsPerSample, spectra, products int) spectraPlan {
	basis := 8 * float64(spectra) * float64(min(m, products)) * float64(m)
	chunk := float64(min(max(1, 4096/K)*K, m))
	blocks := 8*float64(m)*float64(K) + 8*chunk*chunk
	acts := 16 * float64(n) * float64(actsPerSample) * 3
	return spectraPlan{need: clampBytes(basis + blocks + acts),
		parts: fmt.Sprintf("Lanczos bases of %d spectra %s, diagonal blocks %s, activations %s", spectra, Bytes(clampBytes(basis)), Bytes(clampBytes(blocks)), Bytes(clampBytes(acts)))}
}

func clampBytes(v float64) int64 {
	if v >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(v)
}

// activationsPerSample sums the output sizes of the layers of model (of
// its top-level chain, or the model itself): what the passes over the
// probe keep per sample.
func activationsPerSample(model nn.Layer[float64]) int {
	if c, ok := model.(nn.Chain[float64]); ok {
		s := 0
		for _, l := range c.Chain() {
			s += l.OutShape().Size()
		}
		return s + model.InShape().Size()
	}
	return model.InShape().Size() + model.OutShape().Size()
}

// Rates of the time estimates, measured on this project's 2-core
// reference machine (AMD EPYC Zen 5, AVX-512) with MLP 784-1000-10 at
// n = 1000 and 2000 (probe's phase timings and CPU profiles): the engine's
// GEMM-bound work (building H, the Cholesky factor: 56 GFLOP per CPU-second
// at order 4000, GEMM 86; the Schur basis, the passes J and Jᵀ of the
// matrix-free products), the passes that stream H or its factor from
// memory, and first-touch page faults of fresh large allocations (0.2 to
// 0.5 GB/s wall on a virtual machine, most of it outside the process's
// CPU time). A machine shared with other work takes proportionally longer.
const (
	estFlops      = 100e9 // flop/s, both cores
	estStream     = 12e9  // bytes/s
	estFirstTouch = 0.5e9 // bytes/s
)

// estimateSeconds is the rough wall-clock time of the spectra by method
// ("dense", "lanczos" (certified extremes, also auto's materialised path)
// or "matrixfree") at n samples, nK = m, for a model of P parameters with
// acts activations per sample, and spectra operators:
//   - building H: m²·acts flops (the Gram terms of every layer output) and
//     the first touch of H;
//   - dense: 3 eigen-decompositions of ≈ 4m³/3 flops each and the first
//     touch of two copies;
//   - certified extremes: the Cholesky factor (m³/3), the Schur basis of
//     H_S (m²n/3; none for a single spectrum from inPlaceFactorMin), about
//     120 passes over a triangle of H or its factor (λ_max, and two solves
//     per λ_min step) and, below inPlaceFactorMin, first touch of the
//     factor's copy;
//   - matrix-free: spectra·products products of about 8nP flops each
//     (one forward, one backward and one forward-mode pass) and the
//     diagonal blocks (chunked H builds).
//
// Measured against it (wall, 2 cores at load average 5, H_S alone): n =
// 1000, 9.6 s for an estimate of 12 s; n = 2000, 64 s for 60 s.
func estimateSeconds(method string, n, m, P, acts, spectra, products int) float64 {
	d, nf := float64(m), float64(n)
	build := d*d*float64(acts)/estFlops + 8*d*d/estFirstTouch
	switch method {
	case "dense":
		return build + 3*4*d*d*d/3/estFlops + 2*8*d*d/estFirstTouch
	case "matrixfree":
		chunk := float64(min(max(1, 4096/max(1, m/n))*(m/n), m))
		return float64(spectra*products)*8*nf*float64(P)/estFlops + d/chunk*chunk*chunk*float64(acts)/estFlops
	}
	t := build + d*d*d/3/estFlops + 120*4*d*d/estStream
	if m < inPlaceFactorMin || spectra > 1 {
		t += d * d * nf / 3 / estFlops
	}
	if m < inPlaceFactorMin {
		t += 8 * d * d / estFirstTouch
	}
	return t
}

// SpectraPlan is where and how Analyze will compute the spectra, with its
// estimated peak memory and time (PlanSpectra).
type SpectraPlan struct {
	// Where is "materialised" (H formed: dense spectra or certified
	// extremes) or "matrixfree" (products Hv = J(Jᵀv) only).
	Where string
	// Need is the estimated peak bytes, Parts what it is made of.
	Need  int64
	Parts string
	// Seconds is the estimated wall-clock time on 2 idle cores (estimateSeconds).
	Seconds float64
}

// PlanSpectra returns the plan Analyze follows for model on n probe
// samples with loss l and opts, or the *MemoryError it would return,
// without computing anything large.
func PlanSpectra(model nn.Layer[float64], n int, l loss.Loss, opts Options) (SpectraPlan, error) {
	if err := opts.fill(); err != nil {
		return SpectraPlan{}, err
	}
	return planSpectra(model, n, numClasses(model), spectrumCount(l, opts.Spectra), opts)
}

// planSpectra decides where the spectra of Analyze run: "materialised"
// (method dense or lanczos, or auto when that fits) or "matrixfree", or
// returns a *MemoryError when the method asked, or every method auto may
// choose, exceeds opts.MaxMemory.
func planSpectra(model nn.Layer[float64], n, K, spectra int, opts Options) (SpectraPlan, error) {
	m := n * K
	acts := activationsPerSample(model)
	dense := opts.Method == "dense" || opts.FullSpectrum
	mat := materialisedNeed(m, n, acts, spectra, dense)
	mf := matrixFreeNeed(m, n, K, acts, spectra, opts.MatrixFreeProducts)
	budget := opts.MaxMemory
	fitsH := 8*float64(m)*float64(m) <= float64(opts.MaxDenseBytes)
	maxN := func(dense bool) int {
		lo := 0
		for hi := n; lo < hi; {
			mid := (lo + hi + 1) / 2
			if materialisedNeed(mid*K, mid, acts, spectra, dense).need <= budget {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return lo
	}
	P := nn.NumParams(model)
	secs := func(method string) float64 {
		if method == "auto" {
			method = "lanczos"
		}
		return estimateSeconds(method, n, m, P, acts, spectra, opts.MatrixFreeProducts)
	}
	refuse := func(method string, p spectraPlan, alt int64, maxn int) (SpectraPlan, error) {
		return SpectraPlan{}, &MemoryError{Method: method, N: n, Dim: m, Need: p.need, Parts: p.parts, Budget: budget,
			MatrixFreeNeed: alt, MaxN: maxn, Seconds: secs(method)}
	}
	matPlan := func() (SpectraPlan, error) {
		method := "lanczos"
		if dense {
			method = "dense"
		}
		return SpectraPlan{Where: "materialised", Need: mat.need, Parts: mat.parts, Seconds: secs(method)}, nil
	}
	mfPlan := SpectraPlan{Where: "matrixfree", Need: mf.need, Parts: mf.parts, Seconds: secs("matrixfree")}
	switch opts.Method {
	case "matrixfree":
		if mf.need > budget {
			return SpectraPlan{}, &MemoryError{Method: "matrixfree", N: n, Dim: m, Need: mf.need, Parts: mf.parts, Budget: budget, Seconds: mfPlan.Seconds}
		}
		return mfPlan, nil
	case "dense", "lanczos":
		if mat.need > budget {
			return refuse(string(opts.Method), mat, mf.need, maxN(dense))
		}
		return matPlan()
	}
	if mat.need <= budget && fitsH {
		return matPlan()
	}
	if mf.need <= budget {
		return mfPlan, nil
	}
	return refuse("auto", mat, mf.need, maxN(dense))
}
