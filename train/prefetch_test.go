package train

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fenchel-ml/fenchel/models"
)

// TestPrefetchBits checks that gathering the next batch during a step gives
// the same metrics and weights, bit for bit, as gathering each batch at the
// start of its step: MNIST fixture pixels (500 images, batch 96: a short
// last batch and three epoch ends) with float32 and float64.
func TestPrefetchBits(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the next batch is gathered only with a second core")
	}
	defer func(v bool) { noPrefetch = v }(noPrefetch)
	for _, dtype := range DTypes() {
		t.Run(dtype, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.DType = dtype
			cfg.Data.Source, cfg.Data.Normalize = "fixture", "standard"
			cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{40}}
			cfg.Batch, cfg.Epochs = 96, 3
			var dirs []string
			for _, off := range []bool{true, false} {
				noPrefetch = off
				d := filepath.Join(t.TempDir(), "run")
				if _, err := Run(context.Background(), cfg, d, nil, RunOptions{}); err != nil {
					t.Fatal(err)
				}
				dirs = append(dirs, d)
			}
			for _, f := range []string{MetricsFile, MetricsCSVFile} {
				a, b := readFile(t, filepath.Join(dirs[0], f)), readFile(t, filepath.Join(dirs[1], f))
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs with the next batch gathered during the step:\n%s\n---\n%s", f, a, b)
				}
			}
			ca, cb := readCheckpoint(t, dirs[0]), readCheckpoint(t, dirs[1])
			for i, p := range ca.Params {
				for j, v := range p.Value {
					if w := cb.Params[i].Value[j]; w != v {
						t.Fatalf("%s[%d] = %v with the next batch gathered during the step, %v without", p.Name, j, w, v)
					}
				}
			}
		})
	}
}
