package data

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// availableMemory returns the bytes a data set may take and where that
// figure comes from; 0 means unknown (no check). A variable so tests can
// simulate a small machine.
var availableMemory = systemMemory

// systemMemory is the least of MemAvailable (/proc/meminfo), the cgroup
// memory limit and the address-space limit (RLIMIT_AS): the bytes a
// process can allocate before the kernel or the Go runtime kills it.
func systemMemory() (int64, string) {
	best, from := int64(0), ""
	take := func(v int64, what string) {
		if v > 0 && (best == 0 || v < best) {
			best, from = v, what
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					take(kb<<10, "MemAvailable in /proc/meminfo")
				}
			}
		}
		f.Close()
	}
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v < 1<<60 {
				take(v, "the cgroup limit "+p)
			}
		}
	}
	take(addressSpaceLimit(), "the address-space limit (ulimit -v)")
	return best, from
}

// AvailableMemory is the number of bytes a data set may take on this
// machine (the least of available memory, the cgroup limit and the
// address-space limit) and the source of that figure; 0 when unknown.
func AvailableMemory() (int64, string) { return availableMemory() }

// checkMemory refuses a need of more bytes than are available, saying what
// needs them.
func checkMemory(need int64, what string) error {
	avail, from := availableMemory()
	if avail > 0 && need > avail {
		return fmt.Errorf("%s need %d bytes (%s), more than the %d bytes (%s) available (%s)", what, need, Bytes(need), avail, Bytes(avail), from)
	}
	return nil
}

// Bytes formats a byte count for messages: 9.4 GB, 512 MB, 3 kB.
func Bytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "kB", "MB", "GB", "TB"} {
		if f < 1000 || u == "TB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1000
	}
	return ""
}
