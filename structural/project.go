package structural

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/linalg"
)

// ProjectSumZero returns H_S = Π H Π with Π = I_n ⊗ (I_K − 11ᵀ/K) (THEORY §2),
// as an nK×nK matrix. It has n exact zero eigenvalues from null(Π) (the
// per-sample all-ones directions); RestrictSumZero gives the n(K−1)-dimensional
// operator on range(Π) whose spectrum THEORY §2 means.
func ProjectSumZero(h *mat.SymDense, K int) *mat.SymDense {
	m := h.SymmetricDim()
	checkBlocks("ProjectSumZero", m, K)
	raw := h.RawSymmetric()
	out := make([]float64, m*m)
	// Upper triangle of H, expanded to full rows, with each K-block of every
	// row centred: T = H Π.
	for r := 0; r < m; r++ {
		row := out[r*m : (r+1)*m]
		for c := 0; c < m; c++ {
			if c >= r {
				row[c] = raw.Data[r*raw.Stride+c]
			} else {
				row[c] = raw.Data[c*raw.Stride+r]
			}
		}
		centreBlocks(row, K)
	}
	// Π T: centre each block of K rows, column by column.
	mean := make([]float64, m)
	for b := 0; b < m; b += K {
		clear(mean)
		for r := b; r < b+K; r++ {
			for c, v := range out[r*m : (r+1)*m] {
				mean[c] += v
			}
		}
		for c := range mean {
			mean[c] /= float64(K)
		}
		for r := b; r < b+K; r++ {
			row := out[r*m : (r+1)*m]
			for c := range row {
				row[c] -= mean[c]
			}
		}
	}
	symmetrizeAverage(m, out)
	return mat.NewSymDense(m, out)
}

// symmetrizeAverage replaces a nearly symmetric matrix by (A + Aᵀ)/2, so that
// rounding in the two-sided projection does not leave the triangles unequal.
func symmetrizeAverage(m int, a []float64) {
	for r := 0; r < m; r++ {
		for c := r + 1; c < m; c++ {
			v := 0.5 * (a[r*m+c] + a[c*m+r])
			a[r*m+c], a[c*m+r] = v, v
		}
	}
}

func centreBlocks(row []float64, K int) {
	for b := 0; b < len(row); b += K {
		blk := row[b : b+K]
		s := 0.0
		for _, v := range blk {
			s += v
		}
		s /= float64(K)
		for i := range blk {
			blk[i] -= s
		}
	}
}

func checkBlocks(fn string, m, K int) {
	if K < 2 || m%K != 0 {
		panic(fmt.Sprintf("structural: %s: dimension %d is not a multiple of K = %d (K ≥ 2)", fn, m, K))
	}
}

// helmert writes Vᵀx for one K-block x into dst (length K−1), where the columns
// of V ∈ R^{K×(K−1)} are the Helmert contrasts
// v_j = (1, …, 1, −j, 0, …, 0)/√(j(j+1)) (j ones), j = 1…K−1: an orthonormal
// basis of the sum-zero subspace {v : 1ᵀv = 0}.
func helmert(dst, x []float64) {
	prefix := x[0]
	for j := 1; j < len(x); j++ {
		fj := float64(j)
		dst[j-1] = (prefix - fj*x[j]) / math.Sqrt(fj*(fj+1))
		prefix += x[j]
	}
}

// RestrictSumZero returns B = Vᵀ H V ∈ R^{n(K−1)×n(K−1)}, where V = I_n ⊗ V_K
// and V_K is the K×(K−1) Helmert basis of the sum-zero subspace (see helmert).
// Since V has orthonormal columns spanning range(Π), the eigenvalues of B are
// exactly the spectrum of H_S = Π H Π restricted to range(Π) (THEORY §2), with
// none of the n zero eigenvalues that null(Π) adds to the nK×nK matrix H_S.
// Rows of B are sample-major: i·(K−1) + a.
func RestrictSumZero(h *mat.SymDense, K int) *mat.SymDense {
	m := h.SymmetricDim()
	checkBlocks("RestrictSumZero", m, K)
	n := m / K
	d := n * (K - 1)
	raw := h.RawSymmetric()
	out := make([]float64, d*d)
	// Process one sample block of K rows at a time: T_i = H[iK:(i+1)K, :] V
	// (K × d), then rows i·(K−1)… of B are V_Kᵀ T_i.
	full := make([]float64, m)
	t := make([]float64, K*d)
	col := make([]float64, K)
	dst := make([]float64, K-1)
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			r := i*K + k
			for c := 0; c < m; c++ {
				if c >= r {
					full[c] = raw.Data[r*raw.Stride+c]
				} else {
					full[c] = raw.Data[c*raw.Stride+r]
				}
			}
			tr := t[k*d : (k+1)*d]
			for j := 0; j < n; j++ {
				helmert(tr[j*(K-1):(j+1)*(K-1)], full[j*K:(j+1)*K])
			}
		}
		for c := 0; c < d; c++ {
			for k := 0; k < K; k++ {
				col[k] = t[k*d+c]
			}
			helmert(dst, col)
			for a, v := range dst {
				out[(i*(K-1)+a)*d+c] = v
			}
		}
	}
	symmetrizeAverage(d, out)
	return mat.NewSymDense(d, out)
}

// ProbabilityWeighted returns H_p = D^{1/2} H D^{1/2}, D = diag(p) (THEORY §2,
// softmax only), with p flattened sample-major like the rows of H. Entries of
// p must be in [0, 1]; a p_ik that underflowed to 0 zeroes its row and column.
func ProbabilityWeighted(h *mat.SymDense, p []float64) *mat.SymDense {
	m := h.SymmetricDim()
	if len(p) != m {
		panic(fmt.Sprintf("structural: ProbabilityWeighted: %d probabilities for a %d×%d matrix", len(p), m, m))
	}
	s := make([]float64, m)
	for i, v := range p {
		if !(v >= 0) {
			panic(fmt.Sprintf("structural: ProbabilityWeighted: p[%d] = %v is not a probability", i, v))
		}
		s[i] = math.Sqrt(v)
	}
	raw := h.RawSymmetric()
	out := make([]float64, m*m)
	for r := 0; r < m; r++ {
		for c := r; c < m; c++ {
			v := s[r] * raw.Data[r*raw.Stride+c] * s[c]
			out[r*m+c], out[c*m+r] = v, v
		}
	}
	return mat.NewSymDense(m, out)
}

// sumZeroInPlaceBuffer is the size, in elements, of the buffer through
// which restrictSumZeroInPlace writes B (32 MiB); a variable for the tests.
var sumZeroInPlaceBuffer = 1 << 22

// restrictSumZeroInPlace overwrites H (both triangles stored, m = nK) with
// B = VᵀHV of RestrictSumZero, d×d row-major at the start of H's storage
// (d = n(K−1)), both triangles, and returns it: H_S for the certified
// extremes without a second matrix of H's size. Each upper-triangle block
// B_ij = V_Kᵀ H_ij V_K (j ≥ i) is computed as RestrictSumZero computes it
// and the lower triangle mirrored (RestrictSumZero averages the two
// triangles instead, which differs in the last bits). Block rows go in
// chunks through a buffer: rows of B up to block row i end at
// (i+1)(K−1)·d ≤ (i+1)K·m, before H's block row i+1 starts, so a chunk's
// writes never reach rows of H still to be read. ctx is polled per chunk;
// on cancellation H is left partly overwritten.
func restrictSumZeroInPlace(ctx context.Context, h *mat.SymDense, K int) (*mat.SymDense, error) {
	m := h.SymmetricDim()
	checkBlocks("restrictSumZeroInPlace", m, K)
	raw := h.RawSymmetric()
	if raw.Stride != m {
		panic("structural: restrictSumZeroInPlace: H must be stored contiguously")
	}
	n, c := m/K, K-1
	d := n * c
	a := raw.Data
	chunk := max(1, min(n, sumZeroInPlaceBuffer/(c*d)))
	buf := make([]float64, chunk*c*d)
	for i0 := 0; i0 < n; i0 += chunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("structural: compressing H_S in place, block row %d of %d: %w", i0, n, err)
		}
		i1 := min(i0+chunk, n)
		var next atomic.Int64
		next.Store(int64(i0))
		rows := func(int) {
			t := make([]float64, K*c)
			col := make([]float64, K)
			dst := make([]float64, c)
			for {
				i := int(next.Add(1)) - 1
				if i >= i1 {
					return
				}
				out := buf[(i-i0)*c*d : (i-i0+1)*c*d]
				for j := i; j < n; j++ {
					// T = H_ij V_K (K×c), then V_Kᵀ T.
					for k := 0; k < K; k++ {
						r := i*K + k
						helmert(t[k*c:(k+1)*c], a[r*m+j*K:r*m+(j+1)*K])
					}
					for y := 0; y < c; y++ {
						for k := 0; k < K; k++ {
							col[k] = t[k*c+y]
						}
						helmert(dst, col)
						for x, v := range dst {
							out[x*d+j*c+y] = v
						}
					}
				}
			}
		}
		parallel.Run(min(runtime.GOMAXPROCS(0), i1-i0), rows)
		for i := i0; i < i1; i++ {
			for x := 0; x < c; x++ {
				r := i*c + x
				copy(a[r*d+i*c:(r+1)*d], buf[((i-i0)*c+x)*d+i*c:((i-i0)*c+x+1)*d])
			}
		}
	}
	b := a[:d*d]
	linalg.Symmetrize(d, b, d)
	return mat.NewSymDense(d, b), nil
}
