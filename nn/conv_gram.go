package nn

import (
	"unsafe"

	"gonum.org/v1/gonum/blas/gonum"

	"github.com/fenchel-ml/fenchel/linalg"
)

// Conv2D.AddGram computes the Gram of the per-sample gradients in one of two
// forms (THEORY §6), chosen by their cost.
//
// The im2col form materialises each row's weight gradient dW_r = Δ_r·colsᵀ
// (Δ_r the row's OutC × L output sensitivities, cols the sample's patch × L
// columns) and accumulates G Gᵀ.
//
// The spatial form never forms dW_r. With S = colsᵀ·cols' (L × L, the inner
// products of the two samples' patches at every pair of positions),
//
//	⟨dW_r, dW_r'⟩ = Σ_o Δ_r[o,·] · S · Δ_r'[o,·]ᵀ,
//
// so for a pair of distinct inputs it takes one L × L product of columns,
// T = Δ·S over the group's rows stacked as (rep·OutC) × L, and rep² dot
// products of length OutC·L between the rows of T and Δ'. It costs
// O(L²·patch + rep·OutC·L²) per pair of inputs against
// O(rep·OutC·L·patch + rep²·OutC·patch), which pays on small maps with
// many channels (Model d's 7×7 stage: 4–8× fewer multiply-adds).

// fewGramRows is the number of rows up to which a Gram G Gᵀ is summed as
// dot products of row pairs (addGramDots) instead of by Syrk: linalg's
// packed kernels waste most of their tile on a 10 × 10 result, and the
// per-image measurement's rows are K = 10 seeds.
const fewGramRows = 16

// gramDotBlock is the column block of addGramDots: the rows' blocks stay in
// cache while every pair is summed.
const gramDotBlock = 1024

// addGramDots adds the upper triangle of g·g'ᵀ to the rows × rows block of h
// at h[0] (leading dimension ldh), for g and g' rows × cols with leading
// dimensions ldg, ldg' (g' = g: a diagonal block, the upper triangle only;
// diag false: the whole block).
func addGramDots[T Float](h []T, ldh int, g []T, ldg int, g2 []T, ldg2 int, rows, rows2, cols int, diag bool) {
	for c0 := 0; c0 < cols; c0 += gramDotBlock {
		c1 := min(cols, c0+gramDotBlock)
		for i := 0; i < rows; i++ {
			gi := g[i*ldg+c0 : i*ldg+c1]
			hi := h[i*ldh : i*ldh+rows2]
			j0 := 0
			if diag {
				j0 = i
			}
			for j := j0; j < rows2; j++ {
				hi[j] += dot(gi, g2[j*ldg2+c0:j*ldg2+c1])
			}
		}
	}
}

// dot is Σ x[i]·y[i] (len(y) ≥ len(x)) by gonum's assembly kernels (on the
// calling goroutine, whatever the BLAS backend: a cgo call per block would
// cost more than the block).
func dot[T Float](x, y []T) T {
	var g gonum.Implementation
	switch x := any(x).(type) {
	case []float64:
		return T(g.Ddot(len(x), x, 1, any(y).([]float64), 1))
	case []float32:
		return T(g.Sdot(len(x), x, 1, any(y).([]float32), 1))
	}
	s := T(0)
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// gramForm reports whether AddGram on n distinct inputs in groups of rep
// rows takes the spatial form: when its multiply-adds are fewer than the
// im2col form's and the columns of all n inputs fit in gramChunkBudget.
func (d *Conv2D[T]) gramForm(n, rep int) (spatial bool) {
	if gramFormOverride != nil {
		return gramFormOverride(n, rep)
	}
	K, L := d.patch(), d.geom.outArea()
	var z T
	if n*K*L*int(unsafe.Sizeof(z)) > gramChunkBudget {
		return false
	}
	pairs := n * (n + 1) / 2
	spatialCost := pairs * (L*L*K + rep*d.OutC*L*L + rep*rep*d.OutC*L)
	m := n * rep
	im2colCost := m*d.OutC*L*K + m*m/2*d.OutC*K
	return spatialCost < im2colCost
}

// gramFormOverride, when set (by tests), makes gramForm's choice.
var gramFormOverride func(n, rep int) bool

// addGramSpatial is AddGram in the spatial form for the last Backward's
// batch of n·rep rows (groups of rep rows sharing one input).
func (d *Conv2D[T]) addGramSpatial(h []T, ldh, rep int) {
	m := d.dy.Rows
	n := m / rep
	K, L := d.patch(), d.geom.outArea()
	ld := n * L
	oc := d.OutC
	buf := getCols[T](K * ld)
	defer putCols(buf)
	cols := *buf
	g := &d.geom
	parallelFor(n, K*L, func(a, b int) {
		for s := a; s < b; s++ {
			im2colSample(g, d.groupInput(s, rep), cols, ld, s*L)
		}
	})
	// Scratch: S (L × L), T (rep·OutC × L).
	if need := L*L + rep*oc*L; cap(d.gramProd) < need {
		d.gramProd = make([]T, need)
	}
	sm := d.gramProd[:L*L]
	tm := d.gramProd[L*L : L*L+rep*oc*L]
	row := oc * L // one row of dy: OutC × L, channel-major
	for a := 0; a < n; a++ {
		da := d.dy.Data[a*rep*row : (a+1)*rep*row]
		for b := a; b < n; b++ {
			db := d.dy.Data[b*rep*row : (b+1)*rep*row]
			// S = cols_aᵀ · cols_b, then T = Δ_a · S with Δ_a as (rep·OutC) × L.
			linalg.Gemm(true, false, L, L, K, 1, cols[a*L:], ld, cols[b*L:], ld, 0, sm, L)
			linalg.Gemm(false, false, rep*oc, L, L, 1, da, L, sm, L, 0, tm, L)
			// Row k of T viewed as rep × (OutC·L) against row j of Δ_b.
			addGramDots(h[a*rep*ldh+b*rep:], ldh, tm, row, db, row, rep, rep, row, a == b)
		}
	}
	if d.Bias == nil {
		return
	}
	// The bias gradient of row r is Σ_l Δ_r[o, l] per channel.
	if cap(d.gramB) < m*oc {
		d.gramB = make([]T, m*oc)
	}
	bs := d.gramB[:m*oc]
	for r := 0; r < m; r++ {
		dyr := d.dy.Row(r)
		for o := 0; o < oc; o++ {
			var s T
			for _, v := range dyr[o*L : (o+1)*L] {
				s += v
			}
			bs[r*oc+o] = s
		}
	}
	addGram(h, ldh, bs, oc, m, oc)
}

// addGram adds the upper triangle of g gᵀ (g rows × cols, leading dimension
// cols) to h: by dot products for few rows, else by Syrk.
func addGram[T Float](h []T, ldh int, g []T, ldg, rows, cols int) {
	if rows <= fewGramRows {
		addGramDots(h, ldh, g, ldg, g, ldg, rows, rows, cols, true)
		return
	}
	linalg.Syrk(false, rows, cols, 1, g, ldg, 1, h, ldh)
}
