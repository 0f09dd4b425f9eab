package train

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/internal/cputime"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/optim"
)

// BenchmarkBackwardUpdateMLP1000 times backward and the SGD update of
// MLP 784-1000-10 (b128) on a fixed batch, with the update after backward
// (split) or inside the weight-gradient products (fused), in CPU-µs per
// step (cpu-µs/op) as well as wall time.
func BenchmarkBackwardUpdateMLP1000(b *testing.B) {
	for _, fused := range []bool{false, true} {
		name := "split"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			model, err := models.Build[float32](models.Spec{Name: models.MLP, Hidden: []int{1000}})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			params := model.Params()
			if err := initializer.Apply(params, initializer.Options{Scheme: initializer.PyTorch}, rng); err != nil {
				b.Fatal(err)
			}
			o, err := optim.New[float32](optim.Config{Name: "sgd"})
			if err != nil {
				b.Fatal(err)
			}
			l, _ := loss.New("softmax")
			const batch = 128
			x := nn.NewMat[float32](batch, model.InShape().Size())
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = rng.IntN(10)
			}
			dz := nn.NewMat[float32](batch, 10)
			z := model.Forward(x)
			if _, _, err := loss.BatchGrad(l, z, labels, 0, dz); err != nil {
				b.Fatal(err)
			}
			ps := o.(optim.PieceStepper[float32])
			f := newFusedUpdate(model, params, o)
			if f == nil {
				b.Fatal("no fused update")
			}
			step := func() {
				if fused {
					f.setGrads(model, dz, params, ps, 1e-3)
					return
				}
				nn.SetGrads(model, dz, false)
				ps.StepFinite(params, 1e-3)
			}
			step()
			b.ResetTimer()
			c0 := cputime.Process()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64((cputime.Process()-c0)/time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}
