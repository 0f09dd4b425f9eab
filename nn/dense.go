package nn

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/linalg"
)

// Dense is the affine layer y = W x + b with W stored out×in (PyTorch's Linear).
type Dense[T Float] struct {
	In, Out int
	W, B    *Param[T]

	x, dy       *Mat[T] // last Forward input, last Backward dy
	y, dx, tang *Mat[T]
	gram        []T // scratch for AddGram
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
	d.dy = dy
	n := dy.Rows
	linalg.Gemm(true, false, d.Out, d.In, n, 1, dy.Data, d.Out, d.x.Data, d.In, 1, d.W.Grad, d.In)
	for r := 0; r < n; r++ {
		for o, v := range dy.Row(r) {
			d.B.Grad[o] += v
		}
	}
	d.dx = reuse(d.dx, n, d.In)
	linalg.Gemm(false, false, n, d.In, d.Out, 1, dy.Data, d.Out, d.W.Value, d.In, 0, d.dx.Data, d.In)
	return d.dx
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
// is (Δ Δᵀ) ∘ (X Xᵀ + 1), never forming the out×in per-sample gradients.
func (d *Dense[T]) AddGram(h []T, ldh int, rep int) {
	n := d.dy.Rows
	if rep < 1 || n%rep != 0 {
		rep = 1
	}
	m := n / rep // distinct inputs
	need := n*n + m*m
	if cap(d.gram) < need {
		d.gram = make([]T, need)
	}
	g, s := d.gram[:n*n], d.gram[n*n:need]
	linalg.Syrk(false, n, d.Out, 1, d.dy.Data, d.Out, 0, g, n)
	linalg.Syrk(false, m, d.In, 1, d.x.Data, rep*d.In, 0, s, m)
	for r := 0; r < n; r++ {
		hr, gr, sr := h[r*ldh:], g[r*n:], s[(r/rep)*m:]
		for c := r; c < n; c++ {
			hr[c] += gr[c] * (sr[c/rep] + 1)
		}
	}
}
