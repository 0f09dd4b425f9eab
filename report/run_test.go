package report

import (
	"math"
	"strings"
	"testing"
)

func TestRunDocument(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	probes := []Probe{
		{Step: 0, FittingError: 2.3, GradNorm: 1.7, LowerB: 0.02, UpperC: 4000, LambdaMin: 0.9, LambdaMax: 6000, Rank: 900,
			Diagnosis: []string{"not yet fitted: E_f = 2.3"}},
		{Step: 20, FittingError: 0.5, GradNorm: 0.4, LowerB: 0.001, UpperC: 9000, LambdaMin: 2, LambdaMax: 8000, Rank: 900,
			Diagnosis: []string{"not yet fitted: E_f = 0.5"}}, // same words: no new row
		{Step: 40, FittingError: 0.05, GradNorm: 0.15, LowerB: 1e-4, UpperC: inf, LambdaMin: 2.5, LambdaMax: 9000, Rank: 900,
			Diagnosis: []string{"stalled: ‖∇R‖ = 0.15"}},
	}
	doc := RunDocument(RunTrace{Name: "run1", Model: "mlp-64", Setting: "Loss softmax.", Spectrum: "H_S", Probes: probes, TrivialFittingError: math.Log(10),
		Indicators: []Indicator{{0, 8, 1}, {20, 6, -1}}, TrainSteps: []float64{10, 20}, TrainLoss: []float64{1, 0.5}})
	if err := doc.validate(); err != nil {
		t.Fatal(err)
	}
	if doc.Title != "Training run run1: mlp-64" || len(doc.Figures) != 1 || len(doc.Figures[0].Panels) != 4 {
		t.Fatalf("title %q, %d figures", doc.Title, len(doc.Figures))
	}
	end, changes := doc.Tables[0], doc.Tables[1]
	cell := func(tab Table, key string) string {
		for _, r := range tab.Rows {
			if r[0] == key {
				return r[1]
			}
		}
		return ""
	}
	for key, want := range map[string]string{
		"diagnosis":               "stalled: ‖∇R‖ = 0.15",
		"fitting error E_f":       "0.05",
		"lower bound (B)":         "0.0001 (E_f/lower = 500×)",
		"upper bound (C)":         "+Inf (infinite: no finite bound here), vacuous: above E_f = 2.30259 of the uniform prediction",
		"condition number κ(H_S)": "3600",
	} {
		if got := cell(end, key); got != want {
			t.Errorf("last probe %s = %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(end.Title, "step 40") {
		t.Errorf("end table title %q", end.Title)
	}
	if len(changes.Rows) != 2 || changes.Rows[0][0] != "0" || changes.Rows[1][0] != "40" {
		t.Errorf("diagnosis changes %v, want rows at steps 0 and 40", changes.Rows)
	}
	// E_f, (B) and (C) are drawn as given; +Inf stays in the data (marked).
	bounds := doc.Figures[0].Panels[0]
	if len(bounds.Series) != 3 || !math.IsInf(bounds.Series[2].Y[2], 1) || bounds.Series[0].Y[1] != 0.5 {
		t.Errorf("bounds panel %+v", bounds.Series)
	}
	if len(bounds.HLines) != 1 || bounds.HLines[0].Y != math.Log(10) {
		t.Errorf("bounds panel lines %+v, want the uniform prediction's E_f", bounds.HLines)
	}
	if p := doc.Figures[0].Panels[3]; !strings.Contains(p.Title, "indicator") {
		t.Errorf("fourth panel %q, want the indicator", p.Title)
	}

	// A loss without (C), no indicator: the training loss instead, (C) left out.
	for i := range probes {
		probes[i].UpperC = nan
	}
	doc = RunDocument(RunTrace{Name: "r", Probes: probes, TrainSteps: []float64{10}, TrainLoss: []float64{1}})
	p := doc.Figures[0].Panels
	if len(p[0].Series) != 2 || !strings.Contains(p[0].Title, "no (C)") || !strings.Contains(p[3].Title, "training loss") {
		t.Errorf("without (C): %q with %d series, last panel %q", p[0].Title, len(p[0].Series), p[3].Title)
	}
	// No probes: said so.
	doc = RunDocument(RunTrace{Name: "r"})
	if len(doc.Tables) != 0 || !strings.Contains(strings.Join(doc.Notes, " "), "--probe-every") {
		t.Errorf("no probes: tables %v notes %v", doc.Tables, doc.Notes)
	}
	if err := doc.validate(); err != nil {
		t.Fatal(err)
	}
}
