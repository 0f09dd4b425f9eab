package weights_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/weights"
)

// A model's parameters go out and come back under their PyTorch names.
func Example() {
	spec := models.Spec{Name: models.MLP, Hidden: []int{3}, Input: nn.Shape{4}, Classes: 2}
	src, _ := models.Build[float32](spec)
	for i, p := range src.Params() {
		for j := range p.Value {
			p.Value[j] = float32(i) + float32(j)/8
		}
	}
	dir, _ := os.MkdirTemp("", "weights-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mlp.safetensors")
	if err := weights.SaveSafetensors(path, src, map[string]string{"format": "pt"}); err != nil {
		fmt.Println(err)
		return
	}
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range f.Names() {
		t := f.Tensors[name]
		fmt.Println(name, t.DType, t.Shape)
	}
	dst, _ := models.Build[float64](spec)
	if err := weights.LoadSafetensors(path, dst); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dst.Params()[2].Value)

	// A model of another width does not fit; every difference is named.
	other, _ := models.Build[float64](models.Spec{Name: models.MLP, Hidden: []int{5}, Input: nn.Shape{4}, Classes: 2})
	err = weights.LoadSafetensors(path, other)
	fmt.Println(err != nil)
	// Output:
	// 0.bias F32 [3]
	// 0.weight F32 [3 4]
	// 2.bias F32 [2]
	// 2.weight F32 [2 3]
	// [2 2.125 2.25 2.375 2.5 2.625]
	// true
}

// ExampleInfer reads the architecture off a file's keys and shapes.
func ExampleInfer() {
	src, _ := models.Build[float32](models.Spec{Name: models.ModelD, Depth: 2, Skip: true, Input: nn.Shape{1, 8, 8}, Classes: 3})
	dir, _ := os.MkdirTemp("", "weights-infer")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "resnet.safetensors")
	if err := weights.SaveSafetensors(path, src, nil); err != nil {
		fmt.Println(err)
		return
	}
	f, _ := weights.ReadSafetensors(path)
	inf, err := weights.Infer(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inf.Describe())
	// Output:
	// d-k2-skip (1 input channel(s); 3 classes)
}
