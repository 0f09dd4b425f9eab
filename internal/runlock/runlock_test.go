package runlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExclusive checks that a second Acquire of the same directory fails,
// naming the directory and the holder, and succeeds once the first is released.
// flock locks belong to open file descriptions, so two Acquires in one
// process conflict just as two processes do.
func TestExclusive(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if err == nil {
		t.Fatal("second Acquire of a locked directory succeeded")
	}
	for _, want := range []string{dir, "in use", "pid "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	b, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	b.Release()
}

// TestOtherProcess holds the lock in a child process (this test binary
// re-run in helper mode) and checks that the parent is refused, then let in
// after the child exits without releasing: the kernel drops the lock.
func TestOtherProcess(t *testing.T) {
	if os.Getenv("RUNLOCK_HELPER_DIR") != "" {
		if _, err := Acquire(os.Getenv("RUNLOCK_HELPER_DIR")); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf) // hold until the parent closes stdin, then exit without Release
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestOtherProcess$")
	cmd.Env = append(os.Environ(), "RUNLOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 7)
	if _, err := out.Read(line); err != nil || string(line) != "locked\n" {
		t.Fatalf("helper did not lock: %q %v", line, err)
	}
	if _, err := Acquire(dir); err == nil {
		t.Fatal("Acquire succeeded while another process holds the lock")
	} else if !strings.Contains(err.Error(), filepath.Join(dir, LockFile)) {
		t.Errorf("error %q does not name the lock file", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder exited: %v", err)
	}
	l.Release()
}

func TestMissingDirectory(t *testing.T) {
	if _, err := Acquire(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Acquire of a missing directory succeeded")
	}
}
