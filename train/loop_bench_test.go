package train

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
)

// benchLoopMNIST times the training loop's own step (l.step: batch gathering,
// forward, loss, backward, update, non-finite check) on the MNIST training
// set, reshuffling at each epoch end as the loop does; the first step, which
// allocates the layers' buffers, is reported apart as ms-first.
func benchLoopMNIST(b *testing.B, spec models.Spec, batch int, opt string, lr float64, seed uint64) {
	cfg := DefaultConfig()
	cfg.Model, cfg.Batch, cfg.Optim.Name, cfg.LR, cfg.Seed = spec, batch, opt, lr, seed
	tr, _, err := data.LoadMNIST(data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	r := &runner{cfg: cfg, train: tr, secs: map[string]float64{}, start: time.Now()}
	r.cfg.Model = cfg.resolvedSpec(tr)
	l := &loop[float32]{runner: r, ctx: context.Background(), ckStep: -1}
	if err := l.build(); err != nil {
		b.Fatal(err)
	}
	l.total = math.MaxInt
	l.plan()
	step := func() {
		if l.st.Pos == tr.N {
			l.st.Perm, l.st.Pos = nil, 0
		}
		if err := l.step(); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	step()
	first := time.Since(t0)
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		step()
	}
	reportCPU(b, c0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms-first")
}

// BenchmarkLoopMNISTMLP1000 is the MLP 784-1000-10 SGD b128 workload of bench/train_side.sh.
func BenchmarkLoopMNISTMLP1000(b *testing.B) {
	benchLoopMNIST(b, models.Spec{Name: models.MLP, Hidden: []int{1000}}, 128, "sgd", 0.1, 0)
}

// BenchmarkLoopMNISTModelD is the Model d (k = 1, skips) Adam b64 workload of bench/train_side.sh.
func BenchmarkLoopMNISTModelD(b *testing.B) {
	benchLoopMNIST(b, models.Spec{Name: models.ModelD, Depth: 1, Skip: true}, 64, "adam", 0.002, 1)
}
