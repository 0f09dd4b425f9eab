package instrument

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// Defaults of NSampleConfig.
const (
	DefaultNSampleEvery = 100
	// DefaultNSampleN keeps H_S at n(K−1) = 450 for K = 10, where each dense
	// spectrum takes about 0.1 s on 2 cores (structural.DefaultDenseMax).
	DefaultNSampleN = 50
)

// NSampleConfig configures the n-sample probe; zero fields take defaults.
type NSampleConfig struct {
	Every int // steps between measurements (DefaultNSampleEvery)
	// N is the probe size: the first N samples of Split (DefaultNSampleN).
	N int
	// Split is "train" (default) or "test".
	Split string
	// Data, when set, is the probe set itself (all its samples); N and
	// Split are then ignored.
	Data *data.Dataset
	// Loss is the loss measured ("" = the run's loss, with the run's label
	// smoothing; another name measures that loss with one-hot targets).
	Loss string
	// Options are passed to structural.Analyze.
	Options structural.Options
}

// NSample is the n-sample probe of THEORY §2–§3: every Every steps it runs
// structural.Analyze on a fixed probe set and records E_f, ‖r‖, ‖∇R‖, the
// spectra of H, H_S and H_p, E_s, the bounds (A)(B)(C) and the indicator F
// (the record is the structural.Report, schema structural.SchemaVersion). A bound violated beyond structural.BoundRelTol is returned
// as an error, which stops training: it is a bug, never noise (THEORY §4 P1).
type NSample struct {
	cfg    NSampleConfig
	probe  structural.Probe
	l      loss.Loss
	ready  bool
	last   *structural.Report
	source string
}

// NewNSample validates cfg and returns the probe hook.
func NewNSample(cfg NSampleConfig) (*NSample, error) {
	if cfg.Every == 0 {
		cfg.Every = DefaultNSampleEvery
	}
	if cfg.N == 0 {
		cfg.N = DefaultNSampleN
	}
	if cfg.Split == "" {
		cfg.Split = "train"
	}
	switch {
	case cfg.Every < 0:
		return nil, fmt.Errorf("instrument: n-sample: Every = %d, want ≥ 1", cfg.Every)
	case cfg.N < 0:
		return nil, fmt.Errorf("instrument: n-sample: N = %d, want ≥ 1", cfg.N)
	case cfg.Split != "train" && cfg.Split != "test":
		return nil, fmt.Errorf("instrument: n-sample: Split = %q, want train or test", cfg.Split)
	case cfg.Data != nil && cfg.Data.N == 0:
		return nil, fmt.Errorf("instrument: n-sample: probe set %s is empty", cfg.Data.Name)
	}
	if cfg.Loss != "" {
		if _, err := loss.New(cfg.Loss); err != nil {
			return nil, fmt.Errorf("instrument: n-sample: %w", err)
		}
	}
	return &NSample{cfg: cfg}, nil
}

// Name is the record kind, "nsample".
func (h *NSample) Name() string { return "nsample" }

// Every is the measurement period in optimiser steps.
func (h *NSample) Every() int { return h.cfg.Every }

// Last returns the report of the latest measurement (nil before the first).
func (h *NSample) Last() *structural.Report { return h.last }

// setup resolves the probe set and the loss from the run.
func (h *NSample) setup(s *train.StepInfo) error {
	d := h.cfg.Data
	if d == nil {
		split := s.Train
		if h.cfg.Split == "test" {
			split = s.Test
		}
		if split == nil {
			return fmt.Errorf("instrument: n-sample: the run has no %s split", h.cfg.Split)
		}
		if h.cfg.N > split.N {
			return fmt.Errorf("instrument: n-sample: probe size %d exceeds the %d samples of %s", h.cfg.N, split.N, split.Name)
		}
		var err error
		if d, err = split.First(h.cfg.N); err != nil {
			return fmt.Errorf("instrument: n-sample: %w", err)
		}
	}
	name, smoothing := h.cfg.Loss, 0.0
	if name == "" {
		name, smoothing = s.Config.Loss, s.Config.Smoothing
	}
	l, err := loss.New(name)
	if err != nil {
		return fmt.Errorf("instrument: n-sample: %w", err)
	}
	probe, err := NewProbe(d, smoothing)
	if err != nil {
		return err
	}
	h.l, h.probe, h.source, h.ready = l, probe, d.Name, true
	return nil
}

// NewProbe gathers a dataset into a structural.Probe in float64, with
// targets smoothed by smoothing (0: one-hot, Q nil).
func NewProbe(d *data.Dataset, smoothing float64) (structural.Probe, error) {
	if err := loss.ValidateSmoothing(smoothing); err != nil {
		return structural.Probe{}, fmt.Errorf("instrument: probe %s: %w", d.Name, err)
	}
	idx := make([]int, d.N)
	for i := range idx {
		idx[i] = i
	}
	p := structural.Probe{X: data.Gather[float64](d, idx, nil), Labels: append([]int(nil), d.Labels...)}
	if smoothing > 0 {
		p.Q = make([][]float64, d.N)
		for i, y := range d.Labels {
			p.Q[i] = make([]float64, d.K)
			loss.Target(p.Q[i], y, d.K, smoothing)
		}
	}
	return p, nil
}

// Prepare resolves the probe set from the run's data before the run starts
// (train.Preparer), so a probe larger than its split stops the run before
// anything is written.
func (h *NSample) Prepare(s *train.StepInfo) error {
	if h.ready {
		return nil
	}
	return h.setup(s)
}

// OnStep measures the model of this step (train.Hook).
func (h *NSample) OnStep(s *train.StepInfo) (any, error) {
	if !h.ready {
		if err := h.setup(s); err != nil {
			return nil, err
		}
	}
	m, err := s.Model64()
	if err != nil {
		return nil, err
	}
	rep, err := h.measure(s.Ctx, m)
	if rep == nil {
		return nil, err // no typed nil inside the interface
	}
	return rep, err
}

// Measure analyses model on the probe set (set up by the first OnStep) and
// returns the report, the "nsample" record of metrics.jsonl.
func (h *NSample) Measure(m nn.Layer[float64]) (*structural.Report, error) {
	return h.measure(nil, m)
}

// measure is Measure cancelled by ctx (nil: Options.Ctx).
func (h *NSample) measure(ctx context.Context, m nn.Layer[float64]) (*structural.Report, error) {
	if !h.ready {
		panic("instrument: n-sample: Measure before the probe set is known")
	}
	opts := h.cfg.Options
	if ctx != nil {
		opts.Ctx = ctx
	}
	rep, err := structural.Analyze(m, h.probe, h.l, opts)
	var bv *structural.BoundViolation
	if errors.As(err, &bv) {
		h.last = rep
		return rep, fmt.Errorf("instrument: n-sample on %s: %w", h.source, err)
	}
	if err != nil {
		return nil, fmt.Errorf("instrument: n-sample on %s: %w", h.source, err)
	}
	h.last = rep
	return rep, nil
}
