package report_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/fenchel-ml/fenchel/report"
)

// Example writes a one-figure report, then reads it back as `fenchel report`
// does before re-rendering.
func Example() {
	widths := []float64{16, 32, 64, 128, 256}
	ratio := make([]float64, len(widths))
	for i, w := range widths {
		ratio[i] = 1 - 4/math.Sqrt(w) // a made-up λ_min/λ_mean rising with width
	}
	doc := report.Document{
		Title: "Width sweep",
		Claims: []report.Claim{{
			ID: "P2", Statement: "λ_min(H_S)/λ_mean(H_S) rises with width",
			Measured: "Spearman 1.0", Threshold: "≥ 0.9",
			Status: report.StatusPass, Figure: "width",
			Numbers: map[string]float64{"spearman": 1},
		}},
		Figures: []report.Figure{{
			Name: "width", Title: "Conditioning against width",
			Panels: []report.Panel{{
				XLabel: "width", YLabel: "λ_min / λ_mean", LogX: true, LogBase2: true,
				Series: []report.Series{{Label: "MLP", Group: "mlp", X: widths, Y: ratio, Style: report.StyleLinePoints}},
				HLines: []report.HLine{{Y: 0.5, Label: "half"}},
			}},
		}},
	}

	dir, err := os.MkdirTemp("", "report-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := report.Write(dir, doc); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"report.md", "report.html", "document.json", "figures/width.png", "figures/width.svg"} {
		_, err := os.Stat(filepath.Join(dir, name))
		fmt.Println(name, err == nil)
	}

	back, err := report.Read(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range back.Claims {
		fmt.Printf("%s %s: %s\n", c.ID, c.Status, c.Statement)
	}
	// Output:
	// report.md true
	// report.html true
	// document.json true
	// figures/width.png true
	// figures/width.svg true
	// P2 PASS: λ_min(H_S)/λ_mean(H_S) rises with width
}

// ExampleRenderFigure draws a single figure without a report around it.
func ExampleRenderFigure() {
	dir, err := os.MkdirTemp("", "report-figure")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f := report.Figure{
		Name: "loss",
		Panels: []report.Panel{{
			Title: "training loss", XLabel: "step", YLabel: "R", LogY: true,
			Series: []report.Series{{Label: "run 1", X: []float64{0, 1, 2, 3}, Y: []float64{2.3, 0.9, 0.2, 0.05}}},
		}},
	}
	pngPath, svgPath, err := report.RenderFigure(dir, f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(pngPath), filepath.Base(svgPath))
	// Output: loss.png loss.svg
}
