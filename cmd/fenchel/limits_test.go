package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
)

// TestTrainRefusesHugeSynthetic: synthetic data that cannot fit in memory is
// refused before anything is allocated or the run directory is created,
// with the bytes needed and the flag values that would fit.
func TestTrainRefusesHugeSynthetic(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--n-train", "1000000000"}, []string{"--n-train 1000000000", "bytes", "available", "--n-train ≤ "}},
		{[]string{"--syn-dim", "1000000000"}, []string{"--syn-dim 1000000000", "bytes", "available", "--syn-dim ≤ "}},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "--data", "synthetic", "--quiet", "--out", dir}, tc.args...)
		code, _, errs := run(t, args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errs, w)
			}
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: run directory created", tc.args)
		}
		t.Logf("%v: %s", tc.args, strings.TrimSpace(errs))
	}
}

// TestTrainClassesFromFlags: --classes (default 10 for MNIST-format data)
// fixes the model's outputs; a training label outside it is refused with
// file, sample and value before the run directory is created.
func TestTrainClassesFromFlags(t *testing.T) {
	dir := t.TempDir()
	pix := make([]uint8, 6*4)
	write := func(name string, fn func(w *bytes.Buffer) error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	labels := []uint8{0, 1, 2, 255, 1, 2}
	write("train-images-idx3-ubyte", func(w *bytes.Buffer) error { return data.WriteIDXImages(w, pix, 6, 2, 2) })
	write("train-labels-idx1-ubyte", func(w *bytes.Buffer) error { return data.WriteIDXLabels(w, labels) })
	write("t10k-images-idx3-ubyte", func(w *bytes.Buffer) error { return data.WriteIDXImages(w, pix[:12], 3, 2, 2) })
	write("t10k-labels-idx1-ubyte", func(w *bytes.Buffer) error { return data.WriteIDXLabels(w, []uint8{0, 1, 2}) })
	out := filepath.Join(t.TempDir(), "run")
	code, _, errs := run(t, "train", "--data", dir, "--widths", "4", "--batch", "3", "--quiet", "--out", out)
	if code == 0 {
		t.Fatal("label 255 accepted")
	}
	for _, w := range []string{"train-labels-idx1-ubyte", "label 255 of training sample 3", "10 classes"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr %q lacks %q", errs, w)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("run directory created")
	}
	labels[3] = 0
	write("train-labels-idx1-ubyte", func(w *bytes.Buffer) error { return data.WriteIDXLabels(w, labels) })
	// 3 classes: 4·4+4 + 4·3+3 = 35 parameters (10 classes would give 70).
	code, _, errs = run(t, "train", "--data", dir, "--classes", "3", "--widths", "4", "--batch", "3", "--out", out)
	if code != 0 || !strings.Contains(errs, "35 parameters") {
		t.Errorf("--classes 3: exit %d, stderr %q", code, errs)
	}
}

// TestTrainHookFlagsCheckedFirst: hook settings that only the data can
// refute (a probe larger than its split, a class the test split lacks) are
// refused before the run directory exists, so the corrected rerun is not
// blocked by "already holds a run".
func TestTrainHookFlagsCheckedFirst(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--probe-every", "5", "--probe-n", "100000"}, []string{"probe size 100000", "500 samples"}},
		{[]string{"--probe-every", "5", "--probe-split", "test", "--probe-n", "201"}, []string{"probe size 201", "200 samples"}},
		{[]string{"--per-image-every", "2", "--per-image-class", "42"}, []string{"class 42", "10 classes"}},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, errs := run(t, append([]string{"train", "--data", "fixture", "--widths", "8", "--quiet", "--out", dir}, tc.args...)...)
		if code == 0 {
			t.Errorf("%v: exit 0", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errs, w)
			}
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: run directory %s left behind", tc.args, dir)
		}
	}
}

// TestResumeWithoutCheckpoint: --resume on a directory whose metrics.jsonl
// has records but which has no checkpoint.bin (a crash before the first
// checkpoint) says that it starts over and discards those records, even
// with --quiet.
func TestResumeWithoutCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--data", "fixture", "--widths", "8", "--max-steps", "3", "--epochs", "0", "--log-every", "1", "--quiet", "--out", dir}
	if code, _, errs := run(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, f := range []string{"checkpoint.bin", "summary.json"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errs := run(t, append(args, "--resume")...)
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	for _, w := range []string{"no checkpoint.bin", "4 records", "metrics.jsonl", "discarded", "step 0"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr %q lacks %q", errs, w)
		}
	}
}

// TestReportNamesDamagedRuns: `fenchel report` on results where one
// finished run's metrics.jsonl was emptied still builds the report, warns on
// stderr and notes the damaged run in report.md.
func TestReportNamesDamagedRuns(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "reproduce", "--tiny", "--out", dir, "-q"); code != 0 {
		t.Fatalf("reproduce --tiny: exit %d: %s", code, errs)
	}
	runs, err := filepath.Glob(filepath.Join(dir, "width", "*", "metrics.jsonl"))
	if err != nil || len(runs) == 0 {
		t.Fatalf("no width runs: %v", err)
	}
	if err := os.WriteFile(runs[0], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	id, _ := filepath.Rel(dir, filepath.Dir(runs[0]))
	code, _, errs := run(t, "report", dir)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	want := "damaged run " + id + ", left out of the claims"
	if !strings.Contains(errs, "fenchel: warning: "+want) || !strings.Contains(errs, "is empty") {
		t.Errorf("stderr %q lacks the warning %q", errs, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), want) {
		t.Errorf("report.md lacks %q (%v)", want, err)
	}
}
