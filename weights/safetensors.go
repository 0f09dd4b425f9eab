package weights

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/nn"
)

// MaxHeaderLen is the largest JSON header accepted (the limit of the
// reference implementation, huggingface/safetensors): a larger length field
// means a corrupt or foreign file, not a big model.
const MaxHeaderLen = 100 << 20

// metadataKey is the reserved header entry holding free-form string metadata.
const metadataKey = "__metadata__"

// dtypeSize lists the element types this package reads and their widths in
// bytes. Integer and bool tensors have no place among a classifier's
// parameters and are rejected with an error naming the key.
var dtypeSize = map[string]int{"F64": 8, "F32": 4, "F16": 2, "BF16": 2}

// Tensor is one entry of a safetensors file.
type Tensor struct {
	Name  string
	DType string // "F64", "F32", "F16" or "BF16"
	Shape []int
	// Data holds the raw little-endian bytes (a view into the file buffer).
	Data []byte
}

// Len is the number of elements of the tensor (1 for shape []).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float64s decodes the tensor's elements into float64 (exact for every
// supported dtype).
func (t *Tensor) Float64s() []float64 {
	n := t.Len()
	out := make([]float64, n)
	b := t.Data
	switch t.DType {
	case "F64":
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case "F32":
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16))
		}
	default:
		panic(fmt.Sprintf("weights: tensor %q: dtype %q passed validation", t.Name, t.DType)) // ReadSafetensors rejects it
	}
	return out
}

// halfToFloat64 decodes an IEEE 754 binary16 value.
func halfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: frac·2^-24
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// File is a decoded safetensors file.
type File struct {
	Path     string
	Metadata map[string]string // the optional "__metadata__" entry
	Tensors  map[string]*Tensor
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for k := range f.Tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// headerEntry is one tensor's description in the JSON header.
type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// ReadSafetensors reads and validates a safetensors file: an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets}, "__metadata__": {string: string}}, then the data buffer,
// which the tensors' [begin, end) offsets must tile exactly (no overlap, no
// holes), as the format requires. Only regular files are read, and the
// header length is checked against the file size before anything else is
// read, so no input makes it read without bound.
func ReadSafetensors(path string) (*File, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// readBounded reads a regular file after checking its header length field
// against its size.
func readBounded(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if m := st.Mode(); !m.IsRegular() {
		kind := "mode " + m.String()
		switch {
		case m&fs.ModeDevice != 0:
			kind = "a device"
		case m&fs.ModeNamedPipe != 0:
			kind = "a named pipe"
		case m.IsDir():
			kind = "a directory"
		}
		return nil, fmt.Errorf("not a regular file (%s): a safetensors file has a size to check its header against", kind)
	}
	size := st.Size()
	var lenField [8]byte
	if _, err := io.ReadFull(fh, lenField[:]); err != nil {
		return nil, fmt.Errorf("truncated file: %d bytes, the header length alone takes 8", size)
	}
	n := binary.LittleEndian.Uint64(lenField[:])
	if n > MaxHeaderLen {
		return nil, fmt.Errorf("header length %d exceeds the limit %d (not a safetensors file?)", n, MaxHeaderLen)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("truncated file: header length %d but only %d bytes follow the length field", n, size-8)
	}
	b := make([]byte, size)
	copy(b, lenField[:])
	if _, err := io.ReadFull(fh, b[8:]); err != nil {
		return nil, fmt.Errorf("file shrank while read (%d bytes at open): %w", size, err)
	}
	return b, nil
}

func parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("truncated file: %d bytes, the header length alone takes 8", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderLen {
		return nil, fmt.Errorf("header length %d exceeds the limit %d (not a safetensors file?)", n, MaxHeaderLen)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("truncated file: header length %d but only %d bytes follow the length field", n, len(b)-8)
	}
	header, buf := b[8:8+n], b[8+n:]

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("bad header JSON: %w", err)
	}
	if raw == nil {
		return nil, errors.New("bad header JSON: null, want an object")
	}
	f := &File{Tensors: map[string]*Tensor{}}
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &f.Metadata); err != nil {
			return nil, fmt.Errorf("bad header JSON: %s: %w (want an object of strings)", metadataKey, err)
		}
		delete(raw, metadataKey)
	}
	type span struct {
		begin, end int64
		name       string
	}
	var spans []span
	for name, msg := range raw {
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("bad header JSON: tensor %q: %w", name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F64, F32, F16 or BF16)", name, e.DType)
		}
		if e.Shape == nil {
			return nil, fmt.Errorf("bad header JSON: tensor %q has no shape", name)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > (1<<62)/int64(d)) {
				return nil, fmt.Errorf("tensor %q: invalid shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("bad header JSON: tensor %q: data_offsets %v, want [begin, end]", name, e.DataOffsets)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(buf)) {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range: the data buffer holds %d bytes (truncated file?)", name, begin, end, len(buf))
		}
		if want := count * int64(size); end-begin != want {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] span %d bytes, but %s %v needs %d", name, begin, end, end-begin, e.DType, e.Shape, want)
		}
		f.Tensors[name] = &Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: buf[begin:end]}
		spans = append(spans, span{begin, end, name})
	}
	// The spans must tile the buffer: sorted by begin, each starts where the
	// previous ended, and the last ends at the end of the file.
	slices.SortFunc(spans, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	pos := int64(0)
	for i, s := range spans {
		if s.begin < pos {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", s.name, s.begin, s.end, spans[i-1].name, pos)
		}
		if s.begin > pos {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] leave bytes [%d, %d) of the data buffer unused", s.name, s.begin, s.end, pos, s.begin)
		}
		pos = s.end
	}
	if pos != int64(len(buf)) {
		return nil, fmt.Errorf("data buffer holds %d bytes but the tensors cover only %d (trailing garbage?)", len(buf), pos)
	}
	return f, nil
}

// MismatchError reports the parameters of a file and a model that do not
// correspond: keys the model needs but the file lacks, keys the file has but
// the model does not, and keys whose shapes differ.
type MismatchError struct {
	Path    string
	Missing []string // model parameters absent from the file
	Extra   []string // file tensors that are no parameter of the model
	Shapes  []ShapeMismatch
}

// ShapeMismatch is one key whose file and model shapes differ.
type ShapeMismatch struct {
	Key              string
	File, ModelShape []int
}

func (e *MismatchError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing keys (in the model, not in the file): %s", strings.Join(e.Missing, ", ")))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, fmt.Sprintf("extra keys (in the file, not in the model): %s", strings.Join(e.Extra, ", ")))
	}
	for _, s := range e.Shapes {
		parts = append(parts, fmt.Sprintf("key %s: file shape %v, model shape %v", s.Key, s.File, s.ModelShape))
	}
	return fmt.Sprintf("weights: %s does not fit the model: %s", e.Path, strings.Join(parts, "; "))
}

// LoadSafetensors reads a PyTorch state_dict saved as safetensors and copies
// it into model's parameters, matching keys to Param.Name (package models
// documents the names; an nn.Sequential of Linear/ReLU maps key for key).
// Every parameter must be present with its exact shape and every tensor must
// be a parameter; otherwise a *MismatchError lists all the differences.
// Values are converted to T (F64 into a float32 model rounds); a NaN or ±Inf
// value is an error naming the key. The model is modified only on success.
func LoadSafetensors[T nn.Float](path string, model nn.Layer[T]) error {
	f, err := ReadSafetensors(path)
	if err != nil {
		return err
	}
	return Assign(f, model)
}

// Assign copies the tensors of f into model's parameters by name, with the
// checks of LoadSafetensors.
func Assign[T nn.Float](f *File, model nn.Layer[T]) error {
	params := model.Params()
	seen := map[string]bool{}
	mis := &MismatchError{Path: f.Path}
	for _, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("weights: the model has two parameters named %q", p.Name)
		}
		seen[p.Name] = true
		t, ok := f.Tensors[p.Name]
		if !ok {
			mis.Missing = append(mis.Missing, p.Name)
			continue
		}
		if !slices.Equal(t.Shape, p.Shape) {
			mis.Shapes = append(mis.Shapes, ShapeMismatch{Key: p.Name, File: t.Shape, ModelShape: p.Shape})
		}
	}
	for _, name := range f.Names() {
		if !seen[name] {
			mis.Extra = append(mis.Extra, name)
		}
	}
	if len(mis.Missing)+len(mis.Extra)+len(mis.Shapes) > 0 {
		return mis
	}
	values := make([][]float64, len(params))
	for i, p := range params {
		v := f.Tensors[p.Name].Float64s()
		for j, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("weights: %s: key %s: element %d is %v", f.Path, p.Name, j, x)
			}
			if math.Abs(x) > math.MaxFloat32 && isFloat32[T]() {
				return fmt.Errorf("weights: %s: key %s: element %d = %v overflows float32", f.Path, p.Name, j, x)
			}
		}
		values[i] = v
	}
	for i, p := range params {
		for j, x := range values[i] {
			p.Value[j] = T(x)
		}
	}
	return nil
}

func isFloat32[T nn.Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// SaveSafetensors atomically writes model's parameters as a safetensors file
// in Params order, with dtype F32 for float32 models and F64 for float64, the
// header padded with spaces to a multiple of 8 bytes (as huggingface's writer
// does). metadata (may be nil) becomes the "__metadata__" entry.
func SaveSafetensors[T nn.Float](path string, model nn.Layer[T], metadata map[string]string) error {
	dtype, size := "F64", 8
	if isFloat32[T]() {
		dtype, size = "F32", 4
	}
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("weights: save %s: metadata: %w", path, err)
		}
		fmt.Fprintf(&hdr, "%q:%s,", metadataKey, m)
	}
	var off int64
	seen := map[string]bool{}
	for i, p := range model.Params() {
		if seen[p.Name] || p.Name == metadataKey {
			return fmt.Errorf("weights: save %s: parameter name %q is used twice or reserved", path, p.Name)
		}
		seen[p.Name] = true
		name, err := json.Marshal(p.Name)
		if err != nil {
			return fmt.Errorf("weights: save %s: %w", path, err)
		}
		shape, _ := json.Marshal(p.Shape)
		if p.Shape == nil {
			shape = []byte("[]")
		}
		if i > 0 {
			hdr.WriteByte(',')
		}
		end := off + int64(len(p.Value)*size)
		fmt.Fprintf(&hdr, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, shape, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(hdr.Len()))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr.Bytes()); err != nil {
			return err
		}
		for _, p := range model.Params() {
			buf := make([]byte, len(p.Value)*size)
			for j, v := range p.Value {
				if size == 4 {
					binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(v)))
				} else {
					binary.LittleEndian.PutUint64(buf[8*j:], math.Float64bits(float64(v)))
				}
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}
