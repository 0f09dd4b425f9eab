package report

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"flag"
	"fmt"
	stdhtml "html"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata/")
	demo   = flag.String("demo", "", "also write the test report into this directory, to look at")
)

// testDocument is a small synthetic report: a log-log figure with one panel,
// a figure with three panels, and three claims, one of each status.
func testDocument() Document {
	widths := []float64{16, 32, 64, 128, 256, 512, 1024}
	var lamA, lamB, errA []float64
	for _, w := range widths {
		lamA = append(lamA, 0.5/math.Sqrt(w))
		lamB = append(lamB, 2/w)
		errA = append(errA, 1/(w*w))
	}
	// A NaN and a non-positive value that the log axes must skip.
	lamB[2] = math.NaN()
	errA[4] = -1

	const steps = 2000
	batch := make([]float64, steps)
	logF := make([]float64, steps)
	logR := make([]float64, steps)
	for i := range batch {
		batch[i] = float64(2 * i)
		logF[i] = 4*math.Exp(-float64(i)/400) + 0.3*math.Sin(float64(i)/15)
		logR[i] = 3*math.Exp(-float64(i)/400) - 1 + 0.2*math.Cos(float64(i)/20)
	}
	logR[700] = math.Inf(1) // a gap in the line

	return Document{
		Title:   "fenchel test report",
		Created: time.Date(2025, 4, 1, 12, 30, 0, 0, time.UTC),
		Version: "v0.0.0-test",
		Command: "fenchel reproduce --out results",
		Environment: map[string]string{
			"go": "go1.26", "blas": "gonum", "cpu": "test cpu | with pipe", "cores": "2",
		},
		TotalSeconds:      3725.5,
		ExperimentSeconds: map[string]float64{"width": 3000, "paper": 725.5, "never": math.NaN()},
		Claims: []Claim{
			{
				ID: "P1", Statement: "bounds (A), (B), (C) hold at every logged step",
				Measured: "max violation 3e-9", Threshold: "rel. tol 1e-6",
				Status: StatusPass, Figure: "width-sweep",
				Numbers: map[string]float64{"max_violation": 3e-9, "undefined": math.NaN(), "big": math.Inf(1)},
			},
			{
				ID: "P2", Statement: "<b>bold</b> | pipe: λ_min/λ_mean rises with width",
				Measured: "Spearman 0.4", Threshold: "≥ 0.9",
				Status: StatusFail, Figure: "dynamics",
				Numbers: map[string]float64{"spearman": 0.4},
				Quantities: []Quantity{
					{Name: "Spearman ρ(width, λ_min/λ_mean)", Value: 0.4, Threshold: "≥ 0.9", Met: Met(false)},
					{Name: "widths", Value: 7},
					{Name: "budget", Value: 200, Unit: "steps", Threshold: "≥ 100", Met: Met(true)},
					{Name: "slack of (C)", Value: math.Inf(1), Unit: "×"},
				},
			},
			{ID: "P2b", Statement: "shares a figure", Status: StatusPass, Figure: "dynamics"},
			{ID: "P3", Statement: "symmetric init collapses rank", Status: StatusNotRun},
		},
		Figures: []Figure{
			{
				Name: "width-sweep", Title: "Width sweep", Caption: "λ_min(H_S)/P against width.",
				Panels: []Panel{{
					Title: "normalised λ_min", XLabel: "width", YLabel: "λ_min / P",
					LogX: true, LogY: true,
					Series: []Series{
						{Label: "model a", Group: "a", X: widths, Y: lamA, Style: StyleLinePoints},
						{Label: "model b", Group: "b", X: widths, Y: lamB, Style: StyleLinePoints},
						{Label: "E_f model a", Group: "a", X: widths, Y: errA},
						{Label: "model c (not run)", Group: "c"},
					},
					HLines: []HLine{{Y: 1e-3, Label: "threshold 1e-3"}, {Y: 0, Label: "zero, off a log axis"}},
				}},
			},
			{
				Name: "dynamics", Title: "Training dynamics (THEORY §5)",
				Caption: "log₂F and log₂R along training.",
				Panels: []Panel{
					{
						Title: "log₂F and log₂R", XLabel: "batch", YLabel: "log₂",
						Series: []Series{
							{Label: "log₂F", Group: "a", X: batch, Y: logF},
							{Label: "log₂R", Group: "a", X: batch, Y: logR},
						},
					},
					{
						Title: "scatter", XLabel: "log₂R", YLabel: "log₂F",
						Series: []Series{{Label: "model b", Group: "b", X: logR, Y: logF, Style: StylePoints}},
					},
					{
						Title: "E_f against width", XLabel: "width", YLabel: "E_f",
						LogX: true, LogBase2: true,
						Series: []Series{{Label: "model a", Group: "a", X: widths, Y: lamA, Style: StyleLinePoints}},
						HLines: []HLine{{Y: 0.05, Label: "target"}},
					},
				},
			},
		},
		Notes:  []string{"synthetic data for the tests", "a <script>alert(1)</script> note"},
		Tables: []Table{{Title: "Correlations", Header: []string{"model", "pearson", "local"}, Rows: [][]string{{"a", "0.93", "0.8|0.9"}, {"b", "0.41"}}}},
	}
}

// checkFigureSize checks the layout of f from its SVG size, from the layout
// constants independently of the drawing code: the figure is at most
// maxFigureWidth wide, its height is a whole number of panel rows (plus the
// title band), at least as many rows as the requested columns need, and its
// width holds the columns those rows imply.
func checkFigureSize(t *testing.T, f Figure, w, h float64) {
	t.Helper()
	want := f.Columns
	if want == 0 {
		want = 2
	}
	want = min(want, len(f.Panels))
	if w > float64(maxFigureWidth) {
		t.Errorf("figure %s: %v pt wide, more than %v", f.Name, w, float64(maxFigureWidth))
	}
	body := h - 2*float64(tilePad)
	if f.Title != "" {
		body -= float64(titleBand)
	}
	rows := body / float64(panelHeight)
	if rows != math.Trunc(rows) || int(rows) < (len(f.Panels)+want-1)/want || int(rows) > len(f.Panels) {
		t.Errorf("figure %s: height %v pt is not a whole number (%v) of rows for %d panels in ≤ %d columns", f.Name, h, rows, len(f.Panels), want)
		return
	}
	cols := (len(f.Panels) + int(rows) - 1) / int(rows)
	if min := float64(cols)*float64(panelWidth) + 2*float64(tilePad); w < min {
		t.Errorf("figure %s: %v pt wide, less than %v for %d columns", f.Name, w, min, cols)
	}
}

// pixels converts points to pixels at pngDPI as vgimg rounds them.
func pixels(pt float64) int { return int(pt/72*pngDPI + 0.5) }

// svgSize parses an SVG document fully and returns its width and height in
// points.
func svgSize(t *testing.T, path string) (w, h float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	found := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: not XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" && !found {
			found = true
			for _, a := range se.Attr {
				v, err := strconv.ParseFloat(strings.TrimSuffix(a.Value, "pt"), 64)
				switch a.Name.Local {
				case "width":
					if err != nil {
						t.Fatalf("%s: width %q", path, a.Value)
					}
					w = v
				case "height":
					if err != nil {
						t.Fatalf("%s: height %q", path, a.Value)
					}
					h = v
				}
			}
		}
	}
	if !found {
		t.Fatalf("%s: no <svg> element", path)
	}
	return w, h
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	doc := testDocument()
	if err := Write(dir, doc); err != nil {
		t.Fatal(err)
	}
	if *demo != "" {
		if err := Write(*demo, doc); err != nil {
			t.Fatal(err)
		}
	}

	for _, f := range doc.Figures {
		pngPath := filepath.Join(dir, FiguresDir, f.Name+".png")
		svgPath := filepath.Join(dir, FiguresDir, f.Name+".svg")
		pb, err := os.ReadFile(pngPath)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(pb))
		if err != nil {
			t.Fatalf("%s: %v", pngPath, err)
		}
		sw, sh := svgSize(t, svgPath)
		checkFigureSize(t, f, sw, sh)
		size := img.Bounds().Size()
		if size.X != pixels(sw) || size.Y != pixels(sh) {
			t.Errorf("%s: %dx%d px, want %dx%d (the SVG's %vx%v pt at %d dpi)",
				pngPath, size.X, size.Y, pixels(sw), pixels(sh), sw, sh, pngDPI)
		}
	}

	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Claims {
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(c.ID) + ` \| .*\| \*\*` + regexp.QuoteMeta(string(c.Status)) + `\*\* \|`)
		if !re.Match(md) {
			t.Errorf("report.md: no claims row for %s with status %s", c.ID, c.Status)
		}
	}
	for _, want := range []string{
		`<b>bold</b> \| pipe`,                                         // pipe escaped in a claim cell
		`| cpu | test cpu \| with pipe |`,                             // and in the environment table
		`| a | 0.93 | 0.8\|0.9 |`,                                     // and in an extra table
		`| b | 0.41 |  |`,                                             // short rows are padded
		"![Width sweep](figures/width-sweep.png)",                     // figures embedded
		"[width-sweep](figures/width-sweep.png)",                      // claim links its figure
		"4 claims: 2 PASS, 1 FAIL, 1 NOT RUN",                         // summary
		"Total: 3725.5 s (1h2m6s)",                                    // timings
		"| P1 | undefined | NaN |",                                    // numbers
		"| Spearman ρ(width, λ_min/λ_mean) | 0.4 | ≥ 0.9 | not met |", // named quantities
		"| budget | 200 steps | ≥ 100 | met |",
		"| slack of (C) | +∞ × |  |  |",
		"### P2: FAIL", "Figure: Training dynamics (THEORY §5), shown under P2.", // one image per figure
		"## Appendix",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	pageBytes, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(pageBytes)
	for _, want := range []string{
		"&lt;b&gt;bold&lt;/b&gt;",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		`class="status pass">PASS`, `class="status fail">FAIL`, `class="status notrun">NOT RUN`,
		`<a href="#fig-dynamics">dynamics</a>`,
		`<section class="claim" id="claim-P2">`, `<td class="notmet">not met</td>`, `<td class="met">met</td>`,
		`shown under P2.`, `<summary>Every measured number (document.json keys)</summary>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<b>bold", "<script>alert", "ZgotmplZ"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html contains %q: text not escaped or URI rejected", bad)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "</html>") {
		t.Errorf("report.html is not a whole page")
	}
	// Each embedded image is exactly the PNG file written beside it.
	// (html/template writes '+' as &#43; inside the attribute; browsers decode it.)
	uris := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(uris) != len(doc.Figures) {
		t.Fatalf("report.html has %d embedded PNGs, want %d", len(uris), len(doc.Figures))
	}
	for i, f := range doc.Figures {
		got, err := base64.StdEncoding.DecodeString(stdhtml.UnescapeString(uris[i][1]))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(dir, FiguresDir, f.Name+".png"))
		if !bytes.Equal(got, want) {
			t.Errorf("report.html: image %d differs from %s.png", i, f.Name)
		}
	}
	// No temporary files of the atomic writes are left behind.
	for _, d := range []string{dir, filepath.Join(dir, FiguresDir)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("leftover temporary file %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

// sameFloat treats NaNs as equal, which reflect.DeepEqual does not.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameFloat(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameMap(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameFloat(v, w) {
			return false
		}
	}
	return true
}

func sameQuantities(a, b []Quantity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		p, q := a[i], b[i]
		if p.Name != q.Name || p.Unit != q.Unit || p.Threshold != q.Threshold || !sameFloat(p.Value, q.Value) ||
			(p.Met == nil) != (q.Met == nil) || (p.Met != nil && *p.Met != *q.Met) {
			return false
		}
	}
	return true
}

// diff returns a description of the first difference between two documents.
func diff(a, b Document) string {
	switch {
	case a.Title != b.Title || a.Version != b.Version || a.Command != b.Command:
		return "title, version or command"
	case !a.Created.Equal(b.Created):
		return fmt.Sprintf("created %v != %v", a.Created, b.Created)
	case fmt.Sprint(a.Environment) != fmt.Sprint(b.Environment):
		return "environment"
	case !sameFloat(a.TotalSeconds, b.TotalSeconds) || !sameMap(a.ExperimentSeconds, b.ExperimentSeconds):
		return "timings"
	case fmt.Sprint(a.Notes) != fmt.Sprint(b.Notes) || fmt.Sprint(a.Tables) != fmt.Sprint(b.Tables):
		return "notes or tables"
	case len(a.Claims) != len(b.Claims) || len(a.Figures) != len(b.Figures):
		return "number of claims or figures"
	}
	for i := range a.Claims {
		ca, cb := a.Claims[i], b.Claims[i]
		na, nb := ca.Numbers, cb.Numbers
		qa, qb := ca.Quantities, cb.Quantities
		ca.Numbers, cb.Numbers, ca.Quantities, cb.Quantities = nil, nil, nil, nil
		if fmt.Sprint(ca) != fmt.Sprint(cb) || !sameMap(na, nb) || !sameQuantities(qa, qb) {
			return fmt.Sprintf("claim %d: %+v != %+v", i, a.Claims[i], b.Claims[i])
		}
	}
	for i := range a.Figures {
		fa, fb := a.Figures[i], b.Figures[i]
		if fa.Name != fb.Name || fa.Title != fb.Title || fa.Caption != fb.Caption ||
			fa.Columns != fb.Columns || len(fa.Panels) != len(fb.Panels) {
			return fmt.Sprintf("figure %d header", i)
		}
		for j := range fa.Panels {
			pa, pb := fa.Panels[j], fb.Panels[j]
			if pa.Title != pb.Title || pa.XLabel != pb.XLabel || pa.YLabel != pb.YLabel ||
				pa.LogX != pb.LogX || pa.LogY != pb.LogY || pa.LogBase2 != pb.LogBase2 ||
				len(pa.Series) != len(pb.Series) || len(pa.HLines) != len(pb.HLines) {
				return fmt.Sprintf("figure %d panel %d header", i, j)
			}
			for k := range pa.Series {
				sa, sb := pa.Series[k], pb.Series[k]
				if sa.Label != sb.Label || sa.Style != sb.Style || sa.Group != sb.Group ||
					!sameFloats(sa.X, sb.X) || !sameFloats(sa.Y, sb.Y) {
					return fmt.Sprintf("figure %d panel %d series %d", i, j, k)
				}
			}
			for k := range pa.HLines {
				if pa.HLines[k].Label != pb.HLines[k].Label || !sameFloat(pa.HLines[k].Y, pb.HLines[k].Y) {
					return fmt.Sprintf("figure %d panel %d hline %d", i, j, k)
				}
			}
		}
	}
	return ""
}

func TestReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	doc := testDocument()
	if err := Write(dir, doc); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(doc, got); d != "" {
		t.Fatalf("Read(Write(doc)) differs from doc: %s", d)
	}
	// The check above must be able to fail.
	changed := testDocument()
	changed.Figures[1].Panels[0].Series[1].Y[700] = 0
	if diff(doc, changed) == "" {
		t.Fatal("diff misses a changed coordinate")
	}
	// Re-rendering from the stored document gives the same figures.
	dir2 := t.TempDir()
	if err := Write(dir2, got); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"figures/width-sweep.svg", "figures/dynamics.png", MarkdownFile, HTMLFile, DocumentFile} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(dir2, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after Read and Write", name)
		}
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), DocumentFile) {
		t.Errorf("Read of an empty directory: err %v, want one naming %s", err, DocumentFile)
	}
	for _, tc := range []struct{ name, json, want string }{
		{"syntax", `{"title": `, "document.json"},
		{"bad number", `{"title":"t","figures":[{"name":"f","panels":[{"series":[{"x":["oops"],"y":[1]}]}]}]}`, `"oops"`},
		{"invalid", `{"title":"t","claims":[{"id":"P1","status":"MAYBE"}]}`, `"MAYBE"`},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, DocumentFile), []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Document)
		wants string
	}{
		{"lengths", func(d *Document) { d.Figures[0].Panels[0].Series[0].Y = []float64{1} }, "len(X) 7 != len(Y) 1"},
		{"style", func(d *Document) { d.Figures[0].Panels[0].Series[0].Style = "bars" }, `style "bars"`},
		{"name", func(d *Document) { d.Figures[0].Name = "../escape" }, `figure "../escape"`},
		{"no panels", func(d *Document) { d.Figures[0].Panels = nil }, "no panels"},
		{"columns", func(d *Document) { d.Figures[0].Columns = -1 }, "columns -1"},
		{"duplicate figure", func(d *Document) { d.Figures[1].Name = d.Figures[0].Name }, "used twice"},
		{"duplicate claim", func(d *Document) { d.Claims[1].ID = "P1" }, `claim "P1": ID used twice`},
		{"status", func(d *Document) { d.Claims[0].Status = "pass" }, `status "pass"`},
		{"figure ref", func(d *Document) { d.Claims[0].Figure = "nowhere" }, `figure "nowhere" not in the document`},
		{"row", func(d *Document) { d.Tables[0].Rows[0] = []string{"1", "2", "3", "4"} }, "4 cells > 3"},
	} {
		doc := testDocument()
		tc.edit(&doc)
		dir := t.TempDir()
		err := Write(dir, doc)
		if err == nil || !strings.Contains(err.Error(), tc.wants) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.wants)
		}
		if _, serr := os.Stat(filepath.Join(dir, DocumentFile)); serr == nil {
			t.Errorf("%s: invalid document was written", tc.name)
		}
	}
	if err := testDocument().validate(); err != nil {
		t.Errorf("valid test document rejected: %v", err)
	}
}

// TestAwkwardData draws panels that a naive renderer crashes on.
func TestAwkwardData(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	panels := []Panel{
		{Title: "empty panel", LogX: true, LogY: true},
		{Title: "only NaN on log axes", LogX: true, LogY: true,
			Series: []Series{{Label: "nan", X: []float64{nan, nan}, Y: []float64{nan, 1}}}},
		{Title: "only non-positive on log y", LogY: true,
			Series: []Series{{Label: "neg", X: []float64{1, 2, 3}, Y: []float64{0, -1, -2}}},
			HLines: []HLine{{Y: -1, Label: "negative"}, {Y: nan}}},
		{Title: "one point, log2", LogX: true, LogY: true, LogBase2: true,
			Series: []Series{{Label: "one", X: []float64{8}, Y: []float64{3}}}},
		{Title: "constant, linear",
			Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{5, 5, 5}}, {X: []float64{inf}, Y: []float64{0}}}},
		{Title: "zero constant", Series: []Series{{Style: StylePoints, X: []float64{0, 0}, Y: []float64{0, 0}}}},
		{Title: "narrow log range", LogY: true,
			Series: []Series{{Label: "narrow", X: []float64{1, 2}, Y: []float64{2.1, 2.9}}}},
		{Title: "huge log range", LogY: true,
			Series: []Series{{Label: "huge", X: []float64{1, 2}, Y: []float64{1e-300, 1e300}}}},
	}
	dir := t.TempDir()
	f := Figure{Name: "awkward", Panels: panels, Columns: 3}
	pngPath, svgPath, err := RenderFigure(dir, f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pngPath)
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	w, h := svgSize(t, svgPath)
	checkFigureSize(t, f, w, h)
}

func TestPieces(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(-1)
	for _, tc := range []struct {
		name       string
		x, y       []float64
		logX, logY bool
		want       [][]float64 // x values of each piece
	}{
		{"empty", nil, nil, false, false, nil},
		{"clean", []float64{1, 2, 3}, []float64{4, 5, 6}, false, false, [][]float64{{1, 2, 3}}},
		{"nan splits", []float64{1, 2, 3, 4}, []float64{1, nan, 3, 4}, false, false, [][]float64{{1}, {3, 4}}},
		{"inf x", []float64{1, inf, 3}, []float64{1, 2, 3}, false, false, [][]float64{{1}, {3}}},
		{"zero kept on linear", []float64{0, 1}, []float64{-1, 0}, false, false, [][]float64{{0, 1}}},
		{"log y drops non-positive", []float64{1, 2, 3, 4, 5}, []float64{1, 0, -2, 4, 5}, false, true, [][]float64{{1}, {4, 5}}},
		{"log x drops non-positive", []float64{-1, 2, 3}, []float64{1, 2, 3}, true, false, [][]float64{{2, 3}}},
		{"all bad", []float64{nan, 1}, []float64{1, -1}, false, true, nil},
	} {
		got := pieces(tc.x, tc.y, tc.logX, tc.logY)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d pieces, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for i, p := range got {
			var xs []float64
			for _, xy := range p {
				xs = append(xs, xy.X)
				if j := indexOf(tc.x, xy.X); j < 0 || !sameFloat(tc.y[j], xy.Y) {
					t.Errorf("%s: point (%v, %v) not from the input", tc.name, xy.X, xy.Y)
				}
			}
			if !sameFloats(xs, tc.want[i]) {
				t.Errorf("%s: piece %d x = %v, want %v", tc.name, i, xs, tc.want[i])
			}
		}
	}
}

func indexOf(v []float64, x float64) int {
	for i, w := range v {
		if w == x {
			return i
		}
	}
	return -1
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		base     float64
		min, max float64
		want     []string // labels of the ticks inside [min, max]; nil: only check count
		minLabel int
		maxLabel int
	}{
		{"decades", 10, 0.003, 500, []string{"0.01", "0.1", "1", "10", "100"}, 5, 5},
		{"exact ends", 10, 1, 1000, []string{"1", "10", "100", "1000"}, 4, 4},
		{"exponents", 10, 1e-7, 2e-5, []string{"1e-7", "1e-6", "1e-5"}, 3, 3},
		{"one decade", 10, 1.5, 9, []string{"2", "5"}, 2, 2},
		{"base 2 widths", 2, 16, 1024, []string{"16", "32", "64", "128", "256", "512", "1024"}, 6, 7},
		{"base 2 strided", 2, 1, 1 << 20, nil, 2, maxLogLabels + 1},
		{"huge", 10, 1e-300, 1e300, nil, 2, maxLogLabels + 1},
		{"narrow falls back", 10, 2.1, 2.9, nil, 2, 10},
		{"narrow base 2", 2, 20, 30, nil, 2, 10},
	} {
		ticks := logTicks{Base: tc.base}.Ticks(tc.min, tc.max)
		var labels []string
		for _, tk := range ticks {
			if tk.Label != "" && tk.Value >= tc.min && tk.Value <= tc.max {
				labels = append(labels, tk.Label)
				// A label must name its value.
				if v, err := strconv.ParseFloat(tk.Label, 64); err == nil && math.Abs(v-tk.Value) > 1e-9*tk.Value {
					t.Errorf("%s: label %q on tick at %v", tc.name, tk.Label, tk.Value)
				}
			}
		}
		if len(labels) < tc.minLabel || len(labels) > tc.maxLabel {
			t.Errorf("%s: %d labels %v, want %d to %d", tc.name, len(labels), labels, tc.minLabel, tc.maxLabel)
		}
		if tc.want != nil && strings.Join(labels, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: labels %v, want %v", tc.name, labels, tc.want)
		}
	}
	for _, r := range [][2]float64{{0, 10}, {-1, 10}, {math.NaN(), 1}, {1, math.Inf(1)}, {5, 1}} {
		if got := (logTicks{Base: 10}).Ticks(r[0], r[1]); got != nil {
			t.Errorf("Ticks(%v, %v) = %v, want none", r[0], r[1], got)
		}
	}
}

func TestColoursFollowGroups(t *testing.T) {
	// Group "b" appears in both figures and keeps one colour; "a" and "c"
	// appear once each and take the lowest colours b leaves free.
	first := Figure{Name: "first", Panels: []Panel{{Series: []Series{
		{Label: "a", Group: "a", X: []float64{1, 2}, Y: []float64{1, 2}},
		{Label: "b", Group: "b", X: []float64{1, 2}, Y: []float64{2, 1}},
	}}}}
	second := Figure{Name: "second", Panels: []Panel{{Series: []Series{
		{Label: "c", Group: "c", X: []float64{1, 2}, Y: []float64{1, 1}},
		{Label: "b again", Group: "b", X: []float64{1, 2}, Y: []float64{2, 1}},
	}}}}
	cols := assignColours([]Figure{first, second})
	want := map[string]colours{"first": {"b": 0, "a": 1}, "second": {"b": 0, "c": 1}}
	if fmt.Sprint(cols) != fmt.Sprint(want) {
		t.Errorf("colours %v, want %v", cols, want)
	}
	dir := t.TempDir()
	if err := Write(dir, Document{Title: "colours", Figures: []Figure{first, second}}); err != nil {
		t.Fatal(err)
	}
	rgb := func(i int) string {
		c := palette[i]
		return fmt.Sprintf("stroke:#%02X%02X%02X;", c.R, c.G, c.B)
	}
	for _, name := range []string{"first", "second"} {
		svg, err := os.ReadFile(filepath.Join(dir, FiguresDir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte(rgb(0))) || !bytes.Contains(svg, []byte(rgb(1))) || bytes.Contains(svg, []byte(rgb(2))) {
			t.Errorf("%s.svg: want exactly colours 0 (b) and 1", name)
		}
	}
	// Alone, a figure numbers its groups from the first colour.
	if got := assignColours([]Figure{second})["second"]; got["c"] != 0 || got["b"] != 1 {
		t.Errorf("second alone: %v", got)
	}
}

func TestGoldenSVG(t *testing.T) {
	f := Figure{
		Name: "simple", Title: "Simple",
		Panels: []Panel{{
			Title: "y = x²", XLabel: "x", YLabel: "y",
			Series: []Series{
				{Label: "x²", X: []float64{0, 1, 2, 3, 4}, Y: []float64{0, 1, 4, 9, 16}},
				{Label: "points", X: []float64{0.5, 2.5}, Y: []float64{8, 2}, Style: StylePoints},
			},
			HLines: []HLine{{Y: 10, Label: "ten"}},
		}},
	}
	_, svgPath, err := RenderFigure(t.TempDir(), f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "simple.svg")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("simple.svg differs from %s; inspect it and run go test ./report -update if the change is intended", golden)
	}
}

// manyPoints is a figure of three panels of three 10k-point series.
func manyPoints(style string) Figure {
	const n = 10000
	x := make([]float64, n)
	ys := make([][]float64, 3)
	for i := range x {
		x[i] = float64(i + 1)
	}
	for k := range ys {
		ys[k] = make([]float64, n)
		for i := range ys[k] {
			ys[k][i] = math.Exp(-float64(i)/3000) * (1 + 0.1*float64(k) + 0.05*math.Sin(float64(i*(k+1))/7))
		}
	}
	var panels []Panel
	for p := 0; p < 3; p++ {
		pn := Panel{Title: "10k points", LogX: p == 1, LogY: p == 2}
		for k := range ys {
			pn.Series = append(pn.Series, Series{Label: strconv.Itoa(k), X: x, Y: ys[k], Style: style})
		}
		panels = append(panels, pn)
	}
	return Figure{Name: "many", Panels: panels}
}

func BenchmarkRenderFigure10kLine(b *testing.B)   { benchRender(b, StyleLine) }
func BenchmarkRenderFigure10kPoints(b *testing.B) { benchRender(b, StylePoints) }

func benchRender(b *testing.B, style string) {
	f := manyPoints(style)
	dir := b.TempDir()
	for b.Loop() {
		if _, _, err := RenderFigure(dir, f); err != nil {
			b.Fatal(err)
		}
	}
}
