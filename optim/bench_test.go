package optim

import (
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

func BenchmarkStep(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			o, _ := New[float32](Config{Name: name})
			ps := []*nn.Param[float32]{nn.NewParam[float32]("w", []int{100000}, 1, 1, false)}
			for i := range ps[0].Grad {
				ps[0].Grad[i] = float32(i%7) - 3
			}
			b.SetBytes(4 * 100000)
			for b.Loop() {
				o.Step(ps, 1e-3)
			}
		})
	}
}
