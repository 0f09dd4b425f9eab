package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Source kinds: where a run's samples come from.
const (
	SourceMNIST     = "mnist"     // the copy shipped with the GoMNIST module (LoadMNIST)
	SourceIDX       = "idx"       // the four MNIST-format files in Source.Dir (LoadIDXDir)
	SourceFixture   = "fixture"   // the small embedded MNIST subset (LoadFixture)
	SourceSynthetic = "synthetic" // a Gaussian mixture (Synthetic)
	SourceNPY       = "npy"       // the four .npy files in Source.Dir (LoadNPYDir)
)

// SourceKinds lists the accepted Source.Source values.
func SourceKinds() []string {
	return []string{SourceMNIST, SourceIDX, SourceFixture, SourceSynthetic, SourceNPY}
}

// syntheticStream separates the synthetic-data RNG stream from a training
// stream seeded with the same number, so the two never share draws.
const syntheticStream = 0x5d1a7e

// Source says where the samples come from; it is the "data" object of a
// run's config.json, parsed once (ParseSource) and loaded by train, probe
// and reproduce alike (Load).
type Source struct {
	// Source is one of SourceKinds.
	Source    string `json:"source"`
	Dir       string `json:"dir,omitempty"`
	Normalize string `json:"normalize"` // ModeStandard or ModeNone
	// NTrain and NTest keep only the first n samples of each split (0 = all).
	NTrain int `json:"n_train"`
	NTest  int `json:"n_test"`
	// Classes is the number of classes of MNIST-format sources (0 means
	// MNISTClasses): a model property, so a label outside it is an error
	// rather than a wider model. Synthetic data use Synthetic.Classes.
	Classes int `json:"classes,omitempty"`
	// Synthetic configures SourceSynthetic; its samples are drawn from an
	// RNG seeded with Seed, independent of the run seed, so a seed sweep
	// varies the initialisation and the shuffles but not the data.
	Synthetic SyntheticConfig `json:"synthetic"`
	Seed      uint64          `json:"seed"`
}

// ParseSource reads a --data argument: mnist, fixture, synthetic, a
// directory of .npy files (one holding x_train.npy) or a directory of
// MNIST-format IDX files, into s (other fields kept).
func ParseSource(s Source, arg string) (Source, error) {
	switch arg {
	case SourceMNIST, SourceFixture, SourceSynthetic:
		s.Source, s.Dir = arg, ""
		return s, nil
	}
	st, err := os.Stat(arg)
	if err != nil || !st.IsDir() {
		return Source{}, fmt.Errorf("--data %q: not mnist, fixture, synthetic or a directory of IDX files (or of .npy files: x_train.npy, y_train.npy, x_test.npy, y_test.npy)", arg)
	}
	s.Source, s.Dir = SourceIDX, arg
	if st, err := os.Stat(filepath.Join(arg, NPYTrainFeatures)); err == nil && !st.IsDir() {
		s.Source = SourceNPY
	}
	return s, nil
}

// Load loads the train and test splits s names and keeps the first
// NTrain/NTest samples when those are set.
func (s Source) Load() (train, test *Dataset, err error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	norm := StandardMNIST
	if s.Normalize == ModeNone {
		norm = Normalization{Mode: ModeNone}
	}
	switch s.Source {
	case SourceMNIST:
		train, test, err = LoadMNIST(norm)
	case SourceIDX:
		train, test, err = LoadIDXDirClasses(s.Dir, s.NumClasses(), norm)
	case SourceNPY:
		train, test, err = LoadNPYDir(s.Dir, s.NumClasses(), norm)
	case SourceFixture:
		train, test, err = LoadFixture(norm)
	case SourceSynthetic:
		train, test, err = Synthetic(s.Synthetic, rand.New(rand.NewPCG(s.Seed, syntheticStream)))
	}
	if err != nil {
		return nil, nil, err
	}
	return s.Subset(train, test)
}

// Subset applies NTrain and NTest to (possibly preloaded) splits and checks
// that they agree in shape and classes.
func (s Source) Subset(train, test *Dataset) (*Dataset, *Dataset, error) {
	var err error
	if s.NTrain > 0 && s.NTrain != train.N {
		if s.NTrain > train.N {
			return nil, nil, fmt.Errorf("config: data.n_train = %d: %s has only %d samples", s.NTrain, train.Name, train.N)
		}
		if train, err = train.First(s.NTrain); err != nil {
			return nil, nil, err
		}
	}
	if s.NTest > 0 && s.NTest != test.N {
		if s.NTest > test.N {
			return nil, nil, fmt.Errorf("config: data.n_test = %d: %s has only %d samples", s.NTest, test.Name, test.N)
		}
		if test, err = test.First(s.NTest); err != nil {
			return nil, nil, err
		}
	}
	if !train.Shape.Equal(test.Shape) || train.K != test.K {
		return nil, nil, fmt.Errorf("data: train split %s (shape %v, %d classes) and test split %s (shape %v, %d classes) differ",
			train.Name, train.Shape, train.K, test.Name, test.Shape, test.K)
	}
	return train, test, nil
}

// NumClasses is the number of classes of an MNIST-format source.
func (s Source) NumClasses() int {
	if s.Classes == 0 {
		return MNISTClasses
	}
	return s.Classes
}

// Validate reports the first nonsensical value, naming the config field.
func (d Source) Validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("config: data.%s = %v: %s", field, v, why)
	}
	if !slices.Contains(SourceKinds(), d.Source) {
		return bad("source", quote(d.Source), "want one of "+strings.Join(SourceKinds(), ", "))
	}
	if d.Source == SourceIDX && d.Dir == "" {
		return bad("dir", quote(d.Dir), "source idx needs a directory of IDX files")
	}
	if d.Source == SourceNPY && d.Dir == "" {
		return bad("dir", quote(d.Dir), "source npy needs a directory of .npy files")
	}
	if d.Normalize != ModeStandard && d.Normalize != ModeNone {
		return bad("normalize", quote(d.Normalize), "want standard or none")
	}
	if d.NTrain < 0 {
		return bad("n_train", d.NTrain, "want ≥ 0 (0 = all)")
	}
	if d.NTest < 0 {
		return bad("n_test", d.NTest, "want ≥ 0 (0 = all)")
	}
	switch {
	case d.Classes == 0:
	case d.Source == SourceSynthetic:
		return bad("classes", d.Classes, "synthetic data take synthetic.classes")
	case (d.Source == SourceMNIST || d.Source == SourceFixture) && d.Classes != MNISTClasses:
		return bad("classes", d.Classes, fmt.Sprintf("%s has %d classes", d.Source, MNISTClasses))
	case d.Classes < 2 || d.Classes > 256:
		return bad("classes", d.Classes, "want 2 … 256 (IDX labels are bytes)")
	}
	if d.Source == SourceSynthetic {
		s := d.Synthetic
		switch {
		case s.NTrain <= 0:
			return bad("synthetic.n_train", s.NTrain, "want ≥ 1")
		case s.NTest <= 0:
			return bad("synthetic.n_test", s.NTest, "want ≥ 1")
		case s.Dim <= 0:
			return bad("synthetic.dim", s.Dim, "want ≥ 1")
		case s.Classes < 2:
			return bad("synthetic.classes", s.Classes, "want ≥ 2")
		case !finite(s.Separation) || s.Separation <= 0:
			return bad("synthetic.separation", s.Separation, "want a finite value > 0")
		case !finite(s.Noise) || s.Noise < 0:
			return bad("synthetic.noise", s.Noise, "want a finite value ≥ 0")
		}
		// Refused before any allocation (or run directory) rather than a
		// runtime out-of-memory crash.
		if err := s.CheckMemory(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func quote(s string) string { return fmt.Sprintf("%q", s) }
