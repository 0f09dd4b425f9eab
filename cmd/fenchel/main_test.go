package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// run executes the command line in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTrainFixture(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, out, errs := run(t, "train", "--data", "fixture", "--widths", "20", "--batch", "50", "--epochs", "2",
		"--log-every", "3", "--seed", "4", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "test accuracy") || !strings.Contains(out, dir) {
		t.Errorf("summary line %q", out)
	}
	if !strings.Contains(errs, "mlp-20: 15910 parameters") {
		t.Errorf("start line missing from stderr %q", errs)
	}
	for _, f := range []string{train.ConfigFile, train.MetricsFile, train.MetricsCSVFile, train.CheckpointFile, train.SummaryFile, train.TimingsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	var cfg train.Config
	b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Batch != 50 || cfg.Epochs != 2 || cfg.Seed != 4 || cfg.Model.Hidden[0] != 20 || cfg.Data.Source != "fixture" {
		t.Errorf("config.json does not reflect the flags: %+v", cfg)
	}
	var sum struct {
		Steps        int     `json:"steps"`
		TestAccuracy float64 `json:"test_accuracy"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, train.SummaryFile))
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 20 || sum.TestAccuracy < 0.5 {
		t.Errorf("summary: %+v (want 20 steps, accuracy well above chance)", sum)
	}

	// Same command again: refused (no overwrite); with --resume and more
	// epochs: continues.
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "20", "--batch", "50", "--epochs", "2", "--log-every", "3", "--seed", "4", "--out", dir, "--quiet"); code == 0 || !strings.Contains(errs, "already holds a run") {
		t.Errorf("rerun: exit %d, stderr %q", code, errs)
	}
	code, out, errs = run(t, "train", "--data", "fixture", "--widths", "20", "--batch", "50", "--epochs", "3", "--log-every", "3", "--seed", "4", "--out", dir, "--quiet", "--resume")
	if code != 0 || !strings.Contains(out, "30 steps") {
		t.Errorf("resume: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "21", "--batch", "50", "--epochs", "3", "--seed", "4", "--out", dir, "--quiet", "--resume"); code == 0 || !strings.Contains(errs, "checkpoint from a different model") {
		t.Errorf("resume other model: exit %d, stderr %q", code, errs)
	}
}

func TestTrainModels(t *testing.T) {
	// Every model family trains a couple of steps from the command line.
	for _, args := range [][]string{
		{"--model", "a", "--depth", "2", "--width", "8", "--logit-relu"},
		{"--model", "resmlp", "--depth", "2", "--width", "8", "--no-skip", "--dtype", "float64"},
		{"--model", "mlp", "--widths", "6,5", "--loss", "sparsemax", "--opt", "adam", "--lr", "0.01", "--data", "synthetic", "--n-train", "40", "--n-test", "20"},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		base := []string{"train", "--data", "fixture", "--batch", "16", "--max-steps", "3", "--epochs", "0", "--n-test", "32", "--quiet", "--out", dir}
		code, out, errs := run(t, append(base, args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errs)
			continue
		}
		if !strings.Contains(out, "3 steps") {
			t.Errorf("%v: stdout %q", args, out)
		}
	}
}

func TestTrainBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--widths", "0"}, "hidden width 0"},
		{[]string{"--model", "a", "--width", "0"}, "--width 0"},
		{[]string{"--model", "a", "--depth", "0"}, "--depth 0"},
		{[]string{"--lr", "-0.1"}, "lr = -0.1"},
		{[]string{"--model", "vgg"}, `unknown model "vgg"`},
		{[]string{"--loss", "hinge"}, `loss = "hinge"`},
		{[]string{"--opt", "rmsprop"}, `"rmsprop"`},
		{[]string{"--init", "zeros"}, `"zeros"`},
		{[]string{"--dtype", "float16"}, `"float16"`},
		{[]string{"--batch", "0"}, "batch = 0"},
		{[]string{"--epochs", "0"}, "epochs = 0"},
		{[]string{"--smoothing", "1.5"}, "smoothing = 1.5"},
		{[]string{"--data", "/nonexistent/dir"}, "/nonexistent/dir"},
		{[]string{"--normalize", "minmax"}, "minmax"},
		{[]string{"--n-train", "100000"}, "n_train = 100000"},
		{[]string{"--widths", "abc"}, "invalid argument"},
		{[]string{"--no-such-flag"}, "unknown flag"},
		{[]string{"--skip", "--no-skip"}, "contradict"},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "--data", "fixture", "--quiet", "--out", dir}, tt.args...)
		if tt.args[0] == "--data" {
			args = append([]string{"train", "--quiet", "--out", dir}, tt.args...)
		}
		code, _, errs := run(t, args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tt.args)
			continue
		}
		if !strings.HasPrefix(errs, "fenchel: ") || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: stderr %q, want \"fenchel: ...%s...\"", tt.args, errs, tt.want)
		}
		if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
			t.Errorf("%v: panic trace: %s", tt.args, errs)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: run dir %s left behind", tt.args, dir)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "fenchel ") || !strings.Contains(out, "BLAS") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	if code, _, errs := run(t, "frobnicate"); code == 0 || !strings.HasPrefix(errs, "fenchel: unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errs)
	}
}

func TestDefaultOutDir(t *testing.T) {
	cfg := train.DefaultConfig()
	cfg.Seed = 7
	if got, want := defaultOutDir(cfg), filepath.Join("runs", "mlp-100-s7"); got != want {
		t.Errorf("defaultOutDir = %q, want %q", got, want)
	}
}

// TestTrainInstruments: --probe-every and --per-image-every attach the
// instruments to a training run; their records land in metrics.jsonl at the
// scheduled steps (0, every N, and the last step) with the measured fields.
func TestTrainInstruments(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, _, errs := run(t, "train", "--model", "mlp", "--widths", "20", "--data", "fixture", "--epochs", "2",
		"--probe-every", "5", "--probe-n", "10", "--per-image-every", "3", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]int{}
	var lastProbe string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		kind, _ := rec["kind"].(string)
		if kind == "nsample" {
			lastProbe = line
			for _, f := range []string{"fitting_error", "grad_norm"} {
				if _, ok := rec[f]; !ok {
					t.Errorf("nsample record lacks %s: %s", f, line)
				}
			}
			hs, _ := rec["H_S"].(map[string]any)
			for _, f := range []string{"lambda_min", "lambda_max"} {
				if _, ok := hs[f]; !ok {
					t.Errorf("nsample record lacks H_S.%s: %s", f, line)
				}
			}
		}
		if kind == "per_image" {
			if _, ok := rec["F"]; !ok {
				t.Errorf("per_image record lacks F: %s", line)
			}
		}
		steps[kind] = append(steps[kind], int(rec["step"].(float64)))
	}
	// 500 fixture images, batch 128: 4 steps an epoch, 8 in all.
	if got := fmt.Sprint(steps["nsample"]); got != "[0 5 8]" {
		t.Errorf("nsample records at steps %s, want [0 5 8]", got)
	}
	if got := fmt.Sprint(steps["per_image"]); got != "[0 3 6 8]" {
		t.Errorf("per_image records at steps %s, want [0 3 6 8]", got)
	}

	// probe --json on the final checkpoint measures what the last nsample
	// record holds, and both decode into the one probe record type.
	code, pj, errs := run(t, "probe", "--checkpoint", filepath.Join(out, "checkpoint.bin"), "--n", "10", "--json")
	if code != 0 {
		t.Fatalf("probe: exit %d: %s", code, errs)
	}
	fromProbe, err := structural.ReadReport([]byte(pj), "probe --json")
	if err != nil {
		t.Fatal(err)
	}
	fromMetrics, err := structural.ReadReport([]byte(lastProbe), "metrics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromProbe)
	m, _ := json.Marshal(fromMetrics)
	if string(a) != string(m) {
		t.Errorf("probe --json and the last nsample record differ:\n%s\n%s", a, m)
	}
	for _, bad := range [][]string{{"--probe-every", "-1"}, {"--probe-every", "2", "--probe-n", "0"}, {"--per-image-every", "-3"}} {
		dir := filepath.Join(t.TempDir(), "bad")
		code, _, errs := run(t, append([]string{"train", "--data", "fixture", "--out", dir, "--quiet"}, bad...)...)
		if code == 0 || !strings.Contains(errs, bad[len(bad)-1]) {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: run directory left behind", bad)
		}
	}
}
