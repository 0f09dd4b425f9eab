package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/models"
)

// TestCheckpointCorruption: one flipped byte anywhere in checkpoint.bin (the
// weights fill most of it) is refused by ReadCheckpoint and by --resume,
// with an error naming the file, instead of loading altered weights.
func TestCheckpointCorruption(t *testing.T) {
	cfg := tinyConfig()
	cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{64}}
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), cfg, dir, nil, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CheckpointFile)
	good := readFile(t, path)
	if _, err := ReadCheckpoint(path); err != nil {
		t.Fatalf("intact checkpoint: %v", err)
	}
	flip := func(off int) {
		b := append([]byte(nil), good...)
		b[off] ^= 0x10
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Every 37th byte: over 150 positions, header, weights and state alike.
	for off := 0; off < len(good); off += 37 {
		flip(off)
		_, err := ReadCheckpoint(path)
		if err == nil {
			t.Errorf("byte %d of %d flipped: checkpoint read without error", off, len(good))
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("byte %d flipped: error %q does not name %s", off, err, path)
		}
	}
	flip(len(good) / 2)
	_, err := Run(context.Background(), cfg, dir, nil, RunOptions{Resume: true})
	t.Logf("resume, byte %d flipped: %v", len(good)/2, err)
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("resume from a checkpoint with byte %d flipped: err = %v, want a checksum error", len(good)/2, err)
	}
	// Truncated and empty files are refused too.
	for _, n := range []int{0, 10, len(good) - 1} {
		if err := os.WriteFile(path, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCheckpoint(path); err == nil {
			t.Errorf("checkpoint truncated to %d bytes read without error", n)
		}
	}
}
