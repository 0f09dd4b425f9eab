package structural

import (
	"fmt"
	"math"
	"strings"

	"github.com/fenchel-ml/fenchel/loss"
)

// diagnose puts one probe into words following THEORY §3 "Reading": E_f is
// small exactly when ‖∇R‖ is small and E_s is finite and small. A zero λ_min
// makes the guarantee vacuous ("no guarantee"). One probe cannot tell a run
// that is still fitting from one that stalled, so a large E_f with a small
// gradient is called a possible stationary point; DiagnoseTrend reads the
// probe history and decides (THEORY §7).
//
// The gradient counts as small when (n/2)‖∇R‖²/λ_mean ≤ FitTol, i.e. when it
// would certify a small E_f if H were as well conditioned as its mean
// eigenvalue allows (the (C) bound with λ_min replaced by λ_mean).
func diagnose(rep *Report, spec *Spectrum, l loss.Loss, opts Options) []string {
	var out []string
	for _, b := range rep.Bounds {
		if b.Valid && !b.Holds {
			out = append(out, fmt.Sprintf("BUG: bound (%s) violated beyond relative %g: %.6g ≤ %.6g ≤ %.6g ≤ %.6g (%s)",
				b.Name, BoundRelTol, b.Lower, b.Middle, b.Value, b.Upper, b.Note))
		}
	}
	name := specName(l)
	nf := float64(rep.N)
	g2 := rep.GradNorm * rep.GradNorm
	smallFit := rep.FittingError <= opts.FitTol
	smallGrad := nf/2*g2/spec.Mean <= opts.FitTol

	if spec.Singular() {
		rank := fmt.Sprintf("rank(%s) = %d of %d", name, spec.Rank, spec.Dim)
		if spec.Rank < 0 {
			rank = fmt.Sprintf("λ_min(%s) = %.3g ≤ %g·λ_max (dimension %d; rank not computed by Lanczos)", name, spec.Min, spec.RankTol, spec.Dim)
		}
		var why []string
		if rep.P < spec.Dim {
			why = append(why, fmt.Sprintf("too few parameters: P = %d < %d", rep.P, spec.Dim))
		}
		if rep.DuplicateUnits > 0 {
			why = append(why, fmt.Sprintf("%d of %d hidden units duplicate an earlier unit (symmetric init?)", rep.DuplicateUnits, rep.HiddenUnits))
		}
		if rep.DeadUnits > 0 {
			why = append(why, fmt.Sprintf("dead ReLUs: %d of %d hidden units never active on the probe", rep.DeadUnits, rep.HiddenUnits))
		}
		if len(why) == 0 {
			why = append(why, "no parameter shortage, duplicate or dead unit found")
		}
		out = append(out, fmt.Sprintf("structural matrix degenerate: %s (tolerance %g·λ_max); likely causes: %s", rank, spec.RankTol, strings.Join(why, "; ")))
	} else if spec.MinCert.NotCertified != "" {
		out = append(out, fmt.Sprintf("%s: λ_max = %.4g certified; λ_min not certified, only λ_min ∈ [0, %.4g] is known (%s), so the bounds through λ_min use 0",
			name, spec.Max, spec.Min, spec.MinCert.NotCertified))
	} else {
		rank := ""
		if spec.Rank >= 0 {
			rank = fmt.Sprintf(", full rank %d", spec.Rank)
		}
		out = append(out, fmt.Sprintf("%s well defined: λ_min = %.4g, λ_max = %.4g, κ = %.4g, λ_min/λ_mean = %.4g%s",
			name, spec.Min, spec.Max, spec.Cond, spec.NormFloor, rank))
	}
	switch {
	case weightedBound(l) && rep.HP == nil:
		out = append(out, "structural error not computed: H_p left out of the spectra (Options.Spectra)")
	case math.IsNaN(rep.StructuralError) && weightedBound(l) && rep.HP.MinCert.NotCertified != "":
		out = append(out, fmt.Sprintf("structural error E_s = n/λ_min(H_p) ≥ %.4g only: λ_min(H_p) not certified", nf/rep.HP.Min))
	case math.IsNaN(rep.StructuralError) && !l.OnSimplex() && rep.H.MinCert.NotCertified != "":
		out = append(out, fmt.Sprintf("structural error E_s = n/λ_min(H) ≥ %.4g only: λ_min(H) not certified", nf/rep.H.Min))
	case math.IsNaN(rep.StructuralError):
		out = append(out, fmt.Sprintf("structural error not defined for %s: no upper bound in terms of r exists (THEORY §3 C); only the lower bound E_f ≥ %.4g holds",
			l.Name(), rep.Bounds[1].Middle))
	case math.IsInf(rep.StructuralError, 1):
		why := ""
		switch {
		case weightedBound(l) && rep.ZeroProbabilities > 0 && !rep.HS.Singular():
			why = fmt.Sprintf(" (%d probabilities underflowed to 0, so H_p = D^½HD^½ is singular although H_S is not)", rep.ZeroProbabilities)
		case weightedBound(l) && !rep.HS.Singular():
			why = fmt.Sprintf(" (λ_min(H_p) = %.3g ≤ %g·λ_max(H_p): the smallest probability p_min = %.3g shrinks H_p = D^½HD^½ although H_S is well conditioned)",
				rep.HP.Min, rep.HP.RankTol, rep.MinProbability)
		}
		out = append(out, "structural error infinite"+why+": bound (C) is vacuous")
	default:
		out = append(out, fmt.Sprintf("structural error E_s = %.4g", rep.StructuralError))
	}

	c := rep.Bounds[2]
	upper := c.Upper
	if len(rep.Bounds) > 3 && rep.Bounds[3].Valid {
		upper = math.Min(upper, rep.Bounds[3].Upper) // (C_r), THEORY §7
	}
	certified := c.Valid && !math.IsInf(upper, 1)
	switch {
	case smallFit && certified && upper <= opts.FitTol:
		out = append(out, fmt.Sprintf("near global optimum: E_f = %.4g ≤ %.4g ≤ %g, certified by (C)", rep.FittingError, upper, opts.FitTol))
	case smallFit && certified:
		out = append(out, fmt.Sprintf("near global optimum by E_f itself: E_f = %.4g ≤ %g; the bounds give no guarantee ((C) only gives E_f ≤ %.4g)", rep.FittingError, opts.FitTol, upper))
	case smallFit:
		out = append(out, fmt.Sprintf("near global optimum by E_f itself: E_f = %.4g ≤ %g; the bounds give no guarantee (the upper bound (C) is infinite or undefined)", rep.FittingError, opts.FitTol))
	case smallGrad && spec.Singular():
		out = append(out, fmt.Sprintf("E_f = %.4g is large while the gradient is small (‖∇R‖ = %.3g) and %s is degenerate: a non-global stationary point if it persists (one probe cannot tell; the trend over probes decides)",
			rep.FittingError, rep.GradNorm, name))
	case smallGrad:
		out = append(out, fmt.Sprintf("E_f = %.4g is large while the gradient is small (‖∇R‖ = %.3g); %s is ill-conditioned (κ = %.4g): a stationary point if it persists (one probe cannot tell; the trend over probes decides)",
			rep.FittingError, rep.GradNorm, name, spec.Cond))
	default:
		s := fmt.Sprintf("not yet fitted: E_f = %.4g ≥ %.4g (B), gradient still large (‖∇R‖ = %.3g): training can make progress",
			rep.FittingError, rep.Bounds[1].Lower, rep.GradNorm)
		if certified {
			s += fmt.Sprintf("; (C) gives E_f ≤ %.4g", c.Upper)
		}
		out = append(out, s)
	}
	return out
}
