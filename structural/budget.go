package structural

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

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
// Cholesky factor and Z (8·m·n, sumZeroInverse); plus the activations and
// δ's of the K-fold replicated passes that build H (16·m per activation,
// per layer output).
func materialisedNeed(m, n, actsPerSample int, dense bool) spectraPlan {
	h := 8 * float64(m) * float64(m)
	acts := 16 * float64(m) * float64(actsPerSample)
	if dense {
		return spectraPlan{need: clampBytes(3*h + acts),
			parts: fmt.Sprintf("H %s, a projected copy and the eigensolver's copy of the same size, activations %s", Bytes(clampBytes(h)), Bytes(clampBytes(acts)))}
	}
	z := 8 * float64(m) * float64(n)
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
		parts: fmt.Sprintf("%d Lanczos bases %s, diagonal blocks %s, activations %s", spectra, Bytes(clampBytes(basis)), Bytes(clampBytes(blocks)), Bytes(clampBytes(acts)))}
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

// estimateSeconds is the rough time a MemoryError quotes, from rates
// measured on 2 cores (BenchmarkSymEigenvalues, BenchmarkAnalyzeProbe100):
// dense ∝ dim³, certified extremes a Cholesky plus ≈ 150 passes over H.
func estimateSeconds(method string, m int) float64 {
	d := float64(m)
	if method == "dense" {
		return 3 * 2.2 * math.Pow(d/2000, 3)
	}
	return d*d*d/3/18e9 + 150*8*d*d/5e9
}

// planSpectra decides where the spectra of Analyze run: "materialised"
// (method dense or lanczos, or auto when that fits) or "matrixfree", or
// returns a *MemoryError when the method asked, or every method auto may
// choose, exceeds opts.MaxMemory.
func planSpectra(model nn.Layer[float64], n, K, spectra int, opts Options) (string, error) {
	m := n * K
	acts := activationsPerSample(model)
	dense := opts.Method == "dense" || opts.FullSpectrum
	mat := materialisedNeed(m, n, acts, dense)
	mf := matrixFreeNeed(m, n, K, acts, spectra, opts.MatrixFreeProducts)
	budget := opts.MaxMemory
	fitsH := 8*float64(m)*float64(m) <= float64(opts.MaxDenseBytes)
	maxN := func(dense bool) int {
		lo := 0
		for hi := n; lo < hi; {
			mid := (lo + hi + 1) / 2
			if materialisedNeed(mid*K, mid, acts, dense).need <= budget {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return lo
	}
	refuse := func(method string, p spectraPlan, alt int64, maxn int) error {
		return &MemoryError{Method: method, N: n, Dim: m, Need: p.need, Parts: p.parts, Budget: budget,
			MatrixFreeNeed: alt, MaxN: maxn, Seconds: estimateSeconds(method, m)}
	}
	switch opts.Method {
	case "matrixfree":
		if mf.need > budget {
			return "", &MemoryError{Method: "matrixfree", N: n, Dim: m, Need: mf.need, Parts: mf.parts, Budget: budget}
		}
		return "matrixfree", nil
	case "dense", "lanczos":
		if mat.need > budget {
			return "", refuse(string(opts.Method), mat, mf.need, maxN(dense))
		}
		return "materialised", nil
	}
	if mat.need <= budget && fitsH {
		return "materialised", nil
	}
	if mf.need <= budget {
		return "matrixfree", nil
	}
	return "", refuse("auto", mat, mf.need, maxN(dense))
}
