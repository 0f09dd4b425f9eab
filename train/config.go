package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/optim"
)

// Config is everything that determines a training run. It is recorded in
// every run directory as config.json; the same Config and seed reproduce the
// same metrics byte for byte.
type Config struct {
	Model models.Spec         `json:"model"`
	Init  initializer.Options `json:"init"`

	Loss      string  `json:"loss"`      // a loss.Names() entry
	Smoothing float64 `json:"smoothing"` // label smoothing in [0, 1)

	Optim optim.Config `json:"optim"`
	// LR is the base learning rate; it is multiplied by LRGamma every
	// LRDecayEvery epochs (the paper: ×0.1 every 2 epochs, THEORY §5).
	LR           float64 `json:"lr"`
	LRGamma      float64 `json:"lr_gamma"`
	LRDecayEvery int     `json:"lr_decay_every"`

	Batch  int `json:"batch"`
	Epochs int `json:"epochs"`
	// MaxSteps caps the number of optimiser steps (0 = no cap). With
	// MaxSteps > 0, Epochs may be 0, meaning "as many epochs as it takes".
	MaxSteps int `json:"max_steps"`

	Seed  uint64 `json:"seed"`
	DType string `json:"dtype"` // "float32" (default) or "float64"

	Data DataConfig `json:"data"`

	LogEvery        int `json:"log_every"`        // optimiser steps between train records
	CheckpointEvery int `json:"checkpoint_every"` // steps between checkpoints; 0 = epoch ends only
}

// DataConfig says where the samples come from (data.Source, JSON "data").
type DataConfig = data.Source

// DTypes lists the element types training can run in.
func DTypes() []string { return []string{"float32", "float64"} }

// DataSources lists the accepted DataConfig.Source values.
func DataSources() []string { return data.SourceKinds() }

// DefaultConfig is the baseline: MLP 784-100-10, softmax loss, SGD
// lr 0.1, batch 128, one epoch of MNIST, seed 0, float32.
func DefaultConfig() Config {
	return Config{
		Model:        models.Spec{Name: "mlp", Hidden: []int{100}},
		Init:         initializer.Options{Scheme: "pytorch"},
		Loss:         "softmax",
		Optim:        optim.Config{Name: "sgd", Momentum: 0.9, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		LR:           0.1,
		LRGamma:      1,
		LRDecayEvery: 0,
		Batch:        128,
		Epochs:       1,
		Seed:         0,
		DType:        "float32",
		Data: DataConfig{Source: "mnist", Normalize: "standard",
			Synthetic: data.SyntheticConfig{NTrain: 1000, NTest: 500, Dim: 20, Classes: 4, Separation: 3, Noise: 1}},
		LogEvery: 50,
	}
}

// Validate reports the first nonsensical value, naming the field and value.
func (c Config) Validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("config: %s = %v: %s", field, v, why)
	}
	if !slices.Contains(DTypes(), c.DType) {
		return bad("dtype", quote(c.DType), "want one of "+strings.Join(DTypes(), ", "))
	}
	if err := c.Data.Validate(); err != nil {
		return err
	}
	if err := c.resolvedSpec(nil).Validate(); err != nil {
		return fmt.Errorf("config: model: %w", err)
	}
	if !c.Init.Scheme.Known() {
		return bad("init.scheme", quote(string(c.Init.Scheme)), "want one of "+strings.Join(initializer.Names(), ", "))
	}
	if !finite(c.Init.Constant) || !finite(c.Init.Eps) || c.Init.Eps < 0 {
		return bad("init", fmt.Sprintf("constant %g, eps %g", c.Init.Constant, c.Init.Eps), "want finite values and eps ≥ 0")
	}
	if _, err := loss.New(c.Loss); err != nil {
		return bad("loss", quote(c.Loss), err.Error())
	}
	if !finite(c.Smoothing) || c.Smoothing < 0 || c.Smoothing >= 1 {
		return bad("smoothing", c.Smoothing, "want 0 ≤ smoothing < 1")
	}
	if _, err := optim.New[float64](c.Optim); err != nil {
		return bad("optim", quote(c.Optim.Name), err.Error())
	}
	if !finite(c.LR) || c.LR <= 0 {
		return bad("lr", c.LR, "want a finite learning rate > 0")
	}
	if err := c.schedule().Validate(); err != nil {
		return fmt.Errorf("config: lr schedule (lr_gamma %g, lr_decay_every %d): %w", c.LRGamma, c.LRDecayEvery, err)
	}
	if c.Batch <= 0 {
		return bad("batch", c.Batch, "want a batch size ≥ 1")
	}
	if c.MaxSteps < 0 {
		return bad("max_steps", c.MaxSteps, "want ≥ 0 (0 = no cap)")
	}
	if c.Epochs < 0 || (c.Epochs == 0 && c.MaxSteps == 0) {
		return bad("epochs", c.Epochs, "want ≥ 1 (or max_steps > 0)")
	}
	if c.LogEvery <= 0 {
		return bad("log_every", c.LogEvery, "want ≥ 1")
	}
	if c.CheckpointEvery < 0 {
		return bad("checkpoint_every", c.CheckpointEvery, "want ≥ 0 (0 = epoch ends only)")
	}
	return nil
}

// resolvedSpec fills the model's input shape and class count from the data:
// from the loaded training set when given, else from what the source is
// known to produce (MNIST-format sources: 1×28×28, 10 classes).
func (c Config) resolvedSpec(train *data.Dataset) models.Spec {
	s := c.Model
	s.Hidden = slices.Clone(s.Hidden)
	s.Input = slices.Clone(s.Input)
	in, k := nn.Shape{1, 28, 28}, c.Data.NumClasses()
	switch {
	case train != nil:
		in, k = train.Shape, train.K
	case c.Data.Source == "synthetic":
		in, k = nn.Shape{c.Data.Synthetic.Dim}, c.Data.Synthetic.Classes
	}
	if len(s.Input) == 0 {
		s.Input = slices.Clone(in)
	}
	if s.Classes == 0 {
		s.Classes = k
	}
	return s
}

func (c Config) schedule() optim.StepDecay {
	return optim.StepDecay{Base: c.LR, Gamma: c.LRGamma, Every: c.LRDecayEvery}
}

// Hash is a hex SHA-256 of the config's JSON, naming the exact setting.
func (c Config) Hash() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("train: config does not marshal: %v", err)) // plain data: cannot happen
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// resumable reports why a checkpoint written under old cannot continue under
// c: every field that shapes the trajectory must agree. Epochs, MaxSteps and
// CheckpointEvery may change (to extend or shorten a run).
func (c Config) resumable(old Config) error {
	type part struct {
		name     string
		now, was any
	}
	parts := []part{
		{"model", c.Model, old.Model},
		{"init", c.Init, old.Init},
		{"loss", [2]any{c.Loss, c.Smoothing}, [2]any{old.Loss, old.Smoothing}},
		{"optimiser", c.Optim, old.Optim},
		{"lr schedule", c.schedule(), old.schedule()},
		{"batch", c.Batch, old.Batch},
		{"seed", c.Seed, old.Seed},
		{"dtype", c.DType, old.DType},
		{"data", c.Data, old.Data},
		{"log_every", c.LogEvery, old.LogEvery},
	}
	for _, p := range parts {
		a, _ := json.Marshal(p.now)
		b, _ := json.Marshal(p.was)
		if string(a) != string(b) {
			return fmt.Errorf("checkpoint from a different %s: checkpoint has %s, config has %s", p.name, b, a)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func quote(s string) string { return fmt.Sprintf("%q", s) }
