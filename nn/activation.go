package nn

import "math"

// activation is an elementwise, parameter-free layer y = f(x).
type activation[T Float] struct {
	kind  string
	shape Shape
	f     func(x T) T
	// df returns f'(x) given x and y = f(x).
	df func(x, y T) T

	x, y, dx, tang *Mat[T]
}

// NewReLU returns y = max(x, 0) with relu'(0) = 0 (PyTorch's convention).
func NewReLU[T Float](shape Shape) Layer[T] {
	return &activation[T]{kind: "relu", shape: shape,
		f: func(x T) T {
			if x > 0 {
				return x
			}
			return 0
		},
		df: func(x, _ T) T {
			if x > 0 {
				return 1
			}
			return 0
		}}
}

// NewTanh returns y = tanh(x).
func NewTanh[T Float](shape Shape) Layer[T] {
	return &activation[T]{kind: "tanh", shape: shape,
		f:  func(x T) T { return T(math.Tanh(float64(x))) },
		df: func(_, y T) T { return 1 - y*y }}
}

func (a *activation[T]) Kind() string        { return a.kind }
func (a *activation[T]) InShape() Shape      { return a.shape }
func (a *activation[T]) OutShape() Shape     { return a.shape }
func (a *activation[T]) Params() []*Param[T] { return nil }

func (a *activation[T]) Forward(x *Mat[T]) *Mat[T] {
	checkIn(a.kind, x, a.shape)
	a.x = x
	a.y = reuse(a.y, x.Rows, x.Cols)
	for i, v := range x.Data {
		a.y.Data[i] = a.f(v)
	}
	return a.y
}

func (a *activation[T]) Backward(dy *Mat[T]) *Mat[T] {
	a.dx = reuse(a.dx, dy.Rows, dy.Cols)
	for i, g := range dy.Data {
		a.dx.Data[i] = g * a.df(a.x.Data[i], a.y.Data[i])
	}
	return a.dx
}

func (a *activation[T]) Tangent(dx *Mat[T]) *Mat[T] {
	a.tang = reuse(a.tang, a.x.Rows, a.x.Cols)
	if dx == nil {
		a.tang.Zero()
		return a.tang
	}
	for i, v := range dx.Data {
		a.tang.Data[i] = v * a.df(a.x.Data[i], a.y.Data[i])
	}
	return a.tang
}

func (a *activation[T]) PerSampleGrad(*Mat[T], int) {}
func (a *activation[T]) AddGram([]T, int, int)      {}
