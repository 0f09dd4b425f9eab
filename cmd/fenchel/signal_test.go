package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fenchel-ml/fenchel/train"
)

// asMainEnv makes the test binary run main() instead of the tests, so the
// signal tests drive a real fenchel process (its own signal handling, exit
// code and files) without building a second binary.
const asMainEnv = "FENCHEL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// stopWithin is how soon after the signal the process must have exited: the
// product promises about a second; the rest is slack for process exit on a
// loaded 2-core machine shared with other builds.
const stopWithin = 2500 * time.Millisecond

// giveUpAfter is how long a process that ignores the signal is left running
// before the test kills it (and fails).
const giveUpAfter = 8 * time.Second

// signalled starts fenchel with args, sends sig after delay and returns the
// exit code, stderr and the time from the signal to the exit. A process that
// has not exited giveUpAfter after the signal is killed and reported.
func signalled(t *testing.T, sig syscall.Signal, delay time.Duration, args ...string) (code int, stderr string, took time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("%v exited (%v) before the signal was sent: %s", args, err, errb.String())
	case <-time.After(delay):
	}
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		took = time.Since(sent)
		t.Logf("%v: exit %d %v after the signal; stderr: %s", sig, cmd.ProcessState.ExitCode(), took, strings.TrimSpace(errb.String()))
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), errb.String(), took
	case <-time.After(giveUpAfter):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running %v after %v; stderr so far: %s", args, giveUpAfter, sig, errb.String())
	}
	return 0, "", 0
}

var signalCases = []struct {
	sig  syscall.Signal
	name string
	code int
}{
	{syscall.SIGINT, "SIGINT", 130},
	{syscall.SIGTERM, "SIGTERM", 143},
}

// TestProbeSignals: SIGINT and SIGTERM stop a long dense probe (an
// eigen-decomposition of dimension 4000, tens of seconds) within about a
// second, say what was interrupted, exit 130 / 143 and leave no --spectrum
// file behind.
func TestProbeSignals(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "20", "--max-steps", "2", "--epochs", "0", "--quiet", "--out", runDir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	for _, c := range signalCases {
		t.Run(c.name, func(t *testing.T) {
			spec := filepath.Join(dir, c.name, "spectrum.json")
			code, errs, took := signalled(t, c.sig, 2*time.Second, "probe", "--checkpoint", filepath.Join(runDir, train.CheckpointFile),
				"--n", "400", "--method", "dense", "--spectrum", spec)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, c.code, errs)
			}
			if took > stopWithin {
				t.Errorf("stopped %v after %s, want within %v", took, c.name, stopWithin)
			}
			for _, want := range []string{"fenchel: interrupted by " + c.name, "probe", "nothing written"} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr %q lacks %q", errs, want)
				}
			}
			if _, err := os.Stat(spec); err == nil {
				t.Errorf("--spectrum file %s written by an interrupted probe", spec)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, c.name, "*")); len(left) > 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

// TestTrainSignals: SIGINT and SIGTERM stop a training run whose n-sample
// probe hook (n = 500, dimension 5000, about a second or more per call)
// runs at every step, within about a second; the message says what was
// interrupted and what is on disk, the exit code is 130 / 143, no summary is
// written, and the run can be resumed.
func TestTrainSignals(t *testing.T) {
	for _, c := range signalCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := []string{"train", "--data", "fixture", "--widths", "20", "--batch", "100", "--epochs", "1",
				"--probe-every", "1", "--probe-n", "500", "--quiet", "--out", dir}
			code, errs, took := signalled(t, c.sig, 3*time.Second, args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr %q", code, c.code, errs)
			}
			if took > stopWithin {
				t.Errorf("stopped %v after %s, want within %v", took, c.name, stopWithin)
			}
			for _, want := range []string{"fenchel: interrupted by " + c.name, "train: interrupted at step"} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr %q lacks %q", errs, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, train.SummaryFile)); err == nil {
				t.Errorf("%s written by an interrupted run", train.SummaryFile)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}
