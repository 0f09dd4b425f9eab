package train

import (
	"fmt"
	"sync/atomic"

	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/optim"
)

// fusedUpdate applies a stateless elementwise optimiser update (plain SGD)
// to dense weights inside their weight-gradient product, row block by row
// block while the gradient rows are in cache (nn.Dense.WGradRows), instead
// of a pass over every weight and gradient after backward. The values are
// the same bits as the optimiser's StepFinite.
type fusedUpdate[T nn.Float] struct {
	layers []*nn.Dense[T]
	index  []int          // index[j]: position of layers[j].W in the loop's params
	rows   []atomic.Int64 // rows of layers[j] updated in the current step
	bad    atomic.Bool    // an updated value was not finite
	skip   []bool
}

// newFusedUpdate returns the fused update of the model's dense layers
// directly inside nested Sequentials, nil when there is none or the
// optimiser's rule has state.
func newFusedUpdate[T nn.Float](model nn.Layer[T], params []*nn.Param[T], opt optim.Optimizer[T]) *fusedUpdate[T] {
	ps, ok := opt.(optim.PieceStepper[T])
	if !ok || ps.Piece(0) == nil {
		return nil
	}
	f := &fusedUpdate[T]{skip: make([]bool, len(params))}
	var walk func(l nn.Layer[T])
	walk = func(l nn.Layer[T]) {
		switch l := l.(type) {
		case *nn.Sequential[T]:
			for _, c := range l.Layers {
				walk(c)
			}
		case *nn.Dense[T]:
			for i, p := range params {
				if p == l.W {
					f.layers = append(f.layers, l)
					f.index = append(f.index, i)
					break
				}
			}
		}
	}
	walk(model)
	if len(f.layers) == 0 {
		return nil
	}
	f.rows = make([]atomic.Int64, len(f.layers))
	return f
}

// setGrads runs nn.SetGrads(model, dy, false) with the dense layers'
// weights updated by opt at rate lr as their gradient rows are done, then
// the optimiser's step on every other tensor (and on a dense weight whose
// rows SetGrads did not report: a model that accumulates gradients through
// Backward). It reports whether every updated value is finite.
func (f *fusedUpdate[T]) setGrads(model nn.Layer[T], dy *nn.Mat[T], params []*nn.Param[T], opt optim.PieceStepper[T], lr float64) bool {
	piece := opt.Piece(lr)
	f.bad.Store(false)
	for j, d := range f.layers {
		f.rows[j].Store(0)
		w, in := d.W, d.In
		cnt := &f.rows[j]
		d.WGradRows = func(lo, hi int) {
			if !piece(w.Value[lo*in:hi*in], w.Grad[lo*in:hi*in]) {
				f.bad.Store(true)
			}
			cnt.Add(int64(hi - lo))
		}
	}
	nn.SetGrads(model, dy, false)
	clear(f.skip)
	for j, d := range f.layers {
		d.WGradRows = nil
		switch n := f.rows[j].Load(); n {
		case int64(d.Out):
			f.skip[f.index[j]] = true
		case 0:
		default:
			panic(fmt.Sprintf("train: %d of %d rows of a dense weight updated", n, d.Out))
		}
	}
	return opt.StepFiniteSkip(params, lr, f.skip) && !f.bad.Load()
}

// noFusedUpdate turns the fused update off (tests compare both).
var noFusedUpdate = false
