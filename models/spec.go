package models

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/nn"
)

// Model names accepted by Spec.Name.
const (
	MLP    = "mlp"    // plain MLP with free hidden widths
	ModelA = "a"      // the paper's Model a: k hidden layers of equal width
	ModelB = "b"      // the paper's Model b: k conv + max-pool layers, one dense
	ModelC = "c"      // the paper's Model c: conv, dense, k dense skip layers
	ModelD = "d"      // the paper's Model d: ResNet without batch norm
	ResMLP = "resmlp" // residual MLP of depth L and width w
)

// Defaults applied to zero fields of a Spec.
const (
	DefaultWidth   = 64 // hidden width of Models a and resmlp (THEORY.md §5)
	DefaultClasses = 10
)

// DefaultInput is the MNIST image shape [1 28 28] used when Spec.Input is nil.
func DefaultInput() nn.Shape { return nn.Shape{1, 28, 28} }

// Names lists the model names Build accepts.
func Names() []string { return []string{MLP, ModelA, ModelB, ModelC, ModelD, ResMLP} }

// Spec describes one model of THEORY.md §5 (see doc.go for the exact
// architectures and parameter names). Zero fields take defaults; fields a
// model does not use are ignored (and left out of String).
type Spec struct {
	Name string // one of Names()
	// Hidden are the hidden widths of "mlp": [100] is 784-100-10, [] the
	// linear model 784-10.
	Hidden []int
	// Depth is k for Models a–d (hidden layers, conv layers, dense skip
	// layers, blocks in stage 1) and L (residual blocks) for "resmlp".
	Depth int
	// Width is the hidden width of "a" and "resmlp" (0: DefaultWidth).
	Width int
	// Skip switches the skip connections of "c", "d" and "resmlp".
	Skip bool
	// LogitReLU puts a ReLU on the output logits of Model a (the authors'
	// version does; off by default, THEORY.md §5).
	LogitReLU bool
	// Input is the per-sample input shape [C H W] (nil: [1 28 28]). The
	// dense models flatten it; the conv models take any positive C, H, W.
	Input nn.Shape
	// Classes is the number K of outputs (0: DefaultClasses).
	Classes int
}

// withDefaults returns s with zero fields replaced by their defaults.
func (s Spec) withDefaults() Spec {
	if s.Input == nil {
		s.Input = DefaultInput()
	}
	if s.Classes == 0 {
		s.Classes = DefaultClasses
	}
	if s.Width == 0 && (s.Name == ModelA || s.Name == ResMLP) {
		s.Width = DefaultWidth
	}
	return s
}

func isConv(name string) bool { return name == ModelB || name == ModelC || name == ModelD }

// Validate reports the first problem with s, naming the field and value.
func (s Spec) Validate() error {
	known := false
	for _, n := range Names() {
		known = known || n == s.Name
	}
	if !known {
		return fmt.Errorf("models: unknown model %q (valid: %s)", s.Name, strings.Join(Names(), ", "))
	}
	d := s.withDefaults()
	if d.Classes < 2 {
		return fmt.Errorf("models: %s: classes %d, want ≥ 2", s.Name, s.Classes)
	}
	if len(d.Input) == 0 {
		return fmt.Errorf("models: %s: empty input shape", s.Name)
	}
	for _, v := range d.Input {
		if v <= 0 {
			return fmt.Errorf("models: %s: input shape %v has a non-positive size", s.Name, d.Input)
		}
	}
	if isConv(s.Name) && len(d.Input) != 3 {
		return fmt.Errorf("models: %s: input shape %v, want an image [C H W]", s.Name, d.Input)
	}
	if s.Name == ModelC && (d.Input[1] < 2 || d.Input[2] < 2) {
		return fmt.Errorf("models: c: input %v is smaller than its 2×2 max-pool", d.Input)
	}
	switch s.Name {
	case MLP:
		for i, h := range s.Hidden {
			if h <= 0 {
				return fmt.Errorf("models: mlp: hidden width %d (layer %d), want > 0", h, i)
			}
		}
	case ModelA, ModelB, ModelD:
		if s.Depth < 1 {
			return fmt.Errorf("models: %s: depth %d, want ≥ 1", s.Name, s.Depth)
		}
	case ModelC, ResMLP:
		if s.Depth < 0 {
			return fmt.Errorf("models: %s: depth %d, want ≥ 0", s.Name, s.Depth)
		}
	}
	if (s.Name == ModelA || s.Name == ResMLP) && d.Width <= 0 {
		return fmt.Errorf("models: %s: width %d, want > 0", s.Name, s.Width)
	}
	return nil
}

// String is a short identifier of the model for file names and reports,
// such as "mlp-100", "a-k3", "d-k1-skip", "resmlp-w64-L8-noskip"; non-default
// inputs and class counts are appended ("-in1x8x8", "-K3").
func (s Spec) String() string {
	d := s.withDefaults()
	var parts []string
	switch s.Name {
	case MLP:
		parts = append(parts, MLP)
		if len(s.Hidden) == 0 {
			parts = append(parts, "linear")
		}
		for _, h := range s.Hidden {
			parts = append(parts, strconv.Itoa(h))
		}
	case ModelA:
		parts = append(parts, ModelA, "k"+strconv.Itoa(s.Depth))
		if d.Width != DefaultWidth {
			parts = append(parts, "w"+strconv.Itoa(d.Width))
		}
		if s.LogitReLU {
			parts = append(parts, "logitrelu")
		}
	case ModelB:
		parts = append(parts, ModelB, "k"+strconv.Itoa(s.Depth))
	case ModelC, ModelD:
		parts = append(parts, s.Name, "k"+strconv.Itoa(s.Depth), skipWord(s.Skip))
	case ResMLP:
		parts = append(parts, ResMLP, "w"+strconv.Itoa(d.Width), "L"+strconv.Itoa(s.Depth), skipWord(s.Skip))
	default:
		parts = append(parts, s.Name)
	}
	if !d.Input.Equal(DefaultInput()) {
		dims := make([]string, len(d.Input))
		for i, v := range d.Input {
			dims[i] = strconv.Itoa(v)
		}
		parts = append(parts, "in"+strings.Join(dims, "x"))
	}
	if d.Classes != DefaultClasses {
		parts = append(parts, "K"+strconv.Itoa(d.Classes))
	}
	return strings.Join(parts, "-")
}

func skipWord(on bool) string {
	if on {
		return "skip"
	}
	return "noskip"
}

// Build constructs the model s describes with zero parameters; apply an
// initializer before use. The result is an nn.Sequential whose parameter
// names are documented per model in doc.go.
func Build[T nn.Float](s Spec) (nn.Layer[T], error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d := s.withDefaults()
	var (
		l   nn.Layer[T]
		err error
	)
	switch d.Name {
	case MLP:
		l, err = buildMLP[T](d.Input.Size(), d.Hidden, d.Classes, false)
	case ModelA:
		hidden := make([]int, d.Depth)
		for i := range hidden {
			hidden[i] = d.Width
		}
		l, err = buildMLP[T](d.Input.Size(), hidden, d.Classes, d.LogitReLU)
	case ModelB:
		l, err = buildB[T](d)
	case ModelC:
		l, err = buildC[T](d)
	case ModelD:
		l, err = buildD[T](d)
	case ResMLP:
		l, err = buildResMLP[T](d)
	}
	if err != nil {
		return nil, fmt.Errorf("models: build %s: %w", s, err)
	}
	return l, nil
}
