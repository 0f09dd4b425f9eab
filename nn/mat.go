package nn

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/linalg"
)

// Float is the set of element types layers compute in.
type Float = linalg.Float

// Shape is a per-sample shape: [D] for vectors, [C H W] for images.
type Shape []int

// Size is the number of elements of one sample of this shape.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string { return fmt.Sprint([]int(s)) }

// Equal reports whether two shapes are identical.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Mat is a row-major matrix: Rows samples of Cols values each.
type Mat[T Float] struct {
	Rows, Cols int
	Data       []T
}

// NewMat returns a zeroed rows×cols matrix.
func NewMat[T Float](rows, cols int) *Mat[T] {
	return &Mat[T]{Rows: rows, Cols: cols, Data: make([]T, rows*cols)}
}

// Row returns row i as a slice aliasing m.Data.
func (m *Mat[T]) Row(i int) []T { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns m[i, j].
func (m *Mat[T]) At(i, j int) T { return m.Data[i*m.Cols+j] }

// Zero sets every element to 0.
func (m *Mat[T]) Zero() { clear(m.Data) }

// reuse returns m resized to rows×cols, reallocating only when capacity is
// short, so hot paths allocate once per batch size. Contents are unspecified.
func reuse[T Float](m *Mat[T], rows, cols int) *Mat[T] {
	if m == nil {
		return NewMat[T](rows, cols)
	}
	if cap(m.Data) < rows*cols {
		m.Data = make([]T, rows*cols)
	}
	m.Rows, m.Cols, m.Data = rows, cols, m.Data[:rows*cols]
	return m
}

// checkIn panics when x does not match the layer's input shape: a programmer
// error inside the engine, not bad user input.
func checkIn[T Float](name string, x *Mat[T], in Shape) {
	if x.Cols != in.Size() || len(x.Data) != x.Rows*x.Cols {
		panic(fmt.Sprintf("nn: %s: input %d×%d (len %d) does not match per-sample shape %v", name, x.Rows, x.Cols, len(x.Data), in))
	}
}
