package report

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
)

// Series is one curve or point cloud of a Panel: the points (X[i], Y[i]).
type Series struct {
	Label string    `json:"label,omitempty"`
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
	// Style is "line" (the default when empty), "points" or "linepoints".
	Style string `json:"style,omitempty"`
	// Group is the colour key: all series of one Group get the same colour in
	// every figure of a report (one colour per model). Without a Group the
	// Label is the key.
	Group string `json:"group,omitempty"`
}

// Series styles.
const (
	StyleLine       = "line"
	StylePoints     = "points"
	StyleLinePoints = "linepoints"
)

// HLine is a horizontal reference line across a Panel, such as a threshold.
type HLine struct {
	Y     float64 `json:"y"`
	Label string  `json:"label,omitempty"`
}

// Panel is one set of axes of a Figure.
type Panel struct {
	Title  string `json:"title,omitempty"`
	XLabel string `json:"xlabel,omitempty"`
	YLabel string `json:"ylabel,omitempty"`
	// LogX and LogY make the axis logarithmic, base 10 or, with LogBase2,
	// base 2 (LogBase2 alone changes nothing).
	LogX     bool     `json:"logx,omitempty"`
	LogY     bool     `json:"logy,omitempty"`
	LogBase2 bool     `json:"logbase2,omitempty"`
	Series   []Series `json:"series,omitempty"`
	HLines   []HLine  `json:"hlines,omitempty"`
}

// Figure is one image made of a grid of Panels.
type Figure struct {
	// Name is the file stem of the image files: letters, digits, '.', '_'
	// and '-', starting with a letter or digit.
	Name    string  `json:"name"`
	Title   string  `json:"title,omitempty"`
	Caption string  `json:"caption,omitempty"`
	Panels  []Panel `json:"panels"`
	// Columns is the number of panels per row; 0 means min(len(Panels), 2).
	Columns int `json:"columns,omitempty"`
}

// Status is the verdict on a Claim.
type Status string

// The three verdicts.
const (
	StatusPass   Status = "PASS"
	StatusFail   Status = "FAIL"
	StatusNotRun Status = "NOT RUN"
)

// Claim is one checked statement, e.g. P2 of THEORY §4.
type Claim struct {
	ID        string `json:"id"`
	Statement string `json:"statement"`
	Measured  string `json:"measured,omitempty"`
	Threshold string `json:"threshold,omitempty"`
	Status    Status `json:"status"`
	// Figure is the Name of the figure that shows the claim, or empty.
	Figure string `json:"figure,omitempty"`
	// Numbers are the measured quantities behind the verdict.
	Numbers map[string]float64 `json:"numbers,omitempty"`
	// Quantities are the numbers that decide the verdict, named with units
	// and thresholds; the report shows them in the claim's section and
	// Numbers in an appendix.
	Quantities []Quantity `json:"quantities,omitempty"`
}

// Table is an extra table of results.
type Table struct {
	Title  string     `json:"title,omitempty"`
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

// Document is everything a report shows.
type Document struct {
	Title   string    `json:"title"`
	Created time.Time `json:"created"`
	Version string    `json:"version,omitempty"`
	Command string    `json:"command,omitempty"`
	// Environment describes the machine: Go version, BLAS backend, CPU, cores.
	Environment map[string]string `json:"environment,omitempty"`
	// TotalSeconds is the wall-clock time of the whole run and
	// ExperimentSeconds that of each experiment.
	TotalSeconds      float64            `json:"total_seconds,omitempty"`
	ExperimentSeconds map[string]float64 `json:"experiment_seconds,omitempty"`
	Claims            []Claim            `json:"claims,omitempty"`
	Figures           []Figure           `json:"figures,omitempty"`
	Notes             []string           `json:"notes,omitempty"`
	Tables            []Table            `json:"tables,omitempty"`
}

var figureName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validate reports the first problem that would make f impossible to draw.
func (f Figure) validate() error {
	if !figureName.MatchString(f.Name) {
		return fmt.Errorf("figure %q: name must match %s", f.Name, figureName)
	}
	if len(f.Panels) == 0 {
		return fmt.Errorf("figure %q: no panels", f.Name)
	}
	if f.Columns < 0 {
		return fmt.Errorf("figure %q: columns %d < 0", f.Name, f.Columns)
	}
	for i, p := range f.Panels {
		for j, s := range p.Series {
			if len(s.X) != len(s.Y) {
				return fmt.Errorf("figure %q panel %d series %d (%q): len(X) %d != len(Y) %d",
					f.Name, i, j, s.Label, len(s.X), len(s.Y))
			}
			switch s.Style {
			case "", StyleLine, StylePoints, StyleLinePoints:
			default:
				return fmt.Errorf("figure %q panel %d series %d (%q): style %q not one of %q, %q, %q",
					f.Name, i, j, s.Label, s.Style, StyleLine, StylePoints, StyleLinePoints)
			}
		}
	}
	return nil
}

// validate reports the first problem of d: a bad figure, a duplicate figure
// name or claim ID, an unknown status, a claim naming a missing figure, or a
// table row longer than its header.
func (d Document) validate() error {
	figs := make(map[string]bool, len(d.Figures))
	for _, f := range d.Figures {
		if err := f.validate(); err != nil {
			return err
		}
		if figs[f.Name] {
			return fmt.Errorf("figure %q: name used twice", f.Name)
		}
		figs[f.Name] = true
	}
	ids := make(map[string]bool, len(d.Claims))
	for i, c := range d.Claims {
		if c.ID == "" {
			return fmt.Errorf("claim %d: empty ID", i)
		}
		if ids[c.ID] {
			return fmt.Errorf("claim %q: ID used twice", c.ID)
		}
		ids[c.ID] = true
		switch c.Status {
		case StatusPass, StatusFail, StatusNotRun:
		default:
			return fmt.Errorf("claim %q: status %q not one of %q, %q, %q",
				c.ID, c.Status, StatusPass, StatusFail, StatusNotRun)
		}
		if c.Figure != "" && !figs[c.Figure] {
			return fmt.Errorf("claim %q: figure %q not in the document", c.ID, c.Figure)
		}
	}
	for i, t := range d.Tables {
		if len(t.Header) == 0 {
			return fmt.Errorf("table %d (%q): empty header", i, t.Title)
		}
		for j, r := range t.Rows {
			if len(r) > len(t.Header) {
				return fmt.Errorf("table %d (%q) row %d: %d cells > %d header cells",
					i, t.Title, j, len(r), len(t.Header))
			}
		}
	}
	return nil
}

// The methods below replace the float fields by jsonfloat.Float fields of the same
// JSON name; the outer field wins over the embedded one.

// seriesPlain is Series without its JSON methods.
type seriesPlain Series

// seriesJSON shadows the float fields of Series by their JSON
// form, for both directions.
type seriesJSON struct {
	seriesPlain
	X []jsonfloat.Float `json:"x"`
	Y []jsonfloat.Float `json:"y"`
}

// MarshalJSON writes NaN and ±Inf coordinates as strings.
func (s Series) MarshalJSON() ([]byte, error) {
	return json.Marshal(seriesJSON{seriesPlain(s), jsonfloat.Slice(s.X), jsonfloat.Slice(s.Y)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Series) UnmarshalJSON(b []byte) error {
	var v seriesJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("series: %w", err)
	}
	*s = Series(v.seriesPlain)
	s.X, s.Y = jsonfloat.Float64s(v.X), jsonfloat.Float64s(v.Y)
	return nil
}

// hlinePlain is HLine without its JSON methods.
type hlinePlain HLine

// hlineJSON shadows the float fields of HLine by their JSON
// form, for both directions.
type hlineJSON struct {
	hlinePlain
	Y jsonfloat.Float `json:"y"`
}

// MarshalJSON writes a NaN or ±Inf level as a string.
func (h HLine) MarshalJSON() ([]byte, error) {
	return json.Marshal(hlineJSON{hlinePlain(h), jsonfloat.Float(h.Y)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (h *HLine) UnmarshalJSON(b []byte) error {
	var v hlineJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("hline: %w", err)
	}
	*h = HLine(v.hlinePlain)
	h.Y = float64(v.Y)
	return nil
}

// claimPlain is Claim without its JSON methods.
type claimPlain Claim

// claimJSON shadows the float fields of Claim by their JSON
// form, for both directions.
type claimJSON struct {
	claimPlain
	Numbers map[string]jsonfloat.Float `json:"numbers,omitempty"`
}

// MarshalJSON writes NaN and ±Inf numbers as strings.
func (c Claim) MarshalJSON() ([]byte, error) {
	return json.Marshal(claimJSON{claimPlain(c), jsonfloat.Map(c.Numbers)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Claim) UnmarshalJSON(b []byte) error {
	var v claimJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	*c = Claim(v.claimPlain)
	c.Numbers = jsonfloat.Float64Map(v.Numbers)
	return nil
}

// documentPlain is Document without its JSON methods.
type documentPlain Document

// documentJSON shadows the float fields of Document by their JSON
// form, for both directions.
type documentJSON struct {
	documentPlain
	TotalSeconds      jsonfloat.Float            `json:"total_seconds,omitempty"`
	ExperimentSeconds map[string]jsonfloat.Float `json:"experiment_seconds,omitempty"`
}

// MarshalJSON writes NaN and ±Inf timings as strings.
func (d Document) MarshalJSON() ([]byte, error) {
	return json.Marshal(documentJSON{documentPlain(d), jsonfloat.Float(d.TotalSeconds), jsonfloat.Map(d.ExperimentSeconds)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Document) UnmarshalJSON(b []byte) error {
	var v documentJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Document(v.documentPlain)
	d.TotalSeconds = float64(v.TotalSeconds)
	d.ExperimentSeconds = jsonfloat.Float64Map(v.ExperimentSeconds)
	return nil
}
