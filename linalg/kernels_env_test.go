package linalg

import (
	"strings"
	"testing"
)

// TestKernelsEnv checks what FENCHEL_KERNELS does at start-up: an unknown
// value is an error naming the variable and the value (commands refuse to
// run), an unavailable set is a note, auto and the empty string are silent.
func TestKernelsEnv(t *testing.T) {
	oldErr, oldNote := envErr, BackendNote
	defer func() { envErr, BackendNote = oldErr, oldNote }()
	for _, c := range []struct {
		val      string
		wantErr  string // substring; "" = no error
		wantNote bool   // a note is expected
	}{
		{"", "", false},
		{"auto", "", false},
		{"avx-512", `FENCHEL_KERNELS="avx-512"`, false},
		{"gonum", "", false},
	} {
		envErr, BackendNote = nil, ""
		t.Setenv("FENCHEL_KERNELS", c.val)
		pickKernels()
		err := CheckEnv()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("FENCHEL_KERNELS=%q: CheckEnv() = %v, want error containing %q", c.val, err, c.wantErr)
		}
		if (BackendNote != "") != c.wantNote {
			t.Errorf("FENCHEL_KERNELS=%q: BackendNote = %q", c.val, BackendNote)
		}
	}
	// A known set this machine or build cannot run gives a note, not an error.
	for _, s := range kernelSets() {
		if s.why == "" {
			continue
		}
		envErr, BackendNote = nil, ""
		t.Setenv("FENCHEL_KERNELS", s.name)
		pickKernels()
		if CheckEnv() != nil || !strings.Contains(BackendNote, s.why) {
			t.Errorf("FENCHEL_KERNELS=%s (unavailable: %s): error %v, note %q", s.name, s.why, CheckEnv(), BackendNote)
		}
	}
}
