package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fenchel-ml/fenchel/internal/atomicfile"
)

// File and folder names inside a report directory.
const (
	DocumentFile = "document.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	FiguresDir   = "figures"
)

// Write renders doc into dir: every figure as figures/<Name>.png and .svg,
// report.md (figures linked), report.html (self-contained, figures embedded
// as PNG data URIs) and document.json, which Read turns back into doc. Every
// file is written atomically; document.json comes first, so the data survive
// a failure while drawing. Colours follow Groups across all figures.
func Write(dir string, doc Document) error {
	if err := doc.validate(); err != nil {
		return fmt.Errorf("report %s: %w", dir, err)
	}
	figDir := filepath.Join(dir, FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return fmt.Errorf("report %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("report %s: encode %s: %w", dir, DocumentFile, err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, DocumentFile), append(js, '\n')); err != nil {
		return err
	}

	cols := assignColours(doc.Figures)
	pngs := make(map[string][]byte, len(doc.Figures))
	for _, f := range doc.Figures {
		_, _, png, err := renderFigure(figDir, f, cols[f.Name])
		if err != nil {
			return fmt.Errorf("report %s: %w", dir, err)
		}
		pngs[f.Name] = png
	}

	if err := atomicfile.WriteBytes(filepath.Join(dir, MarkdownFile), markdown(doc)); err != nil {
		return err
	}
	page, err := htmlPage(doc, pngs)
	if err != nil {
		return fmt.Errorf("report %s: %w", dir, err)
	}
	return atomicfile.WriteBytes(filepath.Join(dir, HTMLFile), page)
}

// Read loads the Document that Write stored in dir/document.json.
func Read(dir string) (Document, error) {
	path := filepath.Join(dir, DocumentFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Document{}, fmt.Errorf("read report: %w", err)
	}
	var doc Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return Document{}, fmt.Errorf("read %s: %w", path, err)
	}
	if err := doc.validate(); err != nil {
		return Document{}, fmt.Errorf("read %s: %w", path, err)
	}
	return doc, nil
}

// formatNumber writes a measured value with 6 significant digits.
func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// formatSeconds writes a duration in seconds, with hours and minutes when long.
func formatSeconds(s float64) string {
	out := strconv.FormatFloat(s, 'f', 1, 64) + " s"
	if s >= 60 && !math.IsInf(s, 0) {
		out += " (" + time.Duration(s*float64(time.Second)).Round(time.Second).String() + ")"
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// summary counts the claims by status: "3 claims: 1 PASS, 1 FAIL, 1 NOT RUN".
func summary(claims []Claim) string {
	n := map[Status]int{}
	for _, c := range claims {
		n[c.Status]++
	}
	return fmt.Sprintf("%d claims: %d %s, %d %s, %d %s", len(claims),
		n[StatusPass], StatusPass, n[StatusFail], StatusFail, n[StatusNotRun], StatusNotRun)
}

// mdCell makes s safe inside a markdown table cell: a pipe would end the
// cell and a newline the row.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// mdText makes s safe as link or image text.
func mdText(s string) string {
	r := strings.NewReplacer("[", `\[`, "]", `\]`, "\n", " ")
	return r.Replace(s)
}

func mdTable(b *bytes.Buffer, header []string, rows [][]string) {
	row := func(cells []string) {
		b.WriteString("|")
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
	row(header)
	b.WriteString("|" + strings.Repeat("---|", len(header)) + "\n")
	for _, r := range rows {
		row(r)
	}
	b.WriteString("\n")
}

func figurePath(name, ext string) string { return FiguresDir + "/" + name + ext }

// claimFigures are the figures a claim names, in document order, and the
// others.
func claimFigures(doc Document) (byClaim map[string]Figure, others []Figure) {
	named := map[string]bool{}
	for _, c := range doc.Claims {
		if c.Figure != "" {
			named[c.Figure] = true
		}
	}
	byClaim = map[string]Figure{}
	for _, f := range doc.Figures {
		if named[f.Name] {
			byClaim[f.Name] = f
		} else {
			others = append(others, f)
		}
	}
	return byClaim, others
}

func figureHeading(f Figure) string {
	if f.Title != "" {
		return f.Title
	}
	return f.Name
}

// quantityRows are a claim's quantities as table cells.
func quantityRows(qs []Quantity) [][]string {
	rows := make([][]string, len(qs))
	for i, q := range qs {
		rows[i] = []string{q.Name, formatQuantity(q), q.Threshold, q.verdict()}
	}
	return rows
}

// markdown returns report.md for doc: an index of the claims, one section
// per claim (statement, verdict, the deciding quantities, its figure), the
// other figures and tables, then an appendix with the raw numbers, the
// environment and the timings.
func markdown(doc Document) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", strings.ReplaceAll(doc.Title, "\n", " "))
	var meta []string
	if !doc.Created.IsZero() {
		meta = append(meta, "Created "+doc.Created.Format(time.RFC3339))
	}
	if doc.Version != "" {
		meta = append(meta, "version "+doc.Version)
	}
	if len(meta) > 0 {
		b.WriteString(strings.Join(meta, ", ") + ".\n\n")
	}
	if doc.Command != "" {
		fmt.Fprintf(&b, "Command:\n\n```\n%s\n```\n\n", doc.Command)
	}
	byClaim, others := claimFigures(doc)

	if len(doc.Claims) > 0 {
		b.WriteString("## Claims\n\n")
		b.WriteString(summary(doc.Claims) + ".\n\n")
		rows := make([][]string, len(doc.Claims))
		for i, c := range doc.Claims {
			fig := ""
			if c.Figure != "" {
				fig = fmt.Sprintf("[%s](%s)", mdText(c.Figure), figurePath(c.Figure, ".png"))
			}
			rows[i] = []string{c.ID, c.Statement, "**" + string(c.Status) + "**", fig}
		}
		mdTable(&b, []string{"Claim", "Statement", "Status", "Figure"}, rows)
		shown := map[string]string{} // figure → the claim whose section shows it
		for _, c := range doc.Claims {
			fmt.Fprintf(&b, "### %s: %s\n\n", c.ID, c.Status)
			b.WriteString(strings.ReplaceAll(c.Statement, "\n", " ") + "\n\n")
			if c.Measured != "" {
				fmt.Fprintf(&b, "- Measured: %s\n", strings.ReplaceAll(c.Measured, "\n", " "))
			}
			if c.Threshold != "" {
				fmt.Fprintf(&b, "- Threshold: %s\n", strings.ReplaceAll(c.Threshold, "\n", " "))
			}
			b.WriteString("\n")
			if len(c.Quantities) > 0 {
				mdTable(&b, []string{"Quantity", "Value", "Threshold", ""}, quantityRows(c.Quantities))
			}
			if f, ok := byClaim[c.Figure]; ok {
				if by, dup := shown[f.Name]; dup {
					fmt.Fprintf(&b, "Figure: %s, shown under %s.\n\n", mdText(figureHeading(f)), by)
					continue
				}
				shown[f.Name] = c.ID
				fmt.Fprintf(&b, "![%s](%s)\n\n", mdText(figureHeading(f)), figurePath(f.Name, ".png"))
				if f.Caption != "" {
					b.WriteString(f.Caption + "\n\n")
				}
			}
		}
	} else if len(doc.Figures) == 0 {
		b.WriteString("No claims were checked.\n\n")
	}

	if len(doc.Tables) > 0 {
		b.WriteString("## Tables\n\n")
		for _, t := range doc.Tables {
			if t.Title != "" {
				fmt.Fprintf(&b, "### %s\n\n", strings.ReplaceAll(t.Title, "\n", " "))
			}
			mdTable(&b, t.Header, t.Rows)
		}
	}

	if len(others) > 0 {
		if len(doc.Claims) > 0 {
			b.WriteString("## Other figures\n\n")
		} else {
			b.WriteString("## Figures\n\n")
		}
		for _, f := range others {
			fmt.Fprintf(&b, "### %s\n\n", strings.ReplaceAll(figureHeading(f), "\n", " "))
			fmt.Fprintf(&b, "![%s](%s)\n\n", mdText(figureHeading(f)), figurePath(f.Name, ".png"))
			if f.Caption != "" {
				b.WriteString(f.Caption + "\n\n")
			}
			fmt.Fprintf(&b, "[SVG](%s)\n\n", figurePath(f.Name, ".svg"))
		}
	}

	if len(doc.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range doc.Notes {
			b.WriteString("- " + strings.ReplaceAll(n, "\n", "\n  ") + "\n")
		}
		b.WriteString("\n")
	}

	b.WriteString("## Appendix\n\n")
	var nums [][]string
	for _, c := range doc.Claims {
		for _, k := range sortedKeys(c.Numbers) {
			nums = append(nums, []string{c.ID, k, formatNumber(c.Numbers[k])})
		}
	}
	if len(nums) > 0 {
		b.WriteString("### Every measured number (document.json keys)\n\n")
		mdTable(&b, []string{"Claim", "Quantity", "Value"}, nums)
	}
	if len(doc.Environment) > 0 {
		b.WriteString("### Environment\n\n")
		var rows [][]string
		for _, k := range sortedKeys(doc.Environment) {
			rows = append(rows, []string{k, doc.Environment[k]})
		}
		mdTable(&b, []string{"Key", "Value"}, rows)
	}
	if doc.TotalSeconds != 0 || len(doc.ExperimentSeconds) > 0 {
		b.WriteString("### Timings\n\n")
		fmt.Fprintf(&b, "Total: %s.\n\n", formatSeconds(doc.TotalSeconds))
		if len(doc.ExperimentSeconds) > 0 {
			var rows [][]string
			for _, k := range sortedKeys(doc.ExperimentSeconds) {
				rows = append(rows, []string{k, formatSeconds(doc.ExperimentSeconds[k])})
			}
			mdTable(&b, []string{"Experiment", "Time"}, rows)
		}
	}
	return b.Bytes()
}

// htmlData is what the page template shows; every string in it is escaped by
// html/template except the data URIs, which this package builds itself.
type htmlData struct {
	Doc     Document
	Created string
	Summary string
	Claims  []htmlClaim
	Numbers [][]string
	Env     [][]string
	Total   string
	Timings [][]string
	Others  []htmlFigure
}

type htmlClaim struct {
	Claim
	Class      string
	Quantities [][]string
	Fig        *htmlFigure
	// FigShownBy is the claim whose section already shows Claim.Figure.
	FigShownBy string
}

type htmlFigure struct {
	Figure
	Heading string
	DataURI template.URL
	SVG     string
}

func htmlPage(doc Document, pngs map[string][]byte) ([]byte, error) {
	d := htmlData{Doc: doc, Summary: summary(doc.Claims)}
	if !doc.Created.IsZero() {
		d.Created = doc.Created.Format(time.RFC3339)
	}
	fig := func(f Figure) htmlFigure {
		uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngs[f.Name])
		return htmlFigure{f, figureHeading(f), template.URL(uri), figurePath(f.Name, ".svg")}
	}
	byClaim, others := claimFigures(doc)
	shown := map[string]string{}
	for _, c := range doc.Claims {
		class := map[Status]string{StatusPass: "pass", StatusFail: "fail", StatusNotRun: "notrun"}[c.Status]
		hc := htmlClaim{Claim: c, Class: class, Quantities: quantityRows(c.Quantities)}
		if f, ok := byClaim[c.Figure]; ok {
			if by, dup := shown[f.Name]; dup {
				hc.FigShownBy = by
			} else {
				shown[f.Name] = c.ID
				hf := fig(f)
				hc.Fig = &hf
			}
		}
		d.Claims = append(d.Claims, hc)
		for _, k := range sortedKeys(c.Numbers) {
			d.Numbers = append(d.Numbers, []string{c.ID, k, formatNumber(c.Numbers[k])})
		}
	}
	for _, f := range others {
		d.Others = append(d.Others, fig(f))
	}
	for _, k := range sortedKeys(doc.Environment) {
		d.Env = append(d.Env, []string{k, doc.Environment[k]})
	}
	if doc.TotalSeconds != 0 || len(doc.ExperimentSeconds) > 0 {
		d.Total = formatSeconds(doc.TotalSeconds)
	}
	for _, k := range sortedKeys(doc.ExperimentSeconds) {
		d.Timings = append(d.Timings, []string{k, formatSeconds(doc.ExperimentSeconds[k])})
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("%s: %w", HTMLFile, err)
	}
	return b.Bytes(), nil
}

// The page: an index of the claims, then one section per claim with its
// words and numbers on the left and its deciding figure on the right
// (stacked on narrow screens), the tables, the other figures, notes, and an
// appendix (raw numbers, environment, timings) folded away.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Doc.Title}}</title>
<style>
body { font-family: sans-serif; max-width: 110em; margin: 1.5em auto; padding: 0 1.5em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.status { font-weight: bold; color: #fff; text-align: center; white-space: nowrap; padding: 0.1em 0.6em; border-radius: 0.2em; }
.pass { background: #2e7d32; }
.fail { background: #c62828; }
.notrun { background: #888; }
td.met { color: #2e7d32; font-weight: bold; }
td.notmet { color: #c62828; font-weight: bold; }
section.claim { border-top: 2px solid #ddd; padding-top: 0.6em; margin-top: 1.6em; }
section.claim h2 { margin: 0 0 0.4em 0; }
.claim-body { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.claim-text { flex: 0 1 34em; min-width: 20em; }
.claim-fig { flex: 1 1 44em; margin: 0; }
.statement { font-size: 1.1em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
dd { margin: 0; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; margin-top: 0.4em; }
details { margin: 1em 0; }
summary { cursor: pointer; font-weight: bold; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
</style>
</head>
<body>
<h1>{{.Doc.Title}}</h1>
{{if or .Created .Doc.Version}}<p>{{if .Created}}Created {{.Created}}{{end}}{{if .Doc.Version}}, version {{.Doc.Version}}{{end}}.</p>{{end}}
{{if .Doc.Command}}<pre>{{.Doc.Command}}</pre>{{end}}
{{if .Claims}}<h2>Claims</h2>
<p>{{.Summary}}.</p>
<table>
<tr><th>Claim</th><th>Statement</th><th>Status</th><th>Figure</th></tr>
{{range .Claims}}<tr><td><a href="#claim-{{.ID}}">{{.ID}}</a></td><td>{{.Statement}}</td><td class="status {{.Class}}">{{.Status}}</td><td>{{if .Figure}}<a href="#fig-{{.Figure}}">{{.Figure}}</a>{{end}}</td></tr>
{{end}}</table>
{{range .Claims}}<section class="claim" id="claim-{{.ID}}">
<h2>{{.ID}} <span class="status {{.Class}}">{{.Status}}</span></h2>
<div class="claim-body">
<div class="claim-text">
<p class="statement">{{.Statement}}</p>
<dl>{{if .Measured}}<dt>Measured</dt><dd>{{.Measured}}</dd>{{end}}{{if .Threshold}}<dt>Threshold</dt><dd>{{.Threshold}}</dd>{{end}}</dl>
{{if .Quantities}}<table>
<tr><th>Quantity</th><th>Value</th><th>Threshold</th><th></th></tr>
{{range .Quantities}}<tr><td>{{index . 0}}</td><td class="num">{{index . 1}}</td><td>{{index . 2}}</td><td class="{{if eq (index . 3) "met"}}met{{else if eq (index . 3) "not met"}}notmet{{end}}">{{index . 3}}</td></tr>
{{end}}</table>{{end}}
</div>
{{with .Fig}}<figure class="claim-fig" id="fig-{{.Name}}">
<img src="{{.DataURI}}" alt="{{.Heading}}">
<figcaption>{{.Heading}}{{if .Caption}}: {{.Caption}}{{end}} <a href="{{.SVG}}">SVG</a></figcaption>
</figure>{{end}}
{{if .FigShownBy}}<p>Figure: <a href="#fig-{{.Figure}}">{{.Figure}}</a>, shown under {{.FigShownBy}}.</p>{{end}}
</div>
</section>
{{end}}{{else if not .Others}}<p>No claims were checked.</p>{{end}}
{{if not .Claims}}{{range .Others}}<figure id="fig-{{.Name}}">
<img src="{{.DataURI}}" alt="{{.Heading}}">
<figcaption>{{.Caption}} <a href="{{.SVG}}">SVG</a></figcaption>
</figure>
{{end}}{{end}}
{{if .Doc.Tables}}<h2>Tables</h2>
{{range .Doc.Tables}}{{if .Title}}<h3>{{.Title}}</h3>{{end}}
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
{{if and .Claims .Others}}<h2>Other figures</h2>
{{range .Others}}<figure id="fig-{{.Name}}">
<h3>{{.Heading}}</h3>
<img src="{{.DataURI}}" alt="{{.Heading}}">
<figcaption>{{.Caption}} <a href="{{.SVG}}">SVG</a></figcaption>
</figure>
{{end}}{{end}}
{{if .Doc.Notes}}<h2>Notes</h2>
<ul>
{{range .Doc.Notes}}<li>{{.}}</li>
{{end}}</ul>{{end}}
<h2>Appendix</h2>
{{if .Numbers}}<details><summary>Every measured number (document.json keys)</summary>
<table>
<tr><th>Claim</th><th>Quantity</th><th>Value</th></tr>
{{range .Numbers}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td><td class="num">{{index . 2}}</td></tr>
{{end}}</table></details>{{end}}
{{if .Env}}<details><summary>Environment</summary>
<table>
<tr><th>Key</th><th>Value</th></tr>
{{range .Env}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table></details>{{end}}
{{if .Total}}<details><summary>Timings (total {{.Total}})</summary>
{{if .Timings}}<table>
<tr><th>Experiment</th><th>Time</th></tr>
{{range .Timings}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}</details>{{end}}
</body>
</html>
`))
