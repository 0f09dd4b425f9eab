// Package runlock keeps two fenchel processes out of one run directory.
//
// A run directory is written by exactly one process: its metrics.jsonl is
// appended to, its checkpoint replaced, and a second writer (the same
// command started twice, two shards given the same run) would interleave
// both runs' records into one file that looks valid. Acquire takes an
// exclusive advisory lock (flock(2)) on the file LockFile inside the
// directory; the kernel drops it when the process exits, however it exits,
// so a crash never leaves a stale lock behind.
//
// On systems without flock, Acquire only records the holder and locks nothing.
package runlock

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFile is the name of the lock file inside a run directory. It stays
// after the run (an unlocked lock file means nothing) and records the last
// holder: "pid <pid> on <host> since <RFC 3339 time>".
const LockFile = ".fenchel.lock"

// Lock is a held run-directory lock.
type Lock struct {
	f    *os.File
	path string
}

// Acquire locks dir, which must exist, for this process. If another process
// holds it, the error names the directory and that process.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	if !held {
		who, _ := os.ReadFile(path)
		f.Close()
		holder := strings.TrimSpace(string(who))
		if holder == "" {
			holder = "unknown process"
		}
		return nil, fmt.Errorf("run directory %s is in use by another fenchel process (%s; lock file %s): wait for it to finish or choose another directory",
			dir, holder, path)
	}
	host, _ := os.Hostname()
	stamp := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(stamp), 0) // best effort: only the error message above reads it
	}
	return &Lock{f: f, path: path}, nil
}

// Release unlocks the directory. Releasing a nil or released Lock does nothing.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
