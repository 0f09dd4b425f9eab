package nn

// flatten reshapes a per-sample shape (typically [C H W]) to [C·H·W]. Rows are
// already stored flat, so it copies data unchanged; it exists so a model's
// shapes read as in PyTorch (nn.Flatten before the classifier).
type flatten[T Float] struct {
	in          Shape
	n           int // last Forward's batch rows
	y, dx, tang *Mat[T]
}

// NewFlatten returns the flatten layer for per-sample shape in.
func NewFlatten[T Float](in Shape) Layer[T] {
	if in.Size() <= 0 {
		panic("nn: flatten: input shape " + in.String() + " has no elements")
	}
	return &flatten[T]{in: append(Shape(nil), in...)}
}

func (f *flatten[T]) Kind() string        { return "flatten" }
func (f *flatten[T]) InShape() Shape      { return f.in }
func (f *flatten[T]) OutShape() Shape     { return Shape{f.in.Size()} }
func (f *flatten[T]) Params() []*Param[T] { return nil }

// copyInto copies src into the layer-owned buffer dst, so callers never alias
// another layer's buffer through this one.
func copyInto[T Float](dst, src *Mat[T]) *Mat[T] {
	dst = reuse(dst, src.Rows, src.Cols)
	copy(dst.Data, src.Data)
	return dst
}

func (f *flatten[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn("flatten", x, f.in)
	f.n = x.Rows
	f.y = copyInto(f.y, x)
	return f.y
}

func (f *flatten[T]) Backward(dy *Mat[T]) *Mat[T] {
	f.dx = copyInto(f.dx, dy)
	return f.dx
}

func (f *flatten[T]) Tangent(dx *Mat[T]) *Mat[T] {
	if dx == nil {
		f.tang = reuse(f.tang, f.n, f.in.Size())
		f.tang.Zero()
		return f.tang
	}
	f.tang = copyInto(f.tang, dx)
	return f.tang
}

func (f *flatten[T]) PerSampleGrad(*Mat[T], int) {}
func (f *flatten[T]) AddGram([]T, int, int)      {}
