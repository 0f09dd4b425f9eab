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

	col := make(colours)
	col.add(doc.Figures...)
	pngs := make(map[string][]byte, len(doc.Figures))
	for _, f := range doc.Figures {
		_, _, png, err := renderFigure(figDir, f, col)
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

// markdown returns report.md for doc.
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

	b.WriteString("## Claims\n\n")
	if len(doc.Claims) > 0 {
		b.WriteString(summary(doc.Claims) + ".\n\n")
		rows := make([][]string, len(doc.Claims))
		for i, c := range doc.Claims {
			fig := ""
			if c.Figure != "" {
				fig = fmt.Sprintf("[%s](%s)", mdText(c.Figure), figurePath(c.Figure, ".png"))
			}
			rows[i] = []string{c.ID, c.Statement, c.Measured, c.Threshold, "**" + string(c.Status) + "**", fig}
		}
		mdTable(&b, []string{"Claim", "Statement", "Measured", "Threshold", "Status", "Figure"}, rows)
		var nums [][]string
		for _, c := range doc.Claims {
			for _, k := range sortedKeys(c.Numbers) {
				nums = append(nums, []string{c.ID, k, formatNumber(c.Numbers[k])})
			}
		}
		if len(nums) > 0 {
			b.WriteString("### Measured numbers\n\n")
			mdTable(&b, []string{"Claim", "Quantity", "Value"}, nums)
		}
	} else {
		b.WriteString("No claims were checked.\n\n")
	}

	if len(doc.Environment) > 0 {
		b.WriteString("## Environment\n\n")
		var rows [][]string
		for _, k := range sortedKeys(doc.Environment) {
			rows = append(rows, []string{k, doc.Environment[k]})
		}
		mdTable(&b, []string{"Key", "Value"}, rows)
	}

	if doc.TotalSeconds != 0 || len(doc.ExperimentSeconds) > 0 {
		b.WriteString("## Timings\n\n")
		fmt.Fprintf(&b, "Total: %s.\n\n", formatSeconds(doc.TotalSeconds))
		if len(doc.ExperimentSeconds) > 0 {
			var rows [][]string
			for _, k := range sortedKeys(doc.ExperimentSeconds) {
				rows = append(rows, []string{k, formatSeconds(doc.ExperimentSeconds[k])})
			}
			mdTable(&b, []string{"Experiment", "Time"}, rows)
		}
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

	if len(doc.Figures) > 0 {
		b.WriteString("## Figures\n\n")
		for _, f := range doc.Figures {
			title := f.Title
			if title == "" {
				title = f.Name
			}
			fmt.Fprintf(&b, "### %s\n\n", strings.ReplaceAll(title, "\n", " "))
			fmt.Fprintf(&b, "![%s](%s)\n\n", mdText(title), figurePath(f.Name, ".png"))
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
	Figures []htmlFigure
}

type htmlClaim struct {
	Claim
	Class string
}

type htmlFigure struct {
	Figure
	DataURI template.URL
	SVG     string
}

func htmlPage(doc Document, pngs map[string][]byte) ([]byte, error) {
	d := htmlData{Doc: doc, Summary: summary(doc.Claims)}
	if !doc.Created.IsZero() {
		d.Created = doc.Created.Format(time.RFC3339)
	}
	for _, c := range doc.Claims {
		class := map[Status]string{StatusPass: "pass", StatusFail: "fail", StatusNotRun: "notrun"}[c.Status]
		d.Claims = append(d.Claims, htmlClaim{c, class})
		for _, k := range sortedKeys(c.Numbers) {
			d.Numbers = append(d.Numbers, []string{c.ID, k, formatNumber(c.Numbers[k])})
		}
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
	for _, f := range doc.Figures {
		uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngs[f.Name])
		d.Figures = append(d.Figures, htmlFigure{f, template.URL(uri), figurePath(f.Name, ".svg")})
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("%s: %w", HTMLFile, err)
	}
	return b.Bytes(), nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Doc.Title}}</title>
<style>
body { font-family: sans-serif; max-width: 80em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.status { font-weight: bold; color: #fff; text-align: center; white-space: nowrap; }
td.pass { background: #2e7d32; }
td.fail { background: #c62828; }
td.notrun { background: #888; }
figure { margin: 2em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; margin-top: 0.5em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
</style>
</head>
<body>
<h1>{{.Doc.Title}}</h1>
{{if or .Created .Doc.Version}}<p>{{if .Created}}Created {{.Created}}{{end}}{{if .Doc.Version}}, version {{.Doc.Version}}{{end}}.</p>{{end}}
{{if .Doc.Command}}<p>Command:</p><pre>{{.Doc.Command}}</pre>{{end}}
<h2>Claims</h2>
{{if .Claims}}<p>{{.Summary}}.</p>
<table>
<tr><th>Claim</th><th>Statement</th><th>Measured</th><th>Threshold</th><th>Status</th><th>Figure</th></tr>
{{range .Claims}}<tr><td>{{.ID}}</td><td>{{.Statement}}</td><td>{{.Measured}}</td><td>{{.Threshold}}</td><td class="status {{.Class}}">{{.Status}}</td><td>{{if .Figure}}<a href="#fig-{{.Figure}}">{{.Figure}}</a>{{end}}</td></tr>
{{end}}</table>
{{if .Numbers}}<h3>Measured numbers</h3>
<table>
<tr><th>Claim</th><th>Quantity</th><th>Value</th></tr>
{{range .Numbers}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{else}}<p>No claims were checked.</p>{{end}}
{{if .Env}}<h2>Environment</h2>
<table>
<tr><th>Key</th><th>Value</th></tr>
{{range .Env}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
{{if .Total}}<h2>Timings</h2>
<p>Total: {{.Total}}.</p>
{{if .Timings}}<table>
<tr><th>Experiment</th><th>Time</th></tr>
{{range .Timings}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}{{end}}
{{if .Doc.Tables}}<h2>Tables</h2>
{{range .Doc.Tables}}{{if .Title}}<h3>{{.Title}}</h3>{{end}}
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
{{if .Figures}}<h2>Figures</h2>
{{range .Figures}}<figure id="fig-{{.Name}}">
<h3>{{if .Title}}{{.Title}}{{else}}{{.Name}}{{end}}</h3>
<img src="{{.DataURI}}" alt="{{if .Title}}{{.Title}}{{else}}{{.Name}}{{end}}">
<figcaption>{{.Caption}} <a href="{{.SVG}}">SVG</a></figcaption>
</figure>
{{end}}{{end}}
{{if .Doc.Notes}}<h2>Notes</h2>
<ul>
{{range .Doc.Notes}}<li>{{.}}</li>
{{end}}</ul>{{end}}
</body>
</html>
`))
