//go:build !linux

package cputime

import "time"

// Thread is not measured on this platform: it reads 0.
func Thread() time.Duration { return 0 }
