package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

// referenceDir holds the PyTorch reference case (testdata/pytorch at the
// repository root); the tests fail, not skip, when it is missing.
var referenceDir = filepath.Join("..", "testdata", "pytorch")

const referenceName = "mlp784-100-100-10_n10_seed0"

// readReferenceBin returns the named float64 arrays of the reference .bin,
// decoded with the layout its .json describes (independently of this
// package's reader).
func readReferenceBin(t *testing.T) map[string][]float64 {
	t.Helper()
	var layout struct {
		Arrays []struct {
			Name   string
			Shape  []int
			Offset int
		}
	}
	js, err := os.ReadFile(filepath.Join(referenceDir, referenceName+".json"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	if err := json.Unmarshal(js, &layout); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(referenceDir, referenceName+".bin"))
	if err != nil {
		t.Fatalf("reference case missing: %v", err)
	}
	out := map[string][]float64{}
	for _, a := range layout.Arrays {
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(bin[a.Offset+8*i:]))
		}
		out[a.Name] = v
	}
	return out
}

func buildMLP[T nn.Float](t *testing.T, hidden ...int) nn.Layer[T] {
	t.Helper()
	m, err := models.Build[T](models.Spec{Name: models.MLP, Hidden: hidden})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadReference(t *testing.T) {
	ref := readReferenceBin(t)
	path := filepath.Join(referenceDir, referenceName+".safetensors")
	want := map[string][]float64{"0.weight": ref["W1"], "0.bias": ref["b1"], "2.weight": ref["W2"],
		"2.bias": ref["b2"], "4.weight": ref["W3"], "4.bias": ref["b3"]}

	m64 := buildMLP[float64](t, 100, 100)
	if err := LoadSafetensors(path, m64); err != nil {
		t.Fatal(err)
	}
	for _, p := range m64.Params() {
		if !slices.Equal(p.Value, want[p.Name]) {
			t.Errorf("float64 %s differs from the reference .bin", p.Name)
		}
	}
	// A float32 model gets the correctly rounded values.
	m32 := buildMLP[float32](t, 100, 100)
	if err := LoadSafetensors(path, m32); err != nil {
		t.Fatal(err)
	}
	for _, p := range m32.Params() {
		for j, v := range p.Value {
			if v != float32(want[p.Name][j]) {
				t.Fatalf("float32 %s[%d] = %v, want %v", p.Name, j, v, float32(want[p.Name][j]))
			}
		}
	}
}

// randomModel builds spec and fills it with seeded PyTorch-default weights.
func randomModel[T nn.Float](t *testing.T, spec models.Spec, seed uint64) nn.Layer[T] {
	t.Helper()
	m, err := models.Build[T](spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(seed, 7))); err != nil {
		t.Fatal(err)
	}
	// Non-zero biases, so that a swapped or dropped bias shows.
	for _, p := range m.Params() {
		if p.Bias {
			for j := range p.Value {
				p.Value[j] = T(0.01 * float64(j+1))
			}
		}
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	small := nn.Shape{1, 8, 8}
	specs := []models.Spec{
		{Name: models.MLP, Hidden: []int{7, 5}, Input: nn.Shape{6}, Classes: 3},
		{Name: models.ModelC, Depth: 2, Skip: true, Input: small},
		{Name: models.ModelD, Depth: 1, Skip: true, Input: small},
		{Name: models.ResMLP, Depth: 2, Width: 6, Skip: false, Input: nn.Shape{5}},
	}
	for _, spec := range specs {
		t.Run(spec.String(), func(t *testing.T) {
			dir := t.TempDir()
			src64 := randomModel[float64](t, spec, 1)
			p64 := filepath.Join(dir, "m64.safetensors")
			if err := SaveSafetensors(p64, src64, map[string]string{"format": "pt"}); err != nil {
				t.Fatal(err)
			}
			f, err := ReadSafetensors(p64)
			if err != nil {
				t.Fatal(err)
			}
			if f.Metadata["format"] != "pt" {
				t.Errorf("metadata = %v", f.Metadata)
			}
			dst := randomModel[float64](t, spec, 2)
			if err := LoadSafetensors(p64, dst); err != nil {
				t.Fatal(err)
			}
			for i, p := range dst.Params() {
				if !slices.Equal(p.Value, src64.Params()[i].Value) {
					t.Errorf("float64 round trip changed %s", p.Name)
				}
			}

			src32 := randomModel[float32](t, spec, 3)
			p32 := filepath.Join(dir, "m32.safetensors")
			if err := SaveSafetensors(p32, src32, nil); err != nil {
				t.Fatal(err)
			}
			f, err = ReadSafetensors(p32)
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range f.Tensors {
				if tn.DType != "F32" {
					t.Errorf("%s saved as %s, want F32", tn.Name, tn.DType)
				}
			}
			dst64 := randomModel[float64](t, spec, 4)
			if err := LoadSafetensors(p32, dst64); err != nil {
				t.Fatal(err)
			}
			for i, p := range dst64.Params() {
				for j, v := range p.Value {
					if v != float64(src32.Params()[i].Value[j]) {
						t.Fatalf("F32 → float64 %s[%d] = %v, want %v", p.Name, j, v, src32.Params()[i].Value[j])
					}
				}
			}
		})
	}
}

// entry describes one tensor of a hand-made file.
type entry struct {
	name, dtype string
	shape       []int
	offsets     []int64
}

// writeRaw writes a safetensors file with the given header JSON and data
// bytes; headerLen overrides the length field when ≥ 0.
func writeRaw(t *testing.T, header string, data []byte, headerLen int64) string {
	t.Helper()
	var b bytes.Buffer
	n := uint64(len(header))
	if headerLen >= 0 {
		n = uint64(headerLen)
	}
	binary.Write(&b, binary.LittleEndian, n)
	b.WriteString(header)
	b.Write(data)
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func headerOf(es []entry) string {
	var parts []string
	for _, e := range es {
		s, _ := json.Marshal(e.shape)
		o, _ := json.Marshal(e.offsets)
		parts = append(parts, fmt.Sprintf(`%q:{"dtype":%q,"shape":%s,"data_offsets":%s}`, e.name, e.dtype, s, o))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// linearEntries is a valid F64 header for mlp with Input [2], Classes 2, no
// hidden layer: 0.weight [2 2], 0.bias [2]; 48 data bytes.
func linearEntries() []entry {
	return []entry{
		{"0.weight", "F64", []int{2, 2}, []int64{0, 32}},
		{"0.bias", "F64", []int{2}, []int64{32, 48}},
	}
}

func f64bytes(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func TestLoadValidHandMade(t *testing.T) {
	m := buildLinear(t)
	path := writeRaw(t, headerOf(linearEntries()), f64bytes(1, 2, 3, 4, 5, 6), -1)
	if err := LoadSafetensors(path, m); err != nil {
		t.Fatal(err)
	}
	w, b := m.Params()[0].Value, m.Params()[1].Value
	if !slices.Equal(w, []float64{1, 2, 3, 4}) || !slices.Equal(b, []float64{5, 6}) {
		t.Errorf("weight %v bias %v", w, b)
	}
}

func buildLinear(t *testing.T) nn.Layer[float64] {
	t.Helper()
	m, err := models.Build[float64](models.Spec{Name: models.MLP, Input: nn.Shape{2}, Classes: 2})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBadFiles(t *testing.T) {
	data := f64bytes(1, 2, 3, 4, 5, 6)
	with := func(f func(es []entry) []entry) string { return headerOf(f(linearEntries())) }
	cases := []struct {
		name      string
		header    string
		data      []byte
		headerLen int64
		want      []string // substrings of the error
	}{
		{"empty file", "", nil, -2, []string{"truncated file", "0 bytes"}},
		{"header length beyond file", headerOf(linearEntries()), data, 10000, []string{"truncated file", "header length 10000"}},
		{"huge header length", "{}", nil, MaxHeaderLen + 1, []string{"exceeds the limit"}},
		{"bad JSON", `{"0.weight": [`, nil, -1, []string{"bad header JSON"}},
		{"JSON not an object", `[1,2]`, nil, -1, []string{"bad header JSON"}},
		{"unknown entry field", `{"0.weight":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32],"stride":[1]}}`, data[:32], -1,
			[]string{`tensor "0.weight"`, "stride"}},
		{"bad metadata", `{"__metadata__":{"a":1}}`, nil, -1, []string{"__metadata__"}},
		{"unsupported dtype", with(func(es []entry) []entry { es[1].dtype = "I64"; return es }), data, -1,
			[]string{`tensor "0.bias"`, `unsupported dtype "I64"`}},
		{"offsets beyond buffer (truncated data)", headerOf(linearEntries()), data[:40], -1,
			[]string{`tensor "0.bias"`, "out of range", "40 bytes", "truncated"}},
		{"offsets size mismatch", with(func(es []entry) []entry { es[1].offsets = []int64{32, 40}; return es }), data[:40], -1,
			[]string{`tensor "0.bias"`, "span 8 bytes", "needs 16"}},
		{"offsets not a pair", with(func(es []entry) []entry { es[1].offsets = []int64{32}; return es }), data, -1,
			[]string{`tensor "0.bias"`, "data_offsets"}},
		{"negative shape", with(func(es []entry) []entry { es[1].shape = []int{-2}; return es }), data, -1,
			[]string{`tensor "0.bias"`, "invalid shape"}},
		{"overlap", with(func(es []entry) []entry { es[1].offsets = []int64{16, 32}; return es }), data[:32], -1,
			[]string{"overlap"}},
		{"hole", with(func(es []entry) []entry { es[1].offsets = []int64{40, 56}; return es }), append(f64bytes(0), data...), -1,
			[]string{"unused"}},
		{"trailing bytes", headerOf(linearEntries()), append(data, 0, 0), -1, []string{"trailing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var path string
			if c.headerLen == -2 {
				path = filepath.Join(t.TempDir(), "empty.safetensors")
				os.WriteFile(path, nil, 0o644)
			} else {
				path = writeRaw(t, c.header, c.data, c.headerLen)
			}
			m := buildLinear(t)
			err := LoadSafetensors(path, m)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, p := range m.Params() {
				for _, v := range p.Value {
					if v != 0 {
						t.Fatalf("a failed load modified %s", p.Name)
					}
				}
			}
		})
	}
}

func TestMismatch(t *testing.T) {
	ref := filepath.Join(referenceDir, referenceName+".safetensors")
	cases := []struct {
		name    string
		hidden  []int
		missing []string
		extra   []string
		shapes  []ShapeMismatch
	}{
		{"one hidden layer fewer", []int{100}, nil, []string{"4.bias", "4.weight"},
			[]ShapeMismatch{{"2.weight", []int{100, 100}, []int{10, 100}}, {"2.bias", []int{100}, []int{10}}}},
		{"one hidden layer more", []int{100, 100, 100}, []string{"6.weight", "6.bias"}, nil,
			[]ShapeMismatch{{"4.weight", []int{10, 100}, []int{100, 100}}, {"4.bias", []int{10}, []int{100}}}},
		{"other width", []int{100, 50}, nil, nil,
			[]ShapeMismatch{{"2.weight", []int{100, 100}, []int{50, 100}}, {"2.bias", []int{100}, []int{50}}, {"4.weight", []int{10, 100}, []int{10, 50}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := buildMLP[float64](t, c.hidden...)
			err := LoadSafetensors(ref, m)
			var mis *MismatchError
			if !errors.As(err, &mis) {
				t.Fatalf("error %v, want a *MismatchError", err)
			}
			if !slices.Equal(mis.Missing, c.missing) || !slices.Equal(mis.Extra, c.extra) {
				t.Errorf("missing %v extra %v, want %v %v", mis.Missing, mis.Extra, c.missing, c.extra)
			}
			if len(mis.Shapes) != len(c.shapes) {
				t.Fatalf("shape mismatches %v, want %v", mis.Shapes, c.shapes)
			}
			for i, s := range mis.Shapes {
				w := c.shapes[i]
				if s.Key != w.Key || !slices.Equal(s.File, w.File) || !slices.Equal(s.ModelShape, w.ModelShape) {
					t.Errorf("shape mismatch %d = %+v, want %+v", i, s, w)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("key %s: file shape %v, model shape %v", w.Key, w.File, w.ModelShape)) {
					t.Errorf("error %q does not describe %s", err, w.Key)
				}
			}
			for _, k := range append(c.missing, c.extra...) {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
		})
	}
}

func TestNonFiniteValue(t *testing.T) {
	path := writeRaw(t, headerOf(linearEntries()), f64bytes(1, 2, math.NaN(), 4, 5, 6), -1)
	err := LoadSafetensors(path, buildLinear(t))
	if err == nil || !strings.Contains(err.Error(), "key 0.weight: element 2 is NaN") {
		t.Errorf("error %v, want one naming 0.weight element 2", err)
	}
	m32, err := models.Build[float32](models.Spec{Name: models.MLP, Input: nn.Shape{2}, Classes: 2})
	if err != nil {
		t.Fatal(err)
	}
	path = writeRaw(t, headerOf(linearEntries()), f64bytes(1, 2, 3, 4, 5, 1e300), -1)
	if err := LoadSafetensors(path, m32); err == nil || !strings.Contains(err.Error(), "overflows float32") {
		t.Errorf("error %v, want an overflow naming 0.bias", err)
	}
}

// TestHalfPrecision checks F16 and BF16 decoding against hand-encoded values.
func TestHalfPrecision(t *testing.T) {
	cases := []struct {
		dtype string
		bits  []uint16
		want  []float64
	}{
		// binary16: 1.0 = 0x3c00, −2.5 = 0xc100, 2^-24 (smallest subnormal) = 0x0001, 65504 = 0x7bff.
		{"F16", []uint16{0x3c00, 0xc100, 0x0001, 0x7bff, 0x0000, 0x3555, 0x8000, 0x0400}, []float64{1, -2.5, 0x1p-24, 65504, 0, 0.333251953125, 0, 0x1p-14}},
		// bfloat16 is the top half of a float32: 1.0 = 0x3f80, −2.5 = 0xc020, 3.140625 = 0x4049.
		{"BF16", []uint16{0x3f80, 0xc020, 0x4049, 0x0000, 0x3eaa, 0x4780, 0x0080, 0xbf80}, []float64{1, -2.5, 3.140625, 0, 0.33203125, 65536, 0x1p-126, -1}},
	}
	for _, c := range cases {
		t.Run(c.dtype, func(t *testing.T) {
			data := make([]byte, 2*len(c.bits))
			for i, b := range c.bits {
				binary.LittleEndian.PutUint16(data[2*i:], b)
			}
			hdr := headerOf([]entry{{"x", c.dtype, []int{2, 4}, []int64{0, int64(len(data))}}})
			f, err := ReadSafetensors(writeRaw(t, hdr, data, -1))
			if err != nil {
				t.Fatal(err)
			}
			got := f.Tensors["x"].Float64s()
			if !slices.Equal(got, c.want) {
				t.Errorf("%s decoded %v, want %v", c.dtype, got, c.want)
			}
		})
	}
}
