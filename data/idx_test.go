package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxSet is the content of one MNIST-style directory for tests.
type idxSet struct {
	rows, cols          int
	trainPix, testPix   []uint8
	trainLabs, testLabs []uint8
	nTrainImg, nTestImg int // image counts written in the headers
	gz                  bool
}

// smallSet returns a valid 6-train, 3-test set of 2×3 images with 3 classes.
func smallSet(gz bool) idxSet {
	s := idxSet{rows: 2, cols: 3, nTrainImg: 6, nTestImg: 3, gz: gz,
		trainLabs: []uint8{0, 1, 2, 0, 1, 2}, testLabs: []uint8{2, 0, 1}}
	for i := range 6 * 6 {
		s.trainPix = append(s.trainPix, uint8(i*7))
	}
	for i := range 3 * 6 {
		s.testPix = append(s.testPix, uint8(255-i*5))
	}
	return s
}

func encode(t *testing.T, gz bool, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var raw bytes.Buffer
	if err := write(&raw); err != nil {
		t.Fatal(err)
	}
	if !gz {
		return raw.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// rawIDX writes an IDX stream whose header may disagree with the payload.
func rawIDX(magic uint32, dims []int, payload []byte) func(*bytes.Buffer) error {
	return func(b *bytes.Buffer) error { return writeIDX(b, magic, dims, payload) }
}

func (s idxSet) write(t *testing.T, dir string) {
	t.Helper()
	ext := ""
	if s.gz {
		ext = ".gz"
	}
	files := map[string][]byte{
		"train-images-idx3-ubyte": encode(t, s.gz, rawIDX(MagicImages, []int{s.nTrainImg, s.rows, s.cols}, s.trainPix)),
		"train-labels-idx1-ubyte": encode(t, s.gz, rawIDX(MagicLabels, []int{len(s.trainLabs)}, s.trainLabs)),
		"t10k-images-idx3-ubyte":  encode(t, s.gz, rawIDX(MagicImages, []int{s.nTestImg, s.rows, s.cols}, s.testPix)),
		"t10k-labels-idx1-ubyte":  encode(t, s.gz, rawIDX(MagicLabels, []int{len(s.testLabs)}, s.testLabs)),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadIDXDirRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		s := smallSet(gz)
		s.write(t, dir)
		train, test, err := LoadIDXDirClasses(dir, 3, Normalization{Mode: ModeNone})
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		for _, c := range []struct {
			d      *Dataset
			pix    []uint8
			labels []uint8
		}{{train, s.trainPix, s.trainLabs}, {test, s.testPix, s.testLabs}} {
			if c.d.N != len(c.labels) || c.d.K != 3 || !c.d.Shape.Equal([]int{1, 2, 3}) || c.d.Dim() != 6 {
				t.Fatalf("gz=%v %s: N %d K %d shape %v", gz, c.d.Name, c.d.N, c.d.K, c.d.Shape)
			}
			row := make([]float64, 6)
			for i := range c.d.N {
				if c.d.Labels[i] != int(c.labels[i]) {
					t.Errorf("gz=%v %s label %d = %d, want %d", gz, c.d.Name, i, c.d.Labels[i], c.labels[i])
				}
				c.d.Row(row, i)
				for j, v := range row {
					if want := float64(c.pix[i*6+j]) / 255; v != want {
						t.Errorf("gz=%v %s sample %d feature %d = %v, want %v", gz, c.d.Name, i, j, v, want)
					}
				}
			}
		}
	}
}

// TestReadIDXGzipByMagic checks that compression is recognised by content:
// a gzipped file without .gz and a raw file named .gz both read.
func TestReadIDXGzipByMagic(t *testing.T) {
	dir := t.TempDir()
	labels := []uint8{3, 1, 4, 1, 5}
	for name, gz := range map[string]bool{"gz-without-suffix": true, "raw.gz": false} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, encode(t, gz, rawIDX(MagicLabels, []int{5}, labels)), 0o644)
		got, n, err := ReadIDXLabels(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 5 || !bytes.Equal(got, labels) {
			t.Errorf("%s: got %v (n %d), want %v", name, got, n, labels)
		}
	}
}

// TestReadIDXBadFiles feeds single corrupt files to the readers.
func TestReadIDXBadFiles(t *testing.T) {
	img := make([]uint8, 100*28*28)
	for i := range img {
		img[i] = uint8(i % 251)
	}
	goodGz := encode(t, true, rawIDX(MagicImages, []int{100, 28, 28}, img))
	flipped := bytes.Clone(goodGz)
	flipped[len(flipped)/2] ^= 0xff
	badCRC := bytes.Clone(goodGz)
	badCRC[len(badCRC)-6] ^= 0x01 // inside the CRC-32 of the trailer
	cases := []struct {
		name   string
		bytes  []byte
		labels bool // read with ReadIDXLabels instead of ReadIDXImages
		want   []string
	}{
		{"truncated raw", encode(t, false, rawIDX(MagicImages, []int{10000, 28, 28}, img)), false,
			[]string{"truncated", "expected 7840000 bytes", "got 78400"}},
		{"truncated gz payload", encode(t, true, rawIDX(MagicImages, []int{10000, 28, 28}, img)), false,
			[]string{"truncated", "announces 7840000 bytes", "decompress to at most"}},
		{"gz stream cut in half", goodGz[:len(goodGz)/2], false, []string{"truncated", "expected 78400 bytes"}},
		{"corrupt gzip header", []byte{0x1f, 0x8b, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false, []string{"corrupt gzip"}},
		{"corrupt gzip data", flipped, false, []string{"corrupt gzip"}},
		{"gzip checksum", badCRC, false, []string{"corrupt gzip", "checksum"}},
		{"labels as images", encode(t, false, rawIDX(MagicLabels, []int{3}, []uint8{1, 2, 3})), false,
			[]string{"wrong magic number 0x00000801", "expected 0x00000803", "images"}},
		{"images as labels", goodGz, true, []string{"wrong magic number 0x00000803", "expected 0x00000801", "labels"}},
		{"random magic", []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 7}, true, []string{"0xdeadbeef", "expected 0x00000801"}},
		{"empty", nil, true, []string{"truncated IDX header"}},
		{"short header", []byte{0, 0, 8, 3, 0, 0, 0, 5}, false, []string{"truncated IDX header", "dimension 2 of 3"}},
		{"zero dimension", encode(t, false, rawIDX(MagicImages, []int{0, 28, 28}, nil)), false, []string{"dimension 1 is 0"}},
		{"trailing data", encode(t, false, rawIDX(MagicLabels, []int{2}, []uint8{1, 2, 3})), true, []string{"trailing data"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.WriteFile(p, c.bytes, 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if c.labels {
			_, _, err = ReadIDXLabels(p)
		} else {
			_, _, _, _, err = ReadIDXImages(p)
		}
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range append(c.want, p) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, _, err := ReadIDXLabels(filepath.Join(dir, "no-such-file")); err == nil || !strings.Contains(err.Error(), "no-such-file") {
		t.Errorf("missing file: error %v does not name the file", err)
	}
}

// TestLoadIDXDirBadSets breaks one aspect of a valid directory at a time.
func TestLoadIDXDirBadSets(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *idxSet)
		remove string // file to delete after writing
		want   []string
	}{
		{"count mismatch", func(s *idxSet) { s.trainLabs = s.trainLabs[:5] }, "",
			[]string{"train-images-idx3-ubyte.gz has 6 images", "train-labels-idx1-ubyte.gz has 5 labels"}},
		{"test count mismatch", func(s *idxSet) { s.testLabs = append(s.testLabs, 1) }, "",
			[]string{"t10k-images-idx3-ubyte.gz has 3 images", "t10k-labels-idx1-ubyte.gz has 4 labels"}},
		{"dims mismatch", nil, "", nil}, // set up below
		{"single class", func(s *idxSet) { s.trainLabs = make([]uint8, 6); s.testLabs = make([]uint8, 3) }, "",
			[]string{"1 class", "at least 2", "train-labels-idx1-ubyte.gz"}},
		{"test label out of range", func(s *idxSet) { s.testLabs[1] = 17 }, "",
			[]string{"t10k-labels-idx1-ubyte.gz", "label 17 of test sample 1", "0..9"}},
		{"test image header against labels", func(s *idxSet) { s.nTestImg = 4 }, "",
			[]string{"t10k-images-idx3-ubyte.gz has 4 images", "t10k-labels-idx1-ubyte.gz has 3 labels"}},
		{"truncated test images", func(s *idxSet) { s.nTestImg, s.testLabs = 4, append(s.testLabs, 0) }, "",
			[]string{"t10k-images-idx3-ubyte.gz", "expected 24 bytes", "got 18"}},
		{"missing train images", nil, "train-images-idx3-ubyte.gz", []string{"missing training images file", "train-images-idx3-ubyte.gz"}},
		{"missing train labels", nil, "train-labels-idx1-ubyte.gz", []string{"missing training labels file"}},
		{"missing test images", nil, "t10k-images-idx3-ubyte.gz", []string{"missing test images file"}},
		{"missing test labels", nil, "t10k-labels-idx1-ubyte.gz", []string{"missing test labels file", "t10k-labels.idx1-ubyte"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		s := smallSet(true)
		if c.name == "dims mismatch" {
			// Test images are 3×2 while training images are 2×3: same byte count, different shape.
			s.write(t, dir)
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), encode(t, true, rawIDX(MagicImages, []int{3, 3, 2}, s.testPix)), 0o644)
			c.want = []string{"train-images-idx3-ubyte.gz are 2×3", "t10k-images-idx3-ubyte.gz are 3×2"}
		} else {
			if c.mutate != nil {
				c.mutate(&s)
			}
			s.write(t, dir)
		}
		if c.remove != "" {
			os.Remove(filepath.Join(dir, c.remove))
		}
		_, _, err := LoadIDXDir(dir, StandardMNIST)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range append(c.want, dir) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	missing := filepath.Join(t.TempDir(), "nowhere")
	if _, _, err := LoadIDXDir(missing, StandardMNIST); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: error %v does not name %s", err, missing)
	}
	if _, _, err := LoadIDXDir(t.TempDir(), Normalization{Mode: ModeStandard, Std: 0}); err == nil || !strings.Contains(err.Error(), "std 0") {
		t.Errorf("zero std: error %v", err)
	}
}

// TestReadIDXPayloadGrowth reads payloads through a buffer that starts
// smaller than they are and grows as data arrives: the bytes and the errors
// are those of a buffer that holds the payload at once.
func TestReadIDXPayloadGrowth(t *testing.T) {
	defer func(v int64) { payloadStart = v }(payloadStart)
	img := make([]uint8, 100*28*28)
	for i := range img {
		img[i] = uint8(i % 253)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"raw":      encode(t, false, rawIDX(MagicImages, []int{100, 28, 28}, img)),
		"gz":       encode(t, true, rawIDX(MagicImages, []int{100, 28, 28}, img)),
		"trailing": encode(t, false, rawIDX(MagicImages, []int{99, 28, 28}, img)),
		"trailgz":  encode(t, true, rawIDX(MagicImages, []int{99, 28, 28}, img)),
	}
	files["cut"] = files["gz"][:len(files["gz"])/2]
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, start := range []int64{1, 1000, 78399, 78400, 78401, 1 << 26} {
		payloadStart = start
		for _, name := range []string{"raw", "gz"} {
			pix, n, _, _, err := ReadIDXImages(filepath.Join(dir, name))
			if err != nil || n != 100 || !bytes.Equal(pix, img) {
				t.Errorf("start %d, %s: %d images, equal %v, error %v", start, name, n, bytes.Equal(pix, img), err)
			}
		}
		for name, want := range map[string]string{"trailing": "trailing data", "trailgz": "trailing data", "cut": "truncated"} {
			if _, _, _, _, err := ReadIDXImages(filepath.Join(dir, name)); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("start %d, %s: error %v, want %q", start, name, err, want)
			}
		}
	}
}
