package models_test

import (
	"fmt"
	"log"
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

// ExampleParseArch builds a network from an architecture file, as
// tools/export_arch.py writes it from a PyTorch nn.Sequential; the parameter
// names are that module's state_dict keys.
func ExampleParseArch() {
	arch, err := models.ParseArch([]byte(`{"format": "fenchel-arch/1", "input": [1, 8, 8], "layers": [
		{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
		{"type": "Tanh"},
		{"type": "Residual", "body": {"type": "Sequential", "layers": [
			{"type": "Conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1}, {"type": "ReLU"}]}},
		{"type": "AdaptiveAvgPool2d", "output_size": 1},
		{"type": "Flatten"},
		{"type": "Linear", "in_features": 4, "out_features": 3}]}`))
	if err != nil {
		log.Fatal(err)
	}
	net, err := models.BuildArch[float64](arch)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(arch.Classes(), "classes,", nn.NumParams(net), "parameters")
	for _, p := range net.Params() {
		fmt.Println(p.Name, p.Shape)
	}
	// Output:
	// 3 classes, 203 parameters
	// 0.weight [4 1 3 3]
	// 0.bias [4]
	// 2.body.0.weight [4 4 3 3]
	// 2.body.0.bias [4]
	// 5.weight [3 4]
	// 5.bias [3]
}
