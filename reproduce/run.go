package reproduce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/train"
)

// SpecFile is the file in every run directory that records the RunSpec, so a
// report can be built from run directories alone (merged shard outputs).
const SpecFile = "reproduce.json"

// Options configure Execute.
type Options struct {
	Mode        Mode
	Experiments []string // empty: all
	Out         string   // results directory
	// Shard and Shards select the runs whose index in the global list is
	// ≡ Shard (mod Shards); Shards 0 means 1 (everything).
	Shard, Shards int
	// Train and Test, when both set, are used instead of loading the mode's
	// data (tests); otherwise MNIST (or the fixture, Tiny) is loaded once.
	Train, Test *data.Dataset
	Log         io.Writer // one line per run; nil for none
	Progress    io.Writer // overall progress bar; nil for none
}

// Outcome says what Execute did.
type Outcome struct {
	Runs, Skipped, Done int
	// Seconds is the wall-clock time of this invocation per experiment.
	Seconds map[string]float64
	Total   float64
}

// Execute runs every planned run of opts' shard that has not finished yet
// (a run is finished when its summary.json exists). A run interrupted before
// resumes from its checkpoint, or starts afresh when it has none. Runs go in
// list order, one at a time (the linear algebra is already parallel).
func Execute(ctx context.Context, opts Options) (*Outcome, error) {
	start := time.Now()
	if opts.Out == "" {
		return nil, errors.New("reproduce: empty output directory")
	}
	runs, err := Plan(opts.Mode, opts.Experiments)
	if err != nil {
		return nil, err
	}
	if opts.Shards == 0 {
		opts.Shards = 1
	}
	if runs, err = Shard(runs, opts.Shard, opts.Shards); err != nil {
		return nil, err
	}
	trainSet, testSet := opts.Train, opts.Test
	if (trainSet == nil) != (testSet == nil) {
		return nil, errors.New("reproduce: Options: give both Train and Test datasets or neither")
	}
	load := func() error {
		if trainSet == nil {
			trainSet, testSet, err = loadData(opts.Mode)
		}
		return err
	}
	for _, exp := range []string{ExpInit, ExpFitInit} {
		if !needsCalibration(runs, exp) {
			continue
		}
		// Every shard calibrates alike (deterministic), so the resolved
		// configs, and with them the run directories, agree across shards.
		if err := load(); err != nil {
			return nil, err
		}
		ref, n, err := calibrationRef(opts.Mode, exp)
		if err != nil {
			return nil, err
		}
		cal, err := calibrateInit(ctx, ref, n, trainSet)
		if err != nil {
			return nil, err
		}
		runs = cal.applyTo(runs, exp)
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "%s calibration: symmetric constant %.4g (λ_max(H_S) %.4g vs pytorch %.4g, %d evaluations), weight scale σ %.4g\n",
				exp, cal.Constant, cal.LambdaMaxSymmetric, cal.LambdaMaxReference, cal.Evaluations, cal.WeightScale)
		}
	}
	out := &Outcome{Runs: len(runs), Seconds: map[string]float64{}}
	var todo []RunSpec
	for _, r := range runs {
		fin, err := finished(opts.Out, r)
		if err != nil {
			return nil, err
		}
		if fin {
			out.Skipped++
			continue
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		out.Total = time.Since(start).Seconds()
		return out, nil
	}
	if err := load(); err != nil {
		return nil, err
	}
	var bar *progressbar.ProgressBar
	if opts.Progress != nil {
		bar = progressbar.NewOptions(len(runs),
			progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription("reproduce "+string(opts.Mode)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(opts.Progress) }))
		_ = bar.Set(out.Skipped)
	}
	for _, r := range todo {
		if ctx.Err() != nil {
			return out, fmt.Errorf("reproduce: interrupted after %d of %d runs, before %s (not started): %w", out.Done, len(todo), r.ID, context.Cause(ctx))
		}
		t := time.Now()
		res, err := runOne(ctx, opts.Out, r, trainSet, testSet)
		dt := time.Since(t).Seconds()
		out.Seconds[r.Experiment] += dt
		if err != nil {
			return out, fmt.Errorf("reproduce: run %s: %w", r.ID, err)
		}
		out.Done++
		if opts.Log != nil {
			if bar != nil {
				_ = bar.Clear()
			}
			if r.InitDraws > 0 {
				fmt.Fprintf(opts.Log, "%-34s %7.1fs  %d initialisation draws, no training\n", r.ID, dt, r.InitDraws)
			} else {
				fmt.Fprintf(opts.Log, "%-34s %7.1fs  train loss %.4f  test loss %.4f  test acc %.4f\n",
					r.ID, dt, res.FinalTrainLoss, res.TestLoss, res.TestAccuracy)
			}
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	out.Total = time.Since(start).Seconds()
	return out, nil
}

// loadData loads the mode's data set once for all runs.
func loadData(m Mode) (trainSet, testSet *data.Dataset, err error) {
	s, err := settingsFor(m)
	if err != nil {
		return nil, nil, err
	}
	if s.source == "fixture" {
		return data.LoadFixture(data.StandardMNIST)
	}
	return data.LoadMNIST(data.StandardMNIST)
}

// finished reports whether r's directory holds a finished run, and errors
// when it holds a run of a different setting.
func finished(out string, r RunSpec) (bool, error) {
	dir := filepath.Join(out, r.ID)
	b, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reproduce: %w", err)
	}
	var old RunSpec
	if err := json.Unmarshal(b, &old); err != nil {
		return false, fmt.Errorf("reproduce: %s: %w", filepath.Join(dir, SpecFile), err)
	}
	if old.Config.Hash() != r.Config.Hash() || old.Mode != r.Mode {
		return false, fmt.Errorf("reproduce: %s holds run %s of another setting (mode %s, config %.12s…; this plan: mode %s, config %.12s…); use another --out",
			dir, r.ID, old.Mode, old.Config.Hash(), r.Mode, r.Config.Hash())
	}
	_, err = os.Stat(filepath.Join(dir, train.SummaryFile))
	return err == nil, nil
}

// hooks builds the instruments of r.
func hooks(r RunSpec) ([]train.Hook, error) {
	var hs []train.Hook
	for _, h := range r.Hooks {
		switch h.Kind {
		case HookPerImage:
			pi, err := instrument.NewPerImage(h.Every, instrument.FirstTestClass, "")
			if err != nil {
				return nil, err
			}
			hs = append(hs, pi)
		case HookNSample:
			ns, err := instrument.NewNSample(instrument.NSampleConfig{Every: h.Every, N: h.N})
			if err != nil {
				return nil, err
			}
			hs = append(hs, ns)
		default:
			return nil, fmt.Errorf("hook kind %q unknown", h.Kind)
		}
	}
	return hs, nil
}

func runOne(ctx context.Context, out string, r RunSpec, trainSet, testSet *data.Dataset) (*train.Result, error) {
	if r.CalibrateInit && r.Calibration == nil {
		panic("reproduce: run " + r.ID + " needs the init calibration") // Execute applies it first
	}
	dir := filepath.Join(out, r.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, SpecFile), append(b, '\n')); err != nil {
		return nil, err
	}
	if r.InitDraws > 0 {
		return runInitDraws(ctx, dir, r, trainSet)
	}
	hs, err := hooks(r)
	if err != nil {
		return nil, err
	}
	return train.Run(ctx, r.Config, dir, hs, train.RunOptions{Resume: true, Train: trainSet, Test: testSet})
}
