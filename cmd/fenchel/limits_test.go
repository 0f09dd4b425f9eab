package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainRefusesHugeSynthetic: synthetic data that cannot fit in memory is
// refused before anything is allocated or the run directory is created,
// with the bytes needed and the flag values that would fit.
func TestTrainRefusesHugeSynthetic(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--n-train", "1000000000"}, []string{"--n-train 1000000000", "bytes", "available", "--n-train ≤ "}},
		{[]string{"--syn-dim", "1000000000"}, []string{"--syn-dim 1000000000", "bytes", "available", "--syn-dim ≤ "}},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "--data", "synthetic", "--quiet", "--out", dir}, tc.args...)
		code, _, errs := run(t, args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errs, w)
			}
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: run directory created", tc.args)
		}
		t.Logf("%v: %s", tc.args, strings.TrimSpace(errs))
	}
}
