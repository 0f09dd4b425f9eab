//go:build amd64 && !purego

package kern

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedInSync runs gen_avx512.go in a scratch directory and checks
// that its output is the committed kern_avx512_amd64.s, kern_avx512_amd64.go
// and kern_avx512_other.go byte for byte.
func TestGeneratedInSync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	src, err := os.ReadFile("gen_avx512.go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gen_avx512.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "run", "gen_avx512.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_avx512.go: %v\n%s", err, out)
	}
	for _, name := range []string{"kern_avx512_amd64.s", "kern_avx512_amd64.go", "kern_avx512_other.go"} {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from gen_avx512.go's output (%d bytes, committed %d): run go generate in linalg/internal/kern", name, len(got), len(want))
		}
	}
}
