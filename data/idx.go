package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// maxDeflateRatio is the most deflate can expand its input (zlib's FAQ:
// 1032:1, a stream of maximal back-references), so a gzip file of c bytes
// holds at most maxDeflateRatio·c bytes: a header promising more is refused
// before anything is decompressed.
const maxDeflateRatio = 1032

// idxStream is an IDX stream whose header has been read; payload reads the
// rest.
type idxStream struct {
	name       string
	src        io.Reader
	compressed bool
	dims       []int
	want       int64 // payload bytes the header announces
	// sizeErr says why the file cannot hold want bytes (nil: it can);
	// reported after the header checks across files, which say more.
	sizeErr error
}

// openIDX reads the header of the IDX stream r of unsigned bytes with the
// given magic, gunzipping it first when it starts with the gzip magic 1f 8b,
// and checks the announced payload against size, the bytes of the file (−1
// when unknown; a mismatch goes to sizeErr). name is used in messages only.
func openIDX(name string, r io.Reader, size int64, magic uint32) (*idxStream, error) {
	kind := map[uint32]string{MagicImages: "images", MagicLabels: "labels"}
	br := bufio.NewReader(r)
	s := &idxStream{name: name, src: br}
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("data: read %s: corrupt gzip: %w", name, err)
		}
		s.src, s.compressed = zr, true
	}
	var word [4]byte
	if _, err := io.ReadFull(s.src, word[:]); err != nil {
		return nil, s.fail(fmt.Errorf("truncated IDX header (no magic number): %w", err))
	}
	if got := binary.BigEndian.Uint32(word[:]); got != magic {
		hint := ""
		if k, ok := kind[got]; ok {
			hint = fmt.Sprintf(" (this is an IDX %s file)", k)
		}
		return nil, fmt.Errorf("data: read %s: wrong magic number 0x%08x, expected 0x%08x for IDX %s%s", name, got, magic, kind[magic], hint)
	}
	ndim := int(magic & 0xff)
	s.want = 1
	s.dims = make([]int, ndim)
	for i := range s.dims {
		if _, err := io.ReadFull(s.src, word[:]); err != nil {
			return nil, s.fail(fmt.Errorf("truncated IDX header (dimension %d of %d): %w", i+1, ndim, err))
		}
		d := binary.BigEndian.Uint32(word[:])
		if d == 0 {
			return nil, fmt.Errorf("data: read %s: IDX dimension %d is 0", name, i+1)
		}
		s.dims[i] = int(d)
		s.want *= int64(d)
		if s.want > maxIDXBytes {
			return nil, fmt.Errorf("data: read %s: IDX dimensions %v announce more than %d bytes; corrupt header?", name, s.dims[:i+1], int64(maxIDXBytes))
		}
	}
	hdr := int64(4 + 4*ndim)
	switch {
	case size < 0:
	case !s.compressed && size-hdr < s.want:
		s.sizeErr = fmt.Errorf("data: read %s: truncated: expected %d bytes of data for IDX dimensions %v, got %d", name, s.want, s.dims, size-hdr)
	case !s.compressed && size-hdr > s.want:
		s.sizeErr = fmt.Errorf("data: read %s: trailing data after the %d bytes promised by header %v", name, s.want, s.dims)
	case s.compressed && hdr+s.want > maxDeflateRatio*size:
		s.sizeErr = fmt.Errorf("data: read %s: truncated or corrupt: header %v announces %d bytes of data, but %d gzip bytes decompress to at most %d (deflate expands at most %d×)",
			name, s.dims, s.want, size, maxDeflateRatio*size, maxDeflateRatio)
	}
	return s, nil
}

// fail wraps a read error, calling it gzip corruption when the stream is
// compressed and the error is not a plain end of data.
func (s *idxStream) fail(err error) error {
	if s.compressed && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("data: read %s: corrupt gzip: %w", s.name, err)
	}
	return fmt.Errorf("data: read %s: %w", s.name, err)
}

// payloadStart is the most payload reads before it has seen data (64 MiB; a
// variable so tests can exercise the growth).
var payloadStart int64 = 1 << 26

// payload reads the announced payload; it never reads more than one byte
// past it, so memory is bounded by the header (checked by the caller).
func (s *idxStream) payload() ([]byte, error) {
	want := s.want
	// Read one byte past the announced payload: this detects trailing data
	// and, for gzip, reaches the end of the stream so the CRC is checked.
	// The buffer starts at up to 64 MiB and doubles as data arrives (so an
	// unchecked header costs memory only as its data is read); a payload
	// that fits, like MNIST's 47 MB, is read in place with no copy.
	buf := make([]byte, 0, min(want+1, payloadStart))
	for int64(len(buf)) <= want {
		if len(buf) == cap(buf) {
			buf = append(make([]byte, 0, min(2*int64(cap(buf)), want+1)), buf...)
		}
		n, err := s.src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // a short stream: reported as truncated below
		}
		if err != nil {
			return nil, s.fail(fmt.Errorf("after %d of %d payload bytes: %w", len(buf), want, err))
		}
	}
	got := int64(len(buf))
	if got < want {
		return nil, fmt.Errorf("data: read %s: truncated: expected %d bytes of data for IDX dimensions %v, got %d", s.name, want, s.dims, got)
	}
	if got > want && s.compressed {
		// Surplus bytes out of a damaged deflate stream are corruption,
		// which the rest of the stream (or its CRC) reveals.
		if _, err := io.Copy(io.Discard, s.src); err != nil {
			return nil, s.fail(fmt.Errorf("after the %d payload bytes: %w", want, err))
		}
	}
	if got > want {
		return nil, fmt.Errorf("data: read %s: trailing data after the %d bytes promised by header %v", s.name, want, s.dims)
	}
	return buf[:want], nil
}

// readIDXFile reads the IDX file at path after checking its header against
// the file size and the memory available.
func readIDXFile(path string, magic uint32) (*idxStream, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	s, err := openIDX(path, f, size, magic)
	if err != nil {
		return nil, nil, err
	}
	if s.sizeErr != nil {
		return nil, nil, s.sizeErr
	}
	if err := checkMemory(s.want, fmt.Sprintf("data: read %s: the %d bytes of data announced by header %v", path, s.want, s.dims)); err != nil {
		return nil, nil, err
	}
	p, err := s.payload()
	return s, p, err
}

// ReadIDXImages reads an IDX3 file of n images of rows×cols unsigned bytes,
// gzip-compressed (recognised by its magic bytes 1f 8b, not by the file
// name) or raw. pix holds the images row-major, rows·cols bytes each. The
// header is checked against the file size and the memory available before
// the payload is read.
func ReadIDXImages(path string) (pix []uint8, n, rows, cols int, err error) {
	s, pix, err := readIDXFile(path, MagicImages)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return pix, s.dims[0], s.dims[1], s.dims[2], nil
}

// ReadIDXLabels reads an IDX1 file of n unsigned-byte labels, gzip-compressed
// or raw, with the checks of ReadIDXImages.
func ReadIDXLabels(path string) (labels []uint8, n int, err error) {
	s, labels, err := readIDXFile(path, MagicLabels)
	if err != nil {
		return nil, 0, err
	}
	return labels, s.dims[0], nil
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

// MNISTClasses is the number of classes of MNIST-format data unless the
// caller says otherwise (LoadIDXDirClasses).
const MNISTClasses = 10

// LoadIDXDir loads an MNIST-style directory holding train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each raw or gzipped (.gz), as MNIST, Fashion-MNIST and KMNIST ship them,
// with MNISTClasses classes (see LoadIDXDirClasses). Images are 1×rows×cols.
func LoadIDXDir(dir string, norm Normalization) (train, test *Dataset, err error) {
	return LoadIDXDirClasses(dir, MNISTClasses, norm)
}

// LoadIDXDirClasses is LoadIDXDir with k classes: the number of classes is
// the model's, never read off the labels, so a label ≥ k (a corrupt byte) is
// an error naming the file, the sample and the value.
func LoadIDXDirClasses(dir string, k int, norm Normalization) (train, test *Dataset, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: IDX directory: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("data: IDX directory %s is not a directory", dir)
	}
	return loadIDX(os.DirFS(dir), dir, filepath.Base(dir), k, norm)
}

// loadIDX loads the four files from fsys with k classes; dir prefixes file
// names in messages and name prefixes the datasets' names.
func loadIDX(fsys fs.FS, dir, name string, k int, norm Normalization) (train, test *Dataset, err error) {
	norm, err = norm.resolve()
	if err != nil {
		return nil, nil, err
	}
	if k < 2 {
		return nil, nil, fmt.Errorf("data: %s: %d classes; need at least 2", dir, k)
	}
	var files [4]string
	for i, r := range []idxRole{roleTrainImages, roleTrainLabels, roleTestImages, roleTestLabels} {
		if files[i], err = r.find(fsys, dir); err != nil {
			return nil, nil, err
		}
	}
	path := func(f string) string { return filepath.Join(dir, f) }
	// Every header is read and checked (against its file's size, the other
	// file of its split and the memory available) before any payload is
	// decompressed, so a corrupt or hostile header costs nothing.
	var streams [4]*idxStream
	for i, f := range files {
		r, err := fsys.Open(f)
		if err != nil {
			return nil, nil, fmt.Errorf("data: %w", err)
		}
		defer r.Close()
		size := int64(-1)
		if st, err := r.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		magic := MagicImages
		if i%2 == 1 {
			magic = MagicLabels
		}
		if streams[i], err = openIDX(path(f), r, size, magic); err != nil {
			return nil, nil, err
		}
	}
	type part struct {
		pix              []uint8
		n, rows, cols, m int
		labels           []uint8
	}
	var parts [2]part
	for i := range parts {
		img, lab := streams[2*i], streams[2*i+1]
		p := &parts[i]
		p.n, p.rows, p.cols, p.m = img.dims[0], img.dims[1], img.dims[2], lab.dims[0]
		if p.n != p.m {
			return nil, nil, fmt.Errorf("data: %s has %d images but %s has %d labels", path(files[2*i]), p.n, path(files[2*i+1]), p.m)
		}
	}
	tr, te := &parts[0], &parts[1]
	if tr.rows != te.rows || tr.cols != te.cols {
		return nil, nil, fmt.Errorf("data: training images %s are %d×%d but test images %s are %d×%d",
			path(files[0]), tr.rows, tr.cols, path(files[2]), te.rows, te.cols)
	}
	for _, s := range streams {
		if s.sizeErr != nil {
			return nil, nil, s.sizeErr
		}
	}
	// Pixels and label bytes as stored, plus the labels as ints.
	need := streams[0].want + streams[2].want + int64(tr.n+te.n)*(1+8)
	if err := checkMemory(need, fmt.Sprintf("data: %s: %d training images of %d×%d and %d test images", dir, tr.n, tr.rows, tr.cols, te.n)); err != nil {
		return nil, nil, err
	}
	for i := range parts {
		var err error
		if parts[i].pix, err = streams[2*i].payload(); err != nil {
			return nil, nil, err
		}
		if parts[i].labels, err = streams[2*i+1].payload(); err != nil {
			return nil, nil, err
		}
	}
	for s, p := range parts {
		split, f := "training", files[1]
		if s == 1 {
			split, f = "test", files[3]
		}
		for i, y := range p.labels {
			if int(y) >= k {
				return nil, nil, fmt.Errorf("data: %s: label %d of %s sample %d out of range: the model has %d classes (0..%d)", path(f), y, split, i, k, k-1)
			}
		}
	}
	if top := slices.Max(tr.labels); top == 0 {
		return nil, nil, fmt.Errorf("data: %s: labels give 1 class (every label is 0); need at least 2", path(files[1]))
	}
	lut := norm.table()
	mk := func(suffix string, p *part) *Dataset {
		labels := make([]int, p.n)
		for i, y := range p.labels {
			labels[i] = int(y)
		}
		return &Dataset{Name: name + ":" + suffix, N: p.n, K: k, Shape: nn.Shape{1, p.rows, p.cols},
			Labels: labels, pix: p.pix, norm: norm, lut: lut}
	}
	return mk("train", tr), mk("test", te), nil
}
