package loss_test

import (
	"fmt"

	"github.com/fenchel-ml/fenchel/loss"
)

// The sparse losses predict exact zeros; the loss value is d_Ω(z; q) and its
// gradient in z is the residual p − q.
func ExampleLoss() {
	l, _ := loss.New("sparsemax")
	z := []float64{1, 0.5, -2}
	q := make([]float64, 3)
	loss.Target(q, 0, 3, 0)
	p, r := make([]float64, 3), make([]float64, 3)
	l.Predict(p, z)
	loss.Residual(r, p, q, 0)
	fmt.Printf("p = %.3g, d = %.4g, r = %.3g\n", p, l.Value(z, q), r)
	// Output: p = [0.75 0.25 0], d = 0.0625, r = [-0.25 0.25 0]
}
