package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkConv2DForwardBackward times one training step's worth of a Model d
// convolution (THEORY §5) in float32 at batch 64: Forward then Backward. The
// gflop/s metric counts the three GEMMs (forward, weight gradient, input
// gradient), 2·n·OutC·(C·k·k)·L flops each.
func BenchmarkConv2DForwardBackward(b *testing.B) {
	const batch = 64
	cases := []struct {
		name                 string
		in                   Shape
		outC, k, stride, pad int
		bias                 bool
	}{
		{"stem_1x28x28_to_16", Shape{1, 28, 28}, 16, 3, 1, 1, true},
		{"stage1_16x28x28_to_16", Shape{16, 28, 28}, 16, 3, 1, 1, false},
		{"stage2_16x28x28_to_32_s2", Shape{16, 28, 28}, 32, 3, 2, 1, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			l, err := NewConv2D[float32](tc.in, tc.outC, tc.k, tc.stride, tc.pad, tc.bias)
			if err != nil {
				b.Fatal(err)
			}
			x, dy := randomCase32(rng, l, batch)
			flops := 3 * 2 * float64(batch*tc.outC*l.patch()*l.geom.outArea())
			b.ResetTimer()
			for b.Loop() {
				l.Forward(x)
				l.Backward(dy)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "gflop/s")
		})
	}
}

func fill32(rng *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
}

// randomCase32 fills l's parameters from rng, then returns a random batch
// x of rows inputs and a random dL/dy for it, drawn in that order.
func randomCase32(rng *rand.Rand, l Layer[float32], rows int) (x, dy *Mat[float32]) {
	for _, p := range l.Params() {
		fill32(rng, p.Value)
	}
	x = NewMat[float32](rows, l.InShape().Size())
	fill32(rng, x.Data)
	dy = NewMat[float32](rows, l.OutShape().Size())
	fill32(rng, dy.Data)
	return x, dy
}
