package report

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/font"
)

// goldenDelta is the normalised colour distance cmpimg.EqualApprox lets a
// pixel differ by: anti-aliasing may change in the last bit with another
// version of the rasteriser, a changed layout changes far more.
const goldenDelta = 0.01

// goldenFigures are figures whose PNGs are kept in testdata/ (regenerate
// with go test ./report -update, and look at them before committing).
func goldenFigures() []Figure {
	steps := make([]float64, 41)
	ef, lower, upper, grad := make([]float64, 41), make([]float64, 41), make([]float64, 41), make([]float64, 41)
	for i := range steps {
		s := float64(i * 100)
		steps[i] = s
		ef[i] = 2.3*math.Exp(-s/800) + 0.01
		lower[i] = ef[i] * 0.05
		upper[i] = ef[i] * 3e3
		if i >= 25 {
			upper[i] = math.Inf(1) // the bound stops existing: marked, not dropped
		}
		grad[i] = 1.5 * math.Exp(-s/1200)
	}
	// The single-run page's figure: a run whose (C) becomes infinite.
	var probes []Probe
	var ind []Indicator
	for i := range steps[:21] {
		probes = append(probes, Probe{Step: steps[i], FittingError: ef[i], GradNorm: grad[i], LowerB: lower[i], UpperC: upper[i+20],
			LambdaMin: 1e-3 * (1 + float64(i)), LambdaMax: 400, Rank: 90})
		ind = append(ind, Indicator{Step: steps[i], Log2F: 8 - float64(i)/3, Log2R: 1 - float64(i)/4})
	}
	run := RunDocument(RunTrace{Name: "golden", Probes: probes, Indicators: ind}).Figures[0]
	run.Name = "golden-run"
	return []Figure{
		run,
		{
			Name: "golden-bounds", Title: "E_f between its bounds",
			Panels: []Panel{
				{Title: "E_f and bounds", XLabel: "training step", YLabel: "E_f", LogY: true,
					Series: []Series{{Label: "E_f", Group: "E_f", X: steps, Y: ef},
						{Label: "lower bound (B)", Group: "lower", X: steps, Y: lower},
						{Label: "upper bound (C)", Group: "upper", X: steps, Y: upper}}},
				// Linear axis with step counts: "2000", not "2e+03".
				{Title: "gradient norm", XLabel: "training step", YLabel: "‖∇R‖",
					Series: []Series{{Label: "‖∇R‖", Group: "grad", X: steps, Y: grad}}},
				// Spans five decades on a linear request: drawn on a log axis.
				{Title: "spectrum", XLabel: "training step", YLabel: "eigenvalue",
					Series: []Series{{Label: "λ_min", Group: "lmin", X: steps, Y: scale(grad, 1e-4)},
						{Label: "λ_max", Group: "lmax", X: steps, Y: scale(grad, 40)}}},
			},
			Columns: 3, // wider than a screen with its legend: wrapped to 2×2
		},
		{
			Name: "golden-single", Title: "One panel, legend beside it",
			Panels: []Panel{{Title: "accuracy", XLabel: "step", YLabel: "test accuracy",
				Series: []Series{{Label: "model a", Group: "a", X: steps[:5], Y: []float64{0.1, 0.6, 0.8, 0.85, 0.9}, Style: StyleLinePoints},
					{Label: "model b", Group: "b", X: steps[:5], Y: []float64{0.1, 0.3, 0.5, 0.7, 0.8}, Style: StyleLinePoints}},
				HLines: []HLine{{Y: 0.5, Label: "threshold 0.5"}}}},
		},
	}
}

func scale(v []float64, c float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * c * (1 + float64(i))
	}
	return out
}

func TestGoldenPNG(t *testing.T) {
	dir := t.TempDir()
	for _, f := range goldenFigures() {
		t.Run(f.Name, func(t *testing.T) {
			pngPath, _, err := RenderFigure(dir, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(pngPath)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", f.Name+".png")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update to create it)", err)
			}
			ok, err := cmpimg.EqualApprox("png", got, want, goldenDelta)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				bad := filepath.Join(os.TempDir(), f.Name+"_got.png")
				os.WriteFile(bad, got, 0o644)
				t.Errorf("%s differs from %s (this run's image: %s); look at both and run go test ./report -update if the change is intended", f.Name, golden, bad)
			}
		})
	}
}

func TestDrawable(t *testing.T) {
	face := font.DefaultCache.Lookup(sans, 10)
	var buf sfnt.Buffer
	for _, c := range []struct{ in, want string }{
		{"‖∇R‖", "‖grad R‖"},
		{"ε = 10⁻⁶σ", "ε = 10^-6σ"},
		{"λ_min(H_S) ≤ κ·E_s, log₂F", "λ_min(H_S) ≤ κ·E_s, log₂F"},
		{"x ∈ S", "x in S"},
		{"a\u2603b", "a?b"}, // a snowman has no substitute
	} {
		got := drawable(c.in)
		if got != c.want {
			t.Errorf("drawable(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, r := range got {
			if i, err := face.Face.GlyphIndex(&buf, r); err != nil || i == 0 {
				t.Errorf("drawable(%q) keeps %q, which the font lacks", c.in, r)
			}
		}
	}
	for r, sub := range glyphSubstitutes {
		for _, s := range sub {
			if i, err := face.Face.GlyphIndex(&buf, s); err != nil || i == 0 {
				t.Errorf("substitute %q of %q is not drawable either", sub, r)
			}
		}
	}
}
