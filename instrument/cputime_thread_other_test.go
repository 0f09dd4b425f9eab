//go:build !linux

package instrument

import "time"

// threadCPUTime is not measured here (the benchmarks report 0 main-cpu-ms/op).
func threadCPUTime() time.Duration { return 0 }
