package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/nn"
)

// NPY file names of a feature directory (the names Keras' datasets use).
const (
	NPYTrainFeatures = "x_train.npy"
	NPYTrainLabels   = "y_train.npy"
	NPYTestFeatures  = "x_test.npy"
	NPYTestLabels    = "y_test.npy"
)

// maxNPYBytes bounds the data an .npy header may announce (as maxIDXBytes),
// and maxNPYHeader its header: numpy writes headers of a few hundred bytes.
const (
	maxNPYBytes  = 1 << 34
	maxNPYHeader = 1 << 16
)

// npyMagic opens every .npy file (numpy's format description, NEP 1).
var npyMagic = []byte("\x93NUMPY")

// NPY is one array read from an .npy file: its shape, its dtype as numpy
// writes it ("<f4", "|u1", …) and its elements, decoded in C order.
type NPY struct {
	Shape []int
	DType string
	// Exactly one of Float (float dtypes, widened to float64), Bytes (|u1)
	// and Int (other integer dtypes) is set.
	Float []float64
	Bytes []uint8
	Int   []int64
}

// npyDType describes one accepted element type.
type npyDType struct {
	size  int
	float bool
	sign  bool
}

// npyDTypes are the accepted element types, without the byte-order
// character: IEEE floats and signed or unsigned integers.
var npyDTypes = map[string]npyDType{
	"f4": {4, true, true}, "f8": {8, true, true},
	"u1": {1, false, false}, "i1": {1, false, true},
	"u2": {2, false, false}, "i2": {2, false, true},
	"u4": {4, false, false}, "i4": {4, false, true},
	"u8": {8, false, false}, "i8": {8, false, true},
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads an .npy file (format versions 1–3) holding a C-ordered
// array of float32, float64 or integer elements of either byte order. The
// announced size is checked against the file's size before anything is
// allocated; every problem is an error naming the file and the field.
func ReadNPY(path string) (*NPY, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	a, err := readNPY(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("data: read %s: %w", path, err)
	}
	return a, nil
}

func readNPY(r io.Reader, size int64) (*NPY, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("not an .npy file: %d bytes, shorter than the magic and version", size)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return nil, fmt.Errorf("not an .npy file: starts with %q, want \\x93NUMPY", pre[:6])
	}
	major := pre[6]
	var hlen, pos int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, errors.New("truncated header length")
		}
		hlen, pos = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, errors.New("truncated header length")
		}
		hlen, pos = int64(binary.LittleEndian.Uint32(l[:])), 12
	default:
		return nil, fmt.Errorf("format version %d.%d: want 1.0, 2.0 or 3.0", major, pre[7])
	}
	if hlen > maxNPYHeader || pos+hlen > size {
		return nil, fmt.Errorf("header length %d does not fit the file of %d bytes", hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("truncated header: %w", err)
	}
	header := string(hb)

	m := npyDescr.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("header %q has no 'descr'", strings.TrimSpace(header))
	}
	descr := m[1]
	if len(descr) != 3 || !strings.ContainsRune("<>|=", rune(descr[0])) {
		return nil, fmt.Errorf("dtype %q: want a float or integer such as '<f4', '<f8', '|u1' or '<i8'", descr)
	}
	dt, ok := npyDTypes[descr[1:]]
	if !ok {
		return nil, fmt.Errorf("dtype %q: unsupported (want float32 '<f4', float64 '<f8' or an integer type)", descr)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if descr[0] == '>' {
		order = binary.BigEndian
	}
	if m := npyFortran.FindStringSubmatch(header); m == nil {
		return nil, fmt.Errorf("header %q has no 'fortran_order'", strings.TrimSpace(header))
	} else if m[1] == "True" {
		return nil, errors.New("fortran_order True: save a C-ordered array (numpy.ascontiguousarray)")
	}
	m = npyShape.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("header %q has no 'shape'", strings.TrimSpace(header))
	}
	var shape []int
	count := int64(1)
	for _, part := range strings.Split(m[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := strconv.ParseInt(part, 10, 64)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("shape (%s): %q is not a size", m[1], part)
		}
		if d > 0 && count > maxNPYBytes/d {
			return nil, fmt.Errorf("shape (%s) announces more than %d bytes; corrupt header?", m[1], int64(maxNPYBytes))
		}
		count *= d
		shape = append(shape, int(d))
	}
	if len(shape) == 0 {
		return nil, errors.New("shape (): a scalar, want an array")
	}
	want := count * int64(dt.size)
	if want > maxNPYBytes {
		return nil, fmt.Errorf("shape %v of %s announces %d bytes, more than %d", shape, descr, want, int64(maxNPYBytes))
	}
	if got := size - pos - hlen; got != want {
		what := "truncated"
		if got > want {
			what = "trailing data"
		}
		return nil, fmt.Errorf("%s: shape %v of %s needs %d bytes of data, the file holds %d", what, shape, descr, want, got)
	}
	buf := make([]byte, want)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("after the header: %w", err)
	}
	a := &NPY{Shape: shape, DType: descr}
	n := int(count)
	switch {
	case dt.float && dt.size == 4:
		a.Float = make([]float64, n)
		for i := range a.Float {
			a.Float[i] = float64(math.Float32frombits(order.Uint32(buf[4*i:])))
		}
	case dt.float:
		a.Float = make([]float64, n)
		for i := range a.Float {
			a.Float[i] = math.Float64frombits(order.Uint64(buf[8*i:]))
		}
	case dt.size == 1 && !dt.sign:
		a.Bytes = buf
	default:
		a.Int = make([]int64, n)
		for i := range a.Int {
			a.Int[i] = npyInt(buf[i*dt.size:], dt, order)
		}
	}
	return a, nil
}

// npyInt decodes one integer element (an unsigned 64-bit value above
// MaxInt64 becomes negative, which label checks reject).
func npyInt(b []byte, dt npyDType, order binary.ByteOrder) int64 {
	switch dt.size {
	case 1:
		if dt.sign {
			return int64(int8(b[0]))
		}
		return int64(b[0])
	case 2:
		if dt.sign {
			return int64(int16(order.Uint16(b)))
		}
		return int64(order.Uint16(b))
	case 4:
		if dt.sign {
			return int64(int32(order.Uint32(b)))
		}
		return int64(order.Uint32(b))
	}
	return int64(order.Uint64(b))
}

// sampleShape is the per-sample shape of a features array of shape
// [N …]: [D] for [N D], [1 H W] for [N H W], [C H W] for [N C H W].
func sampleShape(shape []int) (nn.Shape, error) {
	switch len(shape) {
	case 2:
		return nn.Shape{shape[1]}, nil
	case 3:
		return nn.Shape{1, shape[1], shape[2]}, nil
	case 4:
		return nn.Shape{shape[1], shape[2], shape[3]}, nil
	}
	return nil, fmt.Errorf("shape %v: want (N, D) feature vectors, (N, H, W) or (N, C, H, W) images", shape)
}

// LoadNPYDir loads a directory of four .npy files: x_train.npy and
// x_test.npy (features: float32 or float64 of shape (N, D), (N, H, W) or
// (N, C, H, W); or uint8 pixels of those shapes, which are normalised as IDX
// images are) and y_train.npy and y_test.npy (integer labels of shape (N,)).
// Float features are used as stored, without normalisation. There are k
// classes, the model's (as for LoadIDXDirClasses): a label outside [0, k) is
// an error naming the file, the sample and the value.
func LoadNPYDir(dir string, k int, norm Normalization) (train, test *Dataset, err error) {
	norm, err = norm.resolve()
	if err != nil {
		return nil, nil, err
	}
	if k < 2 {
		return nil, nil, fmt.Errorf("data: %s: %d classes; need at least 2", dir, k)
	}
	name := filepath.Base(dir)
	type part struct {
		x      *NPY
		shape  nn.Shape
		labels []int
		xp, yp string
	}
	var parts [2]part
	for i, files := range [2][2]string{{NPYTrainFeatures, NPYTrainLabels}, {NPYTestFeatures, NPYTestLabels}} {
		p := &parts[i]
		p.xp, p.yp = filepath.Join(dir, files[0]), filepath.Join(dir, files[1])
		if p.x, err = ReadNPY(p.xp); err != nil {
			return nil, nil, err
		}
		if p.x.Int != nil {
			return nil, nil, fmt.Errorf("data: %s: dtype %s: features must be float32, float64 or uint8 pixels", p.xp, p.x.DType)
		}
		if p.shape, err = sampleShape(p.x.Shape); err != nil {
			return nil, nil, fmt.Errorf("data: %s: %w", p.xp, err)
		}
		y, err := ReadNPY(p.yp)
		if err != nil {
			return nil, nil, err
		}
		if len(y.Shape) != 1 {
			return nil, nil, fmt.Errorf("data: %s: shape %v: labels must be a vector (N,)", p.yp, y.Shape)
		}
		if y.Float != nil {
			return nil, nil, fmt.Errorf("data: %s: dtype %s: labels must be integers", p.yp, y.DType)
		}
		if y.Shape[0] != p.x.Shape[0] {
			return nil, nil, fmt.Errorf("data: %s has %d samples but %s has %d labels", p.xp, p.x.Shape[0], p.yp, y.Shape[0])
		}
		if y.Shape[0] == 0 {
			return nil, nil, fmt.Errorf("data: %s: no samples", p.xp)
		}
		p.labels = make([]int, y.Shape[0])
		for j := range p.labels {
			var v int64
			if y.Bytes != nil {
				v = int64(y.Bytes[j])
			} else {
				v = y.Int[j]
			}
			if v < 0 || v > math.MaxInt32 {
				return nil, nil, fmt.Errorf("data: %s: label %d of sample %d is negative or too large", p.yp, v, j)
			}
			p.labels[j] = int(v)
		}
	}
	tr, te := parts[0], parts[1]
	if !tr.shape.Equal(te.shape) {
		return nil, nil, fmt.Errorf("data: %s has samples of shape %v but %s has %v", tr.xp, tr.shape, te.xp, te.shape)
	}
	if (tr.x.Bytes == nil) != (te.x.Bytes == nil) {
		return nil, nil, fmt.Errorf("data: %s is %s but %s is %s: give both splits one dtype", tr.xp, tr.x.DType, te.xp, te.x.DType)
	}
	for _, p := range []part{tr, te} {
		for j, y := range p.labels {
			if y >= k {
				return nil, nil, fmt.Errorf("data: %s: label %d of sample %d out of range [0, %d) (the model's %d classes)", p.yp, y, j, k, k)
			}
		}
	}
	mk := func(suffix string, p part) (*Dataset, error) {
		if p.x.Bytes != nil {
			return &Dataset{Name: name + ":" + suffix, N: len(p.labels), K: k, Shape: p.shape, Labels: p.labels,
				pix: p.x.Bytes, norm: norm, lut: norm.table()}, nil
		}
		d, err := NewFeatures(name+":"+suffix, p.shape, p.x.Float, p.labels, k)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, p.xp)
		}
		return d, nil
	}
	if train, err = mk("train", tr); err != nil {
		return nil, nil, err
	}
	if test, err = mk("test", te); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
