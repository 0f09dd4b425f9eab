package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/nn"
)

// SyntheticConfig describes a Gaussian mixture classification problem: one
// mean per class drawn from N(0, Separation²/Dim · I) (so ‖mean‖ ≈
// Separation), and samples mean_y + Noise · N(0, I).
type SyntheticConfig struct {
	NTrain, NTest int // samples in each split, ≥ 1
	Dim           int // features per sample, ≥ 1
	Classes       int // ≥ 2
	Separation    float64
	Noise         float64
}

func (c SyntheticConfig) validate() error {
	for _, f := range []struct {
		name  string
		v, lo int
	}{{"NTrain", c.NTrain, 1}, {"NTest", c.NTest, 1}, {"Dim", c.Dim, 1}, {"Classes", c.Classes, 2}} {
		if f.v < f.lo {
			return fmt.Errorf("data: synthetic config: %s = %d, must be ≥ %d", f.name, f.v, f.lo)
		}
	}
	if math.IsNaN(c.Separation) || math.IsInf(c.Separation, 0) || c.Separation <= 0 {
		return fmt.Errorf("data: synthetic config: Separation = %v, must be positive and finite", c.Separation)
	}
	if math.IsNaN(c.Noise) || math.IsInf(c.Noise, 0) || c.Noise < 0 {
		return fmt.Errorf("data: synthetic config: Noise = %v, must be non-negative and finite", c.Noise)
	}
	return nil
}

// Synthetic draws a Gaussian mixture train and test set from rng (the class
// means first, then the training split, then the test split, so a seed fixes
// everything). Each split has balanced classes (sample i of the unshuffled
// split has class i mod Classes) in a random order. The datasets are named
// "synthetic:train" and "synthetic:test" and have shape [Dim].
func Synthetic(c SyntheticConfig, rng *rand.Rand) (train, test *Dataset, err error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	means := make([]float64, c.Classes*c.Dim)
	scale := c.Separation / math.Sqrt(float64(c.Dim))
	for i := range means {
		means[i] = scale * rng.NormFloat64()
	}
	split := func(name string, n int) (*Dataset, error) {
		labels := make([]int, n)
		for i, p := range Permutation(n, rng) {
			labels[i] = p % c.Classes
		}
		feat := make([]float64, n*c.Dim)
		for i, y := range labels {
			mu := means[y*c.Dim : (y+1)*c.Dim]
			x := feat[i*c.Dim : (i+1)*c.Dim]
			for j := range x {
				x[j] = mu[j] + c.Noise*rng.NormFloat64()
			}
		}
		return NewFeatures(name, nn.Shape{c.Dim}, feat, labels, c.Classes)
	}
	if train, err = split("synthetic:train", c.NTrain); err != nil {
		return nil, nil, err
	}
	if test, err = split("synthetic:test", c.NTest); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
