package instrument

import (
	"syscall"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD: the calling thread alone.
const rusageThread = 1

// threadCPUTime is the user+system CPU time of the calling OS thread so far.
// On a goroutine locked to its thread (runtime.LockOSThread) it is the CPU
// time of that goroutine's own work, not of the goroutines it waits for:
// with the parallel parts balanced, about the wall time of the work on an
// idle machine, whatever the load.
func threadCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
