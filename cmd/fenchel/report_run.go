package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/train"
)

// isRunDir reports whether dir is one training run (it holds the run's
// metrics), not a results directory of many runs.
func isRunDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, train.MetricsFile))
	return err == nil && !st.IsDir()
}

// runTrace reads a training run's config and metrics into the trace the
// single-run page draws. A malformed line is an error naming the file and
// line; a missing config only loses the description.
func runTrace(dir string) (report.RunTrace, error) {
	t := report.RunTrace{Name: filepath.Base(filepath.Clean(dir))}
	if b, err := os.ReadFile(filepath.Join(dir, train.ConfigFile)); err == nil {
		var cfg train.Config
		if err := json.Unmarshal(b, &cfg); err != nil {
			return t, fmt.Errorf("report: %s: %w", filepath.Join(dir, train.ConfigFile), err)
		}
		t.Model = cfg.Model.String()
		data := cfg.Data.Source
		if cfg.Data.Dir != "" {
			data = cfg.Data.Dir
		}
		if cfg.Data.NTrain > 0 {
			data += fmt.Sprintf(" (first %d training samples)", cfg.Data.NTrain)
		}
		t.Setting = fmt.Sprintf("Loss %s, optimiser %s at learning rate %g, batch %d, %s, seed %d, %s.",
			cfg.Loss, cfg.Optim.Name, cfg.LR, cfg.Batch, data, cfg.Seed, cfg.DType)
	} else if !errors.Is(err, os.ErrNotExist) {
		return t, fmt.Errorf("report: %w", err)
	}
	path := filepath.Join(dir, train.MetricsFile)
	f, err := os.Open(path)
	if err != nil {
		return t, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return t, fmt.Errorf("report: %s line %d: %w", path, line, err)
		}
		num := func(key string) float64 { return recordNumber(r[key]) }
		switch r["kind"] {
		case "nsample":
			spec := "HS"
			if r["HS_lambda_min"] == nil {
				spec = "H"
			}
			t.Spectrum = map[string]string{"HS": "H_S", "H": "H"}[spec]
			p := report.Probe{Step: num("step"), FittingError: num("fitting_error"), GradNorm: num("grad_norm"),
				LowerB: num("bound_B_lower"), UpperC: math.NaN(),
				LambdaMin: num(spec + "_lambda_min"), LambdaMax: num(spec + "_lambda_max"), Rank: num(spec + "_rank")}
			if v, ok := r["bound_C_valid"].(bool); ok && v {
				p.UpperC = num("bound_C_upper")
			}
			if ds, ok := r["diagnosis"].([]any); ok {
				for _, d := range ds {
					if s, ok := d.(string); ok {
						p.Diagnosis = append(p.Diagnosis, s)
					}
				}
			}
			t.Probes = append(t.Probes, p)
		case "per_image":
			t.Indicators = append(t.Indicators, report.Indicator{Step: num("step"), Log2F: num("log2_F"), Log2R: num("log2_R")})
		case "train":
			t.TrainSteps, t.TrainLoss = append(t.TrainSteps, num("step")), append(t.TrainLoss, num("loss"))
		}
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("report: %s: %w", path, err)
	}
	return t, nil
}

// recordNumber reads a metrics value: a JSON number, or one of the strings
// "NaN", "+Inf", "-Inf" that stand for the non-finite values; anything else
// (or a missing key) is NaN, drawn as a gap.
func recordNumber(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "+Inf", "Inf":
			return math.Inf(1)
		case "-Inf":
			return math.Inf(-1)
		}
	}
	return math.NaN()
}

// writeRunReport draws the single-run page into dir.
func writeRunReport(dir string, t report.RunTrace, w interface{ Write([]byte) (int, error) }) error {
	doc := report.RunDocument(t)
	doc.Command = "fenchel report " + dir
	if err := report.Write(dir, doc); err != nil {
		return err
	}
	if n := len(t.Probes); n > 0 {
		last := t.Probes[n-1]
		fmt.Fprintf(w, "last probe (step %g): E_f %.4g, ‖∇R‖ %.4g: %s\n", last.Step, last.FittingError, last.GradNorm, strings.Join(last.Diagnosis, "; "))
	} else {
		fmt.Fprintln(w, "the run has no n-sample probes (train with --probe-every N)")
	}
	fmt.Fprintf(w, "report: %s/report.md, %s/report.html\n", dir, dir)
	return nil
}
