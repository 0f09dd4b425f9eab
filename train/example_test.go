package train_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/train"
)

// gradNormHook is a minimal instrument: every 10 steps it records the batch
// loss the loop reports and the float64 model's parameter count.
type gradNormHook struct{}

func (gradNormHook) Name() string { return "probe" }
func (gradNormHook) Every() int   { return 10 }
func (gradNormHook) OnStep(s *train.StepInfo) (any, error) {
	m, err := s.Model64()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range m.Params() {
		n += p.Len()
	}
	return map[string]any{"batch_loss": s.BatchLoss, "params": n}, nil
}

func Example() {
	dir, err := os.MkdirTemp("", "fenchel-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	cfg := train.DefaultConfig()
	cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{32}}
	cfg.Data = train.DataConfig{Source: "synthetic", Normalize: "none",
		Synthetic: data.SyntheticConfig{NTrain: 400, NTest: 200, Dim: 10, Classes: 4, Separation: 5, Noise: 1}}
	cfg.Batch, cfg.Epochs, cfg.LogEvery = 20, 3, 10

	res, err := train.Run(context.Background(), cfg, filepath.Join(dir, "run"), []train.Hook{gradNormHook{}}, train.RunOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("steps:", res.Steps, "params:", res.Params)
	fmt.Println("test accuracy above 0.9:", res.TestAccuracy > 0.9)
	// Output:
	// steps: 60 params: 484
	// test accuracy above 0.9: true
}
