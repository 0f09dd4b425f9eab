//go:build unix

package linalg

import "syscall"

// cpuSeconds returns the user+system CPU time of this process (all threads).
// On a shared machine GFLOP per CPU-second is a steadier figure than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
