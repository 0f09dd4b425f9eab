package data_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/nn"
)

func Example() {
	// The embedded MNIST fixture with the default normalisation
	// (x/255 − 0.1307)/0.3081; data.LoadMNIST gives the full set.
	train, test, err := data.LoadFixture(data.Normalization{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Name, train.N, train.Shape, train.K, "classes")
	fmt.Println(test.Name, test.N)

	// A seeded shuffle and one float32 batch of 4 samples.
	rng := rand.New(rand.NewPCG(1, 0))
	perm := data.Permutation(train.N, rng)
	var batch *nn.Mat[float32]
	batch = data.Gather(train, perm[:4], batch)
	fmt.Println("batch", batch.Rows, "×", batch.Cols)

	first, err := train.First(10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first labels", first.Labels)
	fmt.Printf("background pixel %.4f\n", batch.At(0, 0))
	// Output:
	// mnist-fixture:train 500 [1 28 28] 10 classes
	// mnist-fixture:test 200
	// batch 4 × 784
	// first labels [5 0 4 1 9 2 1 3 1 4]
	// background pixel -0.4242
}

func ExampleSynthetic() {
	train, test, err := data.Synthetic(data.SyntheticConfig{
		NTrain: 100, NTest: 20, Dim: 8, Classes: 4, Separation: 3, Noise: 1,
	}, rand.New(rand.NewPCG(7, 0)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.N, test.N, train.Shape, train.ClassCounts())
	// Output:
	// 100 20 [8] [25 25 25 25]
}
