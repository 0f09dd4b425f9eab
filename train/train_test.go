package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/internal/runlock"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

// tinyConfig is a fast run: a 3-class Gaussian mixture in 8 dimensions and
// an 8-16-3 MLP. 150 samples in batches of 40 give 4 steps per epoch, the
// last one partial.
func tinyConfig() Config {
	c := DefaultConfig()
	c.Model = models.Spec{Name: models.MLP, Hidden: []int{16}}
	c.Data = DataConfig{Source: "synthetic", Normalize: "none", Seed: 7,
		Synthetic: data.SyntheticConfig{NTrain: 150, NTest: 90, Dim: 8, Classes: 3, Separation: 4, Noise: 1}}
	c.Batch, c.Epochs, c.LogEvery = 40, 3, 2
	c.LR = 0.1
	c.Seed = 3
	return c
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// records parses metrics.jsonl.
func records(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(dir, MetricsFile))))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func readCheckpoint(t *testing.T, dir string) *checkpoint {
	t.Helper()
	ck, err := loadCheckpoint(dir)
	if err != nil || ck == nil {
		t.Fatalf("checkpoint in %s: %v (nil %t)", dir, err, ck == nil)
	}
	return ck
}

func TestDeterministicMetrics(t *testing.T) {
	for _, dtype := range DTypes() {
		t.Run(dtype, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.DType = dtype
			cfg.Optim.Name = "adam"
			cfg.LR = 0.01
			dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
			for _, d := range dirs {
				if _, err := Run(context.Background(), cfg, d, nil, RunOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{MetricsFile, MetricsCSVFile, ConfigFile} {
				a, b := readFile(t, filepath.Join(dirs[0], f)), readFile(t, filepath.Join(dirs[1], f))
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs between two runs of the same config:\n%s\n---\n%s", f, a, b)
				}
			}
			// 3 epochs × 4 steps, train records at 2,4,...,12, eval at 4, 8, 12.
			recs := records(t, dirs[0])
			var train, eval []int
			for _, r := range recs {
				switch r["kind"] {
				case "train":
					train = append(train, int(r["step"].(float64)))
				case "eval":
					eval = append(eval, int(r["step"].(float64)))
				}
			}
			if want := []int{2, 4, 6, 8, 10, 12}; !slices.Equal(train, want) {
				t.Errorf("train records at steps %v, want %v", train, want)
			}
			if want := []int{4, 8, 12}; !slices.Equal(eval, want) {
				t.Errorf("eval records at steps %v, want %v", eval, want)
			}
			// The CSV holds exactly the train and eval records, plus a header.
			lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dirs[0], MetricsCSVFile)))), "\n")
			if len(lines) != 1+len(train)+len(eval) {
				t.Errorf("metrics.csv has %d lines, want %d", len(lines), 1+len(train)+len(eval))
			}
			for _, f := range []string{SummaryFile, TimingsFile, CheckpointFile} {
				if _, err := os.Stat(filepath.Join(dirs[0], f)); err != nil {
					t.Errorf("run dir lacks %s: %v", f, err)
				}
			}
		})
	}
}

// cancelAt is a hook that cancels the run's context at a given step.
type cancelAt struct {
	step   int
	cancel context.CancelFunc
	// saveAt, when > 0, copies checkpoint.bin aside at that step, to
	// simulate a hard kill that loses everything after an older checkpoint.
	saveAt  int
	dir     string
	saved   []byte
	visited []int
}

func (h *cancelAt) Name() string { return "canceller" }
func (h *cancelAt) Every() int   { return 1 }
func (h *cancelAt) OnStep(s *StepInfo) (any, error) {
	h.visited = append(h.visited, s.Step)
	if h.saveAt > 0 && s.Step == h.saveAt {
		b, err := os.ReadFile(filepath.Join(h.dir, CheckpointFile))
		if err != nil {
			return nil, err
		}
		h.saved = b
	}
	if s.Step == h.step {
		h.cancel()
	}
	return map[string]any{"batch_loss": s.BatchLoss}, nil
}

func TestResumeEquivalence(t *testing.T) {
	tests := []struct {
		name     string
		opt      string
		dtype    string
		killAt   int // cancel after this step
		hardKill int // if > 0: restore the checkpoint seen at this step (older than killAt)
	}{
		{"momentum mid-epoch cancel", "momentum", "float32", 6, 0},
		{"adam hard kill", "adam", "float64", 10, 7},
		{"sgd cancel at epoch end", "sgd", "float32", 8, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Optim.Name, cfg.DType = tt.opt, tt.dtype
			cfg.LR = 0.02
			cfg.CheckpointEvery = 3
			straight := filepath.Join(t.TempDir(), "straight")
			// The straight run carries the same hook (never cancelling), so
			// both runs write identical hook records.
			h0 := &cancelAt{step: -1, cancel: func() {}}
			want, err := Run(context.Background(), cfg, straight, []Hook{h0}, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}

			dir := filepath.Join(t.TempDir(), "killed")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := &cancelAt{step: tt.killAt, cancel: cancel, saveAt: tt.hardKill, dir: dir}
			_, err = Run(ctx, cfg, dir, []Hook{h}, RunOptions{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
			}
			if tt.hardKill > 0 {
				if err := os.WriteFile(filepath.Join(dir, CheckpointFile), h.saved, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			from := readCheckpoint(t, dir).Progress.Step
			if tt.hardKill == 0 && from != tt.killAt {
				t.Errorf("checkpoint after cancel at step %d is at step %d", tt.killAt, from)
			}
			if tt.hardKill > 0 && from >= tt.killAt {
				t.Errorf("hard kill: restored checkpoint at step %d, want one before step %d", from, tt.killAt)
			}
			h2 := &cancelAt{step: -1, cancel: func() {}}
			got, err := Run(context.Background(), cfg, dir, []Hook{h2}, RunOptions{Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			if got.ResumedFrom != from {
				t.Errorf("ResumedFrom = %d, want %d", got.ResumedFrom, from)
			}
			if len(h2.visited) == 0 || h2.visited[0] != from+1 {
				t.Errorf("resumed hook first called at %v, want step %d", h2.visited, from+1)
			}
			for _, f := range []string{MetricsFile, MetricsCSVFile} {
				a, b := readFile(t, filepath.Join(straight, f)), readFile(t, filepath.Join(dir, f))
				if !bytes.Equal(a, b) {
					t.Errorf("%s: resumed run differs from straight run:\n%s\n---\n%s", f, b, a)
				}
			}
			ca, cb := readCheckpoint(t, straight), readCheckpoint(t, dir)
			if len(ca.Params) != len(cb.Params) {
				t.Fatalf("%d vs %d parameter tensors", len(ca.Params), len(cb.Params))
			}
			for i := range ca.Params {
				if !slices.Equal(ca.Params[i].Value, cb.Params[i].Value) {
					t.Errorf("final %s differs between straight and resumed runs", ca.Params[i].Name)
				}
			}
			if got.TestLoss != want.TestLoss || got.TestAccuracy != want.TestAccuracy || got.Steps != want.Steps {
				t.Errorf("resumed result %+v, straight %+v", got, want)
			}
		})
	}
}

func TestResumeRejectsOtherConfig(t *testing.T) {
	cfg := tinyConfig()
	cfg.MaxSteps, cfg.Epochs = 2, 0
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), cfg, dir, nil, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, dir, nil, RunOptions{}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("rerun into a used directory without Resume: err = %v", err)
	}
	for _, tt := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"model", "different model", func(c *Config) { c.Model.Hidden = []int{17} }},
		{"seed", "different seed", func(c *Config) { c.Seed++ }},
		{"dtype", "different dtype", func(c *Config) { c.DType = "float64" }},
		{"optimiser", "different optimiser", func(c *Config) { c.Optim.Name = "adam" }},
	} {
		c := cfg
		c.Model.Hidden = slices.Clone(cfg.Model.Hidden)
		tt.edit(&c)
		_, err := Run(context.Background(), c, dir, nil, RunOptions{Resume: true})
		if err == nil || !strings.Contains(err.Error(), "checkpoint from a "+tt.want) {
			t.Errorf("%s: resume with changed config: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	// A longer budget is a legitimate continuation.
	c := cfg
	c.MaxSteps = 5
	res, err := Run(context.Background(), c, dir, nil, RunOptions{Resume: true})
	if err != nil || res.Steps != 5 || res.ResumedFrom != 2 {
		t.Errorf("extend run: res %+v, err %v", res, err)
	}
}

func TestNonFiniteStops(t *testing.T) {
	for _, dtype := range DTypes() {
		t.Run(dtype, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.DType = dtype
			cfg.LR = 1e30
			cfg.Epochs = 50
			cfg.CheckpointEvery = 1
			dir := filepath.Join(t.TempDir(), "run")
			_, err := Run(context.Background(), cfg, dir, nil, RunOptions{})
			if !errors.Is(err, ErrNonFinite) {
				t.Fatalf("lr 1e30: err = %v, want ErrNonFinite", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "step ") || !strings.Contains(msg, "last finite batch loss") {
				t.Errorf("error %q does not name the step and last finite loss", msg)
			}
			ck := readCheckpoint(t, dir)
			for _, p := range ck.Params {
				for _, v := range p.Value {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("checkpoint at step %d holds non-finite %s", ck.Progress.Step, p.Name)
					}
				}
			}
			if !strings.Contains(msg, "step "+itoa(ck.Progress.Step+1)+" ") {
				t.Errorf("error %q: expected the failing step %d right after the last checkpoint", msg, ck.Progress.Step+1)
			}
			if _, err := os.Stat(filepath.Join(dir, SummaryFile)); err == nil {
				t.Error("failed run wrote summary.json")
			}
			matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
			if len(matches) > 0 {
				t.Errorf("temporary files left behind: %v", matches)
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error
	}{
		{"dtype", func(c *Config) { c.DType = "float16" }, `dtype = "float16"`},
		{"unknown model", func(c *Config) { c.Model.Name = "vgg" }, `unknown model "vgg"`},
		{"width 0", func(c *Config) { c.Model.Hidden = []int{0} }, "hidden width 0"},
		{"depth 0", func(c *Config) { c.Model = models.Spec{Name: "a", Depth: 0} }, "depth 0"},
		{"negative width", func(c *Config) { c.Model = models.Spec{Name: "resmlp", Depth: 2, Width: -3} }, "width -3"},
		{"loss", func(c *Config) { c.Loss = "hinge" }, `loss = "hinge"`},
		{"smoothing", func(c *Config) { c.Smoothing = 1 }, "smoothing = 1"},
		{"init", func(c *Config) { c.Init.Scheme = "zeros" }, `init.scheme = "zeros"`},
		{"init eps", func(c *Config) { c.Init.Eps = -1 }, "eps -1"},
		{"optimiser", func(c *Config) { c.Optim.Name = "lbfgs" }, `optim = "lbfgs"`},
		{"negative lr", func(c *Config) { c.LR = -0.1 }, "lr = -0.1"},
		{"NaN lr", func(c *Config) { c.LR = math.NaN() }, "lr = NaN"},
		{"zero lr", func(c *Config) { c.LR = 0 }, "lr = 0"},
		{"batch 0", func(c *Config) { c.Batch = 0 }, "batch = 0"},
		{"epochs 0", func(c *Config) { c.Epochs = 0 }, "epochs = 0"},
		{"max steps", func(c *Config) { c.MaxSteps = -1 }, "max_steps = -1"},
		{"log every", func(c *Config) { c.LogEvery = 0 }, "log_every = 0"},
		{"checkpoint every", func(c *Config) { c.CheckpointEvery = -2 }, "checkpoint_every = -2"},
		{"source", func(c *Config) { c.Data.Source = "cifar" }, `data.source = "cifar"`},
		{"idx without dir", func(c *Config) { c.Data.Source = "idx" }, "data.dir"},
		{"normalize", func(c *Config) { c.Data.Normalize = "minmax" }, `data.normalize = "minmax"`},
		{"n_train", func(c *Config) { c.Data.NTrain = -5 }, "data.n_train = -5"},
		{"synthetic classes", func(c *Config) { c.Data.Source = "synthetic"; c.Data.Synthetic.Classes = 1 }, "data.synthetic.classes = 1"},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	c := DefaultConfig()
	c.Epochs, c.MaxSteps = 0, 10
	if err := c.Validate(); err != nil {
		t.Errorf("epochs 0 with max_steps 10: %v", err)
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestLearnsSynthetic(t *testing.T) {
	// A well separated mixture is learnt by a small MLP within a few epochs
	// in either precision (minAcc is far above the 1/3 of chance).
	const minAcc = 0.95
	for _, dtype := range DTypes() {
		t.Run(dtype, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.DType = dtype
			cfg.Data.Synthetic.NTrain, cfg.Data.Synthetic.NTest = 600, 300
			cfg.Batch, cfg.Epochs, cfg.LogEvery = 32, 6, 5
			cfg.Optim.Name, cfg.LR = "momentum", 0.05
			dir := filepath.Join(t.TempDir(), "run")
			res, err := Run(context.Background(), cfg, dir, nil, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			recs := records(t, dir)
			first := recs[0]["loss"].(float64)
			if res.FinalTrainLoss > first/4 {
				t.Errorf("train loss %v → %v: did not fall 4-fold", first, res.FinalTrainLoss)
			}
			if res.TestAccuracy < minAcc {
				t.Errorf("test accuracy %v < %v", res.TestAccuracy, minAcc)
			}
			if res.Steps != 6*19 || res.Epochs != 6 {
				t.Errorf("steps %d epochs %d, want %d and 6", res.Steps, res.Epochs, 6*19)
			}
		})
	}
}

func TestLearnsFixture(t *testing.T) {
	// 500 MNIST digits, 5 epochs of an MLP: far above the 0.1 of chance.
	const minAcc = 0.75
	cfg := DefaultConfig()
	cfg.Data.Source = "fixture"
	cfg.Model.Hidden = []int{32}
	cfg.Batch, cfg.Epochs = 50, 5
	res, err := Run(context.Background(), cfg, filepath.Join(t.TempDir(), "run"), nil, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAccuracy < minAcc {
		t.Errorf("fixture test accuracy %v < %v", res.TestAccuracy, minAcc)
	}
	if want := 784*32 + 32 + 32*10 + 10; res.Params != want {
		t.Errorf("params %d, want %d", res.Params, want)
	}
}

// recorder checks the StepInfo it is given against an independent
// evaluation of the float64 model.
type recorder struct {
	every int
	steps []int
	infos []StepInfo
	accs  []float64
}

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Every() int   { return r.every }
func (r *recorder) OnStep(s *StepInfo) (any, error) {
	r.steps = append(r.steps, s.Step)
	r.infos = append(r.infos, *s)
	m, err := s.Model64()
	if err != nil {
		return nil, err
	}
	m2, err := s.Model64() // shared within a step
	if err != nil || m2 != m {
		return nil, errors.New("Model64 not shared within a step")
	}
	l, _ := loss.New(s.Config.Loss)
	x := data.Gather[float64](s.Test, seq(s.Test.N), nil)
	_, correct, err := loss.BatchGrad(l, m.Forward(x), s.Test.Labels, 0, nil)
	if err != nil {
		return nil, err
	}
	acc := float64(correct) / float64(s.Test.N)
	r.accs = append(r.accs, acc)
	return map[string]any{"acc64": acc, "inf": math.Inf(1)}, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestHooks(t *testing.T) {
	cfg := tinyConfig()
	cfg.DType = "float64"
	cfg.Epochs = 0
	cfg.MaxSteps = 10 // 2.5 epochs of 4 steps; the last step is mid-epoch
	dir := filepath.Join(t.TempDir(), "run")
	h := &recorder{every: 3}
	res, err := Run(context.Background(), cfg, dir, []Hook{h}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 3, 6, 9, 10}; !slices.Equal(h.steps, want) {
		t.Fatalf("hook called at %v, want %v", h.steps, want)
	}
	for i, info := range h.infos {
		wantEpoch := (info.Step - 1) / 4
		if info.Step == 0 {
			wantEpoch = 0
		}
		if info.Epoch != wantEpoch {
			t.Errorf("step %d: epoch %d, want %d", info.Step, info.Epoch, wantEpoch)
		}
		if (info.Step == 0) != math.IsNaN(info.BatchLoss) {
			t.Errorf("step %d: batch loss %v", info.Step, info.BatchLoss)
		}
		if info.Train == nil || info.Train.N != 150 || info.Test.N != 90 {
			t.Errorf("step %d: datasets %v %v", info.Step, info.Train, info.Test)
		}
		if !info.Config.Model.Input.Equal(nn.Shape{8}) || info.Config.Model.Classes != 3 {
			t.Errorf("step %d: config model not resolved from data: %+v", info.Step, info.Config.Model)
		}
		_ = i
	}
	// After the last step the float64 copy is the trained model: its test
	// accuracy equals the final eval record (float64 run: same numbers).
	if got := h.accs[len(h.accs)-1]; got != res.TestAccuracy {
		t.Errorf("Model64 accuracy after the last step %v, eval record %v", got, res.TestAccuracy)
	}
	var hookSteps []int
	for _, r := range records(t, dir) {
		if r["kind"] == "recorder" {
			hookSteps = append(hookSteps, int(r["step"].(float64)))
			if r["inf"] != "+Inf" {
				t.Errorf("non-finite hook field written as %v, want \"+Inf\"", r["inf"])
			}
			if _, ok := r["acc64"].(float64); !ok {
				t.Errorf("hook record lacks acc64: %v", r)
			}
		}
	}
	if !slices.Equal(hookSteps, h.steps) {
		t.Errorf("hook records at %v, calls at %v", hookSteps, h.steps)
	}
}

func TestBadHooks(t *testing.T) {
	cfg := tinyConfig()
	for _, hooks := range [][]Hook{{&recorder{every: 0}}, {&recorder{every: 1}, &recorder{every: 2}}} {
		dir := filepath.Join(t.TempDir(), "run")
		if _, err := Run(context.Background(), cfg, dir, hooks, RunOptions{}); err == nil {
			t.Errorf("hooks %v accepted", hooks)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("rejected run created %s", dir)
		}
	}
}

func TestProgressAndLog(t *testing.T) {
	cfg := tinyConfig()
	var log bytes.Buffer
	_, err := Run(context.Background(), cfg, filepath.Join(t.TempDir(), "run"), nil, RunOptions{Progress: io.Discard, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if want := "mlp-16-in8-K3: 195 parameters"; !strings.Contains(log.String(), want) {
		t.Errorf("start line %q lacks %q", log.String(), want)
	}
}

// TestRunDirectoryLocked checks that a run directory held by another
// process (here: a lock taken directly) is refused with an error naming it,
// for a fresh run and for a resume, and that nothing is written into it.
func TestRunDirectoryLocked(t *testing.T) {
	cfg := tinyConfig()
	cfg.MaxSteps, cfg.Epochs = 2, 0
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := runlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, resume := range []bool{false, true} {
		_, err := Run(context.Background(), cfg, dir, nil, RunOptions{Resume: resume})
		if err == nil || !strings.Contains(err.Error(), "in use by another fenchel process") || !strings.Contains(err.Error(), dir) {
			t.Errorf("resume=%v: run into a locked directory: err = %v", resume, err)
		}
	}
	for _, name := range []string{MetricsFile, CheckpointFile, ConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s written into a locked directory", name)
		}
	}
	l.Release()
	if _, err := Run(context.Background(), cfg, dir, nil, RunOptions{}); err != nil {
		t.Fatalf("run after the lock was released: %v", err)
	}
}

// ckSpy records, at every step, the step of the checkpoint on disk (-1: none).
type ckSpy struct {
	dir  string
	seen []int
}

func (h *ckSpy) Name() string { return "ckspy" }
func (h *ckSpy) Every() int   { return 1 }
func (h *ckSpy) OnStep(s *StepInfo) (any, error) {
	ck, err := loadCheckpoint(h.dir)
	if err != nil {
		return nil, err
	}
	step := -1
	if ck != nil {
		step = ck.Progress.Step
	}
	h.seen = append(h.seen, s.Step, step)
	return nil, nil
}

// TestEpochCheckpointEvery checks the epoch-end checkpoint policy: every
// epoch end when asked (negative interval); the first epoch end always (so a
// crash never loses more than an epoch or the interval) and no other before
// the last step when epochs are shorter than the interval (the default on
// this tiny run); and the same metrics either way.
func TestEpochCheckpointEvery(t *testing.T) {
	cfg := tinyConfig() // 3 epochs of 4 steps: epoch ends at steps 4, 8, 12
	var metrics [][]byte
	for _, c := range []struct {
		every time.Duration
		want  []int // checkpoint on disk when the hook runs at steps 0…12 (-1: none)
	}{
		{-1, []int{-1, -1, -1, -1, -1, 4, 4, 4, 4, 8, 8, 8, 8}},
		{0, []int{-1, -1, -1, -1, -1, 4, 4, 4, 4, 4, 4, 4, 4}},
		{time.Hour, []int{-1, -1, -1, -1, -1, 4, 4, 4, 4, 4, 4, 4, 4}},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		spy := &ckSpy{dir: dir}
		res, err := Run(context.Background(), cfg, dir, []Hook{spy}, RunOptions{EpochCheckpointEvery: c.every})
		if err != nil {
			t.Fatal(err)
		}
		// At step s the hook sees what steps < s wrote (it runs before the
		// step's own checkpoint decision). seen holds (step, checkpoint) pairs.
		got := map[int]int{}
		for i := 0; i+1 < len(spy.seen); i += 2 {
			got[spy.seen[i]] = spy.seen[i+1]
		}
		ok := len(got) == len(c.want)
		for s, w := range c.want {
			ok = ok && got[s] == w
		}
		if !ok {
			t.Errorf("every %v: checkpoints seen %v, want %v", c.every, spy.seen, c.want)
		}
		if got := readCheckpoint(t, dir).Progress.Step; got != res.Steps {
			t.Errorf("every %v: final checkpoint at step %d, want %d", c.every, got, res.Steps)
		}
		metrics = append(metrics, readFile(t, filepath.Join(dir, MetricsFile)))
	}
	for i := 1; i < len(metrics); i++ {
		if !bytes.Equal(metrics[i], metrics[0]) {
			t.Errorf("metrics.jsonl depends on the checkpoint policy (case %d)", i)
		}
	}
}
