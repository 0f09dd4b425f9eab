package reproduce

import (
	"context"
	"errors"
	"testing"
)

// TestCalibrateInitCancel: the init calibration (up to 65 Analyze
// evaluations) stops on a cancelled context with an error wrapping it.
func TestCalibrateInitCancel(t *testing.T) {
	tr, te := fixture(t)
	ref, n, err := calibrationRef(Tiny, ExpInit)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := calibrateInit(ctx, ref, n, tr); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled calibration: err = %v, want context.Canceled", err)
	}
	if _, err := Execute(ctx, Options{Mode: Tiny, Out: t.TempDir(), Experiments: []string{ExpInit}, Train: tr, Test: te}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Execute of the init experiment: err = %v, want context.Canceled", err)
	}
}
