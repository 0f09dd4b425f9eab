package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSum8 checks Sum8 bit for bit against its Go twin (NaN against NaN) at
// every tail length and at misaligned starts, and on finite data against
// the partials summed in float64 by a plain loop, an independent reference.
func TestSum8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths() {
		for _, off := range []int{0, 1} {
			v := random32(rng, n+off)[off:]
			got, want := Sum8(v), sum8Go(v)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("n %d off %d: Sum8 %v, Go twin %v", n, off, got, want)
			}
			fin := make([]float32, len(v))
			for i := range fin {
				fin[i] = float32(rng.NormFloat64())
			}
			var p [8]float64
			for i, x := range fin {
				p[i%8] += float64(x)
			}
			ref := ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
			if got := float64(Sum8(fin)); math.Abs(got-ref) > 1e-5*(1+math.Sqrt(float64(n))) {
				t.Fatalf("n %d off %d: Sum8 %v, float64 partials %v", n, off, got, ref)
			}
		}
	}
}

func BenchmarkSum8(b *testing.B) {
	v := random32(rand.New(rand.NewPCG(1, 2)), 784)
	for b.Loop() {
		Sum8(v)
	}
}
