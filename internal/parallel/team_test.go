package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTeam checks that Team and TeamIfAwake call every task exactly
// once, with the workers spinning and with them parking at once (the wake
// path), at GOMAXPROCS 1 to 3, from several goroutines at a time (all but
// one take Run) and nested (the inner call takes Run).
func TestTeam(t *testing.T) {
	oldSpin, oldJoin, oldProcs := teamSpin.Load(), teamJoinSpin.Load(), runtime.GOMAXPROCS(0)
	defer func() { teamSpin.Store(oldSpin); teamJoinSpin.Store(oldJoin); runtime.GOMAXPROCS(oldProcs) }()
	for _, spin := range []time.Duration{0, 100 * time.Microsecond} {
		teamSpin.Store(int64(spin))
		teamJoinSpin.Store(int64(spin))
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			var wg sync.WaitGroup
			for caller := 0; caller < 3; caller++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for rep := 0; rep < 50; rep++ {
						for _, tasks := range []int{0, 1, 2, 3, 5} {
							seen := make([]atomic.Int32, max(tasks, 1))
							inner := make([]atomic.Int32, max(tasks, 1)*2)
							teamRun(tasks, rep%2 == 0, func(i int) {
								seen[i].Add(1)
								if rep%5 == 0 {
									Team(2, func(j int) { inner[2*i+j].Add(1) })
								}
							})
							for i := 0; i < tasks; i++ {
								if n := seen[i].Load(); n != 1 {
									t.Errorf("spin %v procs %d tasks %d: task %d ran %d times", spin, procs, tasks, i, n)
								}
								for j := 0; j < 2 && rep%5 == 0; j++ {
									if n := inner[2*i+j].Load(); n != 1 {
										t.Errorf("spin %v procs %d tasks %d: nested task %d.%d ran %d times", spin, procs, tasks, i, j, n)
									}
								}
							}
							if tasks == 0 && seen[0].Load() != 0 {
								t.Errorf("tasks 0 ran a task")
							}
						}
					}
				}()
			}
			wg.Wait()
		}
	}
}
