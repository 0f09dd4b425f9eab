// Command mkfixture writes the small MNIST subset that package data embeds
// for its tests (data.LoadFixture): the first n-train training and the first
// n-test test images and labels of the full MNIST from the GoMNIST module,
// as gzipped IDX files with MNIST's file names.
//
//	go run ./internal/cmd/mkfixture -n-train 500 -n-test 200 -out data/testdata/mnist-fixture
//
// The output is deterministic (gzip header without name or time) and each
// file is replaced atomically.
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/internal/atomicfile"
)

func main() {
	nTrain := flag.Int("n-train", 500, "number of training images to keep (the first ones)")
	nTest := flag.Int("n-test", 200, "number of test images to keep (the first ones)")
	out := flag.String("out", "data/testdata/mnist-fixture", "output directory")
	flag.Parse()
	if err := run(*nTrain, *nTest, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}

func run(nTrain, nTest int, out string) error {
	src, err := data.MNISTDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		pix, n, rows, cols, err := data.ReadIDXImages(filepath.Join(src, set.prefix+"-images-idx3-ubyte.gz"))
		if err != nil {
			return err
		}
		labels, m, err := data.ReadIDXLabels(filepath.Join(src, set.prefix+"-labels-idx1-ubyte.gz"))
		if err != nil {
			return err
		}
		if set.n < 1 || set.n > n || set.n > m {
			return fmt.Errorf("-n for %s is %d; MNIST has %d images and %d labels", set.prefix, set.n, n, m)
		}
		dim := rows * cols
		if err := writeGz(filepath.Join(out, set.prefix+"-images-idx3-ubyte.gz"), func(w io.Writer) error {
			return data.WriteIDXImages(w, pix[:set.n*dim], set.n, rows, cols)
		}); err != nil {
			return err
		}
		if err := writeGz(filepath.Join(out, set.prefix+"-labels-idx1-ubyte.gz"), func(w io.Writer) error {
			return data.WriteIDXLabels(w, labels[:set.n])
		}); err != nil {
			return err
		}
	}
	return nil
}

func writeGz(path string, fill func(w io.Writer) error) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if err := fill(zw); err != nil {
			return err
		}
		return zw.Close()
	})
}
