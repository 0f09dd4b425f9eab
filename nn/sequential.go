package nn

import (
	"fmt"
	"strconv"
)

// Sequential applies its layers in order. Parameter names are prefixed with
// the layer's index ("0.weight", "2.bias"), as in PyTorch's nn.Sequential, so
// a state_dict of a Sequential of Linear/ReLU maps onto it key for key.
type Sequential[T Float] struct {
	Layers []Layer[T]
	params []*Param[T]
	tang   *Mat[T]
}

// NewSequential chains layers, checking that each output shape feeds the next
// input shape, and prefixes parameter names with the layer index.
func NewSequential[T Float](layers ...Layer[T]) (*Sequential[T], error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("nn: sequential: no layers")
	}
	s := &Sequential[T]{Layers: layers}
	for i, l := range layers {
		if i > 0 && layers[i-1].OutShape().Size() != l.InShape().Size() {
			return nil, fmt.Errorf("nn: sequential: layer %d (%s) outputs %v but layer %d (%s) takes %v",
				i-1, layers[i-1].Kind(), layers[i-1].OutShape(), i, l.Kind(), l.InShape())
		}
		for _, p := range l.Params() {
			p.Name = strconv.Itoa(i) + "." + p.Name
			s.params = append(s.params, p)
		}
	}
	return s, nil
}

func (s *Sequential[T]) Kind() string        { return "sequential" }
func (s *Sequential[T]) InShape() Shape      { return s.Layers[0].InShape() }
func (s *Sequential[T]) OutShape() Shape     { return s.Layers[len(s.Layers)-1].OutShape() }
func (s *Sequential[T]) Params() []*Param[T] { return s.params }

func (s *Sequential[T]) Forward(x *Mat[T]) *Mat[T] {
	for i := 0; i < len(s.Layers); i++ {
		l := s.Layers[i]
		if a, ok := l.(*activation[T]); ok && i > 0 && reluAfterDense(a, s.Layers[i-1]) {
			x = a.forward(x, true)
			continue
		}
		// A ReLU after a residual block runs in the block's sum.
		if r, ok := l.(*Residual[T]); ok && i+1 < len(s.Layers) {
			if a, ok := s.Layers[i+1].(*activation[T]); ok && a.relu {
				x = r.forwardReLU(x, a)
				i++
				continue
			}
		}
		x = l.Forward(x)
	}
	return x
}

// reluAfterDense reports whether a is a ReLU and its neighbour d (the layer
// before it in Forward, after it in SetGrads) a Dense: the ReLU's pass then
// runs on the calling goroutine, on data the Dense's product just wrote
// there (a pass shared among goroutines took 2-3× as long on MLP
// 784-1000-10's 128×1000 hidden layer: the second goroutine waits to be
// woken).
func reluAfterDense[T Float](a *activation[T], d Layer[T]) bool {
	_, dense := d.(*Dense[T])
	return dense && a.relu
}

func (s *Sequential[T]) Backward(dy *Mat[T]) *Mat[T] {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}

// BackwardParams implements ParamBackwarder: layers after the first one
// with parameters run Backward, that one runs BackwardParams, and the
// parameterless layers before it are not visited (no dL/dx is needed).
func (s *Sequential[T]) BackwardParams(dy *Mat[T]) {
	first := s.firstWithParams()
	if first == len(s.Layers) {
		return
	}
	for i := len(s.Layers) - 1; i > first; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	BackwardParams(s.Layers[first], dy)
}

// SetGrads implements GradSetter: each child runs SetGrads, and without
// wantDx the layers before the first one with parameters are not visited.
// A parameter shared by two layers needs both contributions added, so then
// all gradients are cleared and accumulated as by Backward.
func (s *Sequential[T]) SetGrads(dy *Mat[T], wantDx bool) *Mat[T] {
	if s.sharesParams() {
		ZeroGrad[T](s)
		if wantDx {
			return s.Backward(dy)
		}
		s.BackwardParams(dy)
		return nil
	}
	stop := 0
	if !wantDx {
		stop = s.firstWithParams()
	}
	for i := len(s.Layers) - 1; i >= stop; i-- {
		if a, ok := s.Layers[i].(*activation[T]); ok && i+1 < len(s.Layers) && reluAfterDense(a, s.Layers[i+1]) && a.maskInPlace(dy) {
			continue
		}
		dy = SetGrads(s.Layers[i], dy, wantDx || i > stop)
	}
	if !wantDx {
		return nil
	}
	return dy
}

// sharesParams reports whether a Param appears more than once among s's.
func (s *Sequential[T]) sharesParams() bool {
	for i, p := range s.params {
		for _, q := range s.params[:i] {
			if p == q || (len(p.Grad) > 0 && len(q.Grad) > 0 && &p.Grad[0] == &q.Grad[0]) {
				return true
			}
		}
	}
	return false
}

// BackwardDeltas implements DeltaBackwarder: each child runs BackwardDeltas;
// without wantDx the layers before the first one with parameters are not
// visited.
func (s *Sequential[T]) BackwardDeltas(dy *Mat[T], wantDx bool) (*Mat[T], bool) {
	stop := 0
	if !wantDx {
		stop = s.firstWithParams()
	}
	touched := false
	for i := len(s.Layers) - 1; i >= stop; i-- {
		var t bool
		dy, t = BackwardDeltas(s.Layers[i], dy, wantDx || i > stop)
		touched = touched || t
	}
	if !wantDx {
		return nil, touched
	}
	return dy, touched
}

// firstWithParams is the index of the first layer with parameters, or
// len(s.Layers) if none has any.
func (s *Sequential[T]) firstWithParams() int {
	for i, l := range s.Layers {
		if len(l.Params()) > 0 {
			return i
		}
	}
	return len(s.Layers)
}

func (s *Sequential[T]) Tangent(dx *Mat[T]) *Mat[T] {
	for _, l := range s.Layers {
		dx = l.Tangent(dx)
	}
	return dx
}

func (s *Sequential[T]) PerSampleGrad(dst *Mat[T], col int) {
	for _, l := range s.Layers {
		l.PerSampleGrad(dst, col)
		col += NumParams(l)
	}
}

func (s *Sequential[T]) AddGram(h []T, ldh int, rep int) {
	for _, l := range s.Layers {
		l.AddGram(h, ldh, rep)
	}
}
