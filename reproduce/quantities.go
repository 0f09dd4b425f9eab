package reproduce

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fenchel-ml/fenchel/report"
)

// familyNames are the words for the model families that prefix claim keys.
var familyNames = map[string]string{
	"mlp1": "MLP 784-w-10", "mlp2": "MLP 784-w-w-10",
	"c": "Model c", "d": "Model d", "resmlp": "residual MLP",
}

func familyName(f string) string {
	if n, ok := familyNames[f]; ok {
		return n
	}
	return f
}

// quantityOf names one key of a claim's Numbers in words, with its unit
// and the threshold docs/CLAIMS.md puts on it; ok is false for a key it
// does not know (the key still reaches the report's appendix).
func quantityOf(id, key string, nums map[string]float64) (q report.Quantity, ok bool) {
	v := nums[key]
	q = report.Quantity{Value: v}
	met := func(b bool) *bool {
		if math.IsNaN(v) {
			return nil
		}
		return report.Met(b)
	}
	switch id + "/" + key {
	case "P1/violations":
		q.Name, q.Unit, q.Threshold, q.Met = "bound violations", "probes", "= 0", met(v == 0)
	case "P1/probes":
		q.Name, q.Unit = "probe records checked", "probes"
	case "P3/rank":
		q.Name, q.Threshold = "rank(H_S) at init, symmetric init", fmt.Sprintf("≤ %g·n(K−1)", P3RankFraction)
	case "P3/lambda_min":
		q.Name = "λ_min(H_S) at init, symmetric init"
	case "P3/fit_sym":
		q.Name, q.Threshold = "final E_f, symmetric init", fmt.Sprintf("≥ %g × E_f(PyTorch default)", float64(P3FitRatio))
		q.Met = met(v >= P3FitRatio*nums["fit_pytorch"])
	case "P3/fit_pytorch":
		q.Name = "final E_f, PyTorch default init"
	case "P3/grad_init":
		q.Name = "‖∇R‖ at init, symmetric init"
	case "P3/grad_final":
		q.Name, q.Threshold = "final ‖∇R‖, symmetric init", fmt.Sprintf("≤ %g × ‖∇R‖ at init", P3GradFall)
		q.Met = met(v <= P3GradFall*nums["grad_init"])
	case "P3/rho_eps":
		q.Name, q.Threshold, q.Met = "Spearman ρ(ε, final E_f) over the ε ladder", fmt.Sprintf("≤ %g", P3MaxRhoEps), met(v <= P3MaxRhoEps)
	case "P5/slope":
		q.Name, q.Threshold, q.Met = "slope of log(relative seed spread of λ_min(H_S)/P) on log P", fmt.Sprintf("≤ %g", P5MaxSlope), met(v <= P5MaxSlope)
	case "P5/r2":
		q.Name = "r² of that fit"
	case "P5/points":
		q.Name, q.Unit = "(family, width) points", "points"
	case "P6/grad_init":
		q.Name = "‖∇R‖ at the first probe"
	case "P6/grad_final":
		q.Name, q.Threshold = "‖∇R‖ at the last probe", fmt.Sprintf("≤ ‖∇R‖ at the first / %g", float64(P6GradFall))
		q.Met = met(v*P6GradFall <= nums["grad_init"])
	case "P6/violations":
		q.Name, q.Unit, q.Threshold, q.Met = "bound violations along training", "probes", "= 0", met(v == 0)
	case "P6/rho_late":
		q.Name, q.Threshold, q.Met = "ρ(log E_f, log ‖∇R‖²), second half of training", fmt.Sprintf("≥ %g", P6MinRho), met(v >= P6MinRho)
	default:
		return familyQuantity(id, key, nums, q, met)
	}
	return q, true
}

// familyQuantity names the keys of the per-family claims P2, P4 and IND.
func familyQuantity(id, key string, nums map[string]float64, q report.Quantity, met func(bool) *bool) (report.Quantity, bool) {
	cut := func(suffix string) (string, bool) { return strings.CutSuffix(key, suffix) }
	v := q.Value
	switch id {
	case "P2":
		if f, ok := cut("_rho_init"); ok {
			q.Name, q.Threshold, q.Met = "Spearman ρ(width, λ_min/λ_mean(H_S) at init), "+familyName(f), fmt.Sprintf("≥ %g", P2MinRhoInit), met(v >= P2MinRhoInit)
		} else if f, ok := cut("_rho_fit"); ok {
			q.Name, q.Threshold, q.Met = "Spearman ρ(width, final E_f), "+familyName(f), fmt.Sprintf("≤ %g", P2MaxRhoFit), met(v <= P2MaxRhoFit)
		} else if f, ok := cut("_rho_after_budget"); ok {
			q.Name = "Spearman ρ(width, λ_min/λ_mean(H_S) after the budget), " + familyName(f)
		} else if f, ok := cut("_widths"); ok {
			q.Name, q.Unit, q.Threshold, q.Met = "widths, "+familyName(f), "widths", fmt.Sprintf("≥ %d", P2MinWidths), met(v >= P2MinWidths)
		} else {
			return q, false
		}
	case "P4":
		if f, ok := cut("_floor_skip"); ok {
			q.Name = "λ_min/λ_mean(H_S) at init, deepest " + familyName(f) + ", skips on"
		} else if f, ok := cut("_floor_noskip"); ok {
			q.Name, q.Threshold = "λ_min/λ_mean(H_S) at init, deepest "+familyName(f)+", skips off", "< the value with skips on"
			q.Met = met(v < nums[f+"_floor_skip"])
		} else if f, ok := cut("_fit_skip"); ok {
			q.Name = "final E_f, deepest " + familyName(f) + ", skips on"
		} else if f, ok := cut("_fit_noskip"); ok {
			q.Name, q.Threshold = "final E_f, deepest "+familyName(f)+", skips off", "> the value with skips on"
			q.Met = met(v > nums[f+"_fit_skip"])
		} else {
			return q, false
		}
	case "IND":
		m, ok := strings.CutPrefix(key, "model_")
		if m, ok2 := strings.CutSuffix(m, "_pearson"); ok && ok2 {
			q.Name, q.Threshold, q.Met = "global Pearson(log₂F, log₂R), Model "+m, "> 0", met(v > 0)
		} else {
			return q, false
		}
	default:
		return q, false
	}
	return q, true
}

// withQuantities fills c.Quantities from c.Numbers for the keys quantityOf
// knows, sorted by name (so that the skip-on and skip-off values of a family,
// or one quantity over the families, stand together).
func withQuantities(c report.Claim) report.Claim {
	c.Quantities = nil
	for _, k := range sortedKeys(c.Numbers) {
		if q, ok := quantityOf(c.ID, k, c.Numbers); ok {
			c.Quantities = append(c.Quantities, q)
		}
	}
	slices.SortStableFunc(c.Quantities, func(a, b report.Quantity) int { return strings.Compare(a.Name, b.Name) })
	return c
}
