package nn

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/internal/simd"
)

// Param is one parameter tensor of a layer, stored flat in row-major order
// with PyTorch's layout (a Dense weight is out×in, a conv weight
// out×in×kh×kw), so that state_dict tensors map onto it one to one.
type Param[T Float] struct {
	Name  string // e.g. "weight", "bias"; containers prefix a path like "0.", "block1.conv1."
	Shape []int
	Value []T
	Grad  []T // accumulated by Backward; zeroed by the optimiser or the caller
	// Tangent is the parameter direction used by Tangent (forward mode);
	// nil means zero.
	Tangent []T
	// FanIn and FanOut as PyTorch computes them (in·kh·kw, out·kh·kw), for initialisers.
	FanIn, FanOut int
	// Bias marks bias vectors, which several initialisers treat differently.
	Bias bool
}

// Len is the number of scalars in the parameter.
func (p *Param[T]) Len() int { return len(p.Value) }

// NewParam allocates a zero parameter of the given shape.
func NewParam[T Float](name string, shape []int, fanIn, fanOut int, bias bool) *Param[T] {
	n := Shape(shape).Size()
	return &Param[T]{Name: name, Shape: append([]int(nil), shape...), Value: make([]T, n), Grad: make([]T, n), FanIn: fanIn, FanOut: fanOut, Bias: bias}
}

// Layer is the interface every layer kind and container implements.
//
// Buffers returned by Forward, Backward and Tangent belong to the layer and
// stay valid until its next call of the same method. A layer keeps references
// to the x of its last Forward and the dy of its last Backward; callers must
// not modify them while the layer may still use them.
type Layer[T Float] interface {
	// Kind names the layer kind ("dense", "conv2d", ...), for messages and reports.
	Kind() string
	InShape() Shape
	OutShape() Shape
	// Params lists the layer's parameters in a fixed order (nil when it has none).
	Params() []*Param[T]

	// Forward computes the output for a batch x (x.Cols == InShape().Size()).
	Forward(x *Mat[T]) *Mat[T]
	// Backward takes dL/dy for the last Forward's batch, adds dL/dθ into
	// each Param.Grad and returns dL/dx.
	Backward(dy *Mat[T]) *Mat[T]
	// Tangent is forward mode at the last Forward's point: given an input
	// direction dx (nil means zero) and the parameter directions Param.Tangent
	// (nil means zero), it returns the output direction dy = (∂y/∂x)dx + (∂y/∂θ)dθ.
	Tangent(dx *Mat[T]) *Mat[T]

	// PerSampleGrad writes, for every row r of the last Backward's batch, the
	// gradient with respect to this layer's parameters (Params order, each
	// flattened) of Σ_c dy[r,c]·y[r,c] with row r's input held alone, into
	// dst.Row(r)[col : col+NumParams]. Containers recurse into their children.
	PerSampleGrad(dst *Mat[T], col int)
	// AddGram adds G Gᵀ to the rows×rows row-major matrix h (leading dimension
	// ldh), where G is the matrix PerSampleGrad would write. Only the upper
	// triangle (column ≥ row) needs to be updated. rep > 1 promises that the
	// batch's inputs come in groups of rep identical consecutive rows, which
	// layers may exploit (THEORY.md §6: Dense computes the input Gram on the
	// distinct rows only).
	AddGram(h []T, ldh int, rep int)
}

// ParamBackwarder is implemented by layers that can run Backward without
// computing dL/dx (see BackwardParams).
type ParamBackwarder[T Float] interface {
	// BackwardParams adds dL/dθ into each Param.Grad exactly as Backward(dy)
	// does, and leaves dL/dx uncomputed.
	BackwardParams(dy *Mat[T])
}

// BackwardParams adds dL/dθ for the last Forward's batch into every
// Param.Grad of l, as l.Backward(dy) does, without returning dL/dx. The
// training loop needs no gradient with respect to the data, so the first
// parameterised layer skips its input-gradient product (for an MLP's first
// Dense layer, a third of its GEMM work; for a first Conv2D, the column
// gradient GEMM and col2im). Layers that do not implement ParamBackwarder
// run Backward. PerSampleGrad and AddGram work afterwards as after Backward.
func BackwardParams[T Float](l Layer[T], dy *Mat[T]) {
	if pb, ok := l.(ParamBackwarder[T]); ok {
		pb.BackwardParams(dy)
		return
	}
	l.Backward(dy)
}

// DeltaBackwarder is implemented by layers that can propagate dL/dy to dL/dx
// without computing parameter gradients.
type DeltaBackwarder[T Float] interface {
	// BackwardDeltas records dy for AddGram and PerSampleGrad exactly as
	// Backward(dy) does and, if wantDx, returns Backward's dL/dx (else nil).
	// It reports whether any Param.Grad was changed (a container whose
	// children fall back to Backward).
	BackwardDeltas(dy *Mat[T], wantDx bool) (dx *Mat[T], touchedGrads bool)
}

// BackwardDeltas runs the backward pass that the structural quantities need:
// every layer's dy for AddGram and PerSampleGrad (THEORY §6: δ_{l,k}), and
// dL/dx if wantDx, without the parameter-gradient products that Backward
// adds (for a Dense layer, the dW GEMM: half of its backward work). Layers
// without parameters run Backward; layers with parameters that do not
// implement DeltaBackwarder run Backward too, and then touchedGrads is true:
// their Param.Grad values changed and the caller may need to clear them.
func BackwardDeltas[T Float](l Layer[T], dy *Mat[T], wantDx bool) (dx *Mat[T], touchedGrads bool) {
	if db, ok := l.(DeltaBackwarder[T]); ok {
		return db.BackwardDeltas(dy, wantDx)
	}
	if len(l.Params()) > 0 {
		if !wantDx {
			BackwardParams(l, dy)
			return nil, true
		}
		return l.Backward(dy), true
	}
	if !wantDx {
		return nil, false
	}
	return l.Backward(dy), false
}

// BackwardDeltasInPlace is BackwardDeltas(l, dy, true) for a dy that no one
// reads afterwards: an activation writes its dL/dx over dy and returns dy
// (the same values, without a buffer of its own); other layers run
// BackwardDeltas.
func BackwardDeltasInPlace[T Float](l Layer[T], dy *Mat[T]) (dx *Mat[T], touchedGrads bool) {
	if a, ok := l.(*activation[T]); ok {
		return a.backwardInPlace(dy), false
	}
	return BackwardDeltas(l, dy, true)
}

// NumParams counts the scalar parameters of a layer.
func NumParams[T Float](l Layer[T]) int {
	n := 0
	for _, p := range l.Params() {
		n += p.Len()
	}
	return n
}

// ZeroGrad clears every parameter gradient of a layer.
func ZeroGrad[T Float](l Layer[T]) {
	for _, p := range l.Params() {
		clear(p.Grad)
	}
}

// GradSetter is implemented by layers that can write dL/dθ into Param.Grad
// instead of adding it (a Dense layer's weight-gradient GEMM with beta = 0
// writes the gradient once, where clearing it first and accumulating writes
// it twice and reads it once).
type GradSetter[T Float] interface {
	// SetGrads sets each Param.Grad to dL/dθ, bit for bit what ZeroGrad and
	// then Backward(dy) leave there, and returns Backward's dL/dx if wantDx
	// (else nil, possibly without computing it, as BackwardParams).
	SetGrads(dy *Mat[T], wantDx bool) *Mat[T]
}

// SetGrads sets every Param.Grad of l to dL/dθ for the last Forward's batch
// and returns dL/dx if wantDx: the same values as ZeroGrad(l) followed by
// l.Backward(dy) (or BackwardParams(l, dy) without wantDx). Layers that do
// not implement GradSetter are cleared and then run Backward or
// BackwardParams.
func SetGrads[T Float](l Layer[T], dy *Mat[T], wantDx bool) *Mat[T] {
	if gs, ok := l.(GradSetter[T]); ok {
		return gs.SetGrads(dy, wantDx)
	}
	ZeroGrad(l)
	if wantDx {
		return l.Backward(dy)
	}
	BackwardParams(l, dy)
	return nil
}

// CopyParams copies parameter values from src to dst, converting the element
// type (for instance a float32 training model into the float64 model the
// structural engine measures). The two layers must have the same architecture.
func CopyParams[D, S Float](dst Layer[D], src Layer[S]) error {
	dp, sp := dst.Params(), src.Params()
	if len(dp) != len(sp) {
		return fmt.Errorf("nn: copy params: %d tensors into %d", len(sp), len(dp))
	}
	for i := range dp {
		if len(dp[i].Value) != len(sp[i].Value) {
			return fmt.Errorf("nn: copy params: %s has %d values, %s has %d", sp[i].Name, len(sp[i].Value), dp[i].Name, len(dp[i].Value))
		}
		convert(dp[i].Value, sp[i].Value)
	}
	return nil
}

// convert sets dst[j] = D(src[j]) (len(dst) == len(src)). The float32 →
// float64 case, which the instruments run every few steps on the whole
// model, is vectorised (internal/simd.Widen): the plain loop took ~19 % of
// a per-image measurement on MLP 784-100-10.
func convert[D, S Float](dst []D, src []S) {
	if d, ok := any(dst).([]float64); ok {
		if s, ok := any(src).([]float32); ok {
			simd.Widen(d, s)
			return
		}
	}
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = D(v)
	}
}
