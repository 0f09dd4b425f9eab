package structural

import (
	"encoding/json"
	"fmt"

	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
)

// SchemaVersion is the version of the JSON encoding of Report, written as
// its "schema" field by probe --json and into every "nsample" record of
// metrics.jsonl. Records without it (schema 0) are the flat key layout of
// earlier builds (HS_lambda_min, bound_C_upper, ...); ReadReport rejects
// them by name and version.
//
// Adding a field is backward compatible (older records decode it as its
// zero value): add it to Report, Spectrum or Bound and to the matching
// *JSON struct below; TestReportJSONCoversEveryField fails until both agree.
// Renaming or removing a field, or changing its meaning, bumps the version.
const SchemaVersion = 2

// spectrumJSON is the JSON form of Spectrum (tags here, as Spectrum's
// fields carry none). Values holds every eigenvalue only with
// Options.FullSpectrum; it is omitted otherwise.
type spectrumJSON struct {
	Dim        int               `json:"dim"`
	LambdaMin  jsonfloat.Float   `json:"lambda_min"`
	LambdaMax  jsonfloat.Float   `json:"lambda_max"`
	LambdaMean jsonfloat.Float   `json:"lambda_mean"`
	Trace      jsonfloat.Float   `json:"trace"`
	Cond       jsonfloat.Float   `json:"cond"`
	NormFloor  jsonfloat.Float   `json:"norm_floor"`
	Rank       int               `json:"rank"` // −1: unknown (Lanczos)
	RankTol    jsonfloat.Float   `json:"rank_tol"`
	Method     string            `json:"method"`
	Iterations int               `json:"iterations"`
	Passes     int               `json:"passes"`
	Values     []jsonfloat.Float `json:"values,omitempty"`
	// Certificates of lambda_min and lambda_max (Certificate): the residual
	// ‖Av − λv‖ ("NaN" for a dense spectrum: no vector) and the error bound.
	MinResidual jsonfloat.Float `json:"lambda_min_residual"`
	MinBound    jsonfloat.Float `json:"lambda_min_error_bound"`
	MaxResidual jsonfloat.Float `json:"lambda_max_residual"`
	MaxBound    jsonfloat.Float `json:"lambda_max_error_bound"`
	// Why lambda_min or lambda_max is not certified
	// (Certificate.NotCertified); absent when it is.
	MinNotCertified string `json:"lambda_min_not_certified,omitempty"`
	MaxNotCertified string `json:"lambda_max_not_certified,omitempty"`
}

// MarshalJSON writes the spectrum under the names of THEORY §2.
func (s Spectrum) MarshalJSON() ([]byte, error) {
	return json.Marshal(spectrumJSON{Dim: s.Dim, LambdaMin: jsonfloat.Float(s.Min), LambdaMax: jsonfloat.Float(s.Max),
		LambdaMean: jsonfloat.Float(s.Mean), Trace: jsonfloat.Float(s.Trace), Cond: jsonfloat.Float(s.Cond),
		NormFloor: jsonfloat.Float(s.NormFloor), Rank: s.Rank, RankTol: jsonfloat.Float(s.RankTol), Method: s.Method,
		Iterations: s.Iterations, Passes: s.Passes, Values: jsonfloat.Slice(s.Values),
		MinResidual: jsonfloat.Float(s.MinCert.Residual), MinBound: jsonfloat.Float(s.MinCert.Bound),
		MaxResidual: jsonfloat.Float(s.MaxCert.Residual), MaxBound: jsonfloat.Float(s.MaxCert.Bound),
		MinNotCertified: s.MinCert.NotCertified, MaxNotCertified: s.MaxCert.NotCertified})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Spectrum) UnmarshalJSON(b []byte) error {
	var v spectrumJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("spectrum: %w", err)
	}
	*s = Spectrum{Dim: v.Dim, Min: float64(v.LambdaMin), Max: float64(v.LambdaMax), Mean: float64(v.LambdaMean),
		Trace: float64(v.Trace), Cond: float64(v.Cond), NormFloor: float64(v.NormFloor), Rank: v.Rank,
		RankTol: float64(v.RankTol), Method: v.Method, Iterations: v.Iterations, Passes: v.Passes,
		Values:  jsonfloat.Float64s(v.Values),
		MinCert: Certificate{Residual: float64(v.MinResidual), Bound: float64(v.MinBound), NotCertified: v.MinNotCertified},
		MaxCert: Certificate{Residual: float64(v.MaxResidual), Bound: float64(v.MaxBound), NotCertified: v.MaxNotCertified}}
	return nil
}

// The methods below replace the float fields of Bound and Report by
// jsonfloat.Float fields of the same JSON name; the outer field wins over
// the embedded one.

// boundPlain is Bound without its JSON methods.
type boundPlain Bound

// boundJSON shadows the float fields of Bound by their JSON form, for both
// directions.
type boundJSON struct {
	boundPlain
	Lower      jsonfloat.Float `json:"lower"`
	Middle     jsonfloat.Float `json:"middle"`
	Value      jsonfloat.Float `json:"value"`
	Upper      jsonfloat.Float `json:"upper"`
	UpperSlack jsonfloat.Float `json:"upper_slack"`
	LowerSlack jsonfloat.Float `json:"lower_slack"`
	Step1Slack jsonfloat.Float `json:"step1_slack"`
	Step2Slack jsonfloat.Float `json:"step2_slack"`
}

// MarshalJSON writes non-finite ends (a missing end is ∓Inf) as strings.
func (b Bound) MarshalJSON() ([]byte, error) {
	return json.Marshal(boundJSON{boundPlain(b), jsonfloat.Float(b.Lower), jsonfloat.Float(b.Middle), jsonfloat.Float(b.Value),
		jsonfloat.Float(b.Upper), jsonfloat.Float(b.UpperSlack), jsonfloat.Float(b.LowerSlack), jsonfloat.Float(b.Step1Slack),
		jsonfloat.Float(b.Step2Slack)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *Bound) UnmarshalJSON(data []byte) error {
	var v boundJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("bound: %w", err)
	}
	*b = Bound(v.boundPlain)
	b.Lower, b.Middle, b.Value, b.Upper = float64(v.Lower), float64(v.Middle), float64(v.Value), float64(v.Upper)
	b.UpperSlack, b.LowerSlack, b.Step1Slack, b.Step2Slack = float64(v.UpperSlack), float64(v.LowerSlack), float64(v.Step1Slack), float64(v.Step2Slack)
	return nil
}

// reportPlain is Report without its JSON methods.
type reportPlain Report

// reportJSON shadows the float fields of Report by their JSON form.
type reportJSON struct {
	reportPlain
	FittingError    jsonfloat.Float `json:"fitting_error"`
	ResidualNorm    jsonfloat.Float `json:"residual_norm"`
	GradNorm        jsonfloat.Float `json:"grad_norm"`
	StructuralError jsonfloat.Float `json:"structural_error"`
	Indicator       jsonfloat.Float `json:"indicator"`
	MinProbability  jsonfloat.Float `json:"min_probability"`
	TrivialFitting  jsonfloat.Float `json:"trivial_fitting_error"`
}

// MarshalJSON writes the report as one probe record (schema SchemaVersion);
// Timings, being wall-clock, stay out so that records are reproducible.
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(reportJSON{reportPlain(r), jsonfloat.Float(r.FittingError), jsonfloat.Float(r.ResidualNorm),
		jsonfloat.Float(r.GradNorm), jsonfloat.Float(r.StructuralError), jsonfloat.Float(r.Indicator), jsonfloat.Float(r.MinProbability),
		jsonfloat.Float(r.TrivialFittingError)})
}

// UnmarshalJSON reads what MarshalJSON writes, whatever the schema field
// says; ReadReport also checks the version.
func (r *Report) UnmarshalJSON(b []byte) error {
	var v reportJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Report(v.reportPlain)
	r.FittingError, r.ResidualNorm, r.GradNorm = float64(v.FittingError), float64(v.ResidualNorm), float64(v.GradNorm)
	r.StructuralError, r.Indicator, r.MinProbability = float64(v.StructuralError), float64(v.Indicator), float64(v.MinProbability)
	r.TrivialFittingError = float64(v.TrivialFitting)
	return nil
}

// ReadReport decodes one probe record (probe --json output or an "nsample"
// line of metrics.jsonl; other fields of the line are ignored). A record of
// another schema version is an error naming both versions; where names the
// record in it (file and line).
func ReadReport(b []byte, where string) (*Report, error) {
	var head struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	switch {
	case head.Schema == nil:
		return nil, fmt.Errorf("%s: probe record without a schema field (the flat layout of fenchel before schema %d); re-run the probe or the training run with this build", where, SchemaVersion)
	case *head.Schema != SchemaVersion:
		return nil, fmt.Errorf("%s: probe record of schema %d, this build reads schema %d", where, *head.Schema, SchemaVersion)
	}
	r := &Report{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return r, nil
}
