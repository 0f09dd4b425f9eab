package structural

import (
	"math"

	"github.com/fenchel-ml/fenchel/nn"
)

// unitTol is the tolerance to which two hidden units' incoming weights (and
// bias) must agree to count as duplicates (THEORY §4: coinciding units give
// coinciding columns of J).
const unitTol = 1e-12

// UnitStats counts, over the hidden units of model: total hidden units; dead
// units, whose ReLU (an activation of kind "relu" directly after the layer in
// its Sequential) is zero on every probe row of x; and duplicate units, whose
// incoming weights and bias equal, to 1e-12, those of an earlier unit of the
// same layer. Both shrink the rank of H (THEORY §4). A unit is an output of a
// Dense layer or an output channel of a Conv2D layer (dead: ≤ 0 at every
// position of every row; duplicate: same filter and bias); the model's last
// parameterised layer is the output, not hidden. The walk enters Sequential
// and Residual containers (body, and the shortcut when the skip is on); other
// layers run as opaque blocks. The layers' cached forward state is overwritten.
func UnitStats(model nn.Layer[float64], x *nn.Mat[float64]) (dead, duplicate, total int) {
	w := unitWalker{}
	w.output = w.lastUnitLayer(model)
	w.walk(model, x)
	return w.dead, w.duplicate, w.total
}

type unitWalker struct {
	output                 nn.Layer[float64] // the output layer, not counted
	dead, duplicate, total int
}

// lastUnitLayer returns the last Dense or Conv2D layer in forward order.
func (w *unitWalker) lastUnitLayer(l nn.Layer[float64]) nn.Layer[float64] {
	switch l := l.(type) {
	case *nn.Sequential[float64]:
		for i := len(l.Layers) - 1; i >= 0; i-- {
			if u := w.lastUnitLayer(l.Layers[i]); u != nil {
				return u
			}
		}
	case *nn.Residual[float64]:
		if l.Skip && l.Shortcut != nil {
			if u := w.lastUnitLayer(l.Shortcut); u != nil {
				return u
			}
		}
		return w.lastUnitLayer(l.Body)
	case *nn.Dense[float64], *nn.Conv2D[float64]:
		return l
	}
	return nil
}

// walk runs l forward on x, counting the units of its hidden layers, and
// returns l's output.
func (w *unitWalker) walk(l nn.Layer[float64], x *nn.Mat[float64]) *nn.Mat[float64] {
	switch l := l.(type) {
	case *nn.Sequential[float64]:
		h := x
		for i, c := range l.Layers {
			h = w.walk(c, h)
			if channels := w.hiddenChannels(c); channels > 0 && i+1 < len(l.Layers) && l.Layers[i+1].Kind() == "relu" {
				w.dead += deadUnits(h, channels)
			}
		}
		return h
	case *nn.Residual[float64]:
		// Body and shortcut both see x; walk them for their units, then run
		// the block itself for its output.
		w.walk(l.Body, x)
		if l.Skip && l.Shortcut != nil {
			w.walk(l.Shortcut, x)
		}
		return l.Forward(x)
	case *nn.Dense[float64]:
		if nn.Layer[float64](l) != w.output {
			w.total += l.Out
			w.duplicate += duplicateUnits(l.W.Value, biasValues(l.B), l.Out)
		}
	case *nn.Conv2D[float64]:
		if nn.Layer[float64](l) != w.output {
			w.total += l.OutC
			w.duplicate += duplicateUnits(l.Weight.Value, biasValues(l.Bias), l.OutC)
		}
	}
	return l.Forward(x)
}

// hiddenChannels is the number of units of a hidden Dense or Conv2D layer
// (0 for any other layer and for the output layer).
func (w *unitWalker) hiddenChannels(l nn.Layer[float64]) int {
	if l == w.output {
		return 0
	}
	switch l := l.(type) {
	case *nn.Dense[float64]:
		return l.Out
	case *nn.Conv2D[float64]:
		return l.OutC
	}
	return 0
}

func biasValues(b *nn.Param[float64]) []float64 {
	if b == nil {
		return nil
	}
	return b.Value
}

// deadUnits counts the units of the pre-activation a (rows × units·L,
// unit-major: L positions per unit, L = 1 for Dense) that are ≤ 0 at every
// position of every row, i.e. whose ReLU output (and derivative, relu'(0) =
// 0) vanishes on the probe.
func deadUnits(a *nn.Mat[float64], units int) int {
	per := a.Cols / units
	dead := 0
	for u := 0; u < units; u++ {
		alive := false
		for r := 0; r < a.Rows && !alive; r++ {
			for _, v := range a.Data[r*a.Cols+u*per : r*a.Cols+(u+1)*per] {
				if v > 0 {
					alive = true
					break
				}
			}
		}
		if !alive {
			dead++
		}
	}
	return dead
}

// duplicateUnits counts the units o of a layer whose incoming weights
// (row o of the units×fan-in weight w) and bias (nil: none) equal an earlier
// unit's to unitTol.
func duplicateUnits(w, bias []float64, units int) int {
	in := len(w) / units
	dup := 0
	for o := 1; o < units; o++ {
		wo := w[o*in : (o+1)*in]
		for e := 0; e < o; e++ {
			if bias != nil && math.Abs(bias[o]-bias[e]) > unitTol {
				continue
			}
			same := true
			for i, v := range w[e*in : (e+1)*in] {
				if math.Abs(wo[i]-v) > unitTol {
					same = false
					break
				}
			}
			if same {
				dup++
				break
			}
		}
	}
	return dup
}
