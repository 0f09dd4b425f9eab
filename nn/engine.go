package nn

import (
	"runtime"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/linalg"
)

// The optional interfaces below let the structural engine (package
// structural) walk a model and take its fast paths without knowing concrete
// layer types: a layer or container says what it is by implementing them.

// Chain is a container that applies its layers in order (Sequential).
type Chain[T Float] interface {
	Chain() []Layer[T]
}

// Branches is a container whose branches all read the block's input and
// whose output combines theirs (Residual: the body and, when the skip is on,
// a shortcut layer); the block's own Forward gives the output.
type Branches[T Float] interface {
	Branches() []Layer[T]
}

// UnitLayer is a layer whose outputs are units with their own incoming
// weights (Dense: output features, Conv2D: output channels), the units whose
// death or duplication shrinks the rank of H (THEORY §4).
type UnitLayer[T Float] interface {
	// Units returns the incoming weights, row-major units × fan-in, the
	// bias (nil: none) and the number of units. The slices are the layer's
	// own: read only.
	Units() (weights, bias []T, units int)
}

// GramTermer is a layer whose share of H = J Jᵀ is (Δ Δᵀ) ∘ (X Xᵀ ⊗ 1 1ᵀ + 1)
// in its input X and output sensitivities Δ alone (THEORY §6): the engine
// can run the passes itself and fold the term with AddGramTerms.
type GramTermer[T Float] interface {
	// GramTerm returns the term for input x and output sensitivities dy,
	// whose rows come in groups of rep rows sharing one input: x holds n·rep
	// rows (rep identical consecutive copies of each distinct input) or n.
	GramTerm(x, dy *Mat[T], rep int) GramTerm[T]
}

// GramTerm is one layer's share of H (THEORY §6): Dy is the m×Out matrix Δ
// of output sensitivities (row i·rep+k: sample i, seed k) and S = X Xᵀ the
// n×n Gram of the layer's n = m/rep distinct inputs (upper triangle).
type GramTerm[T Float] struct {
	Dy  []T
	Out int
	S   []T
}

// Chain returns the layers in order.
func (s *Sequential[T]) Chain() []Layer[T] { return s.Layers }

// Branches returns the body and, when the skip is on and not the identity,
// the shortcut.
func (r *Residual[T]) Branches() []Layer[T] {
	if r.Skip && r.Shortcut != nil {
		return []Layer[T]{r.Body, r.Shortcut}
	}
	return []Layer[T]{r.Body}
}

// Units returns the rows of W and the bias.
func (d *Dense[T]) Units() ([]T, []T, int) { return d.W.Value, paramValues(d.B), d.Out }

// Units returns the output channels' filters (OutC × C·k·k) and biases.
func (d *Conv2D[T]) Units() ([]T, []T, int) { return d.Weight.Value, paramValues(d.Bias), d.OutC }

func paramValues[T Float](p *Param[T]) []T {
	if p == nil {
		return nil
	}
	return p.Value
}

// GramTerm forms S = X Xᵀ over the distinct inputs of x (every rep-th row
// when x has as many rows as dy, else every row) and pairs it with dy.
func (d *Dense[T]) GramTerm(x, dy *Mat[T], rep int) GramTerm[T] {
	n := dy.Rows / rep
	stride := 1
	if x.Rows == dy.Rows {
		stride = rep
	}
	s := make([]T, n*n)
	linalg.Syrk(false, n, x.Cols, 1, x.Data, stride*x.Cols, 0, s, n)
	return GramTerm[T]{Dy: dy.Data, Out: dy.Cols, S: s}
}

// gramBlock is the target size, in elements, of one row block of Δ Δᵀ that
// AddGramTerms holds per term.
const gramBlock = 1 << 21

// AddGramTerms adds Σ_l (Δ_l Δ_lᵀ) ∘ (S_l ⊗ 1_rep 1_repᵀ + 1) to the upper
// triangle (column ≥ row) of the m×m row-major matrix h (leading dimension
// ldh), m = len(Dy)/Out of every term, a multiple of rep. Δ_l Δ_lᵀ is formed
// by GEMM one block of rows at a time (the block against all later rows) and
// every term is folded into a row of h while the row is in cache, on
// GOMAXPROCS goroutines, so h is traversed once and the scratch is
// O(terms·block·m) rather than m². scratch is reused when large enough and
// returned for the next call.
func AddGramTerms[T Float](h []T, ldh, rep int, terms []GramTerm[T], scratch []T) []T {
	scratch, _ = AddGramTermsUntil(h, ldh, rep, terms, scratch, nil)
	return scratch
}

// AddGramTermsUntil is AddGramTerms asking stop (nil: never) before every
// row block, so a caller can cancel a long build; complete is false when it
// stopped, h then incomplete.
func AddGramTermsUntil[T Float](h []T, ldh, rep int, terms []GramTerm[T], scratch []T, stop func() bool) (_ []T, complete bool) {
	if len(terms) == 0 {
		return scratch, true
	}
	m := len(terms[0].Dy) / terms[0].Out
	if m == 0 {
		return scratch, true
	}
	n := m / rep
	bs := max(64, min(512, gramBlock/m))
	bs = min(bs, m)
	if need := len(terms) * bs * m; cap(scratch) < need {
		scratch = make([]T, need)
	}
	g := make([][]T, len(terms))
	for l := range g {
		g[l] = scratch[l*bs*m : (l+1)*bs*m]
	}
	workers := runtime.GOMAXPROCS(0)
	for r0 := 0; r0 < m; r0 += bs {
		if stop != nil && stop() {
			return scratch, false
		}
		r1 := min(r0+bs, m)
		w := m - r0 // columns r0…m−1
		for l, t := range terms {
			if m <= fewGramRows {
				// One block of a few rows: the dot products of row pairs
				// (the fold reads columns ≥ the row only).
				clear(g[l][:(r1-r0)*w])
				addGramDots(g[l], w, t.Dy[r0*t.Out:], t.Out, t.Dy[r0*t.Out:], t.Out, r1-r0, w, t.Out, true)
				continue
			}
			linalg.Gemm(false, true, r1-r0, w, t.Out, 1, t.Dy[r0*t.Out:], t.Out, t.Dy[r0*t.Out:], t.Out, 0, g[l], w)
		}
		fold := func(ra, rb int) {
			for r := ra; r < rb; r++ {
				a := r / rep
				hr := h[r*ldh : r*ldh+m]
				for l, t := range terms {
					gr := g[l][(r-r0)*w : (r-r0+1)*w]
					sr := t.S[a*n : (a+1)*n]
					for b := a; b < n; b++ {
						sv := sr[b] + 1
						c0, c1 := max(r, b*rep), (b+1)*rep
						hc, gc := hr[c0:c1], gr[c0-r0:c1-r0]
						for i, v := range gc {
							hc[i] += v * sv
						}
					}
				}
			}
		}
		parts := workers
		if r1-r0 < 2*workers || (r1-r0)*w*len(terms) < minParallelWork {
			parts = 1 // too little to pay for goroutines
		}
		parallel.Ranges(r0, r1, parts, fold)
	}
	return scratch, true
}
