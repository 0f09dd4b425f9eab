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

// BenchmarkGatherLarge assembles 128-image batches, in the order of one
// shuffled epoch, from 60000 random 28×28 images: the rows lie at random
// places of a 47 MB array, as MNIST's do in training.
func BenchmarkGatherLarge(b *testing.B) {
	const n, dim = 60000, 784
	rng := rand.New(rand.NewPCG(2, 2))
	pix := make([]uint8, n*dim)
	for i := range pix {
		pix[i] = uint8(rng.Uint32())
	}
	labels := make([]int, n)
	d := &Dataset{Name: "large", N: n, K: 10, Shape: nn.Shape{1, 28, 28}, Labels: labels, pix: pix,
		norm: StandardMNIST, lut: StandardMNIST.table()}
	perm := Permutation(n, rng)
	var m *nn.Mat[float32]
	pos := 0
	b.SetBytes(128 * dim)
	for b.Loop() {
		if pos+128 > n {
			pos = 0
		}
		m = Gather(d, perm[pos:pos+128], m)
		pos += 128
	}
}

// BenchmarkLoadFixture measures decoding the embedded gzipped IDX files.
func BenchmarkLoadFixture(b *testing.B) {
	for b.Loop() {
		if _, _, err := LoadFixture(Normalization{}); err != nil {
			b.Fatal(err)
		}
	}
}
