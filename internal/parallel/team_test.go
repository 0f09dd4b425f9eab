package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTeam checks that Team, TeamIfAwake and TeamOrInline call every task
// exactly once, with the workers spinning and with them parking at once (the wake
// path), at GOMAXPROCS 1 to 3, from several goroutines at a time (all but
// one take Run or run inline) and nested (the inner call takes Run).
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
							teamRun(tasks, teamMode(rep%3), func(i int) {
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

// TestTeamLateTokens delays the poster between a post and its wake-up,
// and the worker between a finish and its done token, so that each token
// arrives after the task it was sent for: a late wake-up must not start a
// task that was not posted, and a late done must not end the next join
// before its task has run (the slow tasks, every other one, would still be
// running).
func TestTeamLateTokens(t *testing.T) {
	oldSpin, oldJoin := teamSpin.Load(), teamJoinSpin.Load()
	defer func() {
		teamSpin.Store(oldSpin)
		teamJoinSpin.Store(oldJoin)
		testHookPosted.Store(nil)
		testHookFinished.Store(nil)
	}()
	delay := func() { time.Sleep(200 * time.Microsecond) }
	for _, c := range []struct {
		name           string
		calls          int
		spin, joinSpin time.Duration
		posted, finish func()
	}{
		{"late wake-up", 2000, 50 * time.Microsecond, time.Millisecond, delay, nil},
		{"late done", 100, 50 * time.Microsecond, 20 * time.Microsecond, nil, delay},
	} {
		teamSpin.Store(int64(c.spin))
		teamJoinSpin.Store(int64(c.joinSpin))
		for _, h := range []struct {
			p *atomic.Pointer[func()]
			f func()
		}{{&testHookPosted, c.posted}, {&testHookFinished, c.finish}} {
			if h.f == nil {
				h.p.Store(nil)
			} else {
				h.p.Store(&h.f)
			}
		}
		var ran atomic.Int64
		for i := 0; i < c.calls; i++ {
			Team(2, func(task int) {
				if task == 1 {
					if i%2 == 1 {
						time.Sleep(300 * time.Microsecond)
					}
					ran.Add(1)
				}
			})
			if got := ran.Load(); got != int64(i+1) {
				t.Fatalf("%s: after %d fork-joins the worker's task ran %d times", c.name, i+1, got)
			}
		}
	}
}

// TestTeamOrInline checks that TeamOrInline runs every task in order on
// the caller's goroutine when the workers are parked, and hands the others
// to the workers right after a fork-join of the team (they are spinning).
func TestTeamOrInline(t *testing.T) {
	oldSpin := teamSpin.Load()
	defer teamSpin.Store(oldSpin)
	teamSpin.Store(0)
	Team(3, func(int) {})
	for _, w := range team.workers[:2] {
		for !w.parked.Load() {
			time.Sleep(10 * time.Microsecond)
		}
	}
	var order []int
	TeamOrInline(3, func(i int) {
		if i == 0 {
			time.Sleep(2 * time.Millisecond) // the others would start meanwhile if not inline
		}
		order = append(order, i)
	})
	if len(order) != 3 || order[0] != 0 || order[1] != 1 || order[2] != 2 {
		t.Fatalf("workers parked: tasks ran as %v, want [0 1 2] on the caller", order)
	}
	teamSpin.Store(int64(time.Second))
	Team(3, func(int) {})
	var other atomic.Int32
	var seen int32
	TeamOrInline(3, func(i int) {
		if i > 0 {
			other.Add(1)
			return
		}
		// Inline, the other tasks would only start after this one.
		for t0 := time.Now(); other.Load() < 2 && time.Since(t0) < 2*time.Second; {
			runtime.Gosched()
		}
		seen = other.Load()
	})
	if seen != 2 {
		t.Fatalf("workers spinning: the caller's task saw %d of the workers' 2 tasks run meanwhile", seen)
	}
	teamSpin.Store(0)
	Team(3, func(int) {}) // the workers park again
}
