package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/instrument"
	"github.com/fenchel-ml/fenchel/internal/atomicfile"
	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
	"github.com/fenchel-ml/fenchel/internal/version"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
	"github.com/fenchel-ml/fenchel/weights"
)

func init() { register(newProbeCmd) }

// probeFlags are the flag values of `fenchel probe`.
type probeFlags struct {
	checkpoint, safetensors string
	arch                    string
	modelFlags
	dataFlags
	split          string
	n              int
	inputPrecision string
	loss           string
	method         string
	maxMemory      string
	rankTol        float64
	spectra        string
	products       int
	spectrum       string
	json           bool
}

func newProbeCmd() *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Measure E_f, ‖∇R‖, the spectra of H, H_S, H_p and the bounds of THEORY §3 for saved weights",
		Long: `probe loads a model's weights (a fenchel checkpoint or a PyTorch state_dict saved
as safetensors), takes the first n images of a data split as the probe set, and
reports the quantities of THEORY §2: fitting error E_f, residual norm ‖r‖,
gradient norm ‖∇R‖, the spectra of H = J Jᵀ, H_S (sum-zero projection) and H_p
(probability-weighted, softmax), the structural error E_s, the bounds (A)(B)(C)
with their validity, the indicator F and a diagnosis in words.

--normalize standard maps pixels to (x/255 − 0.1307)/0.3081, as training does;
--normalize none uses x/255 only (what the PyTorch reference case in testdata/pytorch was computed with).
Features are computed in float64; --input-precision float32 rounds them to
float32 first, as a PyTorch pipeline does (torchvision's ToTensor yields
float32 x/255; testdata/pytorch holds exactly those inputs, so matching it
beyond about 1e-8 relative needs this flag).
With --checkpoint the model, data source, normalisation and loss default to
the run's; model flags given explicitly must agree with the checkpoint.

Safetensors keys must equal fenchel's parameter names, which are PyTorch's
state_dict keys of the equivalent module (see package weights). The model is
inferred from the keys and shapes when they are those of an nn.Sequential of
Linear layers (ReLU assumed between them) or of Models a–d or resmlp; what was
inferred is printed on stderr, and model flags given explicitly override what
the file leaves open (skips of Model c and resmlp) and must agree with the rest.
Any other feed-forward network of Linear, Conv2d, ReLU, Tanh, MaxPool2d,
AvgPool2d, AdaptiveAvgPool2d(1), Flatten and residual blocks is described by an
architecture file (--arch), which tools/export_arch.py writes from PyTorch.`,
		Example: `  fenchel probe --checkpoint runs/mlp-100-s0/checkpoint.bin --n 50
  fenchel probe --safetensors mlp.safetensors --data mnist --split train --n 10 --normalize none --json
  fenchel probe --arch net.json --safetensors net.safetensors --data DIR --n 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProbe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.checkpoint, "checkpoint", "", "fenchel run checkpoint (RUN_DIR/checkpoint.bin)")
	fl.StringVar(&f.safetensors, "safetensors", "", "PyTorch state_dict saved with safetensors (model inferred from its keys, or given by --model or --arch)")
	fl.StringVar(&f.arch, "arch", "", "architecture file (JSON, tools/export_arch.py) of the network in --safetensors")
	def := train.DefaultConfig()
	f.modelFlags.register(fl, def.Model)
	f.dataFlags.register(fl, def.Data, "mnist|fixture", " (default with --checkpoint: the run's)")
	fl.StringVar(&f.split, "split", "train", "split the probe set is taken from: train|test")
	fl.IntVar(&f.n, "n", 10, "probe size: the first n images of the split")
	fl.StringVar(&f.inputPrecision, "input-precision", "float64", "float64 | float32: round every normalised input to float32 first, as PyTorch pipelines (torchvision ToTensor) do")
	fl.StringVar(&f.loss, "loss", "softmax", "Fenchel-Young loss: "+strings.Join(loss.Names(), "|")+" (default with --checkpoint: the run's)")
	fl.StringVar(&f.method, "method", "auto", "eigenvalues: auto|dense|lanczos|matrixfree (auto: certified extremes on the materialised H — Lanczos on H for λ_max, on H⁻¹ via Cholesky for λ_min — whenever its ≈ 8·(nK)² bytes (16·(nK)² below nK = 4096) fit --max-memory, as it is ~8× faster than matrix-free and certifies λ_min (with 24 GB: up to nK ≈ 42000); else matrix-free Hv = J(Jᵀv), λ_max certified, λ_min certified only if it converges within --matrix-free-products; lanczos: certified extremes, refused if H does not fit; dense: every eigenvalue)")
	fl.StringVar(&f.maxMemory, "max-memory", "", "memory budget of the spectra, e.g. 8GiB or 500MB (default: 3/4 of the memory available at start, now "+structural.Bytes(structural.DefaultMaxMemory())+")")
	fl.StringVar(&f.spectra, "spectra", "", "comma-separated spectra to compute, of "+strings.Join(structural.SpectrumNames(), ",")+" (default: all that apply to the loss); the one of bounds (A)(B), H_S (H for squared), is always computed, and a bound needing one left out is reported as not computed")
	fl.IntVar(&f.products, "matrix-free-products", structural.DefaultMatrixFreeProducts, "budget of products Hv = J(Jᵀv) per spectrum on the matrix-free path: a λ_min not converged within it is reported as not certified, with the interval [0, λ] it lies in")
	fl.Float64Var(&f.rankTol, "rank-tol", structural.DefaultRankTol, "relative tolerance of the numerical rank (eigenvalues > tol·λ_max count)")
	fl.StringVar(&f.spectrum, "spectrum", "", "write every eigenvalue of H, H_S, H_p to this JSON file (dense only)")
	fl.BoolVar(&f.json, "json", false, "print machine-readable JSON instead of the table")
	return cmd
}

// probeInput is everything runProbe resolved from the flags.
type probeInput struct {
	model  nn.Layer[float64]
	spec   models.Spec
	source string // weights file
	set    *data.Dataset
	data   string // description of the data
	norm   string
	l      loss.Loss
	ck     *train.Checkpoint // nil with --safetensors
	dc     data.Source
	name   string // the model in reports: spec.String() or the architecture file
	// file and inferred: the safetensors file and what its keys say (nil
	// when not inferred).
	file     *weights.File
	inferred *weights.Inference
	arch     *models.Arch // with --arch
}

func loadProbeInput(cmd *cobra.Command, f *probeFlags) (*probeInput, map[string]float64, error) {
	timings := map[string]float64{}
	clock := time.Now()
	lap := func(phase string) { timings[phase] = time.Since(clock).Seconds(); clock = time.Now() }

	if err := f.check(); err != nil {
		return nil, nil, err
	}
	flagSpec, err := f.modelFlags.spec(cmd)
	if err != nil {
		return nil, nil, err
	}
	in := &probeInput{}
	if err := in.resolve(cmd, f, flagSpec); err != nil {
		return nil, nil, err
	}
	split, err := in.loadSet(f)
	if err != nil {
		return nil, nil, err
	}
	lap("data")
	if err := in.buildModel(cmd, f, flagSpec, split); err != nil {
		return nil, nil, err
	}
	lap("load weights")
	return in, timings, nil
}

// check validates the flags that need no file.
func (f *probeFlags) check() error {
	if f.arch != "" && f.safetensors == "" {
		return errors.New("--arch describes the network whose weights --safetensors gives; give both")
	}
	if (f.checkpoint == "") == (f.safetensors == "") {
		return errors.New("give exactly one of --checkpoint and --safetensors")
	}
	if f.split != "train" && f.split != "test" {
		return fmt.Errorf("--split %q: want train or test", f.split)
	}
	if f.n < 1 {
		return fmt.Errorf("--n %d: want at least 1 sample", f.n)
	}
	if f.inputPrecision != "float64" && f.inputPrecision != "float32" {
		return fmt.Errorf("--input-precision %q: want float64 or float32", f.inputPrecision)
	}
	return f.dataFlags.checkNormalize()
}

// resolve settles model, weights file, data source and loss: from the
// checkpoint's config where one is given and the flag was not set, else
// from the flags.
func (in *probeInput) resolve(cmd *cobra.Command, f *probeFlags, flagSpec models.Spec) error {
	changed := cmd.Flags().Changed
	var err error
	in.dc = data.Source{Normalize: f.normalize}
	lossName := f.loss
	if f.checkpoint != "" {
		if in.ck, err = train.ReadCheckpoint(f.checkpoint); err != nil {
			return err
		}
		cfg := in.ck.Config
		in.spec, in.source = cfg.Model, f.checkpoint
		if !changed("data") {
			in.dc = cfg.Data
		}
		in.dc.Normalize = cfg.Data.Normalize
		if changed("normalize") {
			in.dc.Normalize = f.normalize
		}
		if !changed("loss") {
			lossName = cfg.Loss
		}
	} else if f.arch != "" {
		if in.arch, err = models.ReadArch(f.arch); err != nil {
			return err
		}
		if in.file, err = weights.ReadSafetensors(f.safetensors); err != nil {
			return err
		}
		in.source = f.safetensors
	} else if err := in.inferSafetensors(cmd, f, flagSpec); err != nil {
		return err
	}
	if changed("data") || f.checkpoint == "" {
		// A probe takes the whole of a split, so NTrain/NTest stay 0; synthetic
		// data has parameters only a checkpoint's config gives.
		if f.data == data.SourceSynthetic {
			return fmt.Errorf("--data %q: synthetic data is probed only through --checkpoint, whose config holds its parameters", f.data)
		}
		norm := in.dc.Normalize
		if in.dc, err = f.dataFlags.source(data.Source{}); err != nil {
			return err
		}
		in.dc.Normalize = norm
	}
	in.classesFromModel()
	if in.l, err = loss.New(lossName); err != nil {
		return fmt.Errorf("--loss: %w", err)
	}
	return nil
}

// loadSet loads the data and takes the probe set, the first n samples of
// the split; it returns the whole split.
func (in *probeInput) loadSet(f *probeFlags) (*data.Dataset, error) {
	trainSet, testSet, err := in.dc.Load()
	if err != nil {
		return nil, err
	}
	split := trainSet
	if f.split == "test" {
		split = testSet
	}
	if f.n > split.N {
		return nil, fmt.Errorf("--n %d exceeds the %d samples of the %s split (%s)", f.n, split.N, f.split, split.Name)
	}
	if in.set, err = split.First(f.n); err != nil {
		return nil, err
	}
	in.data, in.norm = split.Name, in.dc.Normalize
	if in.dc.Source == data.SourceSynthetic {
		in.norm = "n/a (synthetic features)"
	} else if split.Normalization().Mode == "" {
		in.norm = "n/a (float features, used as stored)"
	}
	return split, nil
}

// buildModel resolves the model's input and classes from the data, as
// training does, checks explicit model flags against a checkpoint, builds
// the model and loads its weights.
func (in *probeInput) buildModel(cmd *cobra.Command, f *probeFlags, flagSpec models.Spec, split *data.Dataset) error {
	if f.arch != "" {
		return in.loadArch(cmd, f, split)
	}
	if err := in.checkInferredInput(split); err != nil {
		return err
	}
	resolve := func(s models.Spec) models.Spec {
		if len(s.Input) == 0 {
			s.Input = slices.Clone(split.Shape)
		}
		if s.Classes == 0 {
			s.Classes = split.K
		}
		return s
	}
	in.spec = resolve(in.spec)
	if in.ck != nil && modelFlagsGiven(cmd) {
		if want := resolve(flagSpec); !specsAgree(want, in.spec) {
			return fmt.Errorf("checkpoint %s holds model %s, but the flags describe %s: checkpoint from a different model", f.checkpoint, in.spec, want)
		}
	}
	if err := in.spec.Validate(); err != nil {
		return err
	}
	if in.spec.Input.Size() != split.Dim() || in.spec.Classes != split.K {
		return fmt.Errorf("model %s takes %v with %d classes, but %s has %v with %d classes", in.spec, in.spec.Input, in.spec.Classes, split.Name, split.Shape, split.K)
	}
	var err error
	if in.model, err = models.Build[float64](in.spec); err != nil {
		return err
	}
	in.name = in.spec.String()
	if in.ck != nil {
		return train.AssignWeights(in.ck, in.model)
	}
	return in.assignSafetensors(cmd)
}

// boundChain writes a bound as the chain its Note states (structural.Bound:
// B reads Lower ≤ Middle ≤ Value, C reads Value ≤ Middle ≤ Upper), leaving
// out the ends a chain does not have (±Inf) and a missing Middle (NaN).
func boundChain(b structural.Bound, g func(float64) string) string {
	if !b.Valid {
		return "—"
	}
	terms := []float64{b.Lower, b.Value, b.Upper}
	switch b.Name {
	case "B":
		terms = []float64{b.Lower, b.Middle, b.Value, b.Upper}
	case "C":
		terms = []float64{b.Lower, b.Value, b.Middle, b.Upper}
	}
	var parts []string
	for i, v := range terms {
		if math.IsNaN(v) || (i == 0 && math.IsInf(v, -1)) || (i == len(terms)-1 && math.IsInf(v, 1) && b.Name == "B") {
			continue
		}
		parts = append(parts, g(v))
	}
	return strings.Join(parts, " ≤ ")
}

func runProbe(cmd *cobra.Command, f *probeFlags) error {
	start := time.Now()
	in, timings, err := loadProbeInput(cmd, f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx.Err() != nil {
		return fmt.Errorf("probe: stopped after loading the data and weights (%.1f s), nothing written: %w", time.Since(start).Seconds(), context.Cause(ctx))
	}
	if f.spectrum != "" && (f.method == "lanczos" || f.method == "matrixfree") {
		return fmt.Errorf("--spectrum needs every eigenvalue, which --method %s does not compute; use dense or auto", f.method)
	}
	maxMem, err := parseBytes(f.maxMemory)
	if err != nil {
		return fmt.Errorf("--max-memory %q: %w", f.maxMemory, err)
	}
	opts := structural.Options{Method: structural.Method(f.method), RankTol: f.rankTol, FullSpectrum: f.spectrum != "", MaxMemory: maxMem, Ctx: ctx,
		MatrixFreeProducts: f.products}
	if f.products < 1 {
		return fmt.Errorf("--matrix-free-products %d: want at least 1", f.products)
	}
	if f.spectra != "" {
		for _, name := range strings.Split(f.spectra, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(structural.SpectrumNames(), name) {
				return fmt.Errorf("--spectra %q: unknown spectrum %q, want some of %s", f.spectra, name, strings.Join(structural.SpectrumNames(), ","))
			}
			opts.Spectra = append(opts.Spectra, name)
		}
	}
	if f.spectrum != "" && f.method == "auto" {
		opts.Method = structural.MethodDense
	}
	probe, err := instrument.NewProbe(in.set, 0)
	if err != nil {
		return err
	}
	if f.inputPrecision == "float32" {
		for i, v := range probe.X.Data {
			probe.X.Data[i] = float64(float32(v))
		}
	}
	// A long computation says up front what it will take.
	if plan, err := structural.PlanSpectra(in.model, probe.X.Rows, in.l, opts); err == nil && plan.Seconds >= 10 {
		fmt.Fprintf(cmd.ErrOrStderr(), "probe: spectra %s at n = %d: about %s (%s), about %s on 2 idle cores\n",
			plan.Where, probe.X.Rows, structural.Bytes(plan.Need), plan.Parts, structural.Seconds(plan.Seconds))
	}
	rep, aerr := structural.Analyze(in.model, probe, in.l, opts)
	var bv *structural.BoundViolation
	if errors.Is(aerr, context.Canceled) {
		return fmt.Errorf("probe: stopped after %.1f s, nothing written: %w", time.Since(start).Seconds(), aerr)
	}
	if me := (*structural.MemoryError)(nil); errors.As(aerr, &me) {
		return memoryAdvice(me)
	}
	if aerr != nil && !errors.As(aerr, &bv) {
		return aerr
	}
	for k, v := range rep.Timings {
		timings[k] = v
	}
	if f.spectrum != "" {
		if err := writeSpectrum(f.spectrum, rep); err != nil {
			return err
		}
	}
	timings["total"] = time.Since(start).Seconds()
	out := cmd.OutOrStdout()
	if f.json {
		err = writeProbeJSON(out, in, f, rep, timings)
	} else {
		err = writeProbeTable(out, in, f, rep)
	}
	if err != nil {
		return err
	}
	return aerr // a bound violation is a bug: report it and exit non-zero
}

// probeContext is what probe --json says about the probe besides the
// report: where the weights and the data came from, and the timings.
type probeContext struct {
	Version        string                     `json:"version"`
	Model          string                     `json:"model"`
	Weights        string                     `json:"weights"`
	Data           string                     `json:"data"`
	Split          string                     `json:"split"`
	Normalize      string                     `json:"normalize"`
	InputPrecision string                     `json:"input_precision"`
	Timings        map[string]jsonfloat.Float `json:"timings"`
}

// writeProbeJSON writes the context, then the typed probe record
// (structural.Report, schema structural.SchemaVersion) as one object.
func writeProbeJSON(w io.Writer, in *probeInput, f *probeFlags, rep *structural.Report, timings map[string]float64) error {
	head, err := json.Marshal(probeContext{Version: version.Version, Model: in.name, Weights: in.source, Data: in.data,
		Split: f.split, Normalize: in.norm, InputPrecision: f.inputPrecision, Timings: jsonfloat.Map(timings)})
	if err != nil {
		return err
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	obj, err := jsonfloat.Concat(head, body)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, obj, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// writeSpectrum atomically writes the full spectra as JSON arrays
// (ascending), keyed "H", "H_S", "H_p".
func writeSpectrum(path string, rep *structural.Report) error {
	out := map[string][]float64{}
	for name, s := range map[string]*structural.Spectrum{"H": rep.H, "H_S": rep.HS, "H_p": rep.HP} {
		if s != nil {
			out[name] = s.Values
		}
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return fmt.Errorf("--spectrum %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--spectrum: %w", err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

func writeProbeTable(w io.Writer, in *probeInput, f *probeFlags, rep *structural.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	g := func(v float64) string { return fmt.Sprintf("%.6g", v) }
	fmt.Fprintf(tw, "model\t%s, P = %d, weights %s\n", in.name, rep.P, in.source)
	rounded := ""
	if f.inputPrecision == "float32" {
		rounded = ", inputs rounded to float32"
	}
	fmt.Fprintf(tw, "probe\tfirst %d %s images of %s (normalize %s%s), K = %d\n", rep.N, f.split, in.data, in.norm, rounded, rep.K)
	fmt.Fprintf(tw, "loss\t%s\n", rep.Loss)
	fmt.Fprintf(tw, "fitting error E_f\t%s\n", g(rep.FittingError))
	fmt.Fprintf(tw, "residual norm ‖r‖\t%s\n", g(rep.ResidualNorm))
	fmt.Fprintf(tw, "gradient norm ‖∇R‖\t%s\n", g(rep.GradNorm))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "matrix\tdim\tλ_min\t± bound\tλ_max\t± bound\tλ_mean\tκ\trank (tol)\tmethod\t")
	var uncertified []string
	for _, sp := range []struct {
		name string
		s    *structural.Spectrum
	}{{"H", rep.H}, {"H_S", rep.HS}, {"H_p", rep.HP}, {"H_p|U", rep.HPU}} {
		if sp.s == nil {
			continue
		}
		rank := "n/a"
		if sp.s.Rank >= 0 {
			rank = fmt.Sprintf("%d (%.0e)", sp.s.Rank, sp.s.RankTol)
		}
		minBound, maxBound := g(sp.s.MinCert.Bound), g(sp.s.MaxCert.Bound)
		for _, c := range []struct {
			end   string
			cert  structural.Certificate
			bound *string
		}{{"λ_min", sp.s.MinCert, &minBound}, {"λ_max", sp.s.MaxCert, &maxBound}} {
			if c.cert.NotCertified != "" {
				*c.bound = "NOT CERTIFIED"
				uncertified = append(uncertified, fmt.Sprintf("%s %s: %s", sp.name, c.end, c.cert.NotCertified))
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", sp.name, sp.s.Dim, g(sp.s.Min), minBound, g(sp.s.Max), maxBound,
			g(sp.s.Mean), g(sp.s.Cond), rank, sp.s.Method)
	}
	for _, u := range uncertified {
		fmt.Fprintf(tw, "%s\n", u)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "structural error E_s\t%s\n", g(rep.StructuralError))
	fmt.Fprintf(tw, "indicator F\t%s\n", g(rep.Indicator))
	for _, b := range rep.Bounds {
		status := "holds"
		switch {
		case !b.Valid:
			status = "not defined"
		case !b.Holds:
			status = "VIOLATED"
		}
		fmt.Fprintf(tw, "bound (%s)\t%s\t%s: %s\n", b.Name, boundChain(b, g), status, b.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Diagnosis) > 0 {
		fmt.Fprintln(w, "\ndiagnosis:")
		for _, d := range rep.Diagnosis {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
	return nil
}

// memoryAdvice turns a refused spectra plan into the flags that would fit.
func memoryAdvice(me *structural.MemoryError) error {
	var fixes []string
	if me.Method != "matrixfree" && me.MatrixFreeNeed > 0 && me.MatrixFreeNeed <= me.Budget {
		fixes = append(fixes, "--method matrixfree")
	}
	if me.MaxN > 0 {
		fixes = append(fixes, fmt.Sprintf("--n %d or less", me.MaxN))
	}
	fixes = append(fixes, "--max-memory "+structural.Bytes(me.Need)+" or more, if the machine has it")
	return fmt.Errorf("probe: %w; use %s", me, strings.Join(fixes, ", or "))
}

// parseBytes reads a byte count with an optional unit (B, KB/KiB, MB/MiB,
// GB/GiB, TB/TiB; decimal units are powers of 1000); "" is 0 (the default).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return 0, errors.New("want a size such as 8GiB, 500MB or 1073741824")
	case !(v > 0) || v*mult > math.MaxInt64/2:
		return 0, fmt.Errorf("want a positive size below 4 EiB, got %v", v)
	}
	return int64(v * mult), nil
}
