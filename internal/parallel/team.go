package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The fork-joins of the training step (nn's convolutions, elementwise
// passes and pools, linalg's two-block and few-column products, the batch
// gathering and the loss: about forty per Model d step, five per MLP
// 784-1000-10 step) run on one team of persistent goroutines that
// spin for teamSpin after each task before they park, and whose caller
// spins for teamJoinSpin for them to finish before it blocks. A goroutine
// started on an idle processor waits for the processor to wake: on a VM
// whose idle vCPU halts at once (Firecracker with halt polling off) that is
// about 90 µs from the go statement to the first instruction, as long as a
// third of a Model d layer or a fifth of half of MLP 784-1000-10's forward
// product. A spinning worker starts its task in well under a microsecond,
// so it spins for longer than the gaps between a step's fork-joins: a Model d
// step's large products are about 150 µs apart; MLP 784-1000-10's hidden
// layer weight gradient starts 180–250 µs after the forward product, behind
// the output layer's products and the loss on one goroutine. A worker that
// spun 200 µs had parked by then, and that product took 1040–1070 µs instead
// of 920–935 µs with the worker still spinning.
//
// A spinning goroutine yields to runnable goroutines every few polls, so a
// fan-out outside the team (Run) still gets a processor. (A spin that ends
// whenever the process has more goroutines than when it started parks the
// workers between MLP 784-1000-10's products, whose step's other fan-outs
// start goroutines: its loop runs 12 % slower that way.) Which goroutine computes a task
// never changes the results: the callers hand out work whose result does
// not depend on its task.

// teamSpin is how long (ns) a worker spins for its next task before it
// parks, teamJoinSpin how long the caller spins for the workers to finish
// before it blocks (atomic so tests can change them under running workers).
var teamSpin, teamJoinSpin atomic.Int64

func init() {
	teamSpin.Store(int64(400 * time.Microsecond))
	teamJoinSpin.Store(int64(200 * time.Microsecond))
}

// teamWorker is one persistent goroutine of the team.
type teamWorker struct {
	posted   atomic.Uint64 // tasks handed to the worker
	finished atomic.Uint64 // tasks it has finished
	f        func(int)
	task     int
	// parked: the worker waits on wake; waiting: the caller waits on done.
	// Whoever clears the flag (CompareAndSwap) sends on the channel.
	parked, waiting atomic.Bool
	wake, done      chan struct{}
}

// testHookPosted and testHookFinished, nil outside tests, run between a
// post and its wake-up and between a finish and its done token.
var testHookPosted, testHookFinished atomic.Pointer[func()]

var team struct {
	mu      sync.Mutex // held by the fork-join that uses the workers
	workers []*teamWorker
}

// Team is Run(tasks, f) on the team's workers: f(0) on the caller's
// goroutine, f(1), …, f(tasks−1) on workers, waking those that are parked.
// A call made while another holds the team (concurrent or nested) takes
// Run.
func Team(tasks int, f func(task int)) { teamRun(tasks, teamWake, f) }

// TeamIfAwake is Team when every worker it needs is spinning (a fork-join
// between two of Team's), and Run otherwise: for short passes that gain
// from the team only when they need not wake it.
func TeamIfAwake(tasks int, f func(task int)) { teamRun(tasks, teamIfAwake, f) }

// TeamOrInline is Team when every worker it needs is spinning and the team
// is free, and otherwise calls f(0), …, f(tasks−1) in turn on the caller's
// goroutine: for passes of a few tens of µs, which a goroutine started with
// go (Run) does not speed up, as it starts late on an idle core and loses a
// time slice on a busy one.
func TeamOrInline(tasks int, f func(task int)) { teamRun(tasks, teamOrInline, f) }

// teamMode is what teamRun does when it cannot hand tasks to spinning
// workers: wake parked ones (teamWake), or take Run (teamIfAwake) or the
// caller's goroutine (teamOrInline).
type teamMode int

const (
	teamWake teamMode = iota
	teamIfAwake
	teamOrInline
)

// inline runs f(0), …, f(tasks−1) in turn on the caller's goroutine.
func inline(tasks int, f func(task int)) {
	for t := 0; t < tasks; t++ {
		f(t)
	}
}

func teamRun(tasks int, mode teamMode, f func(task int)) {
	if tasks <= 1 {
		Run(tasks, f)
		return
	}
	if !team.mu.TryLock() {
		if mode == teamOrInline {
			inline(tasks, f)
			return
		}
		Run(tasks, f)
		return
	}
	defer team.mu.Unlock()
	if mode != teamWake {
		hot := len(team.workers) >= tasks-1
		for _, w := range team.workers[:min(tasks-1, len(team.workers))] {
			hot = hot && !w.parked.Load()
		}
		if !hot && mode == teamOrInline {
			inline(tasks, f)
			return
		}
		if !hot {
			Run(tasks, f)
			return
		}
	}
	for len(team.workers) < tasks-1 {
		w := &teamWorker{wake: make(chan struct{}, 1), done: make(chan struct{}, 1)}
		team.workers = append(team.workers, w)
		go w.loop()
	}
	ws := team.workers[:tasks-1]
	for i, w := range ws {
		w.f, w.task = f, i+1
		w.posted.Add(1)
		if h := testHookPosted.Load(); h != nil {
			(*h)()
		}
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	f(0)
	for _, w := range ws {
		n := w.posted.Load()
		if spinUntil(func() bool { return w.finished.Load() == n }, &teamJoinSpin) {
			continue
		}
		// A token on done may be late, sent for an earlier task whose join
		// ended by spinning: wait until the worker has finished this one.
		for {
			w.waiting.Store(true)
			if w.finished.Load() == n && w.waiting.CompareAndSwap(true, false) {
				break
			}
			<-w.done
			if w.finished.Load() == n {
				break
			}
		}
	}
}

// loop runs the worker's tasks as they are posted.
func (w *teamWorker) loop() {
	var seen uint64
	for {
		if !spinUntil(func() bool { return w.posted.Load() != seen }, &teamSpin) {
			w.parked.Store(true)
			if w.posted.Load() == seen || !w.parked.CompareAndSwap(true, false) {
				<-w.wake
			}
		}
		if w.posted.Load() == seen {
			// A late token on wake, sent by a poster that cleared parked
			// after this worker had run its task and parked again.
			continue
		}
		seen = w.posted.Load()
		f := w.f
		w.f = nil
		f(w.task)
		w.finished.Store(seen)
		if h := testHookFinished.Load(); h != nil {
			(*h)()
		}
		if w.waiting.CompareAndSwap(true, false) {
			w.done <- struct{}{}
		}
	}
}

// spinUntil polls cond for up to *limit and reports whether it became
// true.
func spinUntil(cond func() bool, limit *atomic.Int64) bool {
	if cond() {
		return true
	}
	t0 := time.Now()
	for i := 1; ; i++ {
		if cond() {
			return true
		}
		if i%64 == 0 {
			if time.Since(t0) > time.Duration(limit.Load()) {
				return cond()
			}
			runtime.Gosched()
		}
	}
}
