//go:build openblas && cgo

package linalg

import (
	"strings"
	"testing"
)

func TestCoreNote(t *testing.T) {
	for _, c := range []struct {
		core, env string
		avx512    bool
		want      string // substring; "" means no note
	}{
		{"Haswell", "Haswell", true, "OPENBLAS_CORETYPE=Haswell is set"},
		{"Haswell", "", true, "did not recognise this CPU"},
		{"Zen", "", true, "runs its Zen kernels"},
		{"SkylakeX", "", true, ""},
		{"Cooperlake", "cooperlake", true, ""},
		{"Haswell", "Haswell", false, ""},
	} {
		got := coreNote(c.core, c.env, c.avx512)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("coreNote(%q, %q, %v) = %q, want %q", c.core, c.env, c.avx512, got, c.want)
		}
		if c.want != "" && !strings.Contains(got, "OPENBLAS_CORETYPE=SkylakeX") {
			t.Errorf("coreNote(%q, %q, %v) = %q: does not say how to fix it", c.core, c.env, c.avx512, got)
		}
	}
}

// TestBackendNamesCore checks that the recorded backend names the kernel
// set OpenBLAS actually loaded, which decides its speed and rounding.
func TestBackendNamesCore(t *testing.T) {
	if !strings.Contains(Backend, "kernels") || !strings.Contains(Backend, "OpenBLAS") {
		t.Fatalf("Backend = %q: want the OpenBLAS config and its kernel set", Backend)
	}
}
