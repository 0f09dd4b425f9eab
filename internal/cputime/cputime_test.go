package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestCPUTimeAdvances: spinning for 50 ms of wall time on a locked thread
// adds CPU time to the process and, on Linux, to the thread, no more to the
// thread than to the process.
func TestCPUTimeAdvances(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, t0 := Process(), Thread()
	x := 0.0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x += 1e-9
	}
	dp, dt := Process()-p0, Thread()-t0
	if runtime.GOOS != "linux" {
		dt = dp // Thread reads 0 there
	}
	if dt < 10*time.Millisecond || dp < dt {
		t.Fatalf("after 50 ms of spinning: process %v, thread %v (x = %g)", dp, dt, x)
	}
}
