package train

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
)

// TestFusedUpdateBits checks that SGD applied inside the weight-gradient
// products (fusedUpdate) gives the same metrics and weights, bit for bit, as
// backward followed by the optimiser's step, on an MLP whose hidden layers
// have several row blocks, with float32 and float64.
func TestFusedUpdateBits(t *testing.T) {
	defer func(v bool) { noFusedUpdate = v }(noFusedUpdate)
	for _, dtype := range DTypes() {
		t.Run(dtype, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.DType = dtype
			cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{300, 130}}
			cfg.Data.Synthetic = data.SyntheticConfig{NTrain: 300, NTest: 60, Dim: 200, Classes: 3, Separation: 4, Noise: 1}
			cfg.Batch = 64
			var dirs []string
			for _, off := range []bool{true, false} {
				noFusedUpdate = off
				d := filepath.Join(t.TempDir(), "run")
				if _, err := Run(context.Background(), cfg, d, nil, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				dirs = append(dirs, d)
			}
			for _, f := range []string{MetricsFile, MetricsCSVFile} {
				a, b := readFile(t, filepath.Join(dirs[0], f)), readFile(t, filepath.Join(dirs[1], f))
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs with the fused update:\n%s\n---\n%s", f, a, b)
				}
			}
			ca, cb := readCheckpoint(t, dirs[0]), readCheckpoint(t, dirs[1])
			for i, p := range ca.Params {
				for j, v := range p.Value {
					if w := cb.Params[i].Value[j]; w != v {
						t.Fatalf("%s[%d] = %v with the fused update, %v without", p.Name, j, w, v)
					}
				}
			}
		})
	}
}
