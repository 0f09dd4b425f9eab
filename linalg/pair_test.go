package linalg

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunPair checks that runPair runs both blocks once and returns after
// both, from one caller (the worker spinning or parked between calls),
// from several callers at once (one owns the worker, the others start a
// goroutine), nested (a block calling runPair), and with GOMAXPROCS 1.
func TestRunPair(t *testing.T) {
	check := func(name string, call func(f0, f1 func())) {
		var a, b atomic.Int32
		call(func() { a.Add(1) }, func() { time.Sleep(10 * time.Microsecond); b.Add(1) })
		if a.Load() != 1 || b.Load() != 1 {
			t.Errorf("%s: blocks ran %d and %d times", name, a.Load(), b.Load())
		}
	}
	for i := 0; i < 50; i++ {
		check("spinning", runPair)
	}
	time.Sleep(2 * pairSpin) // the worker parks
	check("parked", runPair)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				check("concurrent", runPair)
			}
		}()
	}
	wg.Wait()
	check("nested", func(f0, f1 func()) {
		runPair(func() { runPair(f0, func() {}) }, func() { runPair(func() {}, f1) })
	})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	check("GOMAXPROCS 1", runPair)
}
