package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fenchel-ml/fenchel/nn"
)

// IDX magic numbers: two zero bytes, the element type (0x08 = unsigned
// byte) and the number of dimensions (LeCun's MNIST page).
const (
	MagicImages uint32 = 0x00000803
	MagicLabels uint32 = 0x00000801
)

// maxIDXBytes bounds the payload a header may announce, so a corrupt header
// is reported instead of attempted.
const maxIDXBytes = 1 << 34

// decodeIDX reads an IDX file of unsigned bytes with the given magic from r,
// gunzipping it first when it starts with the gzip magic 1f 8b. name is used
// in messages only.
func decodeIDX(name string, r io.Reader, magic uint32) (dims []int, payload []byte, err error) {
	kind := map[uint32]string{MagicImages: "images", MagicLabels: "labels"}
	br := bufio.NewReader(r)
	var src io.Reader = br
	compressed := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("data: read %s: corrupt gzip: %w", name, err)
		}
		defer zr.Close()
		src, compressed = zr, true
	}
	fail := func(err error) error {
		if compressed && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("data: read %s: corrupt gzip: %w", name, err)
		}
		return fmt.Errorf("data: read %s: %w", name, err)
	}

	var word [4]byte
	if _, err := io.ReadFull(src, word[:]); err != nil {
		return nil, nil, fail(fmt.Errorf("truncated IDX header (no magic number): %w", err))
	}
	if got := binary.BigEndian.Uint32(word[:]); got != magic {
		hint := ""
		if k, ok := kind[got]; ok {
			hint = fmt.Sprintf(" (this is an IDX %s file)", k)
		}
		return nil, nil, fmt.Errorf("data: read %s: wrong magic number 0x%08x, expected 0x%08x for IDX %s%s", name, got, magic, kind[magic], hint)
	}
	ndim := int(magic & 0xff)
	want := int64(1)
	dims = make([]int, ndim)
	for i := range dims {
		if _, err := io.ReadFull(src, word[:]); err != nil {
			return nil, nil, fail(fmt.Errorf("truncated IDX header (dimension %d of %d): %w", i+1, ndim, err))
		}
		d := binary.BigEndian.Uint32(word[:])
		if d == 0 {
			return nil, nil, fmt.Errorf("data: read %s: IDX dimension %d is 0", name, i+1)
		}
		dims[i] = int(d)
		want *= int64(d)
		if want > maxIDXBytes {
			return nil, nil, fmt.Errorf("data: read %s: IDX dimensions %v announce more than %d bytes; corrupt header?", name, dims[:i+1], int64(maxIDXBytes))
		}
	}
	// Read one byte past the announced payload: this detects trailing data
	// and, for gzip, reaches the end of the stream so the CRC is checked.
	var buf bytes.Buffer
	buf.Grow(int(min(want+1, 1<<26)))
	got, err := io.Copy(&buf, io.LimitReader(src, want+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, fail(fmt.Errorf("after %d of %d payload bytes: %w", got, want, err))
	}
	if got < want {
		return nil, nil, fmt.Errorf("data: read %s: truncated: expected %d bytes of data for IDX dimensions %v, got %d", name, want, dims, got)
	}
	if got > want && compressed {
		// Surplus bytes out of a damaged deflate stream are corruption,
		// which the rest of the stream (or its CRC) reveals.
		if _, err := io.Copy(io.Discard, src); err != nil {
			return nil, nil, fail(fmt.Errorf("after the %d payload bytes: %w", want, err))
		}
	}
	if got > want {
		return nil, nil, fmt.Errorf("data: read %s: trailing data after the %d bytes promised by header %v", name, want, dims)
	}
	return dims, buf.Bytes(), nil
}

func decodeImages(name string, r io.Reader) (pix []uint8, n, rows, cols int, err error) {
	dims, pix, err := decodeIDX(name, r, MagicImages)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return pix, dims[0], dims[1], dims[2], nil
}

func decodeLabels(name string, r io.Reader) (labels []uint8, n int, err error) {
	dims, labels, err := decodeIDX(name, r, MagicLabels)
	if err != nil {
		return nil, 0, err
	}
	return labels, dims[0], nil
}

// ReadIDXImages reads an IDX3 file of n images of rows×cols unsigned bytes,
// gzip-compressed (recognised by its magic bytes 1f 8b, not by the file
// name) or raw. pix holds the images row-major, rows·cols bytes each.
func ReadIDXImages(path string) (pix []uint8, n, rows, cols int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return decodeImages(path, f)
}

// ReadIDXLabels reads an IDX1 file of n unsigned-byte labels, gzip-compressed
// or raw.
func ReadIDXLabels(path string) (labels []uint8, n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return decodeLabels(path, f)
}

// WriteIDXImages writes n images of rows×cols bytes (pix, row-major) as a raw
// IDX3 stream; wrap w in a gzip.Writer for a .gz file.
func WriteIDXImages(w io.Writer, pix []uint8, n, rows, cols int) error {
	if n < 1 || rows < 1 || cols < 1 || len(pix) != n*rows*cols {
		return fmt.Errorf("data: write IDX images: %d bytes for %d images of %d×%d", len(pix), n, rows, cols)
	}
	return writeIDX(w, MagicImages, []int{n, rows, cols}, pix)
}

// WriteIDXLabels writes labels as a raw IDX1 stream.
func WriteIDXLabels(w io.Writer, labels []uint8) error {
	if len(labels) < 1 {
		return fmt.Errorf("data: write IDX labels: no labels")
	}
	return writeIDX(w, MagicLabels, []int{len(labels)}, labels)
}

func writeIDX(w io.Writer, magic uint32, dims []int, payload []byte) error {
	hdr := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// idxRole is one of the four files of an MNIST-style directory.
type idxRole struct {
	what  string   // for messages
	names []string // accepted base names, without .gz
}

var (
	roleTrainImages = idxRole{"training images", []string{"train-images-idx3-ubyte", "train-images.idx3-ubyte"}}
	roleTrainLabels = idxRole{"training labels", []string{"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"}}
	roleTestImages  = idxRole{"test images", []string{"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"}}
	roleTestLabels  = idxRole{"test labels", []string{"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"}}
)

// find returns the file name in fsys playing role r, raw or gzipped.
func (r idxRole) find(fsys fs.FS, dir string) (string, error) {
	var tried []string
	for _, base := range r.names {
		for _, name := range []string{base, base + ".gz"} {
			if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
				return name, nil
			}
			tried = append(tried, name)
		}
	}
	return "", fmt.Errorf("data: %s: missing %s file (looked for %s)", dir, r.what, strings.Join(tried, ", "))
}

// LoadIDXDir loads an MNIST-style directory holding train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each raw or gzipped (.gz), as MNIST, Fashion-MNIST and KMNIST ship them.
// The number of classes K is the largest training label plus one; a test
// label ≥ K is an error. Images are 1×rows×cols.
func LoadIDXDir(dir string, norm Normalization) (train, test *Dataset, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: IDX directory: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("data: IDX directory %s is not a directory", dir)
	}
	return loadIDX(os.DirFS(dir), dir, filepath.Base(dir), norm)
}

// loadIDX loads the four files from fsys; dir prefixes file names in
// messages and name prefixes the datasets' names.
func loadIDX(fsys fs.FS, dir, name string, norm Normalization) (train, test *Dataset, err error) {
	norm, err = norm.resolve()
	if err != nil {
		return nil, nil, err
	}
	var files [4]string
	for i, r := range []idxRole{roleTrainImages, roleTrainLabels, roleTestImages, roleTestLabels} {
		if files[i], err = r.find(fsys, dir); err != nil {
			return nil, nil, err
		}
	}
	path := func(f string) string { return filepath.Join(dir, f) }
	read := func(f string, decode func(io.Reader) error) error {
		r, err := fsys.Open(f)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		defer r.Close()
		return decode(r)
	}
	type part struct {
		pix              []uint8
		n, rows, cols, m int
		labels           []uint8
	}
	var parts [2]part
	for i := range parts {
		p := &parts[i]
		imgF, labF := files[2*i], files[2*i+1]
		if err := read(imgF, func(r io.Reader) (err error) {
			p.pix, p.n, p.rows, p.cols, err = decodeImages(path(imgF), r)
			return err
		}); err != nil {
			return nil, nil, err
		}
		if err := read(labF, func(r io.Reader) (err error) {
			p.labels, p.m, err = decodeLabels(path(labF), r)
			return err
		}); err != nil {
			return nil, nil, err
		}
		if p.n != p.m {
			return nil, nil, fmt.Errorf("data: %s has %d images but %s has %d labels", path(imgF), p.n, path(labF), p.m)
		}
	}
	tr, te := parts[0], parts[1]
	if tr.rows != te.rows || tr.cols != te.cols {
		return nil, nil, fmt.Errorf("data: training images %s are %d×%d but test images %s are %d×%d",
			path(files[0]), tr.rows, tr.cols, path(files[2]), te.rows, te.cols)
	}
	k := 0
	for _, y := range tr.labels {
		k = max(k, int(y)+1)
	}
	if k < 2 {
		return nil, nil, fmt.Errorf("data: %s: labels give %d class(es) (largest label %d); need at least 2", path(files[1]), k, k-1)
	}
	for i, y := range te.labels {
		if int(y) >= k {
			return nil, nil, fmt.Errorf("data: %s: label %d of test sample %d out of range: training labels %s have classes 0..%d",
				path(files[3]), y, i, path(files[1]), k-1)
		}
	}
	lut := norm.table()
	mk := func(suffix string, p part) *Dataset {
		labels := make([]int, p.n)
		for i, y := range p.labels {
			labels[i] = int(y)
		}
		return &Dataset{Name: name + ":" + suffix, N: p.n, K: k, Shape: nn.Shape{1, p.rows, p.cols},
			Labels: labels, pix: p.pix, norm: norm, lut: lut}
	}
	return mk("train", tr), mk("test", te), nil
}
