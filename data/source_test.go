package data

import (
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	base := Source{Normalize: ModeNone, NTrain: 7}
	for _, c := range []struct {
		arg, kind, dir, err string
	}{
		{"mnist", SourceMNIST, "", ""},
		{"fixture", SourceFixture, "", ""},
		{"synthetic", SourceSynthetic, "", ""},
		{dir, SourceIDX, dir, ""},
		{dir + "/missing", "", "", "not mnist, fixture, synthetic or a directory of IDX files"},
		{"MNIST", "", "", `--data "MNIST"`},
	} {
		s, err := ParseSource(base, c.arg)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.arg, err, c.err)
			}
			continue
		}
		if err != nil || s.Source != c.kind || s.Dir != c.dir || s.Normalize != ModeNone || s.NTrain != 7 {
			t.Errorf("%q: %+v, %v; want kind %s dir %q with the base's other fields", c.arg, s, err, c.kind, c.dir)
		}
	}
}

func TestSourceLoadFixture(t *testing.T) {
	train, test, err := Source{Source: SourceFixture, Normalize: ModeStandard, NTrain: 20, NTest: 5}.Load()
	if err != nil {
		t.Fatal(err)
	}
	full, _, err := LoadFixture(StandardMNIST)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 20 || test.N != 5 || train.Labels[19] != full.Labels[19] {
		t.Errorf("fixture subset: %d train, %d test samples", train.N, test.N)
	}
	if _, _, err := (Source{Source: SourceFixture, Normalize: ModeStandard, NTrain: 100000}).Load(); err == nil ||
		!strings.Contains(err.Error(), "data.n_train = 100000") {
		t.Errorf("oversized n_train: %v", err)
	}
	if _, _, err := (Source{Source: "tape", Normalize: ModeStandard}).Load(); err == nil || !strings.Contains(err.Error(), `data.source = "tape"`) {
		t.Errorf("unknown source: %v", err)
	}
}
