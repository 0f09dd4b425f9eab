package linalg

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pairSpin is how long the pair worker spins for its next block, and a
// caller for the worker's block at the join, before parking. On this
// project's 2-vCPU VMs an idle vCPU halts at once and a goroutine woken
// from parking starts ~90 µs late (a fifth of a 128×1000×784 product's
// half); a training step's two large products are ~150 µs apart, so a
// worker that spins that long takes the next one at once.
const pairSpin = 200 * time.Microsecond

// pairWorker runs the second of two blocks of a product on a persistent
// goroutine (runPair). One caller at a time owns it; others take
// parallel.Run's path.
type pairWorker struct {
	owned    atomic.Bool
	task     atomic.Pointer[func()]
	sleeping atomic.Bool
	wake     chan struct{}
	start    sync.Once
}

var pair = &pairWorker{wake: make(chan struct{}, 1)}

func (w *pairWorker) loop() {
	for {
		deadline := time.Now().Add(pairSpin)
		for time.Now().Before(deadline) {
			if t := w.task.Swap(nil); t != nil {
				(*t)()
				deadline = time.Now().Add(pairSpin)
				continue
			}
			runtime.Gosched()
		}
		w.sleeping.Store(true)
		if w.task.Load() == nil {
			<-w.wake
		}
		w.sleeping.Store(false)
	}
}

// runPair runs f0 on the calling goroutine and f1 on the pair worker (or,
// when another caller owns it, on a new goroutine) and returns when both
// are done. Which goroutine runs a block does not change its values.
func runPair(f0, f1 func()) {
	if !pair.owned.CompareAndSwap(false, true) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); f1() }()
		f0()
		wg.Wait()
		return
	}
	defer pair.owned.Store(false)
	pair.start.Do(func() { go pair.loop() })
	var fin atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	task := func() {
		defer wg.Done()
		defer fin.Store(true)
		f1()
	}
	pair.task.Store(&task)
	if pair.sleeping.Load() {
		select {
		case pair.wake <- struct{}{}:
		default:
		}
	}
	f0()
	for deadline := time.Now().Add(pairSpin); !fin.Load() && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	wg.Wait()
}
