//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package runlock

import "os"

// tryLock cannot lock on this system (no flock); it always succeeds.
func tryLock(*os.File) (bool, error) { return true, nil }
