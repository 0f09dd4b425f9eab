package data

import (
	"strings"
	"testing"
)

// TestIDXClassesFromConfig: the number of classes is the caller's (10 for
// MNIST-format data unless told otherwise), never the largest label: a
// corrupt training label is an error naming the file, the sample and the
// value instead of a silently wider model.
func TestIDXClassesFromConfig(t *testing.T) {
	dir := t.TempDir()
	s := smallSet(true)
	s.write(t, dir)
	train, test, err := LoadIDXDir(dir, StandardMNIST)
	if err != nil {
		t.Fatal(err)
	}
	if train.K != MNISTClasses || test.K != MNISTClasses {
		t.Errorf("default classes: train K %d, test K %d, want %d", train.K, test.K, MNISTClasses)
	}
	if train, _, err := LoadIDXDirClasses(dir, 3, StandardMNIST); err != nil || train.K != 3 {
		t.Errorf("3 classes: K %v, err %v", train, err)
	}
	for _, tc := range []struct {
		name    string
		mutate  func(s *idxSet)
		classes int
		want    []string
	}{
		{"training label 255", func(s *idxSet) { s.trainLabs[4] = 255 }, 0,
			[]string{"train-labels-idx1-ubyte.gz", "label 255 of training sample 4", "10 classes"}},
		{"training label 3 of 3 classes", func(s *idxSet) { s.trainLabs[2] = 3 }, 3,
			[]string{"train-labels-idx1-ubyte.gz", "label 3 of training sample 2", "3 classes"}},
		{"test label 10", func(s *idxSet) { s.testLabs[1] = 10 }, 0,
			[]string{"t10k-labels-idx1-ubyte.gz", "label 10 of test sample 1", "10 classes"}},
	} {
		dir := t.TempDir()
		s := smallSet(true)
		tc.mutate(&s)
		s.write(t, dir)
		var err error
		if tc.classes == 0 {
			_, _, err = LoadIDXDir(dir, StandardMNIST)
		} else {
			_, _, err = LoadIDXDirClasses(dir, tc.classes, StandardMNIST)
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
	if _, _, err := LoadIDXDirClasses(dir, 1, StandardMNIST); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("1 class: err = %v", err)
	}
}
