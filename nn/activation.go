package nn

import (
	"math"
	"runtime"
	"sync/atomic"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/internal/simd"
)

// activation is an elementwise, parameter-free layer y = f(x).
type activation[T Float] struct {
	kind  string
	shape Shape
	f     func(x T) T
	// df returns f'(x) given x and y = f(x).
	df func(x, y T) T
	// relu selects the branch-free loops of reluForward/reluMask instead of
	// calling f and df per element (the function calls and the mispredicted
	// sign branch made ReLU cost as much as a GEMM in MLP training).
	relu bool

	x, y, dx, tang *Mat[T]
}

// NewReLU returns y = max(x, 0) with relu'(0) = 0 (PyTorch's convention).
func NewReLU[T Float](shape Shape) Layer[T] {
	return &activation[T]{kind: "relu", shape: shape, relu: true,
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

func (a *activation[T]) Forward(x *Mat[T]) *Mat[T] { return a.forward(x, false) }

// forward is Forward, with a ReLU's mask on the calling goroutine when
// here (x just written by it and in its cache) instead of shared among
// goroutines.
func (a *activation[T]) forward(x *Mat[T], here bool) *Mat[T] {
	checkIn(a.kind, x, a.shape)
	a.x = x
	a.y = reuse(a.y, x.Rows, x.Cols)
	if a.relu {
		if here {
			reluMask(a.y.Data, x.Data, x.Data)
		} else {
			reluRows(a.y, x, x)
		}
		return a.y
	}
	for i, v := range x.Data {
		a.y.Data[i] = a.f(v)
	}
	return a.y
}

func (a *activation[T]) Backward(dy *Mat[T]) *Mat[T] {
	a.dx = reuse(a.dx, dy.Rows, dy.Cols)
	if dy.Rows != a.x.Rows {
		a.backwardGroups(a.dx, dy, dy.Rows/a.x.Rows)
		return a.dx
	}
	if a.relu {
		// relu'(x) = 1 exactly where x > 0.
		reluRows(a.dx, dy, a.x)
		return a.dx
	}
	for i, g := range dy.Data {
		a.dx.Data[i] = g * a.df(a.x.Data[i], a.y.Data[i])
	}
	return a.dx
}

// backwardGroups writes dL/dx into dst (a.dx, or dy itself) for dy with
// rep rows per row of the last Forward's x (broadcast.go): row r of dy
// takes the derivative at row r/rep of x.
func (a *activation[T]) backwardGroups(dst, dy *Mat[T], rep int) {
	cols := dy.Cols
	elementwise(dy.Rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dxr, dyr, xr := dst.Row(r), dy.Row(r), a.x.Row(r/rep)
			if a.relu {
				reluMask(dxr, dyr, xr)
				continue
			}
			yr := a.y.Row(r / rep)
			for i, g := range dyr {
				dxr[i] = g * a.df(xr[i], yr[i])
			}
		}
	})
}

// backwardInPlace is Backward writing dL/dx over dy (rep rows of dy per
// row of x, rep = 1 the plain batch) and returning dy.
func (a *activation[T]) backwardInPlace(dy *Mat[T]) *Mat[T] {
	rep := 1
	if a.x.Rows > 0 && dy.Rows > a.x.Rows {
		rep = dy.Rows / a.x.Rows
	}
	a.backwardGroups(dy, dy, rep)
	return dy
}

// maskInPlace applies a ReLU's backward to dy in place, on the calling
// goroutine, and reports true, when dy is a buffer of its own (the dL/dx a
// Dense just returned) of the size of the ReLU's input: the values of
// Backward(dy) without a pass into another buffer (MLP 784-1000-10's
// 128×1000 mask: 11-14 µs, against 43-85 as the pass shared among
// goroutines, at load 3-4).
func (a *activation[T]) maskInPlace(dy *Mat[T]) bool {
	if !a.relu || dy == nil || a.x == nil || len(a.x.Data) != len(dy.Data) {
		return false
	}
	reluMask(dy.Data, dy.Data, a.x.Data)
	return true
}

func (a *activation[T]) Tangent(dx *Mat[T]) *Mat[T] {
	a.tang = reuse(a.tang, a.x.Rows, a.x.Cols)
	if dx == nil {
		a.tang.Zero()
		return a.tang
	}
	if a.relu {
		reluRows(a.tang, dx, a.x)
		return a.tang
	}
	for i, v := range dx.Data {
		a.tang.Data[i] = v * a.df(a.x.Data[i], a.y.Data[i])
	}
	return a.tang
}

func (a *activation[T]) PerSampleGrad(*Mat[T], int) {}
func (a *activation[T]) AddGram([]T, int, int)      {}

// reluRows is reluMask over the rows of the batch, split over goroutines
// when it is large (memory-bound: on Model d's 64×16×28×28 activations one
// core's pass idles the other).
func reluRows[T Float](dst, v, x *Mat[T]) {
	cols := dst.Cols
	elementwise(dst.Rows, cols, func(lo, hi int) {
		reluMask(dst.Data[lo*cols:hi*cols], v.Data[lo*cols:hi*cols], x.Data[lo*cols:hi*cols])
	})
}

// reluMask sets dst[i] = v[i] where x[i] > 0 and +0 elsewhere (NaN in x gives
// 0, as relu(NaN) = relu'(NaN) = 0 in the scalar f and df above). With v = x
// it is the ReLU itself; with v = dy it is dy·relu'(x). For float32 and
// float64 it masks the bits without a branch (the compiler emits a
// conditional move), so random signs cost no mispredictions.
func reluMask[T Float](dst, v, x []T) {
	switch d := any(dst).(type) {
	case []float32:
		simd.ReLUMask32(d, any(v).([]float32), any(x).([]float32))
	case []float64:
		simd.ReLUMask64(d, any(v).([]float64), any(x).([]float64))
	default:
		for i := range dst {
			if x[i] > 0 {
				dst[i] = v[i]
			} else {
				dst[i] = 0
			}
		}
	}
}

// elementwiseChunks is how many chunks per goroutine elementwise deals out.
const elementwiseChunks = 8

// elementwise is parallelFor for loops whose items are computed alone
// (memory-bound passes over the batch): the goroutines claim small chunks of
// [0, n) in turn, so the caller's goroutine takes over the share of one
// that starts late instead of waiting for it. Which goroutine computes an
// item does not change its bits.
func elementwise(n, costPerItem int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n*costPerItem < minParallelWork {
		f(0, n)
		return
	}
	chunks := min(workers*elementwiseChunks, n)
	var next atomic.Int64
	parallel.TeamIfAwake(workers, func(int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			f(c*n/chunks, (c+1)*n/chunks)
		}
	})
}
