package reproduce

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/fenchel-ml/fenchel/train"
)

// Record is one line of metrics.jsonl as decoded JSON.
type Record map[string]any

// Num returns the numeric field key; the strings "NaN", "+Inf", "-Inf" that
// train writes for non-finite values become those values, and a missing or
// non-numeric field is NaN.
func (r Record) Num(key string) float64 {
	switch v := r[key].(type) {
	case float64:
		return v
	case bool:
		if v {
			return 1
		}
		return 0
	case string:
		switch v {
		case "+Inf", "Inf":
			return math.Inf(1)
		case "-Inf":
			return math.Inf(-1)
		}
	}
	return math.NaN()
}

// Bool returns the boolean field key (false when missing).
func (r Record) Bool(key string) bool {
	b, _ := r[key].(bool)
	return b
}

// Summary holds the fields of a run's summary.json the report uses.
type Summary struct {
	Steps              int                `json:"steps"`
	Params             int                `json:"params"`
	FinalTrainLoss     float64            `json:"final_train_loss"`
	FinalTrainAccuracy float64            `json:"final_train_accuracy"`
	TestLoss           float64            `json:"test_loss"`
	TestAccuracy       float64            `json:"test_accuracy"`
	Seconds            map[string]float64 `json:"seconds"`
	GoVersion          string             `json:"go_version"`
	BLAS               string             `json:"blas"`
	Version            string             `json:"version"`
}

// RunData is a finished run read back from its directory.
type RunData struct {
	Spec     RunSpec
	Summary  Summary
	NSample  []Record // kind "nsample", in step order
	PerImage []Record // kind "per_image", in step order
}

// First and Last return the first and last n-sample probe (nil when none).
func (d *RunData) First() Record {
	if len(d.NSample) == 0 {
		return nil
	}
	return d.NSample[0]
}

// Last returns the last n-sample probe.
func (d *RunData) Last() Record {
	if len(d.NSample) == 0 {
		return nil
	}
	return d.NSample[len(d.NSample)-1]
}

// LoadRuns reads every finished run below dir (directories holding both
// reproduce.json and summary.json), sorted by id. Unfinished runs are skipped.
func LoadRuns(dir string) ([]*RunData, error) {
	var out []*RunData
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || e.Name() != SpecFile {
			return nil
		}
		run := filepath.Dir(path)
		if _, err := os.Stat(filepath.Join(run, train.SummaryFile)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		d, err := loadRun(run)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reproduce: read runs in %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.ID < out[j].Spec.ID })
	return out, nil
}

func loadRun(dir string) (*RunData, error) {
	d := &RunData{}
	for _, f := range []struct {
		name string
		v    any
	}{{SpecFile, &d.Spec}, {train.SummaryFile, &d.Summary}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, f.v); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, f.name), err)
		}
	}
	path := filepath.Join(dir, train.MetricsFile)
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<26)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		switch r["kind"] {
		case HookNSample:
			d.NSample = append(d.NSample, r)
		case HookPerImage:
			d.PerImage = append(d.PerImage, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}
