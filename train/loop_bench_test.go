package train

import (
	"testing"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
)

// benchLoopMNIST times the training loop's own step (l.step: batch gathering,
// forward, loss, backward, update, non-finite check) on the MNIST training
// set, reshuffling at each epoch end as the loop does; the first step, which
// allocates the layers' buffers, is reported apart as ms-first.
func benchLoopMNIST(b *testing.B, spec models.Spec, batch int, opt string, lr float64, seed uint64) {
	tr, _, err := data.LoadMNIST(data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	benchLoopOn(b, tr, spec, batch, opt, lr, seed)
}

// BenchmarkLoopMNISTMLP1000 is the MLP 784-1000-10 SGD b128 workload of bench/train_side.sh.
func BenchmarkLoopMNISTMLP1000(b *testing.B) {
	benchLoopMNIST(b, models.Spec{Name: models.MLP, Hidden: []int{1000}}, 128, "sgd", 0.1, 0)
}

// BenchmarkLoopMNISTModelD is the Model d (k = 1, skips) Adam b64 workload of bench/train_side.sh.
func BenchmarkLoopMNISTModelD(b *testing.B) {
	benchLoopMNIST(b, models.Spec{Name: models.ModelD, Depth: 1, Skip: true}, 64, "adam", 0.002, 1)
}
