package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/nn"
)

// ArchFormat is the value of the "format" field of an architecture file.
const ArchFormat = "fenchel-arch/1"

// maxArchBytes bounds an architecture file: a description of layers, not
// weights, so anything larger is not one.
const maxArchBytes = 4 << 20

// maxArchDepth bounds the nesting of Sequential and Residual nodes.
const maxArchDepth = 64

// maxArchUnits bounds every size in an architecture file (features,
// channels, kernel, stride, padding), so a typo such as 1e9 is reported
// before a layer allocates.
const maxArchUnits = 1 << 24

// Arch is a feed-forward network read from an architecture file (see
// ReadArch): the per-sample input shape and the tree of layers, mirroring
// the PyTorch module that wrote it, so that parameter names equal the keys
// of that module's state_dict.
type Arch struct {
	Path   string      // the file it was read from ("" when parsed from bytes)
	Input  nn.Shape    // per-sample input shape: [D] or [C H W]
	Layers []ArchLayer // the top-level nn.Sequential
}

// ArchLayer is one node of an architecture file. Type is PyTorch's class
// name; the other fields are the constructor arguments of that class that
// fenchel uses, under PyTorch's attribute names.
type ArchLayer struct {
	Type string `json:"type"`

	InFeatures  int   `json:"in_features,omitempty"`  // Linear
	OutFeatures int   `json:"out_features,omitempty"` // Linear
	InChannels  int   `json:"in_channels,omitempty"`  // Conv2d
	OutChannels int   `json:"out_channels,omitempty"` // Conv2d
	KernelSize  int   `json:"kernel_size,omitempty"`  // Conv2d, MaxPool2d, AvgPool2d
	Stride      int   `json:"stride,omitempty"`       // Conv2d (default 1), pools (default kernel_size)
	Padding     int   `json:"padding,omitempty"`      // Conv2d, pools (default 0)
	Bias        *bool `json:"bias,omitempty"`         // Linear (must be true), Conv2d (default true)
	OutputSize  int   `json:"output_size,omitempty"`  // AdaptiveAvgPool2d (must be 1)

	Layers   []ArchLayer `json:"layers,omitempty"`   // Sequential
	Body     *ArchLayer  `json:"body,omitempty"`     // Residual
	Shortcut *ArchLayer  `json:"shortcut,omitempty"` // Residual (absent: identity)
	Skip     *bool       `json:"skip,omitempty"`     // Residual (default true)
}

// ArchTypes lists the layer types an architecture file may use.
func ArchTypes() []string {
	return []string{"Linear", "Conv2d", "ReLU", "Tanh", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
		"Flatten", "Sequential", "Residual"}
}

// archFields lists, per type, the fields besides "type" a node may carry.
var archFields = map[string][]string{
	"Linear":            {"in_features", "out_features", "bias"},
	"Conv2d":            {"in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"},
	"ReLU":              {},
	"Tanh":              {},
	"MaxPool2d":         {"kernel_size", "stride", "padding"},
	"AvgPool2d":         {"kernel_size", "stride", "padding"},
	"AdaptiveAvgPool2d": {"output_size"},
	"Flatten":           {},
	"Sequential":        {"layers"},
	"Residual":          {"body", "shortcut", "skip"},
}

// archHint explains PyTorch layers an architecture file cannot hold.
var archHint = map[string]string{
	"Dropout":     "it is the identity at evaluation time: delete it from the nn.Sequential before exporting (the indices of later layers, and so their state_dict keys, shift)",
	"BatchNorm2d": "fenchel's layers have no normalisation: fold it into the preceding Conv2d before exporting",
	"BatchNorm1d": "fenchel's layers have no normalisation: fold it into the preceding Linear before exporting",
	"Identity":    "delete it from the nn.Sequential before exporting (the indices of later layers shift)",
}

// archFile is the top level of an architecture file.
type archFile struct {
	Format string          `json:"format"`
	Input  []int           `json:"input"`
	Layers json.RawMessage `json:"layers"`
}

// ReadArch reads and checks an architecture file: JSON of the form
//
//	{"format": "fenchel-arch/1", "input": [1, 28, 28],
//	 "layers": [{"type": "Conv2d", "in_channels": 1, "out_channels": 8,
//	             "kernel_size": 3, "stride": 1, "padding": 1, "bias": true},
//	            {"type": "ReLU"}, {"type": "Flatten"},
//	            {"type": "Linear", "in_features": 6272, "out_features": 10}]}
//
// as tools/export_arch.py writes it from a PyTorch nn.Sequential. Every
// layer's sizes are checked against the shape flowing into it, so a file that
// does not describe a working network is rejected here, naming the layer.
func ReadArch(path string) (*Arch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("models: architecture: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxArchBytes+1))
	if err != nil {
		return nil, fmt.Errorf("models: architecture %s: %w", path, err)
	}
	if len(b) > maxArchBytes {
		return nil, fmt.Errorf("models: architecture %s: larger than %d bytes; not an architecture file", path, maxArchBytes)
	}
	a, err := ParseArch(b)
	if err != nil {
		return nil, fmt.Errorf("models: architecture %s: %w", path, err)
	}
	a.Path = path
	return a, nil
}

// ParseArch parses and checks the JSON of an architecture file (see ReadArch).
func ParseArch(b []byte) (*Arch, error) {
	var top archFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if top.Format != ArchFormat {
		return nil, fmt.Errorf("format %q, want %q", top.Format, ArchFormat)
	}
	if len(top.Input) != 1 && len(top.Input) != 3 {
		return nil, fmt.Errorf("input %v: want [D] (feature vectors) or [C, H, W] (images)", top.Input)
	}
	for _, v := range top.Input {
		if v < 1 || v > maxArchUnits {
			return nil, fmt.Errorf("input %v: sizes must lie in [1, %d]", top.Input, maxArchUnits)
		}
	}
	if len(top.Layers) == 0 {
		return nil, errors.New(`no "layers"`)
	}
	layers, err := decodeLayers(top.Layers, "layers", 0)
	if err != nil {
		return nil, err
	}
	if len(layers) == 0 {
		return nil, errors.New("layers: empty list")
	}
	a := &Arch{Input: nn.Shape(top.Input), Layers: layers}
	out, err := checkLayers(a.Layers, a.Input, "layers")
	if err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, fmt.Errorf("the network outputs shape %v per sample; a classifier outputs K logits (end with Flatten and Linear)", out)
	}
	if out[0] < 2 {
		return nil, fmt.Errorf("the network outputs %d logit(s); a classifier needs at least 2", out[0])
	}
	return a, nil
}

// decodeLayers decodes a JSON list of nodes at path (for messages).
func decodeLayers(raw json.RawMessage, path string, depth int) ([]ArchLayer, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: want a list of layers: %w", path, err)
	}
	out := make([]ArchLayer, len(items))
	for i, it := range items {
		l, err := decodeLayer(it, fmt.Sprintf("%s[%d]", path, i), depth)
		if err != nil {
			return nil, err
		}
		out[i] = *l
	}
	return out, nil
}

// decodeLayer decodes one node, rejecting fields its type does not take.
func decodeLayer(raw json.RawMessage, path string, depth int) (*ArchLayer, error) {
	if depth > maxArchDepth {
		return nil, fmt.Errorf("%s: nested deeper than %d levels", path, maxArchDepth)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%s: want a JSON object with a \"type\"", path)
	}
	var typ string
	if err := json.Unmarshal(fields["type"], &typ); err != nil || typ == "" {
		return nil, fmt.Errorf("%s: missing or non-string \"type\"", path)
	}
	allowed, ok := archFields[typ]
	if !ok {
		msg := fmt.Sprintf("%s: layer type %q is not supported (supported: %s)", path, typ, strings.Join(ArchTypes(), ", "))
		if h, ok := archHint[typ]; ok {
			msg += "; " + h
		}
		return nil, errors.New(msg)
	}
	l := &ArchLayer{Type: typ}
	for name, v := range fields {
		if name == "type" {
			continue
		}
		if !slices.Contains(allowed, name) {
			return nil, fmt.Errorf("%s (%s): unknown field %q (allowed: %s)", path, typ, name, strings.Join(allowed, ", "))
		}
		var err error
		switch name {
		case "in_features":
			err = decodeSize(v, &l.InFeatures)
		case "out_features":
			err = decodeSize(v, &l.OutFeatures)
		case "in_channels":
			err = decodeSize(v, &l.InChannels)
		case "out_channels":
			err = decodeSize(v, &l.OutChannels)
		case "kernel_size":
			err = decodeSquare(v, &l.KernelSize)
		case "stride":
			err = decodeSquare(v, &l.Stride)
		case "padding":
			err = decodeSquare(v, &l.Padding)
		case "output_size":
			err = decodeSquare(v, &l.OutputSize)
		case "bias", "skip":
			var b bool
			if err = json.Unmarshal(v, &b); err == nil {
				if name == "bias" {
					l.Bias = &b
				} else {
					l.Skip = &b
				}
			}
		case "layers":
			l.Layers, err = decodeLayers(v, path+".layers", depth+1)
			if err == nil && len(l.Layers) == 0 {
				err = errors.New("empty list")
			}
		case "body", "shortcut":
			if string(bytes.TrimSpace(v)) == "null" {
				continue
			}
			var n *ArchLayer
			if n, err = decodeLayer(v, path+"."+name, depth+1); err == nil {
				if name == "body" {
					l.Body = n
				} else {
					l.Shortcut = n
				}
			}
		}
		if err != nil {
			if strings.HasPrefix(err.Error(), path) {
				return nil, err
			}
			return nil, fmt.Errorf("%s (%s): %s: %w", path, typ, name, err)
		}
	}
	return l, nil
}

// decodeSize reads a non-negative integer within maxArchUnits.
func decodeSize(v json.RawMessage, dst *int) error {
	var n int
	if err := json.Unmarshal(v, &n); err != nil {
		return fmt.Errorf("want an integer, got %s", v)
	}
	if n < 0 || n > maxArchUnits {
		return fmt.Errorf("%d outside [0, %d]", n, maxArchUnits)
	}
	*dst = n
	return nil
}

// decodeSquare reads an integer or a pair of equal integers (PyTorch stores
// kernel_size, stride and padding as pairs); fenchel's windows are square.
func decodeSquare(v json.RawMessage, dst *int) error {
	var pair []int
	if err := json.Unmarshal(v, &pair); err == nil {
		if len(pair) != 2 {
			return fmt.Errorf("%s: want an integer or a pair", v)
		}
		if pair[0] != pair[1] {
			return fmt.Errorf("%v is not square; fenchel's Conv2d and pools take equal height and width", pair)
		}
		v = []byte(strconv.Itoa(pair[0]))
	}
	return decodeSize(v, dst)
}

// checkLayers walks a Sequential's children from input shape in, checking
// every node, and returns the output shape.
func checkLayers(layers []ArchLayer, in nn.Shape, path string) (nn.Shape, error) {
	for i := range layers {
		out, err := layers[i].check(in, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		in = out
	}
	return in, nil
}

// image returns in as [C H W], or an error naming the layer that needs it.
func image(in nn.Shape, path, typ string) error {
	if len(in) != 3 {
		return fmt.Errorf("%s (%s): takes images [C H W], but its input has shape %v", path, typ, in)
	}
	return nil
}

// check validates one node for input shape in and returns its output shape.
func (l *ArchLayer) check(in nn.Shape, path string) (nn.Shape, error) {
	fail := func(format string, a ...any) (nn.Shape, error) {
		return nil, fmt.Errorf("%s (%s): %s", path, l.Type, fmt.Sprintf(format, a...))
	}
	switch l.Type {
	case "Linear":
		if l.InFeatures < 1 || l.OutFeatures < 1 {
			return fail("in_features %d, out_features %d: both must be positive", l.InFeatures, l.OutFeatures)
		}
		if len(in) != 1 {
			return fail("takes feature vectors, but its input has shape %v: put a Flatten before it (PyTorch's Linear would act on the last dimension only)", in)
		}
		if l.InFeatures != in.Size() {
			return fail("in_features %d, but its input has shape %v = %d features", l.InFeatures, in, in.Size())
		}
		if l.Bias != nil && !*l.Bias {
			return fail("bias false is not supported: fenchel's Linear always has a bias (export a zero bias instead)")
		}
		return nn.Shape{l.OutFeatures}, nil
	case "Conv2d":
		if err := image(in, path, l.Type); err != nil {
			return nil, err
		}
		if l.InChannels != in[0] {
			return fail("in_channels %d, but its input %v has %d channels", l.InChannels, in, in[0])
		}
		if l.OutChannels < 1 || l.KernelSize < 1 {
			return fail("out_channels %d, kernel_size %d: both must be positive", l.OutChannels, l.KernelSize)
		}
		stride := l.Stride
		if stride == 0 {
			stride = 1
		}
		c, err := nn.NewConv2D[float64](in, l.OutChannels, l.KernelSize, stride, l.Padding, true)
		if err != nil {
			return fail("%v", err)
		}
		return c.OutShape(), nil
	case "ReLU", "Tanh":
		return in, nil
	case "MaxPool2d", "AvgPool2d":
		if err := image(in, path, l.Type); err != nil {
			return nil, err
		}
		if l.KernelSize < 1 {
			return fail("kernel_size %d: must be positive", l.KernelSize)
		}
		if l.Type == "MaxPool2d" {
			p, err := nn.NewMaxPool2D[float64](in, l.KernelSize, l.poolStride(), l.Padding)
			if err != nil {
				return fail("%v", err)
			}
			return p.OutShape(), nil
		}
		p, err := nn.NewAvgPool2D[float64](in, l.KernelSize, l.poolStride(), l.Padding)
		if err != nil {
			return fail("%v", err)
		}
		return p.OutShape(), nil
	case "AdaptiveAvgPool2d":
		if err := image(in, path, l.Type); err != nil {
			return nil, err
		}
		if l.OutputSize != 1 {
			return fail("output_size %d: only 1 (global average pool) is supported", l.OutputSize)
		}
		return nn.Shape{in[0]}, nil
	case "Flatten":
		return nn.Shape{in.Size()}, nil
	case "Sequential":
		return checkLayers(l.Layers, in, path+".layers")
	case "Residual":
		if l.Body == nil {
			return fail(`no "body"`)
		}
		out, err := l.Body.check(in, path+".body")
		if err != nil {
			return nil, err
		}
		if l.Shortcut == nil {
			if !out.Equal(in) {
				return fail("the body maps %v to %v, so the identity shortcut does not fit; give a \"shortcut\"", in, out)
			}
			return out, nil
		}
		sc, err := l.Shortcut.check(in, path+".shortcut")
		if err != nil {
			return nil, err
		}
		if !sc.Equal(out) {
			return fail("the body outputs %v but the shortcut outputs %v", out, sc)
		}
		return out, nil
	}
	return fail("unknown type") // decodeLayer admits only archFields' types
}

// poolStride is PyTorch's default: stride = kernel_size when not given.
func (l *ArchLayer) poolStride() int {
	if l.Stride == 0 {
		return l.KernelSize
	}
	return l.Stride
}

// Classes is the number of logits the network outputs.
func (a *Arch) Classes() int {
	out, err := checkLayers(a.Layers, a.Input, "layers")
	if err != nil || len(out) != 1 {
		return 0
	}
	return out[0]
}

// BuildArch constructs the network a describes with zero parameters, as an
// nn.Sequential whose parameter names are those of the PyTorch module tree
// (Sequential children by index, Residual children as "body." and
// "shortcut."), so the module's state_dict loads key for key.
func BuildArch[T nn.Float](a *Arch) (nn.Layer[T], error) {
	if _, err := checkLayers(a.Layers, a.Input, "layers"); err != nil {
		return nil, err
	}
	l, _, err := buildNode[T](ArchLayer{Type: "Sequential", Layers: a.Layers}, a.Input)
	if err != nil {
		return nil, fmt.Errorf("models: build architecture %s: %w", a.Path, err)
	}
	return l, nil
}

// buildNode builds one checked node on input shape in.
func buildNode[T nn.Float](l ArchLayer, in nn.Shape) (nn.Layer[T], nn.Shape, error) {
	switch l.Type {
	case "Linear":
		d := nn.NewDense[T](in.Size(), l.OutFeatures)
		return d, d.OutShape(), nil
	case "Conv2d":
		stride := l.Stride
		if stride == 0 {
			stride = 1
		}
		c, err := nn.NewConv2D[T](in, l.OutChannels, l.KernelSize, stride, l.Padding, l.Bias == nil || *l.Bias)
		if err != nil {
			return nil, nil, err
		}
		return c, c.OutShape(), nil
	case "ReLU":
		return nn.NewReLU[T](in), in, nil
	case "Tanh":
		return nn.NewTanh[T](in), in, nil
	case "MaxPool2d":
		p, err := nn.NewMaxPool2D[T](in, l.KernelSize, l.poolStride(), l.Padding)
		if err != nil {
			return nil, nil, err
		}
		return p, p.OutShape(), nil
	case "AvgPool2d":
		p, err := nn.NewAvgPool2D[T](in, l.KernelSize, l.poolStride(), l.Padding)
		if err != nil {
			return nil, nil, err
		}
		return p, p.OutShape(), nil
	case "AdaptiveAvgPool2d":
		p, err := nn.NewGlobalAvgPool[T](in)
		if err != nil {
			return nil, nil, err
		}
		return p, p.OutShape(), nil
	case "Flatten":
		f := nn.NewFlatten[T](in)
		return f, f.OutShape(), nil
	case "Sequential":
		layers := make([]nn.Layer[T], len(l.Layers))
		for i, c := range l.Layers {
			var err error
			if layers[i], in, err = buildNode[T](c, in); err != nil {
				return nil, nil, err
			}
		}
		s, err := nn.NewSequential(layers...)
		if err != nil {
			return nil, nil, err
		}
		return s, in, nil
	case "Residual":
		body, out, err := buildNode[T](*l.Body, in)
		if err != nil {
			return nil, nil, err
		}
		var sc nn.Layer[T]
		if l.Shortcut != nil {
			if sc, _, err = buildNode[T](*l.Shortcut, in); err != nil {
				return nil, nil, err
			}
		}
		r, err := nn.NewResidual(body, sc, l.Skip == nil || *l.Skip)
		if err != nil {
			return nil, nil, err
		}
		return r, out, nil
	}
	panic(fmt.Sprintf("models: architecture layer type %q passed the check", l.Type))
}

// String summarises the network in PyTorch's words, e.g.
// "[1 28 28] → Conv2d(1→8, 3×3, stride 1, pad 1) → ReLU → Flatten → Linear(6272→10)".
func (a *Arch) String() string {
	parts := []string{a.Input.String()}
	for _, l := range a.Layers {
		parts = append(parts, l.String())
	}
	return strings.Join(parts, " → ")
}

func (l ArchLayer) String() string {
	switch l.Type {
	case "Linear":
		return fmt.Sprintf("Linear(%d→%d)", l.InFeatures, l.OutFeatures)
	case "Conv2d":
		stride := max(l.Stride, 1)
		s := fmt.Sprintf("Conv2d(%d→%d, %d×%d, stride %d, pad %d", l.InChannels, l.OutChannels, l.KernelSize, l.KernelSize, stride, l.Padding)
		if l.Bias != nil && !*l.Bias {
			s += ", no bias"
		}
		return s + ")"
	case "MaxPool2d", "AvgPool2d":
		return fmt.Sprintf("%s(%d×%d, stride %d, pad %d)", l.Type, l.KernelSize, l.KernelSize, l.poolStride(), l.Padding)
	case "AdaptiveAvgPool2d":
		return "AdaptiveAvgPool2d(1)"
	case "Sequential":
		parts := make([]string, len(l.Layers))
		for i, c := range l.Layers {
			parts[i] = c.String()
		}
		return "Sequential(" + strings.Join(parts, " → ") + ")"
	case "Residual":
		s := "Residual(" + l.Body.String()
		if l.Shortcut != nil {
			s += " + " + l.Shortcut.String()
		} else {
			s += " + identity"
		}
		if l.Skip != nil && !*l.Skip {
			s += ", skip off"
		}
		return s + ")"
	}
	return l.Type
}
