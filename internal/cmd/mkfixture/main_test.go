package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReproducesFixture runs the documented command and compares its output
// byte for byte with the fixture committed in data/testdata.
func TestReproducesFixture(t *testing.T) {
	t.Setenv("GOPROXY", "off") // the MNIST module must come from the module cache
	out := t.TempDir()
	if err := run(500, 200, out); err != nil {
		t.Fatal(err)
	}
	committed := "../../../data/testdata/mnist-fixture"
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated file (%d bytes) differs from the committed one (%d bytes)", name, len(got), len(want))
		}
	}
	if err := run(70000, 10, t.TempDir()); err == nil {
		t.Errorf("n-train 70000 > 60000: no error")
	}
}
