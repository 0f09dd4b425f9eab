package nn

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/linalg"
)

// Dense is the affine layer y = W x + b with W stored out×in (PyTorch's Linear).
type Dense[T Float] struct {
	In, Out int
	W, B    *Param[T]

	x, dy       *Mat[T] // last Forward input, last Backward dy
	y, dx, tang *Mat[T]
	gram        []T     // scratch for AddGram
	distinct    *Mat[T] // AddGram's copy of the distinct inputs when rep > 1
}

// NewDense returns a zero-initialised in→out dense layer.
func NewDense[T Float](in, out int) *Dense[T] {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: dense %d→%d: sizes must be positive", in, out))
	}
	return &Dense[T]{In: in, Out: out,
		W: NewParam[T]("weight", []int{out, in}, in, out, false),
		B: NewParam[T]("bias", []int{out}, in, out, true)}
}

func (d *Dense[T]) Kind() string        { return "dense" }
func (d *Dense[T]) InShape() Shape      { return Shape{d.In} }
func (d *Dense[T]) OutShape() Shape     { return Shape{d.Out} }
func (d *Dense[T]) Params() []*Param[T] { return []*Param[T]{d.W, d.B} }

func (d *Dense[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("dense", x, d.InShape())
	d.x = x
	d.y = reuse(d.y, x.Rows, d.Out)
	for r := 0; r < x.Rows; r++ {
		copy(d.y.Row(r), d.B.Value)
	}
	linalg.Gemm(false, true, x.Rows, d.Out, d.In, 1, x.Data, d.In, d.W.Value, d.In, 1, d.y.Data, d.Out)
	return d.y
}

func (d *Dense[T]) Backward(dy *Mat[T]) *Mat[T] {
	d.BackwardParams(dy)
	return d.inputGrad(dy)
}

// inputGrad returns dL/dx = dy·W in d.dx.
func (d *Dense[T]) inputGrad(dy *Mat[T]) *Mat[T] {
	n := dy.Rows
	d.dx = reuse(d.dx, n, d.In)
	linalg.Gemm(false, false, n, d.In, d.Out, 1, dy.Data, d.Out, d.W.Value, d.In, 0, d.dx.Data, d.In)
	return d.dx
}

// BackwardDeltas implements DeltaBackwarder: it keeps dy for AddGram and
// PerSampleGrad and computes only dL/dx = dy·W (if wanted).
func (d *Dense[T]) BackwardDeltas(dy *Mat[T], wantDx bool) (*Mat[T], bool) {
	d.dy = dy
	if !wantDx {
		return nil, false
	}
	return d.inputGrad(dy), false
}

// BackwardParams implements ParamBackwarder: the weight and bias gradients
// of Backward without the input-gradient GEMM.
func (d *Dense[T]) BackwardParams(dy *Mat[T]) {
	d.dy = dy
	n := dy.Rows
	linalg.Gemm(true, false, d.Out, d.In, n, 1, dy.Data, d.Out, d.x.Data, d.In, 1, d.W.Grad, d.In)
	addRows(d.B.Grad, dy.Data, n, d.Out)
}

// addRows adds the rows of the rows×cols matrix a to dst, row by row.
func addRows[T Float](dst, a []T, rows, cols int) {
	switch d := any(dst).(type) {
	case []float32:
		simd.AddRows32(d, any(a).([]float32), rows, cols)
	case []float64:
		simd.AddRows64(d, any(a).([]float64), rows, cols)
	default:
		for r := 0; r < rows; r++ {
			for j, v := range a[r*cols : r*cols+cols] {
				dst[j] += v
			}
		}
	}
}

func (d *Dense[T]) Tangent(dx *Mat[T]) *Mat[T] {
	n := d.x.Rows
	d.tang = reuse(d.tang, n, d.Out)
	d.tang.Zero()
	if d.B.Tangent != nil {
		for r := 0; r < n; r++ {
			copy(d.tang.Row(r), d.B.Tangent)
		}
	}
	if dx != nil {
		linalg.Gemm(false, true, n, d.Out, d.In, 1, dx.Data, d.In, d.W.Value, d.In, 1, d.tang.Data, d.Out)
	}
	if d.W.Tangent != nil {
		linalg.Gemm(false, true, n, d.Out, d.In, 1, d.x.Data, d.In, d.W.Tangent, d.In, 1, d.tang.Data, d.Out)
	}
	return d.tang
}

func (d *Dense[T]) PerSampleGrad(dst *Mat[T], col int) {
	for r := 0; r < d.dy.Rows; r++ {
		row := dst.Row(r)[col:]
		x, dy := d.x.Row(r), d.dy.Row(r)
		for o, g := range dy {
			w := row[o*d.In : (o+1)*d.In]
			for i, xi := range x {
				w[i] = g * xi
			}
		}
		copy(row[d.Out*d.In:], dy)
	}
}

// AddGram uses THEORY.md §6: the Gram of per-sample gradients of a dense layer
// is (Δ Δᵀ) ∘ (X Xᵀ + 1), never forming the out×in per-sample gradients. The
// work is done by addDenseGram on the distinct inputs (every rep-th row).
func (d *Dense[T]) AddGram(h []T, ldh int, rep int) {
	n := d.dy.Rows
	if rep < 1 || n%rep != 0 {
		rep = 1
	}
	x := d.x
	if rep > 1 {
		m := n / rep
		if d.distinct == nil {
			d.distinct = new(Mat[T])
		}
		x = reuse(d.distinct, m, d.In)
		d.distinct = x
		for i := 0; i < m; i++ {
			copy(x.Row(i), d.x.Row(i*rep))
		}
	}
	d.gram = addDenseGram(h, ldh, d.dy, x, d.gram)
}

// denseGramBlock is the target size, in elements, of the row block of Δ Δᵀ
// that addDenseGram holds at a time.
const denseGramBlock = 1 << 21

// addDenseGram adds (Δ Δᵀ) ∘ (S ⊗ 1 1ᵀ + 1) to the upper triangle (column ≥
// row) of the dy.Rows×dy.Rows row-major matrix h (leading dimension ldh),
// where Δ = dy and S = X Xᵀ with X = x (THEORY.md §6). x holds the distinct
// inputs: dy.Rows must be a multiple rep of x.Rows, and rows i·rep …
// i·rep+rep−1 of dy share the input x.Row(i). This is the Gram of the dense
// layer's per-sample gradients for that batch.
//
// Δ Δᵀ is computed by GEMM one block of rows at a time (the block against all
// later rows) and folded into h at once, so the scratch is O(block·dy.Rows +
// x.Rows²) elements rather than dy.Rows². scratch is reused when large enough
// and returned for the next call.
func addDenseGram[T Float](h []T, ldh int, dy, x *Mat[T], scratch []T) []T {
	n, out := dy.Rows, dy.Cols
	if x.Rows == 0 || n%x.Rows != 0 {
		panic(fmt.Sprintf("nn: dense AddGram: %d rows of dy for %d distinct inputs", n, x.Rows))
	}
	if n == 0 {
		return scratch
	}
	m, rep := x.Rows, n/x.Rows
	bs := max(64, min(512, denseGramBlock/n))
	bs = min(bs, n)
	need := m*m + bs*n
	if cap(scratch) < need {
		scratch = make([]T, need)
	}
	scratch = scratch[:need]
	s, g := scratch[:m*m], scratch[m*m:]
	linalg.Syrk(false, m, x.Cols, 1, x.Data, x.Cols, 0, s, m)
	for r0 := 0; r0 < n; r0 += bs {
		r1 := min(r0+bs, n)
		w := n - r0 // columns r0…n−1
		linalg.Gemm(false, true, r1-r0, w, out, 1, dy.Data[r0*out:], out, dy.Data[r0*out:], out, 0, g, w)
		for r := r0; r < r1; r++ {
			hr, gr, sr := h[r*ldh:r*ldh+n], g[(r-r0)*w:(r-r0+1)*w], s[(r/rep)*m:(r/rep+1)*m]
			for b := r / rep; b < m; b++ {
				sv := sr[b] + 1
				c0 := max(r, b*rep)
				c1 := (b + 1) * rep
				for c := c0; c < c1; c++ {
					hr[c] += gr[c-r0] * sv
				}
			}
		}
	}
	return scratch
}
