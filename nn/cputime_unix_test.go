//go:build unix

package nn

import (
	"syscall"
	"time"
)

// cpuTime is the user+system CPU time of the process so far: on a shared
// machine it varies far less with the load than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
