package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/train"
)

func init() { register(newTrainCmd) }

// trainFlags are the flag values of `fenchel train`.
type trainFlags struct {
	modelFlags
	dataFlags
	loss                   string
	smoothing              float64
	init                   string
	initConst, initEps     float64
	opt                    string
	lr, lrGamma            float64
	lrEvery                int
	momentum, beta1, beta2 float64
	weightDecay            float64
	batch, epochs          int
	maxSteps               int
	seed                   uint64
	dtype                  string
	nTrain, nTest          int
	classes                int
	synDim, synClasses     int
	synSep, synNoise       float64
	synSeed                uint64
	logEvery, ckptEvery    int
	out                    string
	resume, quiet          bool
	probeEvery, probeN     int
	probeSplit             string
	perImageEvery          int
	perImageClass          int
}

// hooks builds the instruments the flags ask for (THEORY §2–§3 n-sample probe,
// §5 per-image indicator); their records go into metrics.jsonl.
func (f *trainFlags) hooks() ([]train.Hook, error) {
	var hooks []train.Hook
	if f.probeEvery < 0 || f.perImageEvery < 0 {
		return nil, fmt.Errorf("--probe-every %d, --per-image-every %d: want ≥ 0 (0 = off)", f.probeEvery, f.perImageEvery)
	}
	if f.probeEvery > 0 {
		if f.probeN < 1 {
			return nil, fmt.Errorf("--probe-n %d: want ≥ 1", f.probeN)
		}
		h, err := instrument.NewNSample(instrument.NSampleConfig{Every: f.probeEvery, N: f.probeN, Split: f.probeSplit})
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, h)
	}
	if f.perImageEvery > 0 {
		h, err := instrument.NewPerImage(f.perImageEvery, f.perImageClass, "")
		if err != nil {
			return nil, err
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

func newTrainCmd() *cobra.Command {
	def := train.DefaultConfig()
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train one model and record the run (config, metrics, checkpoint, summary)",
		Long: `train runs one training job and writes its run directory:
config.json, metrics.jsonl, metrics.csv, checkpoint.bin, summary.json, timings.json.
The same flags and seed give byte-identical metrics files. Ctrl-C (SIGINT) or
SIGTERM stops within about a second (exit 130 / 143): between steps it saves a
checkpoint, inside a probe hook it keeps the last one; --resume continues from
the checkpoint exactly. The first epoch end always checkpoints, later ones at
most every 10 s (see --checkpoint-every). checkpoint.bin carries a SHA-256
checksum, verified whenever it is read.`,
		Example: `  fenchel train --model mlp --widths 100 --loss softmax --opt sgd --lr 0.1 --batch 128 --epochs 1 --seed 0
  fenchel train --model d --depth 1 --opt adam --lr 0.002 --batch 64 --epochs 1 --seed 1
  fenchel train --model resmlp --depth 8 --width 64 --no-skip --data synthetic --max-steps 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			hooks, err := f.hooks()
			if err != nil {
				return err
			}
			out := f.out
			if out == "" {
				out = defaultOutDir(cfg)
			}
			opts := train.RunOptions{Resume: f.resume, Notes: cmd.ErrOrStderr()}
			if !f.quiet {
				opts.Progress = cmd.ErrOrStderr()
				opts.Log = cmd.ErrOrStderr()
			}
			res, err := train.Run(cmd.Context(), cfg, out, hooks, opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: test accuracy %.4f, test loss %.4f, train loss %.4f; %d steps, %d parameters; %.1f s (train %.1f s, %.0f samples/s) -> %s\n",
				res.Model, res.TestAccuracy, res.TestLoss, res.FinalTrainLoss, res.Steps, res.Params,
				res.Seconds["total"], res.Seconds["train"], res.SamplesPerSecond, out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	f.modelFlags.register(fl, def.Model)
	fl.StringVar(&f.loss, "loss", def.Loss, "Fenchel-Young loss: "+strings.Join(loss.Names(), "|"))
	fl.Float64Var(&f.smoothing, "smoothing", def.Smoothing, "label smoothing in [0, 1)")
	fl.StringVar(&f.init, "init", string(initializer.PyTorch), "initialiser: "+strings.Join(initializer.Names(), "|"))
	fl.Float64Var(&f.initConst, "init-const", 0, "constant c of the symmetric inits (weights c/fan_in; 0 = default)")
	fl.Float64Var(&f.initEps, "init-eps", 0, "noise scale ε of symmetric+noise")
	fl.StringVar(&f.opt, "opt", def.Optim.Name, "optimiser: sgd|momentum|adam")
	fl.Float64Var(&f.lr, "lr", def.LR, "base learning rate")
	fl.Float64Var(&f.lrGamma, "lr-gamma", def.LRGamma, "learning-rate factor applied every --lr-every epochs (paper: 0.1)")
	fl.IntVar(&f.lrEvery, "lr-every", def.LRDecayEvery, "epochs between learning-rate decays (0 = constant; paper: 2)")
	fl.Float64Var(&f.momentum, "momentum", def.Optim.Momentum, "momentum of --opt momentum")
	fl.Float64Var(&f.beta1, "beta1", def.Optim.Beta1, "Adam β1")
	fl.Float64Var(&f.beta2, "beta2", def.Optim.Beta2, "Adam β2")
	fl.Float64Var(&f.weightDecay, "weight-decay", def.Optim.WeightDecay, "L2 weight decay")
	fl.IntVar(&f.batch, "batch", def.Batch, "mini-batch size (the last batch of an epoch may be smaller)")
	fl.IntVar(&f.epochs, "epochs", def.Epochs, "epochs (0 allowed with --max-steps)")
	fl.IntVar(&f.maxSteps, "max-steps", 0, "stop after this many optimiser steps (0 = no cap)")
	fl.Uint64Var(&f.seed, "seed", def.Seed, "seed of initialisation and shuffling")
	fl.StringVar(&f.dtype, "dtype", def.DType, "training precision: float32|float64")
	f.dataFlags.register(fl, def.Data, "mnist|fixture|synthetic", "")
	fl.IntVar(&f.nTrain, "n-train", 0, "training samples: first n (0 = all); for synthetic data, samples generated")
	fl.IntVar(&f.nTest, "n-test", 0, "test samples: first n (0 = all); for synthetic data, samples generated")
	fl.IntVar(&f.classes, "classes", data.MNISTClasses, "classes of MNIST-format data (the model's outputs; a label outside is an error); synthetic data: --syn-classes")
	fl.IntVar(&f.synDim, "syn-dim", def.Data.Synthetic.Dim, "synthetic data: features")
	fl.IntVar(&f.synClasses, "syn-classes", def.Data.Synthetic.Classes, "synthetic data: classes")
	fl.Float64Var(&f.synSep, "syn-separation", def.Data.Synthetic.Separation, "synthetic data: norm of the class means")
	fl.Float64Var(&f.synNoise, "syn-noise", def.Data.Synthetic.Noise, "synthetic data: noise standard deviation")
	fl.Uint64Var(&f.synSeed, "syn-seed", 0, "synthetic data: seed (independent of --seed)")
	fl.IntVar(&f.logEvery, "log-every", def.LogEvery, "steps between train records in metrics.jsonl")
	fl.IntVar(&f.ckptEvery, "checkpoint-every", 0, "steps between checkpoints (0 = at the first epoch end, then at epoch ends at most every 10 s, the last step and Ctrl-C/SIGTERM)")
	fl.StringVar(&f.out, "out", "", "run directory (default runs/<model>-s<seed>)")
	fl.BoolVar(&f.resume, "resume", false, "continue the run in --out from its checkpoint")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar or start line")
	fl.IntVar(&f.probeEvery, "probe-every", 0, "every N steps, measure E_f, ‖∇R‖, the spectra of H, H_S, H_p and the bounds on a probe set (records kind \"nsample\"; 0 = off)")
	fl.IntVar(&f.probeN, "probe-n", instrument.DefaultNSampleN, "probe set: the first n samples of --probe-split")
	fl.StringVar(&f.probeSplit, "probe-split", "train", "probe set split: train|test")
	fl.IntVar(&f.perImageEvery, "per-image-every", 0, "every N steps, the paper's per-image indicator F = g·λ_max/λ_min and R on two test images (records kind \"per_image\"; paper: 2; 0 = off)")
	fl.IntVar(&f.perImageClass, "per-image-class", instrument.FirstTestClass, "class of the two test images (-1 = the class of test image 0)")
	return cmd
}

// config turns the flags into a validated train.Config.
func (f *trainFlags) config(cmd *cobra.Command) (train.Config, error) {
	spec, err := f.modelFlags.spec(cmd)
	if err != nil {
		return train.Config{}, err
	}
	cfg := train.DefaultConfig()
	cfg.Model = spec
	cfg.Init = initializer.Options{Scheme: initializer.Scheme(f.init), Constant: f.initConst, Eps: f.initEps}
	cfg.Loss, cfg.Smoothing = f.loss, f.smoothing
	cfg.Optim.Name, cfg.Optim.Momentum, cfg.Optim.Beta1, cfg.Optim.Beta2 = f.opt, f.momentum, f.beta1, f.beta2
	cfg.Optim.WeightDecay = f.weightDecay
	cfg.LR, cfg.LRGamma, cfg.LRDecayEvery = f.lr, f.lrGamma, f.lrEvery
	cfg.Batch, cfg.Epochs, cfg.MaxSteps = f.batch, f.epochs, f.maxSteps
	cfg.Seed, cfg.DType = f.seed, f.dtype
	cfg.LogEvery, cfg.CheckpointEvery = f.logEvery, f.ckptEvery
	cfg.Data.NTrain, cfg.Data.NTest = f.nTrain, f.nTest
	if cfg.Data, err = f.dataFlags.source(cfg.Data); err != nil {
		return train.Config{}, err
	}
	if cmd.Flags().Changed("classes") {
		if cfg.Data.Source == data.SourceSynthetic {
			return train.Config{}, fmt.Errorf("--classes %d: synthetic data take --syn-classes", f.classes)
		}
		if f.classes != data.MNISTClasses {
			cfg.Data.Classes = f.classes
		}
	}
	if cfg.Data.Source == data.SourceSynthetic {
		s := &cfg.Data.Synthetic
		s.Dim, s.Classes, s.Separation, s.Noise = f.synDim, f.synClasses, f.synSep, f.synNoise
		if f.nTrain > 0 {
			s.NTrain = f.nTrain
		}
		if f.nTest > 0 {
			s.NTest = f.nTest
		}
		cfg.Data.NTrain, cfg.Data.NTest, cfg.Data.Seed = 0, 0, f.synSeed
	}
	if err := cfg.Validate(); err != nil {
		var me *data.MemoryError
		if errors.As(err, &me) {
			return train.Config{}, fmt.Errorf("--n-train %d --n-test %d --syn-dim %d: the synthetic data need %d bytes (%s), more than the %d bytes (%s) available (%s); %s",
				me.Config.NTrain, me.Config.NTest, me.Config.Dim, me.Need, data.Bytes(me.Need), me.Available, data.Bytes(me.Available), me.From, me.Fits("--n-train", "--syn-dim"))
		}
		return train.Config{}, err
	}
	return cfg, nil
}

// defaultOutDir is runs/<model>-s<seed>: deterministic, so re-running a
// command finds its run (and refuses to overwrite it without --resume).
func defaultOutDir(cfg train.Config) string {
	return filepath.Join("runs", fmt.Sprintf("%s-s%d", cfg.Model, cfg.Seed))
}
