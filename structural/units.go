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
// same layer. Both shrink the rank of H (THEORY §4). A unit is one of the
// Units of an nn.UnitLayer (an output of a Dense layer or an output channel
// of a Conv2D layer; dead: ≤ 0 at every position of every row; duplicate:
// same filter and bias); the model's last unit layer is the output, not
// hidden. The walk enters nn.Chain and nn.Branches containers (Sequential;
// Residual's body, and its shortcut when the skip is on); other layers run
// as opaque blocks. The layers' cached forward state is overwritten.
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

// lastUnitLayer returns the last nn.UnitLayer in forward order (a
// Branches block's later branch counts as later).
func (w *unitWalker) lastUnitLayer(l nn.Layer[float64]) nn.Layer[float64] {
	var kids []nn.Layer[float64]
	switch c := l.(type) {
	case nn.Chain[float64]:
		kids = c.Chain()
	case nn.Branches[float64]:
		kids = c.Branches()
	case nn.UnitLayer[float64]:
		return l
	}
	for i := len(kids) - 1; i >= 0; i-- {
		if u := w.lastUnitLayer(kids[i]); u != nil {
			return u
		}
	}
	return nil
}

// walk runs l forward on x, counting the units of its hidden layers, and
// returns l's output.
func (w *unitWalker) walk(l nn.Layer[float64], x *nn.Mat[float64]) *nn.Mat[float64] {
	switch c := l.(type) {
	case nn.Chain[float64]:
		layers := c.Chain()
		h := x
		for i, c := range layers {
			h = w.walk(c, h)
			if units := w.hiddenUnits(c); units > 0 && i+1 < len(layers) && layers[i+1].Kind() == "relu" {
				w.dead += deadUnits(h, units)
			}
		}
		return h
	case nn.Branches[float64]:
		// Every branch sees x; walk them for their units, then run the
		// block itself for its output.
		for _, b := range c.Branches() {
			w.walk(b, x)
		}
	case nn.UnitLayer[float64]:
		if l != w.output {
			weights, bias, units := c.Units()
			w.total += units
			w.duplicate += duplicateUnits(weights, bias, units)
		}
	}
	return l.Forward(x)
}

// hiddenUnits is the number of units of a hidden nn.UnitLayer (0 for any
// other layer and for the output layer).
func (w *unitWalker) hiddenUnits(l nn.Layer[float64]) int {
	if u, ok := l.(nn.UnitLayer[float64]); ok && l != w.output {
		_, _, units := u.Units()
		return units
	}
	return 0
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
