package data

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// npyDir holds .npy files written by numpy (testdata/npy/gen.py says how).
var npyDir = filepath.Join("testdata", "npy")

func TestReadNPYNumpyFiles(t *testing.T) {
	cases := []struct {
		file  string
		shape []int
		dtype string
		float []float64
		ints  []int64
	}{
		{"single/be_f8.npy", []int{3, 2}, ">f8", []float64{0, -0.5, 1, 0.5, 2, 1.5}, nil},
		{"single/v2_i8.npy", []int{4}, "<i8", nil, []int64{0, 1, 2, 3}},
		{"feat/x_test.npy", []int{3, 4}, "<f4", []float64{0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1.125, 1.25, 1.375}, nil},
		{"feat/y_train.npy", []int{6}, "<i8", nil, []int64{0, 1, 2, 0, 1, 2}},
		{"img/y_test.npy", []int{2}, "<i2", nil, []int64{0, 1}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			a, err := ReadNPY(filepath.Join(npyDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, c.shape) || a.DType != c.dtype {
				t.Fatalf("shape %v dtype %s, want %v %s", a.Shape, a.DType, c.shape, c.dtype)
			}
			if !slices.Equal(a.Float, c.float) || !slices.Equal(a.Int, c.ints) {
				t.Errorf("values %v %v, want %v %v", a.Float, a.Int, c.float, c.ints)
			}
		})
	}
}

func TestLoadNPYDir(t *testing.T) {
	train, test, err := LoadNPYDir(filepath.Join(npyDir, "feat"), 3, Normalization{})
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 6 || test.N != 3 || train.K != 3 || !train.Shape.Equal(nn.Shape{4}) || train.Name != "feat:train" {
		t.Fatalf("feat: train %d test %d K %d shape %v name %s", train.N, test.N, train.K, train.Shape, train.Name)
	}
	row := make([]float64, 4)
	train.Row(row, 5)
	if !slices.Equal(row, []float64{2.5, 2.625, 2.75, 2.875}) || train.Labels[5] != 2 {
		t.Errorf("feat sample 5: %v label %d; want [2.5 2.625 2.75 2.875] label 2 (float features are not normalised)", row, train.Labels[5])
	}

	// uint8 images are pixels: x/255 under ModeNone, [C H W] per sample.
	train, test, err = LoadNPYDir(filepath.Join(npyDir, "img"), 2, Normalization{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 5 || test.N != 2 || train.K != 2 || !train.Shape.Equal(nn.Shape{2, 3, 4}) {
		t.Fatalf("img: train %d test %d K %d shape %v", train.N, test.N, train.K, train.Shape)
	}
	row = make([]float64, 24)
	train.Row(row, 1)
	for j, v := range row {
		if want := float64(24+j) / 255; v != want {
			t.Fatalf("img sample 1 feature %d = %v, want %v", j, v, want)
		}
	}
	// ParseSource picks the .npy reader when x_train.npy is there, IDX otherwise.
	if src, err := ParseSource(Source{Normalize: ModeStandard, Classes: 2}, filepath.Join(npyDir, "img")); err != nil || src.Source != SourceNPY {
		t.Errorf("ParseSource of an .npy directory: %+v, %v", src, err)
	} else if d, _, err := src.Load(); err != nil || !d.Shape.Equal(nn.Shape{2, 3, 4}) {
		t.Errorf("Load of an .npy directory: %v, %v", d, err)
	}
	if src, err := ParseSource(Source{}, npyDir); err != nil || src.Source != SourceIDX {
		t.Errorf("ParseSource without x_train.npy: %+v, %v, want the IDX kind", src, err)
	}
}

// npyBytes is a version 1.0 .npy file with the given header dict and data.
func npyBytes(header string, data []byte) []byte {
	h := header + strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(h)))
	return append(append(b, h...), data...)
}

func TestReadNPYErrors(t *testing.T) {
	good := "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
	data48 := make([]byte, 48)
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"empty", nil, []string{"not an .npy file"}},
		{"bad magic", []byte("PK\x03\x04xxxxxxxxxxxxxx"), []string{"not an .npy file", `"PK\x03\x04xx"`}},
		{"version 9", append([]byte("\x93NUMPY\x09\x00"), 0, 0), []string{"format version 9.0"}},
		{"header past the end", append([]byte("\x93NUMPY\x01\x00"), 0xff, 0x00), []string{"header length 255"}},
		{"truncated data", npyBytes(good, data48[:40]), []string{"truncated", "needs 48 bytes", "holds 40"}},
		{"trailing data", npyBytes(good, append(data48, 1)), []string{"trailing data", "holds 49"}},
		{"complex dtype", npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 16)), []string{`dtype "<c8"`, "unsupported"}},
		{"object dtype", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", nil), []string{`dtype "|O"`}},
		{"fortran order", npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data48), []string{"fortran_order True"}},
		{"no shape", npyBytes("{'descr': '<f8', 'fortran_order': False}", nil), []string{"no 'shape'"}},
		{"bad shape", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", nil), []string{`"x" is not a size`}},
		{"scalar", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", make([]byte, 8)), []string{"scalar"}},
		{"huge shape", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 100000000), }", nil), []string{"announces more than"}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".npy")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadNPY(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := ReadNPY(filepath.Join(npyDir, "single", "fortran.npy")); err == nil || !strings.Contains(err.Error(), "fortran_order True") {
		t.Errorf("numpy's Fortran-ordered file: %v", err)
	}
}

func TestLoadNPYDirErrors(t *testing.T) {
	f8 := func(shape string, n int) []byte {
		return npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': "+shape+", }", make([]byte, 8*n))
	}
	i8 := func(vals ...int64) []byte {
		b := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': ("+strconv.Itoa(len(vals))+",), }", b)
	}
	base := map[string][]byte{
		NPYTrainFeatures: f8("(3, 2)", 6), NPYTrainLabels: i8(0, 1, 2),
		NPYTestFeatures: f8("(2, 2)", 4), NPYTestLabels: i8(1, 0),
	}
	cases := []struct {
		name    string
		replace map[string][]byte
		remove  string
		want    []string
	}{
		{"missing test labels", nil, NPYTestLabels, []string{NPYTestLabels}},
		{"count mismatch", map[string][]byte{NPYTrainLabels: i8(0, 1)}, "", []string{"has 3 samples", "has 2 labels"}},
		{"float labels", map[string][]byte{NPYTrainLabels: f8("(3,)", 3)}, "", []string{NPYTrainLabels, "labels must be integers"}},
		{"matrix labels", map[string][]byte{NPYTrainLabels: npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }", make([]byte, 24))},
			"", []string{NPYTrainLabels, "shape [3 1]", "labels must be a vector"}},
		{"negative label", map[string][]byte{NPYTrainLabels: i8(0, -1, 1)}, "", []string{"label -1 of sample 1"}},
		{"train label out of range", map[string][]byte{NPYTrainLabels: i8(0, 3, 1)}, "", []string{NPYTrainLabels, "label 3 of sample 1", "[0, 3)"}},
		{"test label out of range", map[string][]byte{NPYTestLabels: i8(1, 3)}, "", []string{NPYTestLabels, "label 3 of sample 1", "[0, 3)"}},
		{"integer features", map[string][]byte{NPYTrainFeatures: i8(1, 2, 3)}, "", []string{NPYTrainFeatures, "features must be float32, float64 or uint8"}},
		{"1-D features", map[string][]byte{NPYTrainFeatures: f8("(3,)", 3)}, "", []string{"want (N, D) feature vectors"}},
		{"split shapes differ", map[string][]byte{NPYTestFeatures: f8("(2, 3)", 6)}, "", []string{"shape [2]", "[3]"}},
		{"no samples", map[string][]byte{NPYTrainFeatures: f8("(0, 2)", 0), NPYTrainLabels: i8()}, "", []string{"no samples"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range base {
				if name == c.remove {
					continue
				}
				if r, ok := c.replace[name]; ok {
					b = r
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := LoadNPYDir(dir, 3, Normalization{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
