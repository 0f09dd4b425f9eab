package structural_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
)

// Example measures a small random MLP on a random probe set.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	d1, d2 := nn.NewDense[float64](4, 32), nn.NewDense[float64](32, 3)
	for _, p := range append(d1.Params(), d2.Params()...) {
		for i := range p.Value {
			p.Value[i] = 0.5 * rng.NormFloat64()
		}
	}
	model, err := nn.NewSequential[float64](d1, nn.NewReLU[float64](nn.Shape{32}), d2)
	if err != nil {
		panic(err)
	}
	n := 8
	x := nn.NewMat[float64](n, 4)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 3
	}
	l, _ := loss.New("softmax")
	rep, err := structural.Analyze(model, structural.Probe{X: x, Labels: labels}, l, structural.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("H is %d×%d, H_S acts on dimension %d with rank %d\n", rep.H.Dim, rep.H.Dim, rep.HS.Dim, rep.HS.Rank)
	for _, b := range rep.Bounds {
		fmt.Printf("bound %s valid %v holds %v\n", b.Name, b.Valid, b.Holds)
	}
	// Output:
	// H is 24×24, H_S acts on dimension 16 with rank 16
	// bound A valid true holds true
	// bound B valid true holds true
	// bound C valid true holds true
	// bound Cr valid true holds true
}
