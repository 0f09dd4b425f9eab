package structural

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
)

// cancelWithin is how soon after cancellation Analyze must return: the
// product promises about a second; the slack covers a loaded 2-core machine.
const cancelWithin = 1500 * time.Millisecond

// TestAnalyzeCancel: a cancelled Options.Ctx stops Analyze within about a
// second in every phase long enough to matter (H build, dense eigen, the
// lock-step Lanczos runs, the matrix-free Lanczos runs), with an error
// wrapping context.Canceled that names the phase.
func TestAnalyzeCancel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	model := mlp(rng, "relu", 20, 40, 10)
	x := randomX(rng, 300, 20) // nK = 3000: each dense spectrum takes seconds
	probe := Probe{X: x, Labels: randomLabels(rng, 300, 10)}
	for _, tc := range []struct {
		method string
		after  time.Duration // cancel this long after the start; 0: before
		want   string
	}{
		{"dense", 0, "stopped"},
		{"dense", 400 * time.Millisecond, "stopped"},
		{"lanczos", 0, "stopped"},
		{"lanczos", 150 * time.Millisecond, "stopped"},
		{"lanczos", 900 * time.Millisecond, "stopped"},
		{"matrixfree", 0, "stopped"},
		{"matrixfree", 100 * time.Millisecond, "stopped"},
		{"matrixfree", 600 * time.Millisecond, "stopped"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		if tc.after == 0 {
			cancel()
		} else {
			time.AfterFunc(tc.after, cancel)
		}
		start := time.Now()
		_, err := Analyze(model, probe, loss.Softmax{}, Options{Method: Method(tc.method), Ctx: ctx})
		took := time.Since(start) - tc.after
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s, cancelled after %v: err = %v, want context.Canceled", tc.method, tc.after, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name %q", tc.method, err, tc.want)
		}
		if took > cancelWithin {
			t.Errorf("%s: returned %v after cancellation, want within %v", tc.method, took, cancelWithin)
		}
		t.Logf("%s: %v after cancellation: %v", tc.method, took, err)
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
