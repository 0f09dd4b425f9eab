package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/nn"
)

// loadFixture loads the embedded fixture with the given normalisation.
func loadFixture(t *testing.T, norm Normalization) (train, test *Dataset) {
	t.Helper()
	train, test, err := LoadFixture(norm)
	if err != nil {
		t.Fatal(err)
	}
	return train, test
}

func TestFixtureShape(t *testing.T) {
	train, test := loadFixture(t, Normalization{})
	if train.N != 500 || test.N != 200 || train.K != 10 || test.K != 10 {
		t.Fatalf("fixture: train N %d K %d, test N %d K %d; want 500/200 samples, 10 classes", train.N, train.K, test.N, test.K)
	}
	if !train.Shape.Equal(nn.Shape{1, 28, 28}) || train.Dim() != 784 {
		t.Fatalf("fixture shape %v", train.Shape)
	}
	if train.Normalization() != StandardMNIST {
		t.Fatalf("zero Normalization resolved to %v, want %v", train.Normalization(), StandardMNIST)
	}
	if train.Name != "mnist-fixture:train" || test.Name != "mnist-fixture:test" {
		t.Fatalf("names %q %q", train.Name, test.Name)
	}
	// The first ten MNIST training labels (LeCun's file, in order).
	if want := []int{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}; !slices.Equal(train.Labels[:10], want) {
		t.Fatalf("first training labels %v, want %v", train.Labels[:10], want)
	}
}

// TestNormalizations checks Row against the formulas of THEORY §5 applied by
// hand to the ModeNone features, and WithNormalization's errors.
func TestNormalizations(t *testing.T) {
	none, _ := loadFixture(t, Normalization{Mode: ModeNone})
	custom := Normalization{Mode: ModeStandard, Mean: 0.5, Std: 0.25}
	std, err := none.WithNormalization(custom)
	if err != nil {
		t.Fatal(err)
	}
	// (x − m)/s computed two ways may differ in the last bit.
	const tol = 1e-15
	a, b := make([]float64, 784), make([]float64, 784)
	for _, i := range []int{0, 7, 499} {
		none.Row(a, i)
		std.Row(b, i)
		for j := range a {
			if r := math.Round(a[j] * 255); r < 0 || r > 255 || math.Abs(a[j]*255-r) > 1e-12 {
				t.Fatalf("sample %d feature %d: x/255 = %v is not a byte over 255", i, j, a[j])
			}
			if want := (a[j] - 0.5) / 0.25; math.Abs(b[j]-want) > tol*math.Max(1, math.Abs(want)) {
				t.Fatalf("sample %d feature %d: standard %v, want %v", i, j, b[j], want)
			}
		}
	}
	if none.Normalization().Mode != ModeNone {
		t.Errorf("WithNormalization changed its receiver")
	}
	syn, _, err := Synthetic(SyntheticConfig{NTrain: 4, NTest: 2, Dim: 3, Classes: 2, Separation: 1, Noise: 1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d    *Dataset
		n    Normalization
		want string
	}{
		{none, Normalization{Mode: ModeStandard, Mean: 0.1, Std: 0}, "std 0"},
		{none, Normalization{Mode: ModeStandard, Mean: 0.1, Std: -1}, "std -1"},
		{none, Normalization{Mode: ModeStandard, Mean: math.NaN(), Std: 1}, "mean NaN"},
		{none, Normalization{Mode: ModeStandard, Mean: 0, Std: math.Inf(1)}, "std +Inf"},
		{none, Normalization{Mode: "zscore"}, `unknown normalization mode "zscore"`},
		{none, Normalization{Mean: 0.2, Std: 0.3}, "mode is empty"},
		{syn, StandardMNIST, "float features"},
	} {
		_, err := c.d.WithNormalization(c.n)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.d.Name) {
			t.Errorf("%v on %s: error %v, want mention of %q and the dataset", c.n, c.d.Name, err, c.want)
		}
	}
}

func TestGatherFloat32MatchesFloat64(t *testing.T) {
	train, _ := loadFixture(t, Normalization{})
	idx := []int{3, 499, 0, 3, 250}
	none, err := train.WithNormalization(Normalization{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	odd, err := train.WithNormalization(Normalization{Mode: ModeStandard, Mean: 0.3, Std: 0.07})
	if err != nil {
		t.Fatal(err)
	}
	// Every normalisation and a subset (stored rows reached through an
	// index) give exactly Row's values, rounded once for float32.
	rev := make([]int, train.N)
	for i := range rev {
		rev[i] = train.N - 1 - i
	}
	for _, d := range []*Dataset{train, none, odd, odd.Subset(rev)} {
		m64 := Gather[float64](d, idx, nil)
		m32 := Gather[float32](d, idx, nil)
		if m64.Rows != 5 || m64.Cols != 784 || m32.Rows != 5 || m32.Cols != 784 {
			t.Fatalf("shapes %d×%d and %d×%d", m64.Rows, m64.Cols, m32.Rows, m32.Cols)
		}
		row := make([]float64, 784)
		for r, i := range idx {
			d.Row(row, i)
			for j := range row {
				if m64.At(r, j) != row[j] {
					t.Fatalf("%s %v: float64 row %d col %d = %v, Row gives %v", d.Name, d.Normalization(), r, j, m64.At(r, j), row[j])
				}
				if m32.At(r, j) != float32(row[j]) {
					t.Fatalf("%s %v: float32 row %d col %d = %v, want float32(%v)", d.Name, d.Normalization(), r, j, m32.At(r, j), row[j])
				}
			}
		}
	}
	m32 := Gather[float32](train, idx, nil)
	// A destination with enough capacity is reused, a short one reallocated.
	big := nn.NewMat[float32](10, 784)
	p := &big.Data[0]
	if got := Gather(train, idx[:2], big); got != big || &got.Data[0] != p || got.Rows != 2 || len(got.Data) != 2*784 {
		t.Fatalf("Gather did not reuse a large enough destination")
	}
	small := nn.NewMat[float32](1, 784)
	if got := Gather(train, idx, small); got.Rows != 5 || len(got.Data) != 5*784 || got.At(4, 300) != m32.At(4, 300) {
		t.Fatalf("Gather into a short destination: %d rows", got.Rows)
	}
}

func TestSubsetAndFirst(t *testing.T) {
	train, _ := loadFixture(t, Normalization{})
	s := train.Subset([]int{3, 1, 4, 1})
	s2 := s.Subset([]int{2, 0, 3})
	want := []int{4, 3, 1} // indices into train
	if s2.N != 3 || s2.K != train.K || !s2.Shape.Equal(train.Shape) {
		t.Fatalf("subset of subset: N %d K %d shape %v", s2.N, s2.K, s2.Shape)
	}
	a, b := make([]float64, 784), make([]float64, 784)
	for j, i := range want {
		if s2.Labels[j] != train.Labels[i] {
			t.Errorf("label %d = %d, want train label %d = %d", j, s2.Labels[j], i, train.Labels[i])
		}
		s2.Row(a, j)
		train.Row(b, i)
		if !slices.Equal(a, b) {
			t.Errorf("row %d differs from train row %d", j, i)
		}
	}
	f, err := train.First(20)
	if err != nil {
		t.Fatal(err)
	}
	if f.N != 20 || !slices.Equal(f.Labels, train.Labels[:20]) {
		t.Fatalf("First(20): N %d labels %v", f.N, f.Labels)
	}
	// Subsets keep the normalisation and share storage with their parent.
	g, err := f.WithNormalization(Normalization{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	if &g.pix[0] != &train.pix[0] {
		t.Errorf("subset copied the pixels")
	}
	for _, n := range []int{0, -1, 501} {
		_, err := train.First(n)
		if err == nil {
			t.Errorf("First(%d) of 500: no error", n)
			continue
		}
		for _, w := range []string{train.Name, "500", " " + strconv.Itoa(n) + " "} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("First(%d): error %q does not mention %q", n, err, w)
			}
		}
	}
	if _, err := f.First(21); err == nil || !strings.Contains(err.Error(), "21") || !strings.Contains(err.Error(), "20") {
		t.Errorf("First(21) of a 20-sample subset: error %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Subset with an index out of range did not panic")
		}
	}()
	f.Subset([]int{20})
}

func TestClassCounts(t *testing.T) {
	train, _ := loadFixture(t, Normalization{})
	c := train.ClassCounts()
	brute := make([]int, 10)
	for i := range train.N {
		brute[train.Labels[i]]++
	}
	if !slices.Equal(c, brute) {
		t.Fatalf("ClassCounts %v, brute force %v", c, brute)
	}
}

func TestNewFeaturesErrors(t *testing.T) {
	feat := []float64{1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		name   string
		shape  nn.Shape
		feat   []float64
		labels []int
		k      int
		want   string
	}{
		{"nan", nn.Shape{3}, []float64{1, 2, 3, 4, math.NaN(), 6}, []int{0, 1}, 2, "sample 1 feature 1 is NaN"},
		{"inf", nn.Shape{3}, []float64{math.Inf(-1), 2, 3, 4, 5, 6}, []int{0, 1}, 2, "sample 0 feature 0 is -Inf"},
		{"label range", nn.Shape{3}, feat, []int{0, 2}, 2, "label 2 of sample 1 out of range [0, 2)"},
		{"negative label", nn.Shape{3}, feat, []int{-1, 0}, 2, "label -1 of sample 0"},
		{"one class", nn.Shape{3}, feat, []int{0, 0}, 1, "1 classes; need at least 2"},
		{"length", nn.Shape{4}, feat, []int{0, 1}, 2, "6 features for 2 samples"},
		{"shape", nn.Shape{0, 3}, feat, []int{0, 1}, 2, "invalid per-sample shape"},
	} {
		_, err := NewFeatures("toy", c.shape, c.feat, c.labels, c.k)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "toy") {
			t.Errorf("%s: error %v, want mention of %q", c.name, err, c.want)
		}
	}
	d, err := NewFeatures("toy", nn.Shape{3}, feat, []int{0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float64, 3)
	d.Row(row, 1)
	if !slices.Equal(row, feat[3:]) {
		t.Fatalf("Row(1) = %v, want %v", row, feat[3:])
	}
}

func TestPermutation(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		p := Permutation(n, rand.New(rand.NewPCG(42, 7)))
		q := Permutation(n, rand.New(rand.NewPCG(42, 7)))
		if !slices.Equal(p, q) {
			t.Fatalf("n=%d: same seed gave different permutations", n)
		}
		sorted := slices.Sorted(slices.Values(p))
		for i, v := range sorted {
			if v != i {
				t.Fatalf("n=%d: %v is not a permutation", n, p)
			}
		}
	}
	if slices.Equal(Permutation(1000, rand.New(rand.NewPCG(1, 1))), Permutation(1000, rand.New(rand.NewPCG(2, 1)))) {
		t.Fatalf("different seeds gave the same permutation of 1000")
	}
	// Uniformity: each of the 6 permutations of 3 should appear 1/6 of the time.
	const draws = 60000
	rng := rand.New(rand.NewPCG(3, 4))
	count := map[[3]int]int{}
	for range draws {
		p := Permutation(3, rng)
		count[[3]int(p)]++
	}
	if len(count) != 6 {
		t.Fatalf("saw %d distinct permutations of 3, want 6", len(count))
	}
	// Binomial standard deviation sqrt(n p (1−p)) ≈ 91; allow 5 of them.
	const slack = 5 * 91.3
	for p, c := range count {
		if math.Abs(float64(c)-draws/6.0) > slack {
			t.Errorf("permutation %v drawn %d times, expected %d ± %.0f", p, c, draws/6, slack)
		}
	}
}

// TestGatherLargeBatch checks a float32 batch large enough to be shared by
// two goroutines (gatherSplit values; an odd row count, so the halves
// differ) against Row, row by row: with the team's worker parked (the
// caller converts it alone) and right after a fork-join of the team (its
// spinning worker takes the second half).
func TestGatherLargeBatch(t *testing.T) {
	train, _ := loadFixture(t, Normalization{})
	rng := rand.New(rand.NewPCG(3, 9))
	idx := make([]int, gatherSplit/784+7)
	for i := range idx {
		idx[i] = rng.IntN(train.N)
	}
	row := make([]float64, 784)
	for _, awake := range []bool{false, true} {
		if awake {
			parallel.Team(2, func(int) {})
		}
		m := Gather[float32](train, idx, nil)
		for r, i := range idx {
			train.Row(row, i)
			for j := range row {
				if m.At(r, j) != float32(row[j]) {
					t.Fatalf("team awake %v: row %d (sample %d) col %d = %v, want float32(%v)", awake, r, i, j, m.At(r, j), row[j])
				}
			}
		}
	}
}
