package structural

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
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
