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

	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// ProbeRecord is one "nsample" line of metrics.jsonl: the optimiser step
// and epoch it was measured at and the typed probe report
// (structural.SchemaVersion).
type ProbeRecord struct {
	Step, Epoch int
	structural.Report
}

// MarshalJSON writes the record as train writes it: kind, step and epoch,
// then the report's fields.
func (r ProbeRecord) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		Kind  string `json:"kind"`
		Step  int    `json:"step"`
		Epoch int    `json:"epoch"`
	}{HookNSample, r.Step, r.Epoch})
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(r.Report)
	if err != nil {
		return nil, err
	}
	return jsonfloat.Concat(head, body)
}

// spectrumOrMissing returns s, or a spectrum whose summaries are NaN when
// the loss has none (H_S for squared, H_p for all but softmax), so that
// tables and claims show the gap instead of a number.
func spectrumOrMissing(s *structural.Spectrum) *structural.Spectrum {
	if s != nil {
		return s
	}
	nan := math.NaN()
	return &structural.Spectrum{Min: nan, Max: nan, Mean: nan, Trace: nan, Cond: nan, NormFloor: nan, RankTol: nan, Rank: -1}
}

// hs is the spectrum of H_S (NaN summaries when absent).
func (r *ProbeRecord) hs() *structural.Spectrum { return spectrumOrMissing(r.HS) }

// hsRank is rank(H_S): −1 when Lanczos left it unknown, NaN when absent.
func (r *ProbeRecord) hsRank() float64 {
	if r.HS == nil {
		return math.NaN()
	}
	return float64(r.HS.Rank)
}

// bound returns bound name ("A", "B", "C"), nil when the record has none.
func (r *ProbeRecord) bound(name string) *structural.Bound {
	for i := range r.Bounds {
		if r.Bounds[i].Name == name {
			return &r.Bounds[i]
		}
	}
	return nil
}

// boundField returns one end of bound name, NaN when the record has none.
func (r *ProbeRecord) boundField(name string, end func(*structural.Bound) float64) float64 {
	if b := r.bound(name); b != nil {
		return end(b)
	}
	return math.NaN()
}

// readProbeRecord decodes one "nsample" line; where names it in errors.
func readProbeRecord(b []byte, where string) (ProbeRecord, error) {
	var head struct{ Step, Epoch int }
	if err := json.Unmarshal(b, &head); err != nil {
		return ProbeRecord{}, fmt.Errorf("%s: %w", where, err)
	}
	rep, err := structural.ReadReport(b, where)
	if err != nil {
		return ProbeRecord{}, err
	}
	return ProbeRecord{Step: head.Step, Epoch: head.Epoch, Report: *rep}, nil
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
	NSample  []ProbeRecord               // kind "nsample", in step order
	PerImage []instrument.PerImageRecord // kind "per_image", in step order
	Draws    []InitDrawRecord            // kind "init_draw": initialisation-only draws
	// Trends is the trend diagnosis of each NSample record (THEORY §7),
	// read from the probes up to it.
	Trends []structural.Trend
}

// First and Last return the first and last n-sample probe (nil when none).
func (d *RunData) First() *ProbeRecord {
	if len(d.NSample) == 0 {
		return nil
	}
	return &d.NSample[0]
}

// Last returns the last n-sample probe.
func (d *RunData) Last() *ProbeRecord {
	if len(d.NSample) == 0 {
		return nil
	}
	return &d.NSample[len(d.NSample)-1]
}

// DamagedRun is a finished run (summary.json present) whose files cannot be
// trusted: Dir is its directory, Err says which file and what is wrong.
type DamagedRun struct {
	Dir string
	Err error
}

// LoadRuns reads every finished run below dir (directories holding both
// reproduce.json and summary.json), sorted by id. Unfinished runs are
// skipped, damaged ones left out (LoadRunsChecked lists them).
func LoadRuns(dir string) ([]*RunData, error) {
	runs, _, err := LoadRunsChecked(dir)
	return runs, err
}

// LoadRunsChecked is LoadRuns also returning the damaged finished runs: a
// spec, summary or metrics file that is missing, does not parse, holds a
// value of the wrong type, is empty or ends before the step summary.json
// records. One damaged run never hides the others.
func LoadRunsChecked(dir string) ([]*RunData, []DamagedRun, error) {
	var out []*RunData
	var damaged []DamagedRun
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
			damaged = append(damaged, DamagedRun{Dir: run, Err: err})
			return nil
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reproduce: read runs in %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.ID < out[j].Spec.ID })
	return out, damaged, nil
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
	lastStep, lines := -1, 0
	for line := 1; sc.Scan(); line++ {
		where := fmt.Sprintf("%s line %d", path, line)
		var k struct {
			Kind string
			Step *int
		}
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if k.Step == nil {
			return nil, fmt.Errorf("%s: record without a step", where)
		}
		lastStep, lines = max(lastStep, *k.Step), line
		switch k.Kind {
		case HookNSample:
			r, err := readProbeRecord(sc.Bytes(), where)
			if err != nil {
				return nil, err
			}
			d.NSample = append(d.NSample, r)
		case HookPerImage:
			var r instrument.PerImageRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			d.PerImage = append(d.PerImage, r)
		case HookInitDraws:
			var r InitDrawRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			d.Draws = append(d.Draws, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if lines == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	if lastStep < d.Summary.Steps {
		return nil, fmt.Errorf("%s ends at step %d but summary.json records %d steps (cut short?)", path, lastStep, d.Summary.Steps)
	}
	annotateTrends(d)
	return d, nil
}
