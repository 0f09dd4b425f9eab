package reproduce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/internal/version"
	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// InitDrawRecord is one "init_draw" line of metrics.jsonl: the spectrum of
// H_S (THEORY §2) of one initialisation, on the probe, without training.
type InitDrawRecord struct {
	Kind string              `json:"kind"`
	Step int                 `json:"step"`
	Draw int                 `json:"draw"`
	Seed uint64              `json:"seed"`
	N    int                 `json:"n"`
	K    int                 `json:"K"`
	P    int                 `json:"P"`
	HS   structural.Spectrum `json:"H_S"`
}

// initDrawStream is the second PCG word of the initialisation draws (the
// first is the draw's seed).
const initDrawStream = 0x1d2a

// runInitDraws executes a HookInitDraws run (THEORY §4 P5 in the fit
// regime): r.InitDraws initialisations of r's net, seeds Config.Seed,
// Config.Seed+1, …, no training; each records the spectrum of H_S (H for
// the squared loss) on the probe, the first n training images. The run
// directory gets metrics.jsonl (kind "init_draw") and summary.json like a
// training run, so LoadRuns reads it alike.
func runInitDraws(ctx context.Context, dir string, r RunSpec, trainSet *data.Dataset) (*train.Result, error) {
	start := time.Now()
	if len(r.Hooks) != 1 || r.Hooks[0].Kind != HookInitDraws || r.InitDraws < 1 {
		return nil, fmt.Errorf("init draws: want one %s hook and InitDraws ≥ 1, have %v and %d", HookInitDraws, r.Hooks, r.InitDraws)
	}
	n := r.Hooks[0].N
	if n < 1 || n > trainSet.N {
		return nil, fmt.Errorf("init draws: probe size %d for a training set of %d samples", n, trainSet.N)
	}
	spec := r.Config.Model
	spec.Input, spec.Classes = append(nn.Shape(nil), trainSet.Shape...), trainSet.K
	model, err := models.Build[float64](spec)
	if err != nil {
		return nil, fmt.Errorf("init draws: build %s: %w", spec, err)
	}
	d, err := trainSet.First(n)
	if err != nil {
		return nil, fmt.Errorf("init draws: %w", err)
	}
	probe, err := instrument.NewProbe(d, 0)
	if err != nil {
		return nil, fmt.Errorf("init draws: %w", err)
	}
	P := nn.NumParams(model)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for j := range r.InitDraws {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("init draws: %w", err)
		}
		seed := r.Config.Seed + uint64(j)
		if err := initializer.Apply(model.Params(), r.Config.Init, rand.New(rand.NewPCG(seed, initDrawStream))); err != nil {
			return nil, fmt.Errorf("init draws: draw %d: %w", j, err)
		}
		s, err := structural.SumZeroSpectrum(ctx, model, probe.X)
		if err != nil {
			return nil, fmt.Errorf("init draws: draw %d: %w", j, err)
		}
		rec := InitDrawRecord{Kind: HookInitDraws, Draw: j, Seed: seed, N: n, K: trainSet.K, P: P, HS: s}
		if err := enc.Encode(rec); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, train.MetricsFile), buf.Bytes()); err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	sum := map[string]any{"version": version.Version, "go_version": runtime.Version(), "blas": linalg.Backend,
		"model": spec.String(), "dtype": "float64", "seed": r.Config.Seed, "params": P, "steps": 0,
		"init_draws": r.InitDraws, "seconds": map[string]float64{"total": secs}}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, train.SummaryFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return &train.Result{Params: P}, nil
}
