package instrument

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/internal/cputime"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/train"
)

// benchSpecs are the two models the ≤ 20 % overhead target is stated for:
// Model a and Model d with k = 1 (d with skips), both at batch 64 with Adam,
// with the number of training steps per run (enough for the one-time set-up
// of the first measurement to fade).
var benchSpecs = []struct {
	spec  models.Spec
	steps int
}{
	{models.Spec{Name: models.ModelA, Depth: 1}, 200},
	{models.Spec{Name: models.ModelD, Depth: 1, Skip: true}, 16},
}

// BenchmarkPerImage runs real float32 training (Adam, batch 64, the embedded
// MNIST fixture) with PerImage every 2 steps and reports the hook's cost
// relative to the training steps it accompanies, as the loop measures them
// (Result.Seconds "hooks" / "train"; the hook time includes building the
// float64 copy of the weights). ns/op is one whole run.
func BenchmarkPerImage(b *testing.B) {
	trainSet, testSet, err := data.LoadFixture(data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	for _, bs := range benchSpecs {
		spec, benchSteps := bs.spec, bs.steps
		b.Run(spec.String(), func(b *testing.B) {
			cfg := train.DefaultConfig()
			cfg.Model = spec
			cfg.Optim.Name, cfg.LR = "adam", 0.002
			cfg.Batch, cfg.Epochs, cfg.MaxSteps, cfg.LogEvery = 64, 0, benchSteps, benchSteps
			cfg.Data.Source = "fixture"
			var hooks, steps, calls float64
			i := 0
			for b.Loop() {
				h, err := NewPerImage(2, FirstTestClass, "")
				if err != nil {
					b.Fatal(err)
				}
				dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
				i++
				res, err := train.Run(context.Background(), cfg, dir, []train.Hook{h}, train.RunOptions{Train: trainSet, Test: testSet})
				if err != nil {
					b.Fatal(err)
				}
				hooks += res.Seconds["hooks"]
				steps += res.Seconds["train"]
				calls += float64(benchSteps/2 + 1) // steps 0, 2, …, benchSteps
			}
			b.ReportMetric(100*hooks/steps, "overhead_%")
			b.ReportMetric(1e3*hooks/calls, "ms/measurement")
			b.ReportMetric(1e3*steps/float64(benchSteps*i), "ms/step")
		})
	}
}

// BenchmarkPerImageMeasure times one measurement alone, as the loop pays
// for it: copying float32 weights into the float64 model, then Measure;
// cpu-ms/op is its user+system CPU time.
func BenchmarkPerImageMeasure(b *testing.B) {
	_, testSet, err := data.LoadFixture(data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	for _, bs := range benchSpecs {
		b.Run(bs.spec.String(), func(b *testing.B) {
			m32, m, h := benchPerImageModels(b, bs.spec)
			if err := h.Select(testSet); err != nil {
				b.Fatal(err)
			}
			c0, ops := cputime.Process(), 0
			for b.Loop() {
				if err := nn.CopyParams(m, m32); err != nil {
					b.Fatal(err)
				}
				if _, err := h.Measure(m); err != nil {
					b.Fatal(err)
				}
				ops++
			}
			b.ReportMetric(float64(cputime.Process()-c0)/1e6/float64(ops), "cpu-ms/op")
		})
	}
}

// BenchmarkPerImageStep times one measurement through OnStep, as the
// training loop calls it (with the twin model for x_b's pass where OnStep
// builds one), after copying the float32 weights into the float64 model;
// notwin runs the same without the twin. cpu-ms/op is the user+system CPU
// time, ns/op the wall time: the twin's pass on x_b runs on the second core.
// locked runs the twin case with the benchmark's goroutine locked to its
// thread and reports main-cpu-ms/op, that goroutine's CPU time alone (see
// cputime.Thread): the serial path's share; with the seed-split pass it
// also reports sideA- and sideB-cpu-ms/op, the CPU time of each side's
// goroutine (each locked to its thread), whose maximum bounds the wall time
// on two idle cores whatever the machine's load. The lock makes every
// fork-join a thread hand-off (futex calls), so its cpu-ms/op is a little
// higher.
func BenchmarkPerImageStep(b *testing.B) {
	_, testSet, err := data.LoadFixture(data.StandardMNIST)
	if err != nil {
		b.Fatal(err)
	}
	for _, bs := range benchSpecs {
		for _, v := range []struct{ twin, locked bool }{{true, false}, {false, false}, {true, true}} {
			twin := v.twin
			name := bs.spec.String()
			if !twin {
				name += "/notwin"
			}
			if v.locked {
				name += "/locked"
			}
			b.Run(name, func(b *testing.B) {
				m32, m, h := benchPerImageModels(b, bs.spec)
				h.twinChecked = !twin
				cfg := train.DefaultConfig()
				cfg.Model = bs.spec
				info := &train.StepInfo{Test: testSet, Config: cfg, Model64: func() (nn.Layer[float64], error) { return m, nil }}
				if v.locked {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				var sideA, sideB time.Duration
				if v.locked {
					h.sideCPU = func(a, b time.Duration) { sideA += a; sideB += b }
				}
				c0, t0, ops := cputime.Process(), cputime.Thread(), 0
				for b.Loop() {
					if err := nn.CopyParams(m, m32); err != nil {
						b.Fatal(err)
					}
					if _, err := h.OnStep(info); err != nil {
						b.Fatal(err)
					}
					ops++
				}
				b.ReportMetric(float64(cputime.Process()-c0)/1e6/float64(ops), "cpu-ms/op")
				if v.locked {
					b.ReportMetric(float64(cputime.Thread()-t0)/1e6/float64(ops), "main-cpu-ms/op")
					if sideB > 0 {
						b.ReportMetric(float64(sideA)/1e6/float64(ops), "sideA-cpu-ms/op")
						b.ReportMetric(float64(sideB)/1e6/float64(ops), "sideB-cpu-ms/op")
					}
				}
			})
		}
	}
}

// benchPerImageModels builds spec's float32 model with seeded default
// weights, an empty float64 model of the same architecture to copy them
// into, and a PerImage hook every 2 steps on the first test class.
func benchPerImageModels(b *testing.B, spec models.Spec) (nn.Layer[float32], nn.Layer[float64], *PerImage) {
	b.Helper()
	m32, err := models.Build[float32](spec)
	if err != nil {
		b.Fatal(err)
	}
	if err := initializer.Apply(m32.Params(), initializer.Options{}, rand.New(rand.NewPCG(1, 1))); err != nil {
		b.Fatal(err)
	}
	m, err := models.Build[float64](spec)
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewPerImage(2, FirstTestClass, "")
	if err != nil {
		b.Fatal(err)
	}
	return m32, m, h
}
