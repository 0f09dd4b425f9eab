package weights

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
)

// Inference is what the keys and shapes of a safetensors file say about the
// model that wrote it.
type Inference struct {
	// Spec is the model; Input is left nil (the data decide it: a file holds
	// no input shape for conv models, and only the feature count for dense
	// ones), Classes is the last layer's output count.
	Spec models.Spec
	// InFeatures is the number of input features the first layer takes
	// (dense-first models), InChannels the input channels (conv models).
	InFeatures, InChannels int
	// Assumed lists what the file cannot tell and the inference assumed, in
	// words (activations, skip connections whose parameters are the same on
	// and off).
	Assumed []string
	// Undetermined names the Spec fields the file does not decide, as the
	// probe's flags ("skip", "logit-relu"): a flag may set them freely.
	Undetermined []string
}

// module is the part of a state_dict under one top-level index of an
// nn.Sequential.
type module struct {
	index  int
	params map[string][]int // key suffix after "index." → shape
}

func (m module) has(suffix string, rank int) bool {
	s, ok := m.params[suffix]
	return ok && len(s) == rank
}

func (m module) shape(suffix string) []int { return m.params[suffix] }

// isLinear: exactly weight [out in] and bias [out].
func (m module) isLinear() bool {
	return len(m.params) == 2 && m.has("weight", 2) && m.has("bias", 1) && m.shape("bias")[0] == m.shape("weight")[0]
}

// isConv: weight [out in k k] and, optionally, bias [out].
func (m module) isConv(withBias bool) bool {
	want := 1
	if withBias {
		want = 2
		if !m.has("bias", 1) {
			return false
		}
	}
	return len(m.params) == want && m.has("weight", 4)
}

// isDenseBlock: a Residual whose body is Sequential(Linear, ReLU).
func (m module) isDenseBlock() bool {
	return len(m.params) == 2 && m.has("body.0.weight", 2) && m.has("body.0.bias", 1)
}

// isBasicBlock: a Residual with two bias-free convs in its body and, if
// shortcut, a conv with bias on the side.
func (m module) isBasicBlock(shortcut bool) bool {
	n := 2
	if shortcut {
		n = 4
		if !m.has("shortcut.weight", 4) || !m.has("shortcut.bias", 1) {
			return false
		}
	}
	return len(m.params) == n && m.has("body.0.weight", 4) && m.has("body.2.weight", 4)
}

// modules splits the file's keys by their leading nn.Sequential index, in
// index order.
func modules(f *File) ([]module, error) {
	byIndex := map[int]*module{}
	for _, name := range f.Names() {
		head, rest, ok := strings.Cut(name, ".")
		i, err := strconv.Atoi(head)
		if !ok || err != nil || i < 0 || strconv.Itoa(i) != head {
			return nil, fmt.Errorf("key %q does not start with an nn.Sequential index (\"0.weight\")", name)
		}
		m := byIndex[i]
		if m == nil {
			m = &module{index: i, params: map[string][]int{}}
			byIndex[i] = m
		}
		m.params[rest] = f.Tensors[name].Shape
	}
	if len(byIndex) == 0 {
		return nil, fmt.Errorf("no tensors")
	}
	out := make([]module, 0, len(byIndex))
	for _, m := range byIndex {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b module) int { return a.index - b.index })
	return out, nil
}

// Infer reads the architecture off a safetensors file's keys and shapes
// where they decide it: an nn.Sequential of Linear layers (fenchel's "mlp",
// which is also Model a when the hidden widths are equal), and Models b, c,
// d and "resmlp" by their key patterns (models/doc.go). The result is
// checked by building the model and comparing every parameter name and
// shape with the file, so an Inference is never a near miss. Anything else
// is an error saying why, so the caller can ask for an architecture file.
func Infer(f *File) (*Inference, error) {
	mods, err := modules(f)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", f.Path, err)
	}
	inf, why := match(mods)
	if inf == nil {
		return nil, fmt.Errorf("weights: %s: the keys (%s) are not those of fenchel's mlp, Models a–d or resmlp: %s", f.Path, summary(f), why)
	}
	if err := inf.verify(f); err != nil {
		return nil, fmt.Errorf("weights: %s: the keys look like %s, but %w", f.Path, inf.Spec, err)
	}
	return inf, nil
}

// summary lists the first few keys with their shapes.
func summary(f *File) string {
	names := f.Names()
	slices.SortStableFunc(names, func(a, b string) int { return leadingIndex(a) - leadingIndex(b) })
	const show = 6
	var parts []string
	for i, n := range names {
		if i == show {
			parts = append(parts, fmt.Sprintf("… %d more", len(names)-show))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %v", n, f.Tensors[n].Shape))
	}
	return strings.Join(parts, ", ")
}

func leadingIndex(name string) int {
	head, _, _ := strings.Cut(name, ".")
	i, err := strconv.Atoi(head)
	if err != nil {
		return -1
	}
	return i
}

const (
	reluAssumed = "activations are not stored in the weights: ReLU assumed between layers (use --arch for others)"
	skipAssumed = "skip connections have no parameters of their own here: on assumed (--no-skip for off)"
)

// match recognises the patterns; on failure it returns why, in words.
func match(mods []module) (*Inference, string) {
	first, last := mods[0], mods[len(mods)-1]
	if first.index != 0 {
		return nil, fmt.Sprintf("the first index is %d, not 0", first.index)
	}
	if !last.isLinear() {
		return nil, fmt.Sprintf("the last module (index %d) is not a Linear layer", last.index)
	}
	classes := last.shape("weight")[0]
	indices := func(start, step int, ms []module) bool {
		for j, m := range ms {
			if m.index != start+j*step {
				return false
			}
		}
		return true
	}

	switch {
	case first.isLinear() && allOf(mods, module.isLinear):
		// mlp: Linear at 0, 2, 4, …
		if !indices(0, 2, mods) {
			return nil, "Linear layers at indices other than 0, 2, 4, … (another layer than ReLU between them?)"
		}
		var hidden []int
		for _, m := range mods[:len(mods)-1] {
			hidden = append(hidden, m.shape("weight")[0])
		}
		inf := &Inference{Spec: models.Spec{Name: models.MLP, Hidden: hidden, Classes: classes},
			InFeatures: first.shape("weight")[1], Undetermined: []string{"logit-relu"}}
		if len(hidden) > 0 {
			inf.Assumed = append(inf.Assumed, reluAssumed)
		}
		return inf, ""

	case first.isLinear() && len(mods) >= 2 && allOf(mods[1:len(mods)-1], module.isDenseBlock):
		// resmlp: Linear 0, dense blocks 2 … 1+L, Linear 2+L.
		if !indices(2, 1, mods[1:]) {
			return nil, "residual dense blocks not at indices 2, 3, …"
		}
		w := first.shape("weight")[0]
		return &Inference{Spec: models.Spec{Name: models.ResMLP, Depth: len(mods) - 2, Width: w, Skip: true, Classes: classes},
			InFeatures: first.shape("weight")[1], Assumed: []string{reluAssumed, skipAssumed}, Undetermined: []string{"skip"}}, ""

	case first.isConv(true) && len(mods) >= 3 && mods[1].isLinear() && mods[1].index == 4:
		// Model c: conv 0, Linear 4, dense blocks 6 … 5+k, Linear 6+k.
		blocks := mods[2 : len(mods)-1]
		if !allOf(blocks, module.isDenseBlock) || !indices(6, 1, mods[2:]) {
			return nil, "after the conv at 0 and the Linear at 4, not residual dense blocks at 6, 7, … then a Linear (Model c)"
		}
		return &Inference{Spec: models.Spec{Name: models.ModelC, Depth: len(blocks), Skip: true, Classes: classes},
			InChannels: first.shape("weight")[1], Assumed: []string{skipAssumed}, Undetermined: []string{"skip"}}, ""

	case allOf(mods[:len(mods)-1], func(m module) bool { return m.isConv(true) }):
		// Model b: convs at 0, 3, …, 3(k−1), Linear at 3k+1.
		convs := mods[:len(mods)-1]
		if !indices(0, 3, convs) || last.index != 3*len(convs)+1 {
			return nil, "conv layers not at indices 0, 3, …, 3(k−1) with the Linear at 3k+1 (Model b)"
		}
		return &Inference{Spec: models.Spec{Name: models.ModelB, Depth: len(convs), Classes: classes},
			InChannels: first.shape("weight")[1]}, ""

	case first.isConv(true) && len(mods) >= 5 && (mods[1].isBasicBlock(false) || mods[1].isBasicBlock(true)):
		// Model d: stem 0, blocks 3, 5, …, 3+2(k+1), Linear 2k+8.
		blocks := mods[1 : len(mods)-1]
		k := len(blocks) - 2
		if k < 1 || !indices(3, 2, blocks) || last.index != 2*k+8 {
			return nil, "residual conv blocks not at indices 3, 5, … with the Linear at 2k+8 (Model d)"
		}
		skip := blocks[k].isBasicBlock(true)
		for j, b := range blocks {
			if !b.isBasicBlock(skip && j >= k) {
				return nil, fmt.Sprintf("block %d (index %d) has keys %v, not those of Model d's block", j, b.index, keys(b))
			}
		}
		return &Inference{Spec: models.Spec{Name: models.ModelD, Depth: k, Skip: skip, Classes: classes},
			InChannels: first.shape("weight")[1]}, ""
	}
	return nil, fmt.Sprintf("module 0 has keys %v and module %d has keys %v", keys(first), mods[min(1, len(mods)-1)].index, keys(mods[min(1, len(mods)-1)]))
}

func keys(m module) []string {
	var out []string
	for k := range m.params {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func allOf(ms []module, ok func(module) bool) bool {
	for _, m := range ms {
		if !ok(m) {
			return false
		}
	}
	return true
}

// verify builds the inferred model on an input the file is consistent with
// and compares every parameter name and shape with the file.
func (inf *Inference) verify(f *File) error {
	s := inf.Spec
	switch s.Name {
	case models.MLP, models.ResMLP:
		s.Input = nn.Shape{inf.InFeatures}
	case models.ModelB:
		// The Linear takes 8·H·W features; any H·W of that area builds.
		area := f.Tensors[strconv.Itoa(3*s.Depth+1)+".weight"].Shape[1]
		if area%8 != 0 {
			return fmt.Errorf("its Linear takes %d features, not a multiple of Model b's 8 channels", area)
		}
		s.Input = nn.Shape{inf.InChannels, 1, area / 8}
	case models.ModelC:
		// The Linear at 4 takes 8·⌊H/2⌋·⌊W/2⌋ features.
		area := f.Tensors["4.weight"].Shape[1]
		if area%8 != 0 {
			return fmt.Errorf("its Linear at index 4 takes %d features, not a multiple of Model c's 8 channels", area)
		}
		s.Input = nn.Shape{inf.InChannels, 2, 2 * (area / 8)}
	case models.ModelD:
		s.Input = nn.Shape{inf.InChannels, 8, 8}
	}
	net, err := models.Build[float64](s)
	if err != nil {
		return err
	}
	mis := &MismatchError{Path: f.Path}
	seen := map[string]bool{}
	for _, p := range net.Params() {
		seen[p.Name] = true
		t, ok := f.Tensors[p.Name]
		switch {
		case !ok:
			mis.Missing = append(mis.Missing, p.Name)
		case !slices.Equal(t.Shape, p.Shape):
			mis.Shapes = append(mis.Shapes, ShapeMismatch{Key: p.Name, File: t.Shape, ModelShape: p.Shape})
		}
	}
	for _, n := range f.Names() {
		if !seen[n] {
			mis.Extra = append(mis.Extra, n)
		}
	}
	if len(mis.Missing)+len(mis.Extra)+len(mis.Shapes) > 0 {
		return mis
	}
	return nil
}

// Describe is the inferred model in one line, with the evidence, e.g.
// "mlp-100-100 (784 input features, 10 classes; also Model a with k = 2, width 100)".
func (inf *Inference) Describe() string {
	s := inf.Spec
	var facts []string
	if inf.InFeatures > 0 {
		facts = append(facts, fmt.Sprintf("%d input features", inf.InFeatures))
	}
	if inf.InChannels > 0 {
		facts = append(facts, fmt.Sprintf("%d input channel(s)", inf.InChannels))
	}
	facts = append(facts, fmt.Sprintf("%d classes", s.Classes))
	if s.Name == models.MLP && len(s.Hidden) > 0 && allEqual(s.Hidden) {
		facts = append(facts, fmt.Sprintf("also Model a with k = %d, width %d", len(s.Hidden), s.Hidden[0]))
	}
	name := s
	name.Classes = 0
	return fmt.Sprintf("%s (%s)", name, strings.Join(facts, "; "))
}

func allEqual(v []int) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}
