package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/models"
)

// modelFlags are the model flags every command that builds a model shares.
type modelFlags struct {
	model                   string
	widths                  []int
	depth, width            int
	skip, noSkip, logitReLU bool
}

// modelFlagNames are the flags modelFlags registers.
var modelFlagNames = []string{"model", "widths", "depth", "width", "skip", "no-skip", "logit-relu"}

func (m *modelFlags) register(fl *pflag.FlagSet, def models.Spec) {
	fl.StringVar(&m.model, "model", def.Name, "model: "+strings.Join(models.Names(), "|"))
	fl.IntSliceVar(&m.widths, "widths", def.Hidden, "hidden widths of --model mlp (comma-separated)")
	fl.IntVar(&m.depth, "depth", 1, "k for models a–d (hidden/conv/skip layers, stage-1 blocks), blocks L for resmlp")
	fl.IntVar(&m.width, "width", models.DefaultWidth, "hidden width of models a and resmlp")
	fl.BoolVar(&m.skip, "skip", true, "skip connections on (models c, d, resmlp)")
	fl.BoolVar(&m.noSkip, "no-skip", false, "skip connections off (same as --skip=false)")
	fl.BoolVar(&m.logitReLU, "logit-relu", false, "ReLU on the output logits of model a (the authors' variant)")
}

// spec is the model the flags describe (input and classes resolved later
// from the data).
func (m *modelFlags) spec(cmd *cobra.Command) (models.Spec, error) {
	changed := cmd.Flags().Changed
	for _, c := range []struct {
		name string
		v    int
	}{{"width", m.width}, {"depth", m.depth}} {
		// models treat width 0 as "default"; on the command line it is a mistake.
		if changed(c.name) && c.v <= 0 && !(c.name == "depth" && c.v == 0 && (m.model == models.ModelC || m.model == models.ResMLP)) {
			return models.Spec{}, fmt.Errorf("--%s %d: want a positive value", c.name, c.v)
		}
	}
	if changed("skip") && changed("no-skip") && m.skip == m.noSkip {
		return models.Spec{}, fmt.Errorf("--skip=%t and --no-skip=%t contradict each other", m.skip, m.noSkip)
	}
	s := models.Spec{Name: m.model, Depth: m.depth, Width: m.width, Skip: m.skip && !m.noSkip, LogitReLU: m.logitReLU}
	if m.model == models.MLP {
		s.Hidden = slices.Clone(m.widths)
	}
	return s, nil
}

// modelFlagsGiven reports whether any model flag was set explicitly.
func modelFlagsGiven(cmd *cobra.Command) bool {
	return slices.ContainsFunc(modelFlagNames, cmd.Flags().Changed)
}

// specsAgree compares two resolved specs through their JSON form.
func specsAgree(a, b models.Spec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// dataFlags are --data and --normalize, shared by every command that loads data.
type dataFlags struct {
	data, normalize string
}

func (d *dataFlags) register(fl *pflag.FlagSet, def data.Source, kinds, note string) {
	fl.StringVar(&d.data, "data", def.Source, "data: "+kinds+"|<directory of MNIST-format IDX files, or of x_train.npy, y_train.npy, x_test.npy, y_test.npy>"+note)
	fl.StringVar(&d.normalize, "normalize", def.Normalize, "pixels: standard = (x/255 − 0.1307)/0.3081 as in training | none = x/255"+note)
}

// source parses --data into base (its other fields kept) and sets --normalize.
func (d *dataFlags) source(base data.Source) (data.Source, error) {
	if err := d.checkNormalize(); err != nil {
		return data.Source{}, err
	}
	s, err := data.ParseSource(base, d.data)
	if err != nil {
		return data.Source{}, err
	}
	s.Normalize = d.normalize
	return s, nil
}

func (d *dataFlags) checkNormalize() error {
	if d.normalize != data.ModeStandard && d.normalize != data.ModeNone {
		return fmt.Errorf("--normalize %q: want standard or none", d.normalize)
	}
	return nil
}
