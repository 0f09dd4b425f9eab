package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// features returns all rows of d as one slice.
func features(d *Dataset) []float64 {
	all := make([]float64, 0, d.N*d.Dim())
	row := make([]float64, d.Dim())
	for i := range d.N {
		d.Row(row, i)
		all = append(all, row...)
	}
	return all
}

func TestSyntheticDeterministic(t *testing.T) {
	c := SyntheticConfig{NTrain: 30, NTest: 10, Dim: 5, Classes: 3, Separation: 2, Noise: 0.5}
	a, at, err := Synthetic(c, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	b, bt, _ := Synthetic(c, rand.New(rand.NewPCG(9, 9)))
	if !slices.Equal(features(a), features(b)) || !slices.Equal(a.Labels, b.Labels) ||
		!slices.Equal(features(at), features(bt)) || !slices.Equal(at.Labels, bt.Labels) {
		t.Fatalf("same seed gave different data")
	}
	o, _, _ := Synthetic(c, rand.New(rand.NewPCG(10, 9)))
	if slices.Equal(features(a), features(o)) {
		t.Fatalf("different seeds gave the same data")
	}
	if !a.Shape.Equal(nn.Shape{5}) || a.K != 3 || a.N != 30 || at.N != 10 {
		t.Fatalf("shape %v K %d N %d/%d", a.Shape, a.K, a.N, at.N)
	}
	if got := a.ClassCounts(); !slices.Equal(got, []int{10, 10, 10}) {
		t.Fatalf("class counts %v, want balanced", got)
	}
}

// TestSyntheticStatistics checks the mixture's moments on a large draw:
// within-class variance Noise², the same class means in train and test, and
// mean norms² ≈ Separation².
func TestSyntheticStatistics(t *testing.T) {
	const (
		dim, classes = 50, 4
		sep, noise   = 3.0, 0.7
		nTrain       = 8000
		nTest        = 8000
	)
	train, test, err := Synthetic(SyntheticConfig{NTrain: nTrain, NTest: nTest, Dim: dim, Classes: classes, Separation: sep, Noise: noise},
		rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	classMeans := func(d *Dataset) (means []float64, within float64) {
		means = make([]float64, classes*dim)
		counts := d.ClassCounts()
		x := features(d)
		for i, y := range d.Labels {
			for j := range dim {
				means[y*dim+j] += x[i*dim+j] / float64(counts[y])
			}
		}
		for i, y := range d.Labels {
			for j := range dim {
				r := x[i*dim+j] - means[y*dim+j]
				within += r * r
			}
		}
		return means, within / float64(d.N*dim)
	}
	mTrain, vTrain := classMeans(train)
	mTest, vTest := classMeans(test)
	// Variance estimate over 400000 values: relative sd ≈ sqrt(2/400000) ≈ 0.002.
	const varTol = 0.02
	for _, v := range []float64{vTrain, vTest} {
		if math.Abs(v/(noise*noise)-1) > varTol {
			t.Errorf("within-class variance %v, want %v", v, noise*noise)
		}
	}
	// Each class mean coordinate is estimated from 2000 samples:
	// sd noise/sqrt(2000) ≈ 0.016 per split; allow 6 sd of the difference.
	meanTol := 6 * noise * math.Sqrt(2.0/(nTrain/classes))
	for j := range mTrain {
		if math.Abs(mTrain[j]-mTest[j]) > meanTol {
			t.Fatalf("class mean coordinate %d: train %v, test %v", j, mTrain[j], mTest[j])
		}
	}
	// ‖μ_k‖² ~ Separation² · χ²_dim/dim: relative sd sqrt(2/dim) = 0.2 per
	// class; the average over 4 classes has relative sd 0.1, allow 4 of them.
	norm2 := 0.0
	for _, v := range mTrain {
		norm2 += v * v
	}
	norm2 /= classes
	if math.Abs(norm2/(sep*sep)-1) > 0.4 {
		t.Errorf("mean squared norm of class means %v, want ≈ %v", norm2, sep*sep)
	}
}

func TestSyntheticConfigErrors(t *testing.T) {
	ok := SyntheticConfig{NTrain: 10, NTest: 5, Dim: 3, Classes: 2, Separation: 1, Noise: 1}
	for _, c := range []struct {
		mutate func(*SyntheticConfig)
		want   string
	}{
		{func(c *SyntheticConfig) { c.NTrain = 0 }, "NTrain = 0"},
		{func(c *SyntheticConfig) { c.NTest = -1 }, "NTest = -1"},
		{func(c *SyntheticConfig) { c.Dim = 0 }, "Dim = 0"},
		{func(c *SyntheticConfig) { c.Classes = 1 }, "Classes = 1, must be ≥ 2"},
		{func(c *SyntheticConfig) { c.Separation = math.NaN() }, "Separation = NaN"},
		{func(c *SyntheticConfig) { c.Separation = 0 }, "Separation = 0"},
		{func(c *SyntheticConfig) { c.Noise = math.Inf(1) }, "Noise = +Inf"},
		{func(c *SyntheticConfig) { c.Noise = -0.1 }, "Noise = -0.1"},
		// Finite parameters whose samples overflow to ±Inf.
		{func(c *SyntheticConfig) { c.Separation, c.Noise, c.NTrain = math.MaxFloat64, math.MaxFloat64, 100 }, "Inf"},
	} {
		cfg := ok
		c.mutate(&cfg)
		_, _, err := Synthetic(cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want mention of %q", cfg, err, c.want)
		}
	}
}
