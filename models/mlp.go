package models

import "github.com/fenchel-ml/fenchel/nn"

// buildMLP is in → hidden[0] → … → classes with ReLU between dense layers
// (and after the last one when logitReLU), as ONE nn.Sequential without a
// leading Flatten, so parameter names are "0.weight", "0.bias", "2.weight", …
// exactly as PyTorch's nn.Sequential(Linear, ReLU, Linear, …).
func buildMLP[T nn.Float](in int, hidden []int, classes int, logitReLU bool) (nn.Layer[T], error) {
	var layers []nn.Layer[T]
	prev := in
	for _, h := range hidden {
		layers = append(layers, nn.NewDense[T](prev, h), nn.NewReLU[T](nn.Shape{h}))
		prev = h
	}
	layers = append(layers, nn.NewDense[T](prev, classes))
	if logitReLU {
		layers = append(layers, nn.NewReLU[T](nn.Shape{classes}))
	}
	return nn.NewSequential(layers...)
}
