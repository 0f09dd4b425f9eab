package optim

import (
	"fmt"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// BenchmarkStep times one Step of each rule with each kernel the CPU can
// run on a single float32 tensor of 100k elements and of 785k elements
// (MLP 784-1000-10: 784·1000 + 1000 + 1000·10 + 10 = 795k parameters,
// nearly all in the first weight matrix).
func BenchmarkStep(b *testing.B) {
	for _, n := range []int{100000, 785000} {
		for _, name := range Names() {
			for _, k := range kernels() {
				b.Run(fmt.Sprintf("%s/n=%d/%v", name, n, k), func(b *testing.B) {
					defer func(saved kernel) { useKernel = saved }(useKernel)
					useKernel = k
					o, _ := New[float32](Config{Name: name})
					ps := []*nn.Param[float32]{nn.NewParam[float32]("w", []int{n}, 1, 1, false)}
					for i := range ps[0].Grad {
						ps[0].Grad[i] = float32(i%7) - 3
					}
					b.SetBytes(int64(4 * n))
					for b.Loop() {
						o.Step(ps, 1e-3)
					}
				})
			}
		}
	}
}
