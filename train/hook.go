package train

import (
	"context"
	"fmt"
	"reflect"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/nn"
)

// Hook is an instrument the training loop calls on a schedule, so that
// measurements attach without editing the loop (GoMLX's OnStep hooks,
// Cockpit's instruments).
type Hook interface {
	// Name is the record kind written to metrics.jsonl; it must be non-empty,
	// unique among a run's hooks, and not "train" or "eval".
	Name() string
	// Every is the period in optimiser steps (≥ 1). The hook is called at
	// step 0 before the first update (fresh runs only), after every step
	// that is a multiple of Every, and once after the last step.
	Every() int
	// OnStep measures the state described by s and returns one metrics
	// record: a map[string]any, written {"kind": Name(), "step": s.Step,
	// "epoch": s.Epoch, ...fields} with keys sorted (the loop's kind, step
	// and epoch override fields of the same name; non-finite floats become
	// the strings of package jsonfloat), or a typed value whose JSON form is
	// an object without those three keys (structural.Report), written after
	// them. nil writes no record. An error stops the run.
	OnStep(s *StepInfo) (any, error)
}

// Preparer is a Hook that can check its settings against the run's data
// before anything is written: Run calls Prepare once, after loading the
// data and before creating the run directory, with a StepInfo of step 0
// whose Model64 is nil. An error stops the run with nothing on disk.
type Preparer interface {
	Prepare(s *StepInfo) error
}

// StepInfo is the state a Hook sees. It is valid only during OnStep.
type StepInfo struct {
	Step  int // optimiser steps taken so far
	Epoch int // 0-based epoch the step belongs to
	// Config is the run's config with the model's input shape and class
	// count resolved from the data.
	Config      Config
	Train, Test *data.Dataset
	// BatchLoss is the mean loss of the last batch (NaN at step 0).
	BatchLoss float64
	// LR is the learning rate of the last step (of the first step at step 0).
	LR float64
	// Model64 returns a float64 copy of the current weights, built on first
	// use and shared by every hook called at this step. Hooks may run it
	// (Forward, Backward, ...) freely; they must not keep it past OnStep.
	Model64 func() (nn.Layer[float64], error)
	// Ctx is the run's context: a long measurement stops once it is done and
	// returns an error wrapping context.Cause(Ctx) (context.Canceled).
	Ctx context.Context
}

func checkHooks(hooks []Hook) error {
	seen := map[string]bool{"train": true, "eval": true}
	for i, h := range hooks {
		if h == nil {
			return fmt.Errorf("train: hook %d is nil", i)
		}
		name := h.Name()
		if name == "" || seen[name] {
			return fmt.Errorf("train: hook %d: name %q is empty, reserved or used twice", i, name)
		}
		seen[name] = true
		if h.Every() < 1 {
			return fmt.Errorf("train: hook %s: Every() = %d, want ≥ 1", name, h.Every())
		}
	}
	return nil
}

// isNilRecord reports whether a hook returned no record: nil, or a nil map
// or pointer inside the interface.
func isNilRecord(rec any) bool {
	if rec == nil {
		return true
	}
	switch v := reflect.ValueOf(rec); v.Kind() {
	case reflect.Map, reflect.Pointer, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}
