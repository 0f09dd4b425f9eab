package nn

import "testing"

// BenchmarkResidualAddInto is the identity residual's forward sum on Model
// d's 64×16×28×28 activations, on one goroutine.
func BenchmarkResidualAddInto(b *testing.B) {
	const n = 64 * 16 * 28 * 28
	dst, x, y := make([]float32, n), make([]float32, n), make([]float32, n)
	b.SetBytes(3 * 4 * n)
	for b.Loop() {
		addInto(dst, x, y)
	}
}
