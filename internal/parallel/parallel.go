// Package parallel is fenchel's one fan-out helper: run independent tasks
// on goroutines and wait for all of them (Run, Ranges, Bounds; Team and
// TeamIfAwake, TeamOrInline on persistent goroutines, for fork-joins of tens of µs). Callers decide how many tasks
// (usually runtime.GOMAXPROCS(0), or fewer when the work is small) and what
// each task owns; a task must write only state no other task touches, so
// results never depend on scheduling.
//
//	parallel.Ranges(0, n, runtime.GOMAXPROCS(0), func(lo, hi int) {
//		for i := lo; i < hi; i++ { out[i] = f(in[i]) }
//	})
package parallel

import "sync"

// Run calls f(0), …, f(tasks−1), each task but the first on its own
// goroutine and the first on the caller's, and returns when all are done.
// tasks ≤ 1 runs f(0) inline (tasks ≤ 0: nothing).
func Run(tasks int, f func(task int)) {
	if tasks <= 0 {
		return
	}
	if tasks == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	wg.Add(tasks - 1)
	for t := 1; t < tasks; t++ {
		go func() {
			defer wg.Done()
			f(t)
		}()
	}
	f(0)
	wg.Wait()
}

// Ranges splits [lo, hi) into parts contiguous ranges [lo + i·(hi−lo)/parts,
// lo + (i+1)·(hi−lo)/parts) and runs f on each, as Run does. parts is capped
// at hi − lo; parts ≤ 1 runs f(lo, hi) inline.
func Ranges(lo, hi, parts int, f func(a, b int)) {
	n := hi - lo
	parts = min(parts, n)
	if parts <= 1 {
		if n > 0 {
			f(lo, hi)
		}
		return
	}
	Run(parts, func(i int) { f(lo+i*n/parts, lo+(i+1)*n/parts) })
}

// Bounds runs f on each range [bounds[i], bounds[i+1]) of an ascending
// split (len(bounds) − 1 tasks), as Run does.
func Bounds(bounds []int, f func(a, b int)) {
	Run(len(bounds)-1, func(i int) { f(bounds[i], bounds[i+1]) })
}
