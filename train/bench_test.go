package train

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/internal/cputime"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/optim"
)

// benchTrainStep times one optimiser step of the training loop (forward,
// loss and residual, backward as the loop runs it (nn.SetGrads without
// dL/dx), update) on a fixed random batch, and reports the wall
// time of each phase per step (µs-fwd, µs-loss, µs-bwd, µs-update).
func benchTrainStep(b *testing.B, spec models.Spec, batch int, opt string) {
	model, err := models.Build[float32](spec)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if err := initializer.Apply(model.Params(), initializer.Options{Scheme: initializer.PyTorch}, rng); err != nil {
		b.Fatal(err)
	}
	o, err := optim.New[float32](optim.Config{Name: opt})
	if err != nil {
		b.Fatal(err)
	}
	l, err := loss.New("softmax")
	if err != nil {
		b.Fatal(err)
	}
	x := nn.NewMat[float32](batch, model.InShape().Size())
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(model.OutShape().Size())
	}
	dz := nn.NewMat[float32](batch, model.OutShape().Size())
	params := model.Params()
	// Per-phase wall time, reported as µs per step: where a step goes.
	var tFwd, tLoss, tBwd, tUpd time.Duration
	step := func() {
		t0 := time.Now()
		z := model.Forward(x)
		t1 := time.Now()
		if _, _, err := loss.BatchGrad(l, z, labels, 0, dz); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		nn.SetGrads(model, dz, false)
		t3 := time.Now()
		o.Step(params, 1e-3)
		t4 := time.Now()
		tFwd, tLoss, tBwd, tUpd = tFwd+t1.Sub(t0), tLoss+t2.Sub(t1), tBwd+t3.Sub(t2), tUpd+t4.Sub(t3)
	}
	// One untimed step allocates the layers' buffers: with the few
	// iterations a Model d benchmark affords, it would otherwise dominate.
	step()
	tFwd, tLoss, tBwd, tUpd = 0, 0, 0, 0
	b.ResetTimer()
	c0 := cputime.Process()
	for b.Loop() {
		step()
	}
	reportCPU(b, c0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N) }
	b.ReportMetric(us(tFwd), "µs-fwd")
	b.ReportMetric(us(tLoss), "µs-loss")
	b.ReportMetric(us(tBwd), "µs-bwd")
	b.ReportMetric(us(tUpd), "µs-update")
}

// reportCPU reports the process CPU time per iteration since c0 (both
// cores' work; comparable across runs on a loaded machine, where wall time
// is not).
func reportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkTrainStepMLP1000 is MLP 784-1000-10, batch 128, float32, SGD.
func BenchmarkTrainStepMLP1000(b *testing.B) {
	benchTrainStep(b, models.Spec{Name: models.MLP, Hidden: []int{1000}}, 128, "sgd")
}

// BenchmarkTrainStepModelD is the paper's Model d with k = 1 and skips,
// batch 64, float32, Adam (THEORY §5).
func BenchmarkTrainStepModelD(b *testing.B) {
	benchTrainStep(b, models.Spec{Name: models.ModelD, Depth: 1, Skip: true}, 64, "adam")
}

// BenchmarkTrainStepMLP100 is MLP 784-100-10, batch 128, float32, SGD (the
// small network of the PyTorch comparison in bench/README.md).
func BenchmarkTrainStepMLP100(b *testing.B) {
	benchTrainStep(b, models.Spec{Name: models.MLP, Hidden: []int{100}}, 128, "sgd")
}

// pixelData is a training split of n random 28×28 byte images with 10
// classes, read through the IDX loader like MNIST (so batches are gathered
// from bytes as in a real run).
func pixelData(b *testing.B, n int) *data.Dataset {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	pix := make([]uint8, n*28*28)
	for i := 0; i < len(pix); i += 8 {
		binary.LittleEndian.PutUint64(pix[i:], rng.Uint64()) // n·784 is a multiple of 8
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(10))
	}
	write := func(name string, f func(io.Writer) error) {
		w, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		if err := f(w); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, pre := range []string{"train", "t10k"} {
		write(pre+"-images-idx3-ubyte", func(w io.Writer) error { return data.WriteIDXImages(w, pix, n, 28, 28) })
		write(pre+"-labels-idx1-ubyte", func(w io.Writer) error { return data.WriteIDXLabels(w, labels) })
	}
	train, _, err := data.LoadIDXDir(dir, data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	return train
}

// benchTrainLoop times loop.step, the part of a run that timings.json
// "train" measures (batch gathering from the shuffled bytes, forward, loss,
// backward, update, non-finite scan), on a 60000-image split, to set
// against benchTrainStep's bare step. As there, one untimed step first; its
// wall time is reported as ms-first.
func benchTrainLoop(b *testing.B, spec models.Spec, batch int, opt string, lr float64) {
	benchLoopOn(b, pixelData(b, 60000), spec, batch, opt, lr, 0)
}

// benchLoopOn is benchTrainLoop on the training split tr with seed, reshuffling
// at each epoch end as the loop does.
func benchLoopOn(b *testing.B, tr *data.Dataset, spec models.Spec, batch int, opt string, lr float64, seed uint64) {
	cfg := DefaultConfig()
	cfg.Model, cfg.Batch, cfg.Optim.Name, cfg.LR, cfg.Seed = spec, batch, opt, lr, seed
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
	c0 := cputime.Process()
	for b.Loop() {
		step()
	}
	reportCPU(b, c0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms-first")
}

// BenchmarkTrainLoopMLP1000 is BenchmarkTrainStepMLP1000's workload through
// the training loop.
func BenchmarkTrainLoopMLP1000(b *testing.B) {
	benchTrainLoop(b, models.Spec{Name: models.MLP, Hidden: []int{1000}}, 128, "sgd", 0.1)
}

// BenchmarkTrainLoopModelD is BenchmarkTrainStepModelD's workload through
// the training loop.
func BenchmarkTrainLoopModelD(b *testing.B) {
	benchTrainLoop(b, models.Spec{Name: models.ModelD, Depth: 1, Skip: true}, 64, "adam", 0.002)
}

// BenchmarkTrainLoopMLP100 is BenchmarkTrainStepMLP100's workload through
// the training loop.
func BenchmarkTrainLoopMLP100(b *testing.B) {
	benchTrainLoop(b, models.Spec{Name: models.MLP, Hidden: []int{100}}, 128, "sgd", 0.1)
}
