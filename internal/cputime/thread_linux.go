package cputime

import "time"

// rusageThread is Linux's RUSAGE_THREAD: the calling thread alone.
const rusageThread = 1

// Thread is the user+system CPU time of the calling OS thread. On a
// goroutine locked to its thread (runtime.LockOSThread) it is the CPU time of
// that goroutine's own work, not of the goroutines it waits for: with the
// parallel parts balanced, about the wall time of the work on an idle
// machine, whatever the load.
func Thread() time.Duration { return rusage(rusageThread) }
