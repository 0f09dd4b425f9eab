package reproduce

import (
	"math"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/report"
)

func TestWithQuantities(t *testing.T) {
	cases := []struct {
		claim report.Claim
		// want: name substring → (value, met); met "" means no verdict
		want map[string]string
	}{
		{report.Claim{ID: "P2", Numbers: map[string]float64{"mlp2_rho_fit": -0.83, "mlp2_rho_init": 1, "mlp2_widths": 6, "mlp2_rho_after_budget": 0.8, "odd_key": 1}},
			map[string]string{"ρ(width, final E_f), MLP 784-w-w-10": "not met", "at init), MLP 784-w-w-10": "met", "widths, MLP 784-w-w-10": "met", "after the budget": ""}},
		{report.Claim{ID: "P6", Numbers: map[string]float64{"grad_init": 2, "grad_final": 0.4, "violations": 0, "rho_late": 0.96}},
			map[string]string{"last probe": "not met", "along training": "met", "second half": "met", "first probe": ""}},
		{report.Claim{ID: "P3", Numbers: map[string]float64{"fit_sym": 1.9, "fit_pytorch": 0.13, "grad_init": 1.6, "grad_final": 0.86, "rho_eps": math.NaN()}},
			map[string]string{"final E_f, symmetric": "met", "final ‖∇R‖, symmetric": "not met", "ρ(ε, final E_f)": "", "PyTorch default init": "", "‖∇R‖ at init": ""}},
		{report.Claim{ID: "IND", Numbers: map[string]float64{"model_a_pearson": 0.96, "model_d_pearson": -0.1}},
			map[string]string{"Model a": "met", "Model d": "not met"}},
		{report.Claim{ID: "P4", Numbers: map[string]float64{"d_fit_skip": 1.9, "d_fit_noskip": 2.3}},
			map[string]string{"final E_f, deepest Model d, skips on": "", "skips off": "met"}},
		{report.Claim{ID: "P4", Numbers: map[string]float64{"c_floor_skip": 1e-9, "c_floor_noskip": 2e-9}},
			map[string]string{"at init, deepest Model c, skips on": "", "skips off": "not met"}},
	}
	for _, c := range cases {
		got := withQuantities(c.claim)
		if len(got.Quantities) != len(c.want) {
			t.Errorf("%s: %d quantities %+v, want %d (unknown keys left to the appendix)", c.claim.ID, len(got.Quantities), got.Quantities, len(c.want))
		}
		for sub, met := range c.want {
			found := false
			for _, q := range got.Quantities {
				if !strings.Contains(q.Name, sub) {
					continue
				}
				found = true
				verdict := ""
				if q.Met != nil {
					verdict = map[bool]string{true: "met", false: "not met"}[*q.Met]
				}
				if verdict != met {
					t.Errorf("%s %q: %q (threshold %q), want %q", c.claim.ID, q.Name, verdict, q.Threshold, met)
				}
				if q.Met != nil && q.Threshold == "" {
					t.Errorf("%s %q: a verdict without a threshold", c.claim.ID, q.Name)
				}
			}
			if !found {
				t.Errorf("%s: no quantity named like %q in %+v", c.claim.ID, sub, got.Quantities)
			}
		}
	}
}
