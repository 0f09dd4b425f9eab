package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

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
	return c.CheckMemory()
}

// Bytes is the memory Synthetic allocates: 8 bytes per feature of every
// sample and class mean, and 16 per sample for its label and its shuffle
// (as float64 to stay exact past int64).
func (c SyntheticConfig) Bytes() float64 {
	n, d := float64(c.NTrain)+float64(c.NTest), float64(c.Dim)
	return 8*d*(n+float64(c.Classes)) + 16*n
}

// MemoryError is returned by SyntheticConfig.CheckMemory for data that
// cannot fit: Need and Available bytes, the source of the latter (From),
// and the largest NTrain and Dim that would fit with the other fields
// unchanged (0: none does).
type MemoryError struct {
	Config          SyntheticConfig
	Need, Available int64
	From            string
	MaxNTrain       int
	MaxDim          int
}

func (e *MemoryError) Error() string {
	c := e.Config
	return fmt.Sprintf("data: synthetic config: NTrain %d, NTest %d, Dim %d need %d bytes (%s), more than the %d bytes (%s) available (%s); %s",
		c.NTrain, c.NTest, c.Dim, e.Need, Bytes(e.Need), e.Available, Bytes(e.Available), e.From, e.Fits("NTrain", "Dim"))
}

// Fits says which values would fit, with the names given to NTrain and Dim
// (a command line passes its flag names).
func (e *MemoryError) Fits(nTrain, dim string) string {
	var parts []string
	if e.MaxNTrain >= 1 {
		parts = append(parts, fmt.Sprintf("%s ≤ %d", nTrain, e.MaxNTrain))
	}
	if e.MaxDim >= 1 {
		parts = append(parts, fmt.Sprintf("%s ≤ %d", dim, e.MaxDim))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("no %s or %s alone fits: reduce both", nTrain, dim)
	}
	return strings.Join(parts, " or ") + " would fit (the data alone; training needs more)"
}

// CheckMemory returns a *MemoryError when the data c describes would not
// fit in the memory available (see AvailableMemory), before any of it is
// allocated.
func (c SyntheticConfig) CheckMemory() error {
	avail, from := availableMemory()
	need := c.Bytes()
	if avail <= 0 || need <= float64(avail) {
		return nil
	}
	a, d, k := float64(avail), float64(c.Dim), float64(c.Classes)
	n := float64(c.NTrain) + float64(c.NTest)
	maxN := math.Floor((a-8*d*k)/(8*d+16)) - float64(c.NTest)
	maxD := math.Floor((a - 16*n) / (8 * (n + k)))
	return &MemoryError{Config: c, Need: int64(math.Min(need, math.MaxInt64)), Available: avail, From: from,
		MaxNTrain: int(math.Max(maxN, 0)), MaxDim: int(math.Max(maxD, 0))}
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
