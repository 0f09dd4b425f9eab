package initializer_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/nn"
)

func ExampleApply() {
	layer := nn.NewDense[float64](4, 3)
	o := initializer.Options{Scheme: initializer.Symmetric, Constant: 2}
	if err := initializer.Apply(layer.Params(), o, rand.New(rand.NewPCG(1, 0))); err != nil {
		panic(err)
	}
	fmt.Println(layer.W.Value[:4], layer.B.Value) // every weight 2/fan_in, biases 0
	// Output: [0.5 0.5 0.5 0.5] [0 0 0]
}
