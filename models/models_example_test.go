package models_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

func ExampleBuild() {
	spec := models.Spec{Name: models.ModelD, Depth: 1, Skip: true}
	net, err := models.Build[float32](spec)
	if err != nil {
		panic(err)
	}
	if err := initializer.Apply(net.Params(), initializer.Options{}, rand.New(rand.NewPCG(1, 0))); err != nil {
		panic(err)
	}
	x := nn.NewMat[float32](2, 28*28) // two blank images
	y := net.Forward(x)
	fmt.Println(spec, nn.NumParams(net), "parameters,", y.Rows, "×", y.Cols, "logits")
	// Output: d-k1-skip 97674 parameters, 2 × 10 logits
}
