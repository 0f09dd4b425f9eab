package models

import (
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/nn"
)

// BenchmarkForwardBackward times one float32 training step's forward and
// backward pass on a batch of 64 MNIST-sized inputs (THEORY.md §5 batch size).
func BenchmarkForwardBackward(b *testing.B) {
	for _, s := range []Spec{
		{Name: ModelA, Depth: 3},
		{Name: ModelB, Depth: 2},
		{Name: ModelC, Depth: 3, Skip: true},
		{Name: ModelD, Depth: 1, Skip: true},
	} {
		b.Run(s.String(), func(b *testing.B) {
			l, err := Build[float32](s)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			if err := initializer.Apply(l.Params(), initializer.Options{}, rng); err != nil {
				b.Fatal(err)
			}
			x := nn.NewMat[float32](64, 784)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			dy := nn.NewMat[float32](64, 10)
			for i := range dy.Data {
				dy.Data[i] = float32(rng.NormFloat64())
			}
			for b.Loop() {
				l.Forward(x)
				l.Backward(dy)
			}
		})
	}
}
