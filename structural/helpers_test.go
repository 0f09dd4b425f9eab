package structural

import (
	"math"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/nn"
)

// mlp builds a Sequential of Dense layers with the given sizes and an
// activation ("relu" or "tanh") between them, with N(0, 1/in) weights and
// N(0, 0.1²) biases drawn from rng.
func mlp(rng *rand.Rand, act string, sizes ...int) *nn.Sequential[float64] {
	var layers []nn.Layer[float64]
	for l := 0; l+1 < len(sizes); l++ {
		d := nn.NewDense[float64](sizes[l], sizes[l+1])
		s := 1 / math.Sqrt(float64(sizes[l]))
		for i := range d.W.Value {
			d.W.Value[i] = s * rng.NormFloat64()
		}
		for i := range d.B.Value {
			d.B.Value[i] = 0.1 * rng.NormFloat64()
		}
		layers = append(layers, d)
		if l+2 < len(sizes) {
			switch act {
			case "relu":
				layers = append(layers, nn.NewReLU[float64](nn.Shape{sizes[l+1]}))
			case "tanh":
				layers = append(layers, nn.NewTanh[float64](nn.Shape{sizes[l+1]}))
			default:
				panic("unknown activation " + act)
			}
		}
	}
	s, err := nn.NewSequential(layers...)
	if err != nil {
		panic(err)
	}
	return s
}

func randomX(rng *rand.Rand, n, d int) *nn.Mat[float64] {
	x := nn.NewMat[float64](n, d)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	return x
}

// relDiff is max|a−b| / max|b|.
func relDiff(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range a {
		num = math.Max(num, math.Abs(a[i]-b[i]))
		den = math.Max(den, math.Abs(b[i]))
	}
	return num / den
}

func relErr(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-300) }
