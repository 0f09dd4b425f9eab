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

	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/structural"
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
	lossName, classes := "", 0
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
		lossName = cfg.Loss
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
		where := fmt.Sprintf("%s line %d", path, line)
		var head struct {
			Kind string  `json:"kind"`
			Step float64 `json:"step"`
		}
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			return t, fmt.Errorf("report: %s: %w", where, err)
		}
		switch head.Kind {
		case "nsample":
			rep, err := structural.ReadReport(sc.Bytes(), where)
			if err != nil {
				return t, fmt.Errorf("report: %w", err)
			}
			t.Probes = append(t.Probes, probeOf(head.Step, rep, &t.Spectrum))
			classes = rep.K
		case "per_image":
			var r instrument.PerImageRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return t, fmt.Errorf("report: %s: %w", where, err)
			}
			t.Indicators = append(t.Indicators, report.Indicator{Step: float64(r.Step), Log2F: float64(r.Log2F), Log2R: float64(r.Log2R)})
		case "train":
			var r struct {
				Loss jsonfloat.Float `json:"loss"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return t, fmt.Errorf("report: %s: %w", where, err)
			}
			t.TrainSteps, t.TrainLoss = append(t.TrainSteps, head.Step), append(t.TrainLoss, float64(r.Loss))
		}
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("report: %s: %w", path, err)
	}
	t.TrivialFittingError = uniformFittingError(lossName, classes)
	return t, nil
}

// uniformFittingError is the loss of equal logits against a one-hot target
// (the same for every class by symmetry): the E_f any model can reach by
// predicting nothing; 0 when the loss or K is unknown.
func uniformFittingError(name string, k int) float64 {
	l, err := loss.New(name)
	if err != nil || k < 2 {
		return 0
	}
	q := make([]float64, k)
	q[0] = 1
	return l.Value(make([]float64, k), q)
}

// probeOf is the part of a probe record the run page draws: the spectrum of
// H_S (of H for losses without it, named in spectrum), the lower end of (B)
// and the upper end of (C), NaN where a bound is not defined.
func probeOf(step float64, rep *structural.Report, spectrum *string) report.Probe {
	nan := math.NaN()
	p := report.Probe{Step: step, FittingError: rep.FittingError, GradNorm: rep.GradNorm, LowerB: nan, UpperC: nan,
		LambdaMin: nan, LambdaMax: nan, Rank: nan, Diagnosis: rep.Diagnosis}
	spec, name := rep.HS, "H_S"
	if spec == nil {
		spec, name = rep.H, "H"
	}
	if spec != nil {
		*spectrum = name
		p.LambdaMin, p.LambdaMax = spec.Min, spec.Max
		if spec.Rank >= 0 {
			p.Rank = float64(spec.Rank)
		}
	}
	for _, b := range rep.Bounds {
		switch {
		case !b.Valid:
		case b.Name == "B":
			p.LowerB = b.Lower
		case b.Name == "C":
			p.UpperC = b.Upper
		}
	}
	return p
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
