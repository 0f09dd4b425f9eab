//go:build !unix

package linalg

// cpuSeconds is unavailable on this platform; the GFLOP/cpu-s metric reads 0.
func cpuSeconds() float64 { return 0 }
