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
	gram        []T // scratch for AddGram

	// WGradRows, if not nil, is called by SetGrads with row ranges [lo, hi)
	// of W covering [0, Out) once each, as soon as those rows of W.Grad and
	// B.Grad are final (linalg.GemmRows), possibly on several goroutines at
	// once with disjoint ranges. It may update those rows of W.Value: SetGrads then
	// computes dL/dx first, and the weight-gradient product does not read W.
	WGradRows func(lo, hi int)
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
	linalg.GemmBias(false, true, x.Rows, d.Out, d.In, 1, x.Data, d.In, d.W.Value, d.In, d.B.Value, d.y.Data, d.Out)
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

// SetGrads implements GradSetter: the weight gradient is the GEMM with
// beta = 0, the bias gradient the column sums of dy into a cleared bias.
func (d *Dense[T]) SetGrads(dy *Mat[T], wantDx bool) *Mat[T] {
	d.dy = dy
	n := dy.Rows
	if d.WGradRows != nil {
		var dx *Mat[T]
		if wantDx {
			dx = d.inputGrad(dy)
		}
		// The bias gradient of the rows [lo, hi) of W is the sums of those
		// columns of dy, added on the goroutine that just packed them for
		// the product (same bits as addRows on all columns).
		linalg.GemmRows(true, false, d.Out, d.In, n, 1, dy.Data, d.Out, d.x.Data, d.In, 0, d.W.Grad, d.In, func(lo, hi int) {
			clear(d.B.Grad[lo:hi])
			addRowsLd(d.B.Grad[lo:hi], dy.Data[lo:], n, hi-lo, d.Out)
			d.WGradRows(lo, hi)
		})
		return dx
	}
	linalg.Gemm(true, false, d.Out, d.In, n, 1, dy.Data, d.Out, d.x.Data, d.In, 0, d.W.Grad, d.In)
	clear(d.B.Grad)
	addRows(d.B.Grad, dy.Data, n, d.Out)
	if !wantDx {
		return nil
	}
	return d.inputGrad(dy)
}

// addRows adds the rows of the rows×cols matrix a to dst, row by row.
func addRows[T Float](dst, a []T, rows, cols int) { addRowsLd(dst, a, rows, cols, cols) }

// addRowsLd is addRows on rows lda apart in a (a block of columns of a
// wider matrix), with the same bits per column.
func addRowsLd[T Float](dst, a []T, rows, cols, lda int) {
	switch d := any(dst).(type) {
	case []float32:
		simd.AddRowsLd32(d, any(a).([]float32), rows, cols, lda)
	case []float64:
		simd.AddRowsLd64(d, any(a).([]float64), rows, cols, lda)
	default:
		for r := 0; r < rows; r++ {
			for j, v := range a[r*lda : r*lda+cols] {
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
// is (Δ Δᵀ) ∘ (X Xᵀ + 1), never forming the out×in per-sample gradients: its
// GramTerm on the distinct inputs (every rep-th row), folded by AddGramTerms.
func (d *Dense[T]) AddGram(h []T, ldh int, rep int) {
	n := d.dy.Rows
	if rep < 1 || n%rep != 0 {
		rep = 1
	}
	d.gram = AddGramTerms(h, ldh, rep, []GramTerm[T]{d.GramTerm(d.x, d.dy, rep)}, d.gram)
}
