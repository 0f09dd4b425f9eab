package structural

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
)

// cancelWithin is how soon after cancellation Analyze must return: the
// product promises about a second; the slack covers a loaded 2-core machine.
const cancelWithin = 1500 * time.Millisecond

// pollCtx is a context that reports cancellation from its limit-th Err
// poll on, so a test can cancel at a point inside the computation that does
// not depend on the machine's speed (a timer may fire after a fast run has
// finished). at is when it first reported cancellation.
type pollCtx struct {
	context.Context
	limit, polls atomic.Int64
	once         sync.Once
	done         chan struct{}
	at           atomic.Pointer[time.Time]
}

func newPollCtx(limit int64) *pollCtx {
	c := &pollCtx{Context: context.Background(), done: make(chan struct{})}
	c.limit.Store(limit)
	return c
}

func (c *pollCtx) Err() error {
	if c.polls.Add(1) < c.limit.Load() {
		return nil
	}
	c.once.Do(func() {
		now := time.Now()
		c.at.Store(&now)
		close(c.done)
	})
	return context.Canceled
}

func (c *pollCtx) Done() <-chan struct{} { return c.done }

// TestAnalyzeCancel: a cancelled Options.Ctx stops Analyze within about a
// second in every phase long enough to matter (H build, dense eigen, the
// Lanczos runs on H and H⁻¹, the matrix-free Lanczos runs), with an error
// wrapping context.Canceled that names the phase. A first uncancelled run
// counts how often each method polls its context; the cancellations then
// land before the first poll and at a quarter, half and three quarters of
// the polls.
func TestAnalyzeCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	model := mlp(rng, "relu", 20, 40, 10)
	// Sizes at which each method runs for about a second uncancelled.
	for _, tc := range []struct {
		method string
		n      int
	}{{"dense", 150}, {"lanczos", 300}, {"matrixfree", 300}} {
		method := tc.method
		probe := Probe{X: randomX(rng, tc.n, 20), Labels: randomLabels(rng, tc.n, 10)}
		count := newPollCtx(math.MaxInt64)
		if _, err := Analyze(model, probe, loss.Softmax{}, Options{Method: Method(method), Ctx: count}); err != nil {
			t.Fatalf("%s, not cancelled: %v", method, err)
		}
		total := count.polls.Load()
		if total < 8 {
			t.Fatalf("%s polls its context only %d times", method, total)
		}
		for _, at := range []int64{1, total / 4, total / 2, 3 * total / 4} {
			ctx := newPollCtx(at)
			_, err := Analyze(model, probe, loss.Softmax{}, Options{Method: Method(method), Ctx: ctx})
			end := time.Now()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s, cancelled at poll %d of %d: err = %v, want context.Canceled", method, at, total, err)
				continue
			}
			if !strings.Contains(err.Error(), "stopped") {
				t.Errorf("%s: error %q does not say it stopped", method, err)
			}
			if took := end.Sub(*ctx.at.Load()); took > cancelWithin {
				t.Errorf("%s, cancelled at poll %d of %d: returned %v after cancellation, want within %v", method, at, total, took, cancelWithin)
			}
			t.Logf("%s, poll %d of %d: %v", method, at, total, err)
		}
	}
}

// TestDenseSpectrumCancel: the dense eigen-decomposition, which gonum cannot
// interrupt, returns at once on cancellation (it finishes in the background).
func TestDenseSpectrumCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	model := mlp(rng, "relu", 20, 40, 10)
	h := StructuralMatrix(model, randomX(rng, 300, 20)) // 3000×3000: seconds of EigenSym
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := denseSpectrum(ctx, h, false, DefaultRankTol)
	if took := time.Since(start) - 100*time.Millisecond; took > cancelWithin {
		t.Errorf("returned %v after cancellation, want within %v", took, cancelWithin)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestStructuralMatrixCancel: the H build of the MLP fast path stops between
// row blocks once its context is done, with an error wrapping the cause.
func TestStructuralMatrixCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	model := mlp(rng, "relu", 20, 40, 10)
	x := randomX(rng, 300, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := structuralMatrix(ctx, model, x); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "building H (3000×3000)") {
		t.Errorf("cancelled H build: err = %v", err)
	}
	h, err := structuralMatrix(context.Background(), model, x)
	if err != nil {
		t.Fatal(err)
	}
	if want := StructuralMatrix(model, x); !mat.EqualApprox(h, want, 0) {
		t.Error("structuralMatrix under a live context differs from StructuralMatrix")
	}
}

// TestAnalyzeCancelInPlace: with the factor in H's storage and H_S
// compressed there (inPlaceFactorMin 0), a cancellation at any poll
// returns context.Canceled naming the phase, for H_S alone and for every
// spectrum.
func TestAnalyzeCancelInPlace(t *testing.T) {
	saved := inPlaceFactorMin
	t.Cleanup(func() { inPlaceFactorMin = saved })
	inPlaceFactorMin = 0
	rng := rand.New(rand.NewPCG(4, 4))
	model := mlp(rng, "relu", 20, 40, 10)
	probe := Probe{X: randomX(rng, 60, 20), Labels: randomLabels(rng, 60, 10)}
	for _, spectra := range [][]string{{"H_S"}, nil} {
		count := newPollCtx(math.MaxInt64)
		if _, err := Analyze(model, probe, loss.Softmax{}, Options{Spectra: spectra, Ctx: count}); err != nil {
			t.Fatalf("spectra %v, not cancelled: %v", spectra, err)
		}
		total := count.polls.Load()
		for at := int64(1); at < total; at += max(1, total/16) {
			_, err := Analyze(model, probe, loss.Softmax{}, Options{Spectra: spectra, Ctx: newPollCtx(at)})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped") {
				t.Errorf("spectra %v, cancelled at poll %d of %d: err = %v, want a stop with context.Canceled", spectra, at, total, err)
			}
		}
	}
}
