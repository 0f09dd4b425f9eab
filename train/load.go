package train

import (
	"github.com/fenchel-ml/fenchel/data"
)

// trainStream is the second PCG word of the training RNG (initialisation,
// then one permutation per epoch).
const trainStream = 0xfe9c4e1

// LoadData loads the train and test splits a DataConfig names (data.Source.Load).
func LoadData(d DataConfig) (train, test *data.Dataset, err error) { return d.Load() }
