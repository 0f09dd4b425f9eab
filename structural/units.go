package structural

import (
	"math"

	"github.com/fenchel-ml/fenchel/nn"
)

// unitTol is the tolerance to which two hidden units' incoming weights (and
// bias) must agree to count as duplicates (THEORY §4: coinciding units give
// coinciding columns of J).
const unitTol = 1e-12

// UnitStats counts, over the hidden Dense layers of model (every Dense layer
// but the last, walking nested *nn.Sequential containers in order):
// total hidden units; dead units, whose ReLU (the activation of kind "relu"
// directly after the Dense layer) is zero on every probe row of x; and
// duplicate units, whose incoming weight row and bias equal, to 1e-12, those
// of an earlier unit of the same layer. Both shrink the rank of H (THEORY
// §4). Layers of other kinds, including containers other than Sequential, are
// run as opaque blocks and contribute no units. The layers' cached forward
// state is overwritten.
func UnitStats(model nn.Layer[float64], x *nn.Mat[float64]) (dead, duplicate, total int) {
	leaves := flatten(model, nil)
	lastDense := -1
	for i, l := range leaves {
		if _, ok := l.(*nn.Dense[float64]); ok {
			lastDense = i
		}
	}
	h := x
	for i, l := range leaves {
		h = l.Forward(h)
		d, ok := l.(*nn.Dense[float64])
		if !ok || i == lastDense {
			continue
		}
		total += d.Out
		duplicate += duplicateUnits(d)
		if i+1 < len(leaves) && leaves[i+1].Kind() == "relu" {
			dead += deadUnits(h)
		}
	}
	return dead, duplicate, total
}

// flatten lists the leaf layers of nested Sequential containers in forward order.
func flatten(l nn.Layer[float64], out []nn.Layer[float64]) []nn.Layer[float64] {
	if s, ok := l.(*nn.Sequential[float64]); ok {
		for _, c := range s.Layers {
			out = flatten(c, out)
		}
		return out
	}
	return append(out, l)
}

// deadUnits counts columns of the pre-activation a that are ≤ 0 on every row,
// i.e. units whose ReLU output (and derivative, relu'(0) = 0) vanishes on the probe.
func deadUnits(a *nn.Mat[float64]) int {
	dead := 0
	for c := 0; c < a.Cols; c++ {
		alive := false
		for r := 0; r < a.Rows && !alive; r++ {
			alive = a.Data[r*a.Cols+c] > 0
		}
		if !alive {
			dead++
		}
	}
	return dead
}

func duplicateUnits(d *nn.Dense[float64]) int {
	dup := 0
	for o := 1; o < d.Out; o++ {
		wo := d.W.Value[o*d.In : (o+1)*d.In]
		for e := 0; e < o; e++ {
			if math.Abs(d.B.Value[o]-d.B.Value[e]) > unitTol {
				continue
			}
			same := true
			we := d.W.Value[e*d.In : (e+1)*d.In]
			for i := range wo {
				if math.Abs(wo[i]-we[i]) > unitTol {
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
