package train

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
)

// Run-directory file names.
const (
	ConfigFile     = "config.json"
	MetricsFile    = "metrics.jsonl"
	MetricsCSVFile = "metrics.csv"
	CheckpointFile = "checkpoint.bin"
	SummaryFile    = "summary.json"
	TimingsFile    = "timings.json"
)

// trainRecord is written every LogEvery steps and after the last step: the
// per-sample mean loss and accuracy of the batches since the previous one.
type trainRecord struct {
	Kind  string  `json:"kind"` // "train"
	Step  int     `json:"step"`
	Epoch int     `json:"epoch"`
	Loss  float64 `json:"loss"`
	Acc   float64 `json:"acc"`
	LR    float64 `json:"lr"`
}

// evalRecord is written at each epoch end and after the last step: loss
// (with the run's label smoothing) and accuracy on the whole test split.
type evalRecord struct {
	Kind  string  `json:"kind"` // "eval"
	Split string  `json:"split"`
	Step  int     `json:"step"`
	Epoch int     `json:"epoch"`
	Loss  float64 `json:"loss"`
	Acc   float64 `json:"acc"`
}

// csvHeader is the column set of metrics.csv: the train and eval records
// (an eval row leaves lr empty).
var csvHeader = []string{"kind", "split", "step", "epoch", "loss", "acc", "lr"}

// metricsLog appends records to metrics.jsonl and keeps the train/eval rows
// for metrics.csv. Wall-clock quantities never enter it, so the same config
// and seed give byte-identical files.
type metricsLog struct {
	dir    string
	f      *os.File
	offset int64 // bytes written so far
	rows   [][]string
}

// openMetrics starts a fresh metrics.jsonl, or (keep ≥ 0) truncates the
// existing one to its first keep bytes and reloads its rows.
func openMetrics(dir string, keep int64) (*metricsLog, error) {
	path := filepath.Join(dir, MetricsFile)
	m := &metricsLog{dir: dir}
	if keep < 0 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		m.f = f
		return m, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	head := make([]byte, keep)
	if _, err := io.ReadFull(f, head); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: resume: %s is shorter than the %d bytes the checkpoint recorded: %w", path, keep, err)
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	m.f, m.offset = f, keep
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(nil, 1<<26)
	for line := 1; sc.Scan(); line++ {
		var r struct {
			Kind, Split string
			Step, Epoch int
			Loss, Acc   float64
			LR          *float64
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// Hook records may hold non-numeric fields; only train/eval rows matter.
			var k struct{ Kind string }
			if json.Unmarshal(sc.Bytes(), &k) == nil && k.Kind != "train" && k.Kind != "eval" {
				continue
			}
			f.Close()
			return nil, fmt.Errorf("train: resume: %s line %d: %w", path, line, err)
		}
		switch r.Kind {
		case "train":
			m.rows = append(m.rows, trainRow(trainRecord{r.Kind, r.Step, r.Epoch, r.Loss, r.Acc, deref(r.LR)}))
		case "eval":
			m.rows = append(m.rows, evalRow(evalRecord{r.Kind, r.Split, r.Step, r.Epoch, r.Loss, r.Acc}))
		}
	}
	return m, nil
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func trainRow(r trainRecord) []string {
	return []string{r.Kind, "", strconv.Itoa(r.Step), strconv.Itoa(r.Epoch), ftoa(r.Loss), ftoa(r.Acc), ftoa(r.LR)}
}

func evalRow(r evalRecord) []string {
	return []string{r.Kind, r.Split, strconv.Itoa(r.Step), strconv.Itoa(r.Epoch), ftoa(r.Loss), ftoa(r.Acc), ""}
}

func (m *metricsLog) writeTrain(r trainRecord) error {
	m.rows = append(m.rows, trainRow(r))
	return m.write(r)
}

func (m *metricsLog) writeEval(r evalRecord) error {
	m.rows = append(m.rows, evalRow(r))
	return m.write(r)
}

// writeHook writes a hook's record with kind, step and epoch set by the loop
// (Hook.OnStep describes the two forms).
func (m *metricsLog) writeHook(kind string, step, epoch int, rec any) error {
	if fields, ok := rec.(map[string]any); ok {
		out := make(map[string]any, len(fields)+3)
		for k, v := range fields {
			out[k] = jsonfloat.Safe(v)
		}
		out["kind"], out["step"], out["epoch"] = kind, step, epoch
		return m.write(out) // encoding/json sorts map keys: deterministic bytes
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("train: %s record: %w", kind, err)
	}
	var clash struct {
		Kind, Step, Epoch json.RawMessage
	}
	if err := json.Unmarshal(body, &clash); err != nil {
		return fmt.Errorf("train: %s record is not a JSON object: %w", kind, err)
	}
	if clash.Kind != nil || clash.Step != nil || clash.Epoch != nil {
		return fmt.Errorf("train: %s record has its own kind, step or epoch field, which the loop sets", kind)
	}
	head, err := json.Marshal(struct {
		Kind  string `json:"kind"`
		Step  int    `json:"step"`
		Epoch int    `json:"epoch"`
	}{kind, step, epoch})
	if err != nil {
		return fmt.Errorf("train: %s record: %w", kind, err)
	}
	line, err := jsonfloat.Concat(head, body)
	if err != nil {
		return fmt.Errorf("train: %s record: %w", kind, err)
	}
	return m.writeLine(line)
}

func (m *metricsLog) write(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("train: metrics record: %w", err)
	}
	return m.writeLine(b)
}

func (m *metricsLog) writeLine(b []byte) error {
	b = append(b, '\n')
	n, err := m.f.Write(b)
	m.offset += int64(n)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// sync makes the records so far durable, before a checkpoint records offset.
func (m *metricsLog) sync() error {
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// writeCSV atomically rewrites metrics.csv from the train/eval rows.
func (m *metricsLog) writeCSV() error {
	return atomicfile.Write(filepath.Join(m.dir, MetricsCSVFile), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		if err := cw.WriteAll(m.rows); err != nil {
			return err
		}
		return cw.Error()
	})
}

func (m *metricsLog) close() error { return m.f.Close() }
