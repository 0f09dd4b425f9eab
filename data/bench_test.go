package data

import (
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// BenchmarkGather measures assembling a 64-image MNIST batch (the paper's
// batch size, THEORY §5) from random positions, reusing the destination.
func BenchmarkGather(b *testing.B) {
	train, _, err := LoadFixture(Normalization{})
	if err != nil {
		b.Fatal(err)
	}
	idx := Permutation(train.N, rand.New(rand.NewPCG(1, 1)))[:64]
	b.Run("float32", func(b *testing.B) {
		var m *nn.Mat[float32]
		b.SetBytes(int64(len(idx) * train.Dim()))
		for b.Loop() {
			m = Gather(train, idx, m)
		}
	})
	b.Run("float64", func(b *testing.B) {
		var m *nn.Mat[float64]
		b.SetBytes(int64(len(idx) * train.Dim()))
		for b.Loop() {
			m = Gather(train, idx, m)
		}
	})
}

// BenchmarkLoadFixture measures decoding the embedded gzipped IDX files.
func BenchmarkLoadFixture(b *testing.B) {
	for b.Loop() {
		if _, _, err := LoadFixture(Normalization{}); err != nil {
			b.Fatal(err)
		}
	}
}
