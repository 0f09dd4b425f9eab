package structural

import (
	"runtime"
	"sync"

	"github.com/fenchel-ml/fenchel/linalg"
)

// gramTerm is one Dense layer's share of H (THEORY §6):
// (Δ Δᵀ) ∘ (S ⊗ 1_K 1_Kᵀ + 1), with Δ the nK×out matrix of output
// sensitivities δ_{l,k}(x_i) (row i·K+k) and S = X Xᵀ the n×n Gram of the
// layer's n distinct inputs (upper triangle).
type gramTerm struct {
	dy  []float64
	out int
	s   []float64
}

// gramBlock is the target size, in elements, of one row block of Δ Δᵀ that
// addGramTerms holds per term.
const gramBlock = 1 << 21

// addGramTerms adds Σ_l (Δ_l Δ_lᵀ) ∘ (S_l ⊗ 1 1ᵀ + 1) to the upper triangle
// of the m×m matrix h (m = nK). Δ_l Δ_lᵀ is formed by GEMM one block of rows
// at a time (the block against all later rows) and every term is folded into
// a row of h while the row is in cache, so h is traversed once and the
// scratch is O(terms·block·m) rather than m².
func addGramTerms(h []float64, m, K int, terms []gramTerm) {
	n := m / K
	bs := max(64, min(512, gramBlock/m))
	bs = min(bs, m)
	g := make([][]float64, len(terms))
	for l := range g {
		g[l] = make([]float64, bs*m)
	}
	workers := runtime.GOMAXPROCS(0)
	for r0 := 0; r0 < m; r0 += bs {
		r1 := min(r0+bs, m)
		w := m - r0 // columns r0…m−1
		for l, t := range terms {
			linalg.Gemm(false, true, r1-r0, w, t.out, 1, t.dy[r0*t.out:], t.out, t.dy[r0*t.out:], t.out, 0, g[l], w)
		}
		fold := func(ra, rb int) {
			for r := ra; r < rb; r++ {
				a := r / K
				hr := h[r*m : (r+1)*m]
				for l, t := range terms {
					gr := g[l][(r-r0)*w : (r-r0+1)*w]
					sr := t.s[a*n : (a+1)*n]
					for b := a; b < n; b++ {
						sv := sr[b] + 1
						c0, c1 := max(r, b*K), (b+1)*K
						hc, gc := hr[c0:c1], gr[c0-r0:c1-r0]
						for i, v := range gc {
							hc[i] += v * sv
						}
					}
				}
			}
		}
		parallelRows(r0, r1, workers, fold)
	}
}

// parallelRows splits rows [r0, r1) into one contiguous range per worker
// and runs f on each range in its own goroutine.
func parallelRows(r0, r1, workers int, f func(ra, rb int)) {
	if workers <= 1 || r1-r0 < 2*workers {
		f(r0, r1)
		return
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		ra, rb := r0+wk*(r1-r0)/workers, r0+(wk+1)*(r1-r0)/workers
		wg.Add(1)
		go func() { defer wg.Done(); f(ra, rb) }()
	}
	wg.Wait()
}

// inputGram returns S = X Xᵀ (upper triangle, n×n) of the n distinct rows
// x[i·rep·cols : …+cols], i < n, of a batch whose rows come in groups of rep
// identical consecutive rows.
func inputGram(x []float64, n, cols, rep int) []float64 {
	s := make([]float64, n*n)
	linalg.Syrk(false, n, cols, 1, x, rep*cols, 0, s, n)
	return s
}
