package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/internal/runlock"
	"github.com/fenchel-ml/fenchel/internal/simd"
	"github.com/fenchel-ml/fenchel/internal/version"
	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/optim"
)

// ErrNonFinite marks a run stopped because the loss, a gradient or a weight
// became NaN or ±Inf.
var ErrNonFinite = errors.New("non-finite training state")

// evalBatch is the number of test samples forwarded at once by evaluation.
// The layers keep buffers sized for the largest batch they saw, so it also
// sets the training model's memory: Model d k = 6 (train 3 steps, evaluate
// 2000 images) peaked at 1.37 GB RSS with 500 and 0.70 GB with 128, and ran
// in 4.8 s instead of 6.2 s.
const evalBatch = 128

// RunOptions are the per-invocation choices that do not change the result.
type RunOptions struct {
	// Resume continues from outDir's checkpoint.bin (a fresh start when the
	// directory holds none). Without Resume, a directory that already holds
	// a run is an error.
	Resume bool
	// Progress receives a progress bar (loss, samples/s); nil for none.
	Progress io.Writer
	// Log receives one line when training starts (model, parameter count,
	// steps, resume point); nil for none.
	Log io.Writer
	// Notes receives a line for every change a resume makes to what is on
	// disk beyond the checkpoint's own (records of metrics.jsonl discarded
	// because there is no checkpoint); nil for none.
	Notes io.Writer
	// Train and Test, when both set, replace loading cfg.Data (sweeps load
	// MNIST once); cfg.Data.NTrain/NTest still apply.
	Train, Test *data.Dataset
	// EpochCheckpointEvery is the least wall-clock time between two
	// checkpoints taken at epoch ends: an epoch end sooner than that after
	// the last checkpoint takes none; the first epoch end of a run without a
	// checkpoint always takes one. 0 means
	// DefaultEpochCheckpointEvery; negative, every epoch end. The final step,
	// an interruption and Config.CheckpointEvery always checkpoint. Which
	// steps were checkpointed never changes the results: a resume from any
	// checkpoint reproduces the uninterrupted run byte for byte.
	EpochCheckpointEvery time.Duration
}

// DefaultEpochCheckpointEvery bounds the work a crash can lose to about 10 s
// (or one epoch, if longer; the first epoch end always checkpoints) without
// letting checkpoints dominate short epochs: each one is written and
// fsynced (~10 ms), longer than an epoch of the fixture takes to train.
const DefaultEpochCheckpointEvery = 10 * time.Second

// Result summarises a finished run.
type Result struct {
	OutDir string
	Steps  int // optimiser steps taken in total (across resumes)
	Epochs int // epochs completed
	// FinalTrainLoss and FinalTrainAccuracy are those of the last train
	// record (the batches since the previous one).
	FinalTrainLoss, FinalTrainAccuracy float64
	// TestLoss and TestAccuracy are measured on the whole test split after
	// the last step.
	TestLoss, TestAccuracy float64
	Params                 int // scalar parameters of the model
	Model                  string
	ResumedFrom            int // step of the checkpoint resumed from (0 for a fresh run)
	// Seconds holds the wall-clock time of this invocation per phase:
	// "data", "build", "train", "eval", "hooks", "checkpoint", "total", and
	// "first_step", the part of "train" its first step took (that step
	// allocates the layers' buffers). What "train" covers is TrainCovers.
	Seconds map[string]float64
	// SamplesPerSecond is the training throughput of this invocation:
	// samples stepped over Seconds["train"].
	SamplesPerSecond float64
}

// TrainCovers says what the "train" time of Result.Seconds and timings.json
// measures: the work of BenchmarkTrainLoop*, which is BenchmarkTrainStep*'s
// plus drawing the permutation, gathering the batch and the non-finite check.
const TrainCovers = "every optimiser step of this invocation, the first included: " +
	"epoch permutation, batch gathering, forward, loss, backward, update, non-finite check; " +
	"not evaluation, hooks, checkpoints, metrics records or the progress bar"

// Run trains the model cfg describes and records the run in outDir:
// config.json, metrics.jsonl (appended as it goes), metrics.csv,
// checkpoint.bin, summary.json and timings.json. Every file but
// metrics.jsonl is replaced atomically; a checkpoint records how much of
// metrics.jsonl it covers, so a resumed run truncates the records written
// after it and reproduces them exactly.
//
// Cancelling ctx stops the run and returns an error wrapping
// context.Cause(ctx): after the step (and its evaluation) in progress, with a
// checkpoint of that state; inside a hook, at once, keeping the last
// checkpoint (one of that step would skip the hook's record on resume). A non-finite loss, gradient
// or weight stops the run with an error wrapping ErrNonFinite; the last
// checkpoint (of a finite state) is kept.
func Run(ctx context.Context, cfg Config, outDir string, hooks []Hook, opts RunOptions) (*Result, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkHooks(hooks); err != nil {
		return nil, err
	}
	if outDir == "" {
		return nil, fmt.Errorf("train: empty run directory")
	}
	if !opts.Resume {
		if err := checkFresh(outDir); err != nil {
			return nil, err
		}
	}
	if (opts.Train == nil) != (opts.Test == nil) {
		return nil, fmt.Errorf("train: RunOptions: give both Train and Test datasets or neither")
	}

	secs := map[string]float64{}
	t := time.Now()
	train, test := opts.Train, opts.Test
	var err error
	if train != nil {
		train, test, err = cfg.Data.Subset(train, test)
	} else {
		train, test, err = cfg.Data.Load()
	}
	if err != nil {
		return nil, err
	}
	secs["data"] = time.Since(t).Seconds()

	spec := cfg.resolvedSpec(train)
	if spec.Input.Size() != train.Dim() || spec.Classes != train.K {
		return nil, fmt.Errorf("config: model input %v with %d classes does not fit %s (shape %v, %d classes)",
			spec.Input, spec.Classes, train.Name, train.Shape, train.K)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("config: model: %w", err)
	}
	cfg.Model = spec
	if ctx.Err() != nil {
		return nil, fmt.Errorf("train: interrupted before the start (nothing written): %w", context.Cause(ctx))
	}
	for _, h := range hooks {
		if p, ok := h.(Preparer); ok {
			if err := p.Prepare(&StepInfo{Config: cfg, Train: train, Test: test, BatchLoss: math.NaN(), Ctx: ctx}); err != nil {
				return nil, fmt.Errorf("train: hook %s: %w", h.Name(), err)
			}
		}
	}

	r := &runner{cfg: cfg, dir: outDir, hooks: hooks, opts: opts, train: train, test: test, secs: secs, start: start}
	var res *Result
	if cfg.DType == "float64" {
		res, err = run[float64](ctx, r)
	} else {
		res, err = run[float32](ctx, r)
	}
	return res, err
}

// countRecords is the number of lines of the metrics file at path (0 when
// it is missing).
func countRecords(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// checkFresh returns an error if dir already holds a run.
func checkFresh(dir string) error {
	for _, name := range []string{CheckpointFile, MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("train: %s already holds a run (%s); resume it or choose another directory", dir, name)
		}
	}
	return nil
}

// runner holds what the generic loop shares with its helpers.
type runner struct {
	cfg         Config
	dir         string
	hooks       []Hook
	opts        RunOptions
	train, test *data.Dataset
	secs        map[string]float64
	start       time.Time
}

// loop is one training run in element type T: the model, optimiser and RNG,
// the progress that checkpoints save, and the open run directory. run
// drives it; each method is one phase of a step.
type loop[T nn.Float] struct {
	*runner
	ctx    context.Context
	model  nn.Layer[T]
	params []*nn.Param[T]
	lossFn loss.Loss
	opt    optim.Optimizer[T]
	sched  optim.StepDecay
	pcg    *rand.PCG
	rng    *rand.Rand

	st          progress
	resumed     bool
	resumedFrom int   // step the run resumed at (0 when fresh)
	metricsKeep int64 // bytes of metrics.jsonl a resume keeps (−1: fresh)
	nParams     int
	total       int // optimiser steps of the whole run

	ml      *metricsLog
	cfgJSON []byte
	ck      checkpoint
	ckStep  int // step of the checkpoint on disk (−1: none yet)
	lastCk  time.Time
	ckEvery time.Duration

	// lastHook[i] is the step at which hook i last ran; a checkpoint is
	// taken after the hooks of its step, so a resume starts past them.
	lastHook  []int
	batchLoss float64
	m64       nn.Layer[float64] // float64 view of the weights for hooks
	m64Step   int

	// Batch buffers, reused across steps.
	x      *nn.Mat[T]
	dz     *nn.Mat[T]
	labels []int

	fused *fusedUpdate[T] // nil: backward, then the optimiser's step

	trainTime time.Duration
	samples   int
	bar       *progressbar.ProgressBar
}

func run[T nn.Float](ctx context.Context, r *runner) (res *Result, err error) {
	l := &loop[T]{runner: r, ctx: ctx, ckStep: -1}
	t := time.Now()
	if err := l.build(); err != nil {
		return nil, err
	}
	if r.opts.Resume {
		if err := l.resume(); err != nil {
			return nil, err
		}
	}
	l.nParams = nn.NumParams(l.model)
	r.secs["build"] = time.Since(t).Seconds()

	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// From here on this process owns the directory; a second fenchel
	// process given the same directory stops here with a clear error.
	lock, err := runlock.Acquire(r.dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer lock.Release()
	if err := l.openRun(); err != nil {
		return nil, err
	}
	defer func() {
		// metrics.csv mirrors metrics.jsonl on every exit.
		if cerr := l.ml.writeCSV(); err == nil && cerr != nil {
			err = fmt.Errorf("train: %w", cerr)
		}
		if cerr := l.ml.close(); err == nil && cerr != nil {
			err = fmt.Errorf("train: %w", cerr)
		}
	}()

	l.plan()
	if !l.resumed {
		if err := l.callHooks(false); err != nil {
			return nil, err
		}
	}
	for l.st.Step < l.total {
		if ctx.Err() != nil {
			if cerr := l.checkpoint(); cerr != nil {
				return nil, errors.Join(fmt.Errorf("train: interrupted at step %d: %w", l.st.Step, context.Cause(ctx)), cerr)
			}
			return nil, fmt.Errorf("train: interrupted at step %d (checkpoint saved: --resume continues from it): %w", l.st.Step, context.Cause(ctx))
		}
		if err := l.step(); err != nil {
			return nil, err
		}
		if err := l.afterStep(); err != nil {
			return nil, err
		}
	}
	return l.finish()
}

// build makes the model, loss, optimiser and RNG, and initialises the weights.
func (l *loop[T]) build() error {
	cfg := l.cfg
	var err error
	if l.model, err = models.Build[T](cfg.Model); err != nil {
		return fmt.Errorf("train: build %s: %w", cfg.Model, err)
	}
	l.params = l.model.Params()
	if l.lossFn, err = loss.New(cfg.Loss); err != nil {
		return err
	}
	if l.opt, err = optim.New[T](cfg.Optim); err != nil {
		return fmt.Errorf("train: optimiser: %w", err)
	}
	l.sched = cfg.schedule()
	if !noFusedUpdate {
		l.fused = newFusedUpdate(l.model, l.params, l.opt)
	}
	l.pcg = rand.NewPCG(cfg.Seed, trainStream)
	l.rng = rand.New(l.pcg)
	if err := initializer.Apply(l.params, cfg.Init, l.rng); err != nil {
		return fmt.Errorf("train: init %s: %w", cfg.Init.Scheme, err)
	}
	l.st.LR = l.sched.LR(0)
	l.st.LastLoss, l.st.LastLossStep = math.NaN(), -1
	l.metricsKeep = -1
	l.batchLoss = math.NaN()
	l.m64Step = -1
	return nil
}

// resume restores weights, optimiser, RNG and progress from the checkpoint
// in the run directory, if there is one.
func (l *loop[T]) resume() error {
	ckPath := filepath.Join(l.dir, CheckpointFile)
	ck, err := loadCheckpoint(l.dir)
	if err != nil {
		return err
	}
	if ck == nil {
		if n := countRecords(filepath.Join(l.dir, MetricsFile)); n > 0 && l.opts.Notes != nil {
			fmt.Fprintf(l.opts.Notes, "train: note: %s has no %s (the run stopped before its first checkpoint): starting again from step 0; the %d records in its %s are discarded\n",
				l.dir, CheckpointFile, n, MetricsFile)
		}
		return nil
	}
	if err := ck.check(ckPath, l.cfg); err != nil {
		return err
	}
	if err := restoreParams(ckPath, ck, l.params); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := l.opt.SetState(ck.Optim); err != nil {
		return fmt.Errorf("train: resume: %s: optimiser state: %w", ckPath, err)
	}
	if err := l.opt.Check(l.params); err != nil {
		return fmt.Errorf("train: resume: %s: optimiser state: %w", ckPath, err)
	}
	if err := l.pcg.UnmarshalBinary(ck.RNG); err != nil {
		return fmt.Errorf("train: resume: %s: rng state: %w", ckPath, err)
	}
	l.st, l.metricsKeep, l.resumed = ck.Progress, ck.MetricsOffset, true
	l.resumedFrom, l.ckStep = l.st.Step, l.st.Step
	return nil
}

// openRun writes config.json and opens metrics.jsonl; the caller holds the
// directory lock.
func (l *loop[T]) openRun() error {
	if !l.opts.Resume {
		// Checked again under the lock: a run that finished between the
		// check in Run and here must not be overwritten.
		if err := checkFresh(l.dir); err != nil {
			return err
		}
	}
	var err error
	if l.cfgJSON, err = json.MarshalIndent(l.cfg, "", "  "); err != nil {
		return fmt.Errorf("train: config: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(l.dir, ConfigFile), append(l.cfgJSON, '\n')); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.ml, err = openMetrics(l.dir, l.metricsKeep)
	return err
}

// plan fixes the step count, the hook and checkpoint schedules and the
// progress output.
func (l *loop[T]) plan() {
	cfg := l.cfg
	N, B := l.train.N, cfg.Batch
	stepsPerEpoch := (N + B - 1) / B
	l.total = cfg.Epochs * stepsPerEpoch
	if cfg.MaxSteps > 0 && (cfg.Epochs == 0 || cfg.MaxSteps < l.total) {
		l.total = cfg.MaxSteps
	}
	l.lastHook = make([]int, len(l.hooks))
	for i := range l.lastHook {
		l.lastHook[i] = -1
		if l.resumed {
			l.lastHook[i] = l.st.Step
		}
	}
	l.ckEvery, l.lastCk = l.opts.EpochCheckpointEvery, time.Now()
	if l.ckEvery == 0 {
		l.ckEvery = DefaultEpochCheckpointEvery
	}
	l.dz = &nn.Mat[T]{}
	l.labels = make([]int, 0, B)

	if l.opts.Log != nil {
		from := ""
		if l.resumed {
			from = fmt.Sprintf(", resuming at step %d", l.st.Step)
		}
		fmt.Fprintf(l.opts.Log, "%s: %d parameters, %s, %d steps of batch %d on %s (%d samples)%s\n",
			cfg.Model, l.nParams, cfg.DType, l.total, B, l.train.Name, N, from)
	}
	if l.opts.Progress != nil {
		l.bar = progressbar.NewOptions(l.total,
			progressbar.OptionSetWriter(l.opts.Progress),
			progressbar.OptionSetDescription(cfg.Model.String()),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(l.opts.Progress) }),
		)
		_ = l.bar.Set(l.st.Step)
	}
}

// model64 returns the float64 copy of the current weights, built on first
// use and refreshed once per step (StepInfo.Model64).
func (l *loop[T]) model64() (nn.Layer[float64], error) {
	if l.m64 == nil {
		m, err := models.Build[float64](l.cfg.Model)
		if err != nil {
			return nil, fmt.Errorf("train: float64 model: %w", err)
		}
		l.m64 = m
	}
	if l.m64Step != l.st.Step {
		if err := nn.CopyParams(l.m64, l.model); err != nil {
			return nil, err
		}
		l.m64Step = l.st.Step
	}
	return l.m64, nil
}

// callHooks runs the hooks due at this step (all not yet run when final)
// and writes their records.
func (l *loop[T]) callHooks(final bool) error {
	t := time.Now()
	defer func() { l.secs["hooks"] += time.Since(t).Seconds() }()
	st := &l.st
	for i, h := range l.hooks {
		due := st.Step%h.Every() == 0 || final
		if !due || l.lastHook[i] == st.Step {
			continue
		}
		l.lastHook[i] = st.Step
		info := &StepInfo{Step: st.Step, Epoch: st.Epoch, Config: l.cfg, Train: l.train, Test: l.test,
			BatchLoss: l.batchLoss, LR: st.LR, Model64: l.model64, Ctx: l.ctx}
		rec, err := h.OnStep(info)
		if err != nil && l.ctx.Err() != nil {
			return l.interruptedIn("hook " + h.Name())
		}
		if err != nil {
			return fmt.Errorf("train: hook %s at step %d: %w", h.Name(), st.Step, err)
		}
		if !isNilRecord(rec) {
			if err := l.ml.writeHook(h.Name(), st.Step, st.Epoch, rec); err != nil {
				return fmt.Errorf("train: hook %s at step %d: %w", h.Name(), st.Step, err)
			}
		}
	}
	return nil
}

// interruptedIn is the error of a run stopped by its context inside phase,
// whose step is not checkpointed.
func (l *loop[T]) interruptedIn(phase string) error {
	kept := "no checkpoint written yet: --resume starts again from step 0"
	if l.ckStep >= 0 {
		kept = fmt.Sprintf("the checkpoint of step %d is kept: --resume continues from it", l.ckStep)
	}
	return fmt.Errorf("train: interrupted at step %d during %s (%s): %w", l.st.Step, phase, kept, context.Cause(l.ctx))
}

// evaluate measures the test split and writes an eval record.
func (l *loop[T]) evaluate() error {
	t := time.Now()
	defer func() { l.secs["eval"] += time.Since(t).Seconds() }()
	st := &l.st
	loss, acc, err := evalSplit(l.model, l.lossFn, l.test, l.cfg.Smoothing)
	if err != nil {
		return fmt.Errorf("train: step %d (epoch %d): evaluation: %w: %w", st.Step, st.Epoch, ErrNonFinite, err)
	}
	st.TestLoss, st.TestAcc = loss, acc
	return l.ml.writeEval(evalRecord{Kind: "eval", Split: "test", Step: st.Step, Epoch: st.Epoch, Loss: loss, Acc: acc})
}

// checkpoint makes the metrics so far durable, then saves weights,
// optimiser, RNG and progress, and rewrites metrics.csv.
func (l *loop[T]) checkpoint() error {
	t := time.Now()
	defer func() { l.secs["checkpoint"] += time.Since(t).Seconds() }()
	if err := l.ml.sync(); err != nil {
		return err
	}
	state, err := l.opt.State()
	if err != nil {
		return fmt.Errorf("train: optimiser state: %w", err)
	}
	rngState, err := l.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: rng state: %w", err)
	}
	cfg := l.cfg
	l.ck = checkpoint{Format: checkpointFormat, Version: version.Version, ConfigJSON: l.cfgJSON,
		Model: cfg.Model.String(), DType: cfg.DType, Params: l.ck.Params, Optim: state, RNG: rngState,
		Progress: l.st, MetricsOffset: l.ml.offset}
	if err := saveCheckpoint(l.dir, &l.ck, l.params); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l.ckStep = l.st.Step
	return l.ml.writeCSV()
}

// step takes one optimiser step on the next mini-batch of the epoch's
// permutation: forward, loss gradient, backward, update, with the
// non-finite checks in between.
func (l *loop[T]) step() error {
	t := time.Now()
	st, N, B := &l.st, l.train.N, l.cfg.Batch
	if st.Perm == nil {
		st.Perm, st.Pos = data.Permutation(N, l.rng), 0
	}
	end := min(st.Pos+B, N)
	idx := st.Perm[st.Pos:end]
	l.x = data.Gather(l.train, idx, l.x)
	l.labels = l.labels[:0]
	for _, i := range idx {
		l.labels = append(l.labels, l.train.Labels[i])
	}
	z := l.model.Forward(l.x)
	dz := l.dz
	dz.Rows, dz.Cols = z.Rows, z.Cols
	if cap(dz.Data) < len(z.Data) {
		dz.Data = make([]T, len(z.Data))
	}
	dz.Data = dz.Data[:len(z.Data)]
	lossSum, correct, err := loss.BatchGrad(l.lossFn, z, l.labels, l.cfg.Smoothing, dz)
	if err != nil {
		return st.nonFinite(err, l.ckStep)
	}
	st.LR = l.sched.LR(st.Epoch)
	// A non-finite gradient makes its weights non-finite through every
	// optimiser (NaN and ±Inf propagate, Inf/Inf is NaN), so checking the
	// weights after the update finds both (the optimiser does it as it
	// updates, on the goroutines that write them); the gradients, still
	// there, then say which it was.
	// No dL/dx: the first layer skips its input gradient.
	var finite bool
	if ps, ok := l.opt.(optim.PieceStepper[T]); ok && l.fused != nil {
		finite = l.fused.setGrads(l.model, dz, l.params, ps, st.LR)
	} else if fs, ok := l.opt.(optim.FiniteStepper[T]); ok {
		nn.SetGrads(l.model, dz, false)
		finite = fs.StepFinite(l.params, st.LR)
	} else {
		nn.SetGrads(l.model, dz, false)
		l.opt.Step(l.params, st.LR)
		_, _, bad := firstNonFinite(l.params, false)
		finite = !bad
	}
	if !finite {
		if gname, gv, gbad := firstNonFinite(l.params, true); gbad {
			return st.nonFinite(fmt.Errorf("gradient of %s has value %v", gname, gv), l.ckStep)
		}
		name, v, _ := firstNonFinite(l.params, false)
		return st.nonFinite(fmt.Errorf("after the update, weight %s has value %v", name, v), l.ckStep)
	}
	rows := len(idx)
	l.batchLoss = lossSum / float64(rows)
	st.Step++
	st.Pos = end
	st.LastLoss, st.LastLossStep = l.batchLoss, st.Step
	st.WinLoss += lossSum
	st.WinCorrect += correct
	st.WinSamples += rows
	dt := time.Since(t)
	if l.samples == 0 {
		l.secs["first_step"] = dt.Seconds()
	}
	l.samples += rows
	l.trainTime += dt
	if l.bar != nil {
		l.bar.Describe(fmt.Sprintf("%s ep %d loss %.4f %6.0f samples/s", l.cfg.Model, st.Epoch, l.batchLoss, float64(l.samples)/l.trainTime.Seconds()))
		_ = l.bar.Add(1)
	}
	return nil
}

// afterStep writes the train record, runs the hooks, evaluates at epoch
// ends and the last step, and checkpoints on schedule.
func (l *loop[T]) afterStep() error {
	st, cfg := &l.st, l.cfg
	epochEnd := st.Pos == l.train.N
	last := st.Step == l.total
	if st.Step%cfg.LogEvery == 0 || last {
		n := float64(st.WinSamples)
		st.TrainLoss, st.TrainAcc = st.WinLoss/n, float64(st.WinCorrect)/n
		if err := l.ml.writeTrain(trainRecord{Kind: "train", Step: st.Step, Epoch: st.Epoch, Loss: st.TrainLoss, Acc: st.TrainAcc, LR: st.LR}); err != nil {
			return err
		}
		st.WinLoss, st.WinCorrect, st.WinSamples = 0, 0, 0
	}
	if err := l.callHooks(false); err != nil {
		return err
	}
	if epochEnd || last {
		if err := l.evaluate(); err != nil {
			return err
		}
	}
	if last {
		if err := l.callHooks(true); err != nil {
			return err
		}
	}
	if epochEnd {
		st.Epoch++
		st.Perm, st.Pos = nil, 0
	}
	// The first epoch end always checkpoints, so a crash loses at most
	// an epoch or ckEvery, whichever is longer.
	epochCk := epochEnd && (l.ckEvery < 0 || l.ckStep < 0 || time.Since(l.lastCk) >= l.ckEvery)
	if epochCk || last || (cfg.CheckpointEvery > 0 && st.Step%cfg.CheckpointEvery == 0) {
		l.lastCk = time.Now()
		if err := l.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// finish writes summary.json and timings.json and returns the result.
func (l *loop[T]) finish() (*Result, error) {
	if l.bar != nil {
		_ = l.bar.Finish()
	}
	l.secs["train"] = l.trainTime.Seconds()
	l.secs["total"] = time.Since(l.start).Seconds()
	st := &l.st
	res := &Result{OutDir: l.dir, Steps: st.Step, Epochs: st.Epoch, FinalTrainLoss: st.TrainLoss, FinalTrainAccuracy: st.TrainAcc,
		TestLoss: st.TestLoss, TestAccuracy: st.TestAcc, Params: l.nParams, Model: l.cfg.Model.String(),
		ResumedFrom: l.resumedFrom, Seconds: l.secs}
	if l.trainTime > 0 {
		res.SamplesPerSecond = float64(l.samples) / l.trainTime.Seconds()
	}
	if err := writeSummary(l.runner, res, l.cfg); err != nil {
		return nil, err
	}
	return res, nil
}

// nonFinite builds the error for a non-finite loss, gradient or weight,
// saying what is on disk: the checkpoint of step ckStep (−1: none).
func (st *progress) nonFinite(cause error, ckStep int) error {
	last := "none yet"
	if st.LastLossStep >= 0 {
		last = fmt.Sprintf("%g after step %d", st.LastLoss, st.LastLossStep)
	}
	disk := "no checkpoint was written before it: --resume would start again from step 0"
	if ckStep >= 0 {
		disk = fmt.Sprintf("%s holds step %d, a finite state", CheckpointFile, ckStep)
	}
	return fmt.Errorf("train: step %d (epoch %d): %w: %w (last finite batch loss: %s; %s)",
		st.Step+1, st.Epoch, ErrNonFinite, cause, last, disk)
}

// firstNonFinite finds the first NaN/Inf gradient (grad) or weight. It runs
// once per step over every weight, so each tensor is first scanned as a
// whole by simd.AllFinite (vector code, memory speed) and only a tensor it
// flags is searched element by element.
func firstNonFinite[T nn.Float](params []*nn.Param[T], grad bool) (string, float64, bool) {
	for _, p := range params {
		v := p.Value
		if grad {
			v = p.Grad
		}
		if simd.AllFinite(v) {
			continue
		}
		for _, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return p.Name, f, true
			}
		}
	}
	return "", 0, false
}

// evalSplit returns the mean loss and the accuracy of model on d.
func evalSplit[T nn.Float](model nn.Layer[T], l loss.Loss, d *data.Dataset, smoothing float64) (float64, float64, error) {
	var x *nn.Mat[T]
	idx := make([]int, 0, evalBatch)
	var sum float64
	var correct int
	for lo := 0; lo < d.N; lo += evalBatch {
		hi := min(lo+evalBatch, d.N)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		x = data.Gather(d, idx, x)
		s, c, err := loss.BatchGrad(l, model.Forward(x), d.Labels[lo:hi], smoothing, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("%s samples %d–%d: %w", d.Name, lo, hi-1, err)
		}
		sum += s
		correct += c
	}
	return sum / float64(d.N), float64(correct) / float64(d.N), nil
}

// summary is summary.json.
type summary struct {
	Version            string             `json:"version"`
	GoVersion          string             `json:"go_version"`
	BLAS               string             `json:"blas"`
	Model              string             `json:"model"`
	DType              string             `json:"dtype"`
	Seed               uint64             `json:"seed"`
	Params             int                `json:"params"`
	Start              string             `json:"start"`
	End                string             `json:"end"`
	Steps              int                `json:"steps"`
	Epochs             int                `json:"epochs"`
	ResumedFrom        int                `json:"resumed_from"`
	FinalTrainLoss     float64            `json:"final_train_loss"`
	FinalTrainAccuracy float64            `json:"final_train_accuracy"`
	TestLoss           float64            `json:"test_loss"`
	TestAccuracy       float64            `json:"test_accuracy"`
	Seconds            map[string]float64 `json:"seconds"`
	SamplesPerSecond   float64            `json:"samples_per_s"`
	Config             Config             `json:"config"`
}

func writeSummary(r *runner, res *Result, cfg Config) error {
	s := summary{Version: version.Version, GoVersion: runtime.Version(), BLAS: linalg.Backend, Model: res.Model,
		DType: cfg.DType, Seed: cfg.Seed, Params: res.Params,
		Start: r.start.UTC().Format(time.RFC3339Nano), End: time.Now().UTC().Format(time.RFC3339Nano),
		Steps: res.Steps, Epochs: res.Epochs, ResumedFrom: res.ResumedFrom,
		FinalTrainLoss: res.FinalTrainLoss, FinalTrainAccuracy: res.FinalTrainAccuracy,
		TestLoss: res.TestLoss, TestAccuracy: res.TestAccuracy, Seconds: res.Seconds,
		SamplesPerSecond: res.SamplesPerSecond, Config: cfg}
	if err := writeJSON(filepath.Join(r.dir, SummaryFile), s); err != nil {
		return err
	}
	timings := map[string]any{"seconds": res.Seconds, "train_covers": TrainCovers, "samples_per_s": res.SamplesPerSecond,
		"steps_this_run": res.Steps - res.ResumedFrom, "gomaxprocs": runtime.GOMAXPROCS(0), "blas": linalg.Backend}
	return writeJSON(filepath.Join(r.dir, TimingsFile), timings)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("train: %s: %w", filepath.Base(path), err)
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}
