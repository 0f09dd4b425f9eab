package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/weights"
)

// givenModelFlags lists the model flags set on the command line, as typed.
func givenModelFlags(cmd *cobra.Command) []string {
	var out []string
	for _, name := range modelFlagNames {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			out = append(out, "--"+name+"="+strings.Trim(fl.Value.String(), "[]"))
		}
	}
	return out
}

// inferSafetensors reads the weights file and decides the model: inferred
// from its keys and shapes, with the model flags given explicitly applied on
// top (they override what the file leaves open, such as skips for Model c;
// where they contradict the file, assignSafetensors reports both). Without
// explicit flags an uninferable file is an error that points to --arch.
func (in *probeInput) inferSafetensors(cmd *cobra.Command, f *probeFlags, flagSpec models.Spec) error {
	file, err := weights.ReadSafetensors(f.safetensors)
	if err != nil {
		return err
	}
	in.file, in.source = file, f.safetensors
	inf, ierr := weights.Infer(file)
	given := givenModelFlags(cmd)
	if ierr != nil {
		if len(given) == 0 {
			return fmt.Errorf("%w\ngive the model with --model and its flags, or describe it in an architecture file (--arch; tools/export_arch.py writes one from a PyTorch nn.Sequential)", ierr)
		}
		in.spec = flagSpec
		return nil
	}
	in.inferred = inf
	s := inf.Spec
	changed := cmd.Flags().Changed
	if changed("model") && f.model != s.Name {
		if f.model == models.ModelA && s.Name == models.MLP && len(s.Hidden) > 0 && !slices.ContainsFunc(s.Hidden, func(h int) bool { return h != s.Hidden[0] }) {
			s = models.Spec{Name: models.ModelA, Depth: len(s.Hidden), Width: s.Hidden[0], Classes: s.Classes}
		} else {
			s = flagSpec
			s.Classes = inf.Spec.Classes
		}
	}
	if changed("widths") {
		s.Hidden = slices.Clone(f.widths)
	}
	if changed("depth") {
		s.Depth = f.depth
	}
	if changed("width") {
		s.Width = f.width
	}
	if changed("skip") || changed("no-skip") {
		s.Skip = f.skip && !f.noSkip
	}
	if changed("logit-relu") {
		s.LogitReLU = f.logitReLU
	}
	in.spec = s

	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "probe: %s: inferred %s\n", f.safetensors, inf.Describe())
	for _, a := range inf.Assumed {
		fmt.Fprintf(w, "probe:   assumed: %s\n", a)
	}
	if len(given) > 0 {
		fmt.Fprintf(w, "probe:   flags %s applied: %s\n", strings.Join(given, " "), s)
	}
	return nil
}

// checkInferredInput compares what the file says about the input with the
// data, before building, so the message names both sides.
func (in *probeInput) checkInferredInput(split *data.Dataset) error {
	inf := in.inferred
	if inf == nil {
		return nil
	}
	if inf.InFeatures > 0 && inf.InFeatures != split.Dim() {
		return fmt.Errorf("%s: the first layer takes %d input features, but %s has %d per sample (shape %v)",
			in.source, inf.InFeatures, split.Name, split.Dim(), split.Shape)
	}
	if inf.InChannels > 0 && (len(split.Shape) != 3 || split.Shape[0] != inf.InChannels) {
		return fmt.Errorf("%s: the first conv takes %d input channel(s), but %s has samples of shape %v",
			in.source, inf.InChannels, split.Name, split.Shape)
	}
	if inf.Spec.Classes != split.K {
		return fmt.Errorf("%s: the last layer outputs %d classes, but %s has %d", in.source, inf.Spec.Classes, split.Name, split.K)
	}
	return nil
}

// assignSafetensors copies the file's tensors into the model; a mismatch
// after an inference means the flags contradict the file, and says so.
func (in *probeInput) assignSafetensors(cmd *cobra.Command) error {
	err := weights.Assign(in.file, in.model)
	var mis *weights.MismatchError
	if err != nil && in.inferred != nil && errors.As(err, &mis) {
		return fmt.Errorf("the flags %s describe %s, but %s holds %s (inferred from its keys and shapes): %w",
			strings.Join(givenModelFlags(cmd), " "), in.spec, in.source, in.inferred.Spec, err)
	}
	return err
}

// classesFromModel makes the classes of an IDX or .npy directory those of
// the model when the weights file or the architecture says how many logits
// it has: the number of classes is the model's, and a label outside it is
// an error (data.Source.Classes).
func (in *probeInput) classesFromModel() {
	if in.ck != nil || (in.dc.Source != data.SourceIDX && in.dc.Source != data.SourceNPY) {
		return
	}
	switch {
	case in.arch != nil:
		in.dc.Classes = in.arch.Classes()
	case in.inferred != nil:
		in.dc.Classes = in.inferred.Spec.Classes
	}
}

// loadArch builds the network of an architecture file for the data's input
// shape and classes.
func (in *probeInput) loadArch(cmd *cobra.Command, f *probeFlags, split *data.Dataset) error {
	if given := givenModelFlags(cmd); len(given) > 0 {
		return fmt.Errorf("--arch %s describes the model; %s cannot be combined with it", f.arch, strings.Join(given, " "))
	}
	a := in.arch
	if a.Input.Size() != split.Dim() || (len(a.Input) == 3 && len(split.Shape) == 3 && !a.Input.Equal(split.Shape)) {
		return fmt.Errorf("--arch %s takes inputs of shape %v, but %s has samples of shape %v", f.arch, a.Input, split.Name, split.Shape)
	}
	if k := a.Classes(); k != split.K {
		return fmt.Errorf("--arch %s outputs %d logits, but %s has %d classes", f.arch, k, split.Name, split.K)
	}
	var err error
	if in.model, err = models.BuildArch[float64](a); err != nil {
		return err
	}
	in.name = "arch " + f.arch
	fmt.Fprintf(cmd.ErrOrStderr(), "probe: %s: %s\n", f.arch, a)
	return in.assignSafetensors(cmd)
}
