package structural

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// BoundRelTol is the relative tolerance of the run-time checks of bounds
// (A)(B)(C) (THEORY §4 P1): a bound failing by more is a bug, never noise.
const BoundRelTol = 1e-6

// DefaultFitTol is the fitting error below which Diagnosis calls E_f small.
const DefaultFitTol = 1e-2

// Probe is the labelled probe set of THEORY §1: inputs X (one row per
// sample), integer labels, and optionally explicit targets Q (n rows of K
// entries; nil means one-hot e_{Labels[i]}). With Q given, Labels may be nil;
// when present they let the residual use the cancellation-safe one-hot form.
type Probe struct {
	X      *nn.Mat[float64]
	Labels []int
	Q      [][]float64
}

// Method chooses how Analyze computes the spectra (Options.Method).
type Method string

// Spectral methods; Spectrum.Method records the one used (as a string).
const (
	// MethodAuto materialises H when the spectra fit MaxMemory (else
	// MethodMatrixFree) and certifies the extremes there (certifiedExtremes:
	// Lanczos on H for λ_max, on H⁻¹ through a Cholesky factor for λ_min); a
	// numerically singular spectrum of dimension ≤ DenseMax is recomputed
	// dense for its rank, a larger one gets its rank from a pivoted
	// Cholesky factorisation (Spectrum.Rank).
	//
	// Its one threshold is memory: the materialised path needs about
	// 16·(nK)² bytes (H and its factor; 8·(nK)² from nK = 4096 on, where
	// the factor overwrites H's upper triangle) plus 8·n·nK (the Schur
	// basis of H_S) and the activations (PlanSpectra), the matrix-free path about
	// 8·nK·MatrixFreeProducts per spectrum. Materialised is taken whenever
	// it fits, because it is both faster and certain: for MLP 784-1000-10
	// at n = 1000 on 2 cores the whole probe of H_S takes an eighth of the
	// CPU time matrix-free (21 against 172 CPU-seconds; the matrix-free
	// λ_min needs 826 products there), and at n = 10 000 the matrix-free
	// λ_min does not converge within the default budget. With 24 GB and the default MaxMemory that is
	// nK ≤ about 42 000 (n ≤ 4200 at K = 10); above, the matrix-free path
	// certifies λ_max and bounds λ_min by an interval.
	MethodAuto Method = "auto"
	// MethodDense computes every eigenvalue of the materialised matrices.
	MethodDense Method = "dense"
	// MethodLanczos certifies the extremes on the materialised H, as auto,
	// with the pivoted-Cholesky rank of a singular spectrum at every
	// dimension (never the dense spectrum).
	MethodLanczos Method = "lanczos"
	// MethodMatrixFree runs Lanczos on Hv = J(Jᵀv), H never formed (see
	// JacobianOperator); Rank is then −1.
	MethodMatrixFree Method = "matrixfree"
)

// Methods lists the accepted methods, the default first.
func Methods() []Method { return []Method{MethodAuto, MethodDense, MethodLanczos, MethodMatrixFree} }

// Options tunes Analyze; the zero value gives the defaults.
type Options struct {
	// RankTol is the relative numerical-rank tolerance: eigenvalues above
	// RankTol·λ_max count (default DefaultRankTol). λ_min at or below it
	// makes E_s = +∞.
	RankTol float64
	// FullSpectrum keeps every eigenvalue in Spectrum.Values (dense only).
	FullSpectrum bool
	// Method is one of Methods ("" means MethodAuto).
	Method Method
	// DenseMax is the largest dimension at which "auto" recomputes a
	// singular spectrum dense for its rank (default DefaultDenseMax).
	DenseMax int
	// MaxDenseBytes is a limit of "auto" on H alone, 8·(nK)² bytes
	// (default DefaultMaxDenseBytes: none).
	MaxDenseBytes int64
	// MaxMemory is the memory budget of the spectra (default
	// DefaultMaxMemory()): "auto" materialises H when the estimated peak
	// fits, else goes matrix-free; a method that does not fit is refused
	// with a *MemoryError before anything large is allocated.
	MaxMemory int64
	// LanczosTol is the relative accuracy of Lanczos extremes (default DefaultLanczosTol).
	LanczosTol float64
	// BlockSize is the block size of the Lanczos runs on a materialised H
	// (default DefaultBlockSize; 1 is plain Lanczos).
	BlockSize int
	// FitTol is the fitting error Diagnosis calls small (default DefaultFitTol).
	FitTol float64
	// Spectra names the spectra to compute, by their Report JSON names
	// (SpectrumNames: "H", "H_S", "H_p", "H_p_restricted"); nil means every
	// one that applies to the loss. The spectrum of bounds (A)(B) and the
	// indicator (H_S for the simplex losses, H for squared) is always
	// computed; a spectrum left out is nil in the Report, and the bounds
	// and E_s that need it are reported as not computed.
	Spectra []string
	// MatrixFreeProducts is the budget of products Hv = J(Jᵀv) of each
	// operator on the matrix-free path (default DefaultMatrixFreeProducts):
	// λ_max converges well within it; a λ_min not converged by then is
	// reported as not certified (Certificate.NotCertified), with the
	// interval [0, Min] it is known to lie in.
	MatrixFreeProducts int
	// Rng seeds Lanczos start vectors; nil means a fixed PCG(1, 1).
	Rng *rand.Rand
	// Ctx cancels the analysis (nil means context.Background()): the H
	// build, the eigenvalue, Cholesky and Lanczos loops stop within a second
	// of cancellation and Analyze returns an error wrapping ctx's error.
	Ctx context.Context `json:"-"`
}

func (o *Options) fill() error {
	if o.Ctx == nil {
		o.Ctx = context.Background()
	}
	if o.RankTol == 0 {
		o.RankTol = DefaultRankTol
	}
	if o.Method == "" {
		o.Method = MethodAuto
	}
	if o.DenseMax == 0 {
		o.DenseMax = DefaultDenseMax
	}
	if o.MaxDenseBytes == 0 {
		o.MaxDenseBytes = DefaultMaxDenseBytes
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory()
	}
	if o.LanczosTol == 0 {
		o.LanczosTol = DefaultLanczosTol
	}
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.FitTol == 0 {
		o.FitTol = DefaultFitTol
	}
	if o.Rng == nil {
		o.Rng = rand.New(rand.NewPCG(1, 1))
	}
	if o.MatrixFreeProducts == 0 {
		o.MatrixFreeProducts = DefaultMatrixFreeProducts
	}
	for _, name := range o.Spectra {
		if !slices.Contains(SpectrumNames(), name) {
			return fmt.Errorf("structural: options: Spectra names %q, want some of %s", name, strings.Join(SpectrumNames(), ", "))
		}
	}
	switch {
	case !(o.RankTol > 0 && o.RankTol < 1):
		return fmt.Errorf("structural: options: RankTol = %v, must lie in (0, 1)", o.RankTol)
	case !slices.Contains(Methods(), o.Method):
		return fmt.Errorf("structural: options: Method = %q, want auto, dense, lanczos or matrixfree", o.Method)
	case o.DenseMax < 0:
		return fmt.Errorf("structural: options: DenseMax = %d, must be ≥ 0", o.DenseMax)
	case o.MaxDenseBytes < 0:
		return fmt.Errorf("structural: options: MaxDenseBytes = %d, must be ≥ 0", o.MaxDenseBytes)
	case o.MaxMemory < 0:
		return fmt.Errorf("structural: options: MaxMemory = %d, must be ≥ 0", o.MaxMemory)
	case o.BlockSize < 0:
		return fmt.Errorf("structural: options: BlockSize = %d, must be ≥ 0", o.BlockSize)
	case !(o.LanczosTol > 0 && o.LanczosTol < 1):
		return fmt.Errorf("structural: options: LanczosTol = %v, must lie in (0, 1)", o.LanczosTol)
	case !(o.FitTol > 0):
		return fmt.Errorf("structural: options: FitTol = %v, must be positive", o.FitTol)
	case o.MatrixFreeProducts < 0:
		return fmt.Errorf("structural: options: MatrixFreeProducts = %d, must be ≥ 0", o.MatrixFreeProducts)
	}
	return nil
}

// Bound is one inequality chain of THEORY §3, read Lower ≤ Value ≤ Upper with
// the missing ends at ∓Inf; Middle is the chain's intermediate term (between
// Lower and Value for B, between Value and Upper for C; NaN when none):
//
//	A  λ_min·‖r‖² ≤ n²‖∇R‖² ≤ λ_max·‖r‖²              (Value = n²‖∇R‖²)
//	B  (μn/2)‖∇R‖²/λ_max ≤ (μ/2n)‖r‖² ≤ E_f            (Value = E_f)
//	C  E_f ≤ (1/n) rᵀD⁻¹r ≤ n‖∇R‖²/λ_min(H_p) (softmax), E_f ≤ (n/2)‖∇R‖²/λ_min(H) (squared)
type Bound struct {
	Name                        string  `json:"name"`  // "A", "B" or "C"
	Lower, Middle, Value, Upper float64 `json:"-"`     // JSON: lower, middle, value, upper (record.go)
	Valid                       bool    `json:"valid"` // whether the bound exists for the loss (C: softmax and squared only)
	Holds                       bool    `json:"holds"` // meaningful only when Valid
	Note                        string  `json:"note"`
	// Slacks of the chain (THEORY §7), filled by Analyze: UpperSlack =
	// Upper/Value, LowerSlack = Value/Lower, and for (C), (C_r) the split
	// Step1Slack = Middle/Value (KL ≤ χ²) and Step2Slack = Upper/Middle
	// (χ² ≤ n‖∇R‖²/λ_min); NaN where the end or the middle is missing.
	UpperSlack, LowerSlack, Step1Slack, Step2Slack float64 `json:"-"` // JSON: upper_slack, lower_slack, step1_slack, step2_slack
	// Vacuous: an upper bound on E_f that is +Inf or ≥ the E_f of the
	// uniform prediction; Infinite: the upper end is +Inf.
	Vacuous  bool `json:"vacuous"`
	Infinite bool `json:"infinite"`
}

// BoundViolation is returned by Analyze, together with the full report, when
// a bound fails beyond BoundRelTol: a bug in the engine, never noise.
type BoundViolation struct {
	Bounds []Bound
}

func (e *BoundViolation) Error() string {
	var parts []string
	for _, b := range e.Bounds {
		parts = append(parts, fmt.Sprintf("(%s) %.6g ≤ %.6g ≤ %.6g ≤ %.6g", b.Name, b.Lower, b.Middle, b.Value, b.Upper))
	}
	return "structural: bound violated beyond relative " + fmt.Sprint(BoundRelTol) + ": " + strings.Join(parts, "; ")
}

// Report holds the quantities of THEORY §2 on one probe set and the bounds
// of §3 checked against them.
//
// Report is the one typed probe record: probe --json writes it and the
// "nsample" hook writes it into metrics.jsonl (record.go holds its JSON
// encoding, versioned by SchemaVersion); reproduce and report read it back.
type Report struct {
	// Schema is SchemaVersion for a report made by this build.
	Schema int    `json:"schema"`
	N      int    `json:"n"`
	K      int    `json:"K"`
	P      int    `json:"P"`
	Loss   string `json:"loss"`
	// FittingError E_f, residual norm ‖r‖, gradient norm ‖∇R‖ (∇R = (1/n)Jᵀr
	// from one backward pass).
	FittingError, ResidualNorm, GradNorm float64 `json:"-"` // JSON: fitting_error, residual_norm, grad_norm
	// Spectra of H (nK), H_S on range(Π) (n(K−1), simplex losses) and H_p
	// (nK, softmax only); nil when not applicable.
	H  *Spectrum `json:"H"`
	HS *Spectrum `json:"H_S"`
	HP *Spectrum `json:"H_p"`
	// HPU is H_p restricted to U = ⊕_i (√p_i)^⊥ (n(K−1), softmax only), the
	// spectrum of bound (C_r) (THEORY §7).
	HPU *Spectrum `json:"H_p_restricted"`
	// TrivialFittingError is E_f of the uniform prediction p = 1/K; an
	// upper bound at or above it is vacuous (THEORY §7).
	TrivialFittingError float64 `json:"-"` // JSON: trivial_fitting_error
	// StructuralError E_s = n/λ_min(H̃), H̃ = H_p (softmax) or H (squared);
	// +Inf when λ_min ≤ RankTol·λ_max; NaN for sparsemax/entmax15, where
	// THEORY §3 (C) defines none.
	StructuralError float64 `json:"-"` // JSON: structural_error
	Bounds          []Bound `json:"bounds"`
	// Indicator F = ‖∇R‖²·λ_max/λ_min with the spectrum of H_S (simplex
	// losses) or H (squared): the n-sample version of THEORY §5; +Inf when
	// λ_min is numerically zero.
	Indicator float64 `json:"-"` // JSON: indicator
	// ZeroProbabilities counts entries p_ik that are exactly 0 (underflow
	// for softmax, a face of the simplex for sparsemax/entmax15).
	ZeroProbabilities int `json:"zero_probabilities"`
	// MinProbability is min_ik p_ik; λ_min(H_p) ≤ MinProbability·max_j H_jj,
	// so H_p becomes numerically singular as a softmax fit sharpens.
	MinProbability float64  `json:"-"` // JSON: min_probability
	DeadUnits      int      `json:"dead_units"`
	DuplicateUnits int      `json:"duplicate_units"`
	HiddenUnits    int      `json:"hidden_units"`
	Diagnosis      []string `json:"diagnosis"`
	// Timings holds seconds per phase: "forward", "gradient", "H",
	// "spectrum H", "spectrum H_S", "spectrum H_p" (dense), "spectra
	// lanczos" (every Lanczos spectrum, run in lock step), "units"; on the
	// matrix-free path "H diagonal blocks" and "spectra matrixfree"
	// replace "H" and the spectra. Wall-clock, so not part of the record.
	Timings map[string]float64 `json:"-"`
}

// Analyze measures every quantity of THEORY §2 for model on the probe set,
// checks the bounds of §3 and explains the result in words. The model's
// Param.Grad values are left unchanged. When a bound fails beyond
// BoundRelTol it returns the report together with a *BoundViolation.
func Analyze(model nn.Layer[float64], probe Probe, l loss.Loss, opts Options) (*Report, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if l == nil {
		return nil, errors.New("structural: analyze: nil loss")
	}
	K := numClasses(model)
	x := probe.X
	if x == nil || x.Rows == 0 {
		return nil, errors.New("structural: analyze: probe has no samples (Probe.X empty)")
	}
	n := x.Rows
	if x.Cols != model.InShape().Size() || len(x.Data) != x.Rows*x.Cols {
		return nil, fmt.Errorf("structural: analyze: Probe.X is %d×%d (len %d), the model takes %v per sample", x.Rows, x.Cols, len(x.Data), model.InShape())
	}
	if l.OnSimplex() && K < 2 {
		return nil, fmt.Errorf("structural: analyze: %s needs K ≥ 2 classes, the model has %d outputs", l.Name(), K)
	}
	targets, labels, err := probeTargets(probe, n, K, l.OnSimplex())
	if err != nil {
		return nil, err
	}
	// Memory is checked before anything of size (nK)² is allocated.
	plan, err := planSpectra(model, n, K, spectrumCount(l, opts.Spectra), opts)
	if err != nil {
		return nil, err
	}
	where := plan.Where
	rep := &Report{Schema: SchemaVersion, N: n, K: K, P: nn.NumParams(model), Loss: l.Name(), Timings: map[string]float64{}}
	clock := time.Now()
	lap := func(phase string) {
		now := time.Now()
		rep.Timings[phase] = now.Sub(clock).Seconds()
		clock = now
	}

	p, r, err := forwardResiduals(rep, model, x, l, targets, labels)
	if err != nil {
		return nil, err
	}
	lap("forward")
	if err := stopped(opts.Ctx, "the forward pass"); err != nil {
		return nil, err
	}

	grad := Gradient(model, x, r)
	rep.GradNorm = norm(grad)
	lap("gradient")
	if err := stopped(opts.Ctx, "the gradient"); err != nil {
		return nil, err
	}

	if where == "matrixfree" {
		if err := spectraMatrixFree(rep, model, x, p, l, opts, lap); err != nil {
			return nil, err
		}
		return finishReport(rep, model, x, l, opts, r, p, targets, lap)
	}
	// H lives only for its spectra: finishReport must not hold 8(nK)² bytes.
	h, err := structuralMatrix(opts.Ctx, model, x)
	if err != nil {
		return nil, err
	}
	if err := spectraMaterialised(rep, h, p, l, opts, lap); err != nil {
		return nil, err
	}
	return finishReport(rep, model, x, l, opts, r, p, targets, lap)
}

// spectraMaterialised fills rep.H, rep.HS (simplex losses), rep.HP and
// rep.HPU (softmax) from the materialised H (spectraOnH).
func spectraMaterialised(rep *Report, h *mat.SymDense, p []float64, l loss.Loss, opts Options, lap func(string)) error {
	lap("H")
	wants := spectrumWants(rep, l, p, opts.Spectra)
	ews := make([]extremeWant, len(wants))
	for i, w := range wants {
		ews[i] = extremeWant{kind: w.kind, op: w.op, phase: w.phase}
	}
	specs, err := spectraOnH(opts.Ctx, h, rep.K, p, ews, opts, lap)
	if err != nil && opts.Ctx.Err() != nil {
		return fmt.Errorf("structural: analyze: stopped during the spectra (dimension %d): %w", h.SymmetricDim(), err)
	}
	if err != nil {
		return fmt.Errorf("structural: analyze: %w", err)
	}
	for i, w := range wants {
		*w.dst = &specs[i]
	}
	return nil
}

// spectrumWant is one spectrum Analyze computes: its timing phase, which
// matrix (H, H_S, H_p), where it goes in the report and its operator on H.
type spectrumWant struct {
	phase, kind string
	dst         **Spectrum
	op          hOperator
}

// spectrumWants lists the spectra of THEORY §2 that apply to l: H always,
// H_S for simplex losses, H_p where bound (C) runs through it (softmax).
func spectrumWants(rep *Report, l loss.Loss, p []float64, only []string) []spectrumWant {
	m := rep.N * rep.K
	wants := []spectrumWant{{"spectrum H", "H", &rep.H, identityOp(m)}}
	if l.OnSimplex() {
		wants = append(wants, spectrumWant{"spectrum H_S", "H_S", &rep.HS, sumZeroOp(m, rep.K)})
	}
	if weightedBound(l) {
		wants = append(wants, spectrumWant{"spectrum H_p", "H_p", &rep.HP, weightedOp(p)},
			spectrumWant{"spectrum H_p|U", "H_pU", &rep.HPU, restrictedWeightedOp(p, rep.K)})
	}
	if only == nil {
		return wants
	}
	var kept []spectrumWant
	for _, w := range wants {
		if w.kind == specKind(l) || slices.Contains(only, reportName(w.kind)) {
			kept = append(kept, w)
		}
	}
	return kept
}

// spectrumCount is len(spectrumWants(…, only)) without building operators.
func spectrumCount(l loss.Loss, only []string) int {
	names := []string{"H"}
	if l.OnSimplex() {
		names = append(names, "H_S")
	}
	if weightedBound(l) {
		names = append(names, "H_p", "H_p_restricted")
	}
	c := 0
	for _, name := range names {
		if only == nil || name == specKind(l) || slices.Contains(only, name) {
			c++
		}
	}
	return c
}

// SpectrumNames lists the spectra Options.Spectra may name, as the Report
// JSON calls them.
func SpectrumNames() []string { return []string{"H", "H_S", "H_p", "H_p_restricted"} }

// reportName is the Report JSON name of a spectrum kind.
func reportName(kind string) string {
	if kind == "H_pU" {
		return "H_p_restricted"
	}
	return kind
}

// specKind is the kind of the spectrum of bounds (A)(B) and the indicator.
func specKind(l loss.Loss) string {
	if l.OnSimplex() {
		return "H_S"
	}
	return "H"
}

// forwardResiduals runs the model on the probe and fills E_f, ‖r‖ and the
// probability statistics of rep; it returns p and r = p − q, sample-major
// (THEORY §2), in float64 per sample.
func forwardResiduals(rep *Report, model nn.Layer[float64], x *nn.Mat[float64], l loss.Loss, targets [][]float64, labels []int) (p, r []float64, err error) {
	n, K := rep.N, rep.K
	z := model.Forward(x)
	p = make([]float64, n*K)
	r = make([]float64, n*K)
	for i := 0; i < n; i++ {
		zi, pi, ri := z.Row(i), p[i*K:(i+1)*K], r[i*K:(i+1)*K]
		for k, v := range zi {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("structural: analyze: sample %d: logit %d = %v", i, k, v)
			}
		}
		v := l.Value(zi, targets[i])
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("structural: analyze: sample %d: %s loss = %v", i, l.Name(), v)
		}
		rep.FittingError += v / float64(n)
		l.Predict(pi, zi)
		loss.Residual(ri, pi, targets[i], labels[i])
	}
	rep.MinProbability = math.Inf(1)
	for _, v := range p {
		rep.MinProbability = math.Min(rep.MinProbability, v)
		if v == 0 {
			rep.ZeroProbabilities++
		}
	}
	rep.ResidualNorm = norm(r)
	return p, r, nil
}

// finish computes what follows the spectra in Analyze: unit statistics,
// E_s, the indicator, the bounds of THEORY §3 and the diagnosis.
func finishReport(rep *Report, model nn.Layer[float64], x *nn.Mat[float64], l loss.Loss, opts Options, r, p []float64, targets [][]float64, lap func(string)) (*Report, error) {
	n := rep.N
	softmax := weightedBound(l)
	// spec is the spectrum of bounds (A), (B) and the indicator: H_S for the
	// simplex losses (r ∈ range(Π)), H for squared.
	spec := rep.H
	if l.OnSimplex() {
		spec = rep.HS
	}

	rep.DeadUnits, rep.DuplicateUnits, rep.HiddenUnits = UnitStats(model, x)
	lap("units")

	nf := float64(n)
	g2 := rep.GradNorm * rep.GradNorm
	r2 := rep.ResidualNorm * rep.ResidualNorm
	switch {
	case softmax && rep.HP == nil:
		rep.StructuralError = math.NaN() // H_p not computed (Options.Spectra)
	case softmax:
		rep.StructuralError = structuralError(nf, rep.HP)
	case !l.OnSimplex():
		rep.StructuralError = structuralError(nf, rep.H)
	default:
		rep.StructuralError = math.NaN()
	}
	switch {
	case spec.Singular():
		rep.Indicator = math.Inf(1)
	case spec.MinCert.NotCertified != "":
		rep.Indicator = math.NaN() // F ≥ ‖∇R‖²·λ_max/Min only: λ_min ∈ [0, Min]
	default:
		rep.Indicator = g2 * spec.Max / spec.Min
	}

	// The bounds of THEORY §3. rᵀHr and the eigenvalues carry absolute
	// rounding of order dim·eps·λ_max‖r‖², hence gramFloor in (A) and (B).
	gramFloor := 16 * float64(spec.Dim) * 0x1p-52 * spec.Max * r2
	mu := l.Mu()
	a := Bound{Name: "A", Lower: spec.MinLower() * r2, Middle: math.NaN(), Value: nf * nf * g2, Upper: spec.Max * r2, Valid: true}
	a.Holds = LessEq(a.Lower, a.Value, gramFloor) && LessEq(a.Value, a.Upper, gramFloor)
	a.Note = fmt.Sprintf("λ_min·‖r‖² ≤ n²‖∇R‖² ≤ λ_max·‖r‖² with λ of %s", specName(l))
	b := Bound{Name: "B", Lower: mu * nf / 2 * g2 / spec.Max, Middle: mu / (2 * nf) * r2, Value: rep.FittingError, Upper: math.Inf(1), Valid: true}
	b.Holds = LessEq(b.Lower, b.Middle, gramFloor*mu/(2*nf)/spec.Max) && LessEq(b.Middle, b.Value, 0)
	b.Note = fmt.Sprintf("(μn/2)‖∇R‖²/λ_max ≤ (μ/2n)‖r‖² ≤ E_f, μ = %g, λ_max of %s", mu, specName(l))
	c := Bound{Name: "C", Lower: math.Inf(-1), Middle: math.NaN(), Value: rep.FittingError, Upper: math.Inf(1)}
	switch {
	case softmax && rep.HP == nil:
		c.Note = "not computed: H_p left out of the spectra (Options.Spectra)"
	case softmax:
		c.Valid = true
		c.Middle = chiSquare(r, p, targets) / nf
		c.Upper = nf * g2 / rep.HP.MinLower()
		if rep.HP.Singular() || rep.HP.MinLower() == 0 {
			c.Upper = math.Inf(1)
		}
		c.Holds = LessEq(c.Value, c.Middle, 0) && LessEq(c.Middle, c.Upper, 0)
		c.Note = "E_f ≤ (1/n)·rᵀD⁻¹r ≤ n‖∇R‖²/λ_min(H_p) = E_s·‖∇R‖²"
		if rep.ZeroProbabilities > 0 {
			c.Note += fmt.Sprintf("; %d probabilities underflowed to 0, so D⁻¹ and the bound may be +Inf (valid, vacuous)", rep.ZeroProbabilities)
		}
	case !l.OnSimplex():
		c.Valid = true
		c.Upper = nf / 2 * g2 / rep.H.MinLower()
		if rep.H.Singular() || rep.H.MinLower() == 0 {
			c.Upper = math.Inf(1)
		}
		c.Holds = LessEq(c.Value, c.Upper, 0)
		c.Note = "E_f = ‖r‖²/(2n) ≤ (n/2)‖∇R‖²/λ_min(H) = ½·E_s·‖∇R‖²"
	default:
		c.Note = "no upper bound in terms of r exists (THEORY §3 C)"
	}
	cr := restrictedBound(rep, c)
	switch {
	case softmax && rep.HPU == nil:
		cr.Note = "not computed: H_p_restricted left out of the spectra (Options.Spectra)"
	case cr.Valid && rep.HPU.MinCert.NotCertified != "":
		cr.Upper = math.Inf(1) // λ_min(H_p|U) ∈ [0, Min]: no finite upper bound is proven
	}
	rep.Bounds = []Bound{a, b, c, cr}
	rep.TrivialFittingError = trivialFittingError(l, targets)
	for i := range rep.Bounds {
		rep.Bounds[i].fillSlack(rep.TrivialFittingError)
	}
	rep.Diagnosis = diagnose(rep, spec, l, opts)

	var bad []Bound
	for _, bd := range rep.Bounds {
		if bd.Valid && !bd.Holds {
			bad = append(bad, bd)
		}
	}
	if len(bad) > 0 {
		return rep, &BoundViolation{Bounds: bad}
	}
	return rep, nil
}

// weightedBound reports whether bound (C) runs through H_p = D^½ H D^½
// (THEORY §3 C): a simplex loss with an upper bound, i.e. softmax. The
// squared loss has (C) through H itself; sparsemax and entmax15 have none.
func weightedBound(l loss.Loss) bool { return l.OnSimplex() && l.HasUpperBound() }

// stopped returns an error naming the phase once ctx is done, else nil.
func stopped(ctx context.Context, phase string) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("structural: analyze: stopped after %s: %w", phase, context.Cause(ctx))
}

func specName(l loss.Loss) string {
	if l.OnSimplex() {
		return "H_S"
	}
	return "H"
}

func structuralError(n float64, s *Spectrum) float64 {
	switch {
	case s.Singular():
		return math.Inf(1)
	case s.MinCert.NotCertified != "":
		return math.NaN() // E_s ≥ n/Min only
	}
	return n / s.Min
}

// LessEq reports a ≤ b up to BoundRelTol relative and an absolute floor:
// the test every bound check of THEORY §3 uses. An infinite b (a vacuous
// upper bound) always holds, NaN never does.
func LessEq(a, b, floor float64) bool {
	if math.IsInf(b, 1) || math.IsInf(a, -1) {
		return true
	}
	return a <= b+BoundRelTol*math.Max(math.Abs(a), math.Abs(b))+floor
}

// chiSquare returns rᵀD⁻¹r = Σ r_ik²/p_ik (THEORY §3 C, softmax). Where
// q_ik = 0, r_ik = p_ik and the term is exactly p_ik (also when p_ik
// underflowed to 0); where p_ik = 0 < q_ik the term is +Inf.
func chiSquare(r, p []float64, q [][]float64) float64 {
	K := len(q[0])
	s := 0.0
	for j, rj := range r {
		switch {
		case q[j/K][j%K] == 0:
			s += p[j]
		case p[j] == 0:
			return math.Inf(1)
		default:
			s += rj * rj / p[j]
		}
	}
	return s
}

// probeTargets validates the probe's labels and targets and returns one
// target row per sample and the label to pass to loss.Residual (−1 when the
// one-hot identity does not apply).
func probeTargets(probe Probe, n, K int, simplex bool) ([][]float64, []int, error) {
	if probe.Labels != nil && len(probe.Labels) != n {
		return nil, nil, fmt.Errorf("structural: analyze: %d labels for %d probe samples", len(probe.Labels), n)
	}
	for i, y := range probe.Labels {
		if y < 0 || y >= K {
			return nil, nil, fmt.Errorf("structural: analyze: Probe.Labels[%d] = %d outside [0, %d)", i, y, K)
		}
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
		if simplex && probe.Labels != nil {
			labels[i] = probe.Labels[i]
		}
	}
	q := make([][]float64, n)
	if probe.Q == nil {
		if probe.Labels == nil {
			return nil, nil, errors.New("structural: analyze: probe has neither Labels nor Q")
		}
		for i, y := range probe.Labels {
			q[i] = make([]float64, K)
			loss.Target(q[i], y, K, 0)
		}
		return q, labels, nil
	}
	if len(probe.Q) != n {
		return nil, nil, fmt.Errorf("structural: analyze: %d target rows (Probe.Q) for %d probe samples", len(probe.Q), n)
	}
	for i, row := range probe.Q {
		if len(row) != K {
			return nil, nil, fmt.Errorf("structural: analyze: Probe.Q[%d] has %d entries, want K = %d", i, len(row), K)
		}
		sum := 0.0
		for k, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || (simplex && v < 0) {
				return nil, nil, fmt.Errorf("structural: analyze: Probe.Q[%d][%d] = %v", i, k, v)
			}
			sum += v
		}
		if simplex && math.Abs(sum-1) > 1e-12*float64(K) {
			return nil, nil, fmt.Errorf("structural: analyze: Probe.Q[%d] sums to %v, a target on the simplex must sum to 1", i, sum)
		}
		q[i] = append([]float64(nil), row...)
	}
	return q, labels, nil
}
