package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/data"
)

// syntheticStream separates the synthetic-data RNG stream from the training
// stream, so the same DataConfig.Seed and run Seed never share draws.
const syntheticStream = 0x5d1a7e

// trainStream is the second PCG word of the training RNG (initialisation,
// then one permutation per epoch).
const trainStream = 0xfe9c4e1

// LoadData loads the train and test splits a DataConfig names and keeps the
// first NTrain/NTest samples when those are set.
func LoadData(d DataConfig) (train, test *data.Dataset, err error) {
	if err := d.validate(); err != nil {
		return nil, nil, err
	}
	norm := data.StandardMNIST
	if d.Normalize == "none" {
		norm = data.Normalization{Mode: data.ModeNone}
	}
	switch d.Source {
	case "mnist":
		train, test, err = data.LoadMNIST(norm)
	case "idx":
		train, test, err = data.LoadIDXDir(d.Dir, norm)
	case "fixture":
		train, test, err = data.LoadFixture(norm)
	case "synthetic":
		train, test, err = data.Synthetic(d.Synthetic, rand.New(rand.NewPCG(d.Seed, syntheticStream)))
	}
	if err != nil {
		return nil, nil, err
	}
	return subset(d, train, test)
}

// subset applies NTrain and NTest to (possibly preloaded) splits.
func subset(d DataConfig, train, test *data.Dataset) (*data.Dataset, *data.Dataset, error) {
	var err error
	if d.NTrain > 0 && d.NTrain != train.N {
		if d.NTrain > train.N {
			return nil, nil, fmt.Errorf("config: data.n_train = %d: %s has only %d samples", d.NTrain, train.Name, train.N)
		}
		if train, err = train.First(d.NTrain); err != nil {
			return nil, nil, err
		}
	}
	if d.NTest > 0 && d.NTest != test.N {
		if d.NTest > test.N {
			return nil, nil, fmt.Errorf("config: data.n_test = %d: %s has only %d samples", d.NTest, test.Name, test.N)
		}
		if test, err = test.First(d.NTest); err != nil {
			return nil, nil, err
		}
	}
	if !train.Shape.Equal(test.Shape) || train.K != test.K {
		return nil, nil, fmt.Errorf("data: train split %s (shape %v, %d classes) and test split %s (shape %v, %d classes) differ",
			train.Name, train.Shape, train.K, test.Name, test.Shape, test.K)
	}
	return train, test, nil
}
