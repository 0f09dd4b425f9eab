package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// headerAllocBudget is what loading may allocate before it refuses a
// directory on its headers: buffers of a few KB per file, far below the
// announced payloads (9.4 GB, 100 MB) it must not attempt.
const headerAllocBudget = 8 << 20

// bombGz is a gzip stream of an IDX header announcing dims followed by
// zeros bytes of zeros: a decompression bomb when dims promise much more.
func bombGz(t *testing.T, magic uint32, dims []int, zeros int) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err := writeIDX(zw, magic, dims, nil); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for left := zeros; left > 0; left -= len(chunk) {
		if _, err := zw.Write(chunk[:min(left, len(chunk))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// TestIDXBombs: headers announcing far more data than the files can hold,
// than the other file of the split agrees to, or than memory allows, are
// refused from the headers alone (before decompressing or allocating the
// payload), with the file, the counts and the bytes named.
func TestIDXBombs(t *testing.T) {
	const bigN = 12_000_000 // 12 M images of 28×28: 9.4 GB announced
	mid := 127551           // 127551 images of 28×28: 100 MB announced
	cases := []struct {
		name   string
		trainI []byte // train-images-idx3-ubyte.gz
		trainL []byte // train-labels-idx1-ubyte.gz
		avail  int64  // memory available to the loader (0: the machine's)
		want   []string
	}{
		{"image count against label count",
			bombGz(t, MagicImages, []int{bigN, 28, 28}, 1<<20), encode(t, true, rawIDX(MagicLabels, []int{6}, make([]uint8, 6))), 0,
			[]string{"train-images-idx3-ubyte.gz has 12000000 images", "train-labels-idx1-ubyte.gz has 6 labels"}},
		{"announced size against file size",
			bombGz(t, MagicImages, []int{bigN, 28, 28}, 1<<20), bombGz(t, MagicLabels, []int{bigN}, 0), 0,
			[]string{"train-images-idx3-ubyte.gz", "9408000000 bytes", "at most"}},
		{"announced size against memory",
			bombGz(t, MagicImages, []int{mid, 28, 28}, mid*28*28), bombGz(t, MagicLabels, []int{mid}, mid), 64 << 20,
			[]string{"127551 training images of 28×28", "bytes", "available"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := smallSet(true)
			s.rows, s.cols = 28, 28
			s.trainPix, s.testPix = make([]uint8, 6*784), make([]uint8, 3*784)
			s.write(t, dir)
			for name, b := range map[string][]byte{"train-images-idx3-ubyte.gz": c.trainI, "train-labels-idx1-ubyte.gz": c.trainL} {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if c.avail > 0 {
				old := availableMemory
				availableMemory = func() (int64, string) { return c.avail, "test limit" }
				defer func() { availableMemory = old }()
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := LoadIDXDir(dir, StandardMNIST)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > headerAllocBudget {
				t.Errorf("allocated %d bytes before refusing, want ≤ %d (payload decompressed?)", got, headerAllocBudget)
			}
			t.Logf("%v", err)
		})
	}
}
