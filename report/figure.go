package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/fenchel-ml/fenchel/internal/atomicfile"
)

// Sizes of a figure, in points (1/72 inch).
const (
	panelWidth  vg.Length = 300 // of one panel's axes, without its legend
	panelHeight vg.Length = 250
	titleBand   vg.Length = 26 // above the panels when the figure has a title
	legendGap   vg.Length = 6  // between a panel and its legend
	tilePad     vg.Length = 6  // around and between panels
	// pngDPI doubles the 72 dpi of a point so that PNGs stay sharp on screens.
	pngDPI = 144
)

// palette is matplotlib's "tab10" (distinct, familiar and readable on
// white) followed by lighter twins of its colours.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
	// tab20's lighter twins, before dash patterns are needed.
	{0x6b, 0xae, 0xd6, 0xff}, {0xfd, 0xae, 0x6b, 0xff}, {0x74, 0xc4, 0x76, 0xff}, {0xfb, 0x6a, 0x4a, 0xff},
	{0xb7, 0x9f, 0xcf, 0xff}, {0xc4, 0x9c, 0x94, 0xff}, {0xf7, 0x9a, 0xd0, 0xff}, {0xa0, 0xa0, 0xa0, 0xff},
	{0xdb, 0xdb, 0x6d, 0xff}, {0x7e, 0xd8, 0xe5, 0xff},
}

// dashes and glyphs tell apart series that share a colour.
var (
	dashes = [][]vg.Length{nil, {6, 3}, {2, 2}, {6, 2, 2, 2}}
	glyphs = []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{},
		draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{},
	}
	hlineColor = color.RGBA{0x40, 0x40, 0x40, 0xff}
	gridColor  = color.Gray{0xe0}
)

// axisLabelPad separates an axis label from the tick labels.
const axisLabelPad vg.Length = 3

var (
	sans      = font.Font{Typeface: "Liberation", Variant: "Sans"}
	axisLabel = text.Style{
		Color: color.Black, Font: font.From(sans, 10),
		XAlign: draw.XCenter, YAlign: draw.YBottom, Handler: plot.DefaultTextHandler,
	}
	figureTitle = text.Style{
		Color: color.Black, Font: font.From(sans, 14),
		XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler,
	}
)

// colours maps a series' colour key (its Group, else its Label) to a palette
// slot within one figure.
type colours map[string]int

func colourKey(s Series) string {
	if s.Group != "" {
		return s.Group
	}
	return s.Label
}

// figureKeys lists the colour keys of f in order of first appearance.
func figureKeys(f Figure) []string {
	var keys []string
	seen := map[string]bool{}
	for _, p := range f.Panels {
		for _, s := range p.Series {
			if k := colourKey(s); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// assignColours gives each figure its colours. A key that appears in more
// than one figure (a model, a regime) has one slot in the whole document,
// in order of first appearance; the keys of a single figure take the lowest
// slots its shared keys leave free, so a figure of quantities that appear
// nowhere else is drawn in the first, most distinct colours.
func assignColours(figs []Figure) map[string]colours {
	count := map[string]int{}
	for _, f := range figs {
		for _, k := range figureKeys(f) {
			count[k]++
		}
	}
	shared := map[string]int{}
	for _, f := range figs {
		for _, k := range figureKeys(f) {
			if _, ok := shared[k]; !ok && count[k] > 1 {
				shared[k] = len(shared)
			}
		}
	}
	out := make(map[string]colours, len(figs))
	for _, f := range figs {
		col := colours{}
		used := map[int]bool{}
		for _, k := range figureKeys(f) {
			if slot, ok := shared[k]; ok {
				col[k], used[slot] = slot, true
			}
		}
		next := 0
		for _, k := range figureKeys(f) {
			if _, ok := col[k]; ok {
				continue
			}
			for used[next] {
				next++
			}
			col[k], used[next] = next, true
		}
		out[f.Name] = col
	}
	return out
}

// RenderFigure draws f as one multi-panel image and writes it atomically to
// dir/<f.Name>.png and dir/<f.Name>.svg, creating dir if needed. Colours are
// assigned by first appearance of each Group within f; Write keeps a Group
// that appears in several figures in one colour across them (assignColours).
func RenderFigure(dir string, f Figure) (pngPath, svgPath string, err error) {
	pngPath, svgPath, _, err = renderFigure(dir, f, assignColours([]Figure{f})[f.Name])
	return pngPath, svgPath, err
}

// renderFigure is RenderFigure with given colours; it also returns the PNG.
func renderFigure(dir string, f Figure, col colours) (pngPath, svgPath string, png []byte, err error) {
	if err := f.validate(); err != nil {
		return "", "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", nil, fmt.Errorf("figure %q: %w", f.Name, err)
	}
	png, svg, err := drawFigure(f, col)
	if err != nil {
		return "", "", nil, err
	}
	pngPath = filepath.Join(dir, f.Name+".png")
	svgPath = filepath.Join(dir, f.Name+".svg")
	if err := atomicfile.WriteBytes(pngPath, png); err != nil {
		return "", "", nil, err
	}
	if err := atomicfile.WriteBytes(svgPath, svg); err != nil {
		return "", "", nil, err
	}
	return pngPath, svgPath, png, nil
}

// maxFigureWidth is the widest figure drawn, 1800 px at pngDPI, so that a
// figure fits a screen; wider requests wrap their panels into more rows.
const maxFigureWidth vg.Length = 900

// legendEntry is one line of a figure's legend: a label, what one panel
// could not draw of it (note, "" for nothing) and its thumbnails.
type legendEntry struct {
	label, note string
	thumbs      []plot.Thumbnailer
}

// panelLetter names panel i of a multi-panel figure: "a", "b", ….
func panelLetter(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return strconv.Itoa(i + 1)
}

// figureLegend merges the panels' entries into one legend, each label once
// in order of first appearance (series of one label share their colour, see
// colours), with the notes of every panel that had one, prefixed by the
// panel's letter when the figure has several panels; nil when nothing is
// labelled.
func figureLegend(panels [][]legendEntry) *plot.Legend {
	leg := plot.NewLegend()
	leg.TextStyle.Font = font.From(sans, 9)
	leg.ThumbnailWidth = vg.Points(18)
	leg.Padding = vg.Points(3)
	leg.Top, leg.Left = true, true
	var order []string
	first := map[string]legendEntry{}
	// notes[label] lists each distinct note with the panels it came from.
	type note struct {
		text   string
		panels []string
	}
	notes := map[string][]*note{}
	for i, entries := range panels {
		for _, e := range entries {
			if _, ok := first[e.label]; !ok {
				first[e.label] = e
				order = append(order, e.label)
			}
			if e.note == "" {
				continue
			}
			var n *note
			for _, m := range notes[e.label] {
				if m.text == e.note {
					n = m
				}
			}
			if n == nil {
				n = &note{text: e.note}
				notes[e.label] = append(notes[e.label], n)
			}
			n.panels = append(n.panels, panelLetter(i))
		}
	}
	if len(order) == 0 {
		return nil
	}
	for _, l := range order {
		leg.Add(drawable(l), first[l].thumbs...)
		// Notes go on lines of their own, so that the legend stays narrow.
		for _, n := range notes[l] {
			text := "– " + n.text
			if len(panels) > 1 {
				text = "– (" + strings.Join(n.panels, ", ") + ") " + n.text
			}
			leg.Add(drawable(text))
		}
	}
	return &leg
}

// figureLayout is where the panels and the legend of a figure go.
type figureLayout struct {
	rows, cols    int
	legendInCell  bool      // the legend sits in the grid's last, empty cell
	legendW       vg.Length // width of the legend column beside the grid (0: none)
	legendH       vg.Length // height of the legend band below the grid (0: none)
	width, height vg.Length
}

// layoutFigure places the panels in a grid of at most the requested
// columns that fits maxFigureWidth, with the legend in an empty cell of the
// grid when one is free and large enough, else in a column to the right.
func layoutFigure(f Figure, leg *plot.Legend) figureLayout {
	n := len(f.Panels)
	want := f.Columns
	if want == 0 {
		want = 2
	}
	want = min(want, n)
	var size vg.Point
	if leg != nil {
		size = leg.Rectangle(draw.Canvas{}).Size()
	}
	try := func(cols int, below bool) figureLayout {
		l := figureLayout{cols: cols, rows: (n + cols - 1) / cols}
		l.width = vg.Length(cols)*panelWidth + 2*tilePad
		l.height = vg.Length(l.rows)*panelHeight + 2*tilePad
		switch {
		case leg == nil:
		case l.rows*cols > n && size.X+3*tilePad <= panelWidth && size.Y+3*tilePad <= panelHeight:
			l.legendInCell = true
		case below:
			l.legendH = size.Y + legendGap + tilePad
			l.height += l.legendH
		default:
			l.legendW = size.X + legendGap + 2*tilePad // the text's measure is tight
			l.width += l.legendW
		}
		if f.Title != "" {
			l.height += titleBand
		}
		return l
	}
	// The requested columns with the legend beside them; else the legend
	// below them; else fewer columns, legend beside, then below.
	for c := want; c >= 1; c-- {
		for _, below := range []bool{false, true} {
			if l := try(c, below); l.width <= maxFigureWidth {
				return l
			}
		}
	}
	return try(1, true)
}

// drawFigure returns f encoded as PNG and as SVG.
func drawFigure(f Figure, col colours) (png, svg []byte, err error) {
	plots := make([]*plot.Plot, len(f.Panels))
	entries := make([][]legendEntry, len(f.Panels))
	labels := make([][2]string, len(f.Panels))
	for i, p := range f.Panels {
		if len(f.Panels) > 1 {
			p.Title = "(" + panelLetter(i) + ") " + p.Title
		}
		plots[i], entries[i] = buildPanel(p, col)
		// The axis labels are drawn here: gonum/plot places a log axis's
		// label box at the linear midpoint of the range, which pads the
		// plot with a band of empty space.
		labels[i] = [2]string{plots[i].X.Label.Text, plots[i].Y.Label.Text}
		plots[i].X.Label.Text, plots[i].Y.Label.Text = "", ""
	}
	leg := figureLegend(entries)
	lay := layoutFigure(f, leg)
	rows, cols := lay.rows, lay.cols

	layout := func(c vg.CanvasSizer) (err error) {
		// gonum/plot panics on input it cannot draw; report it as an error
		// naming the figure rather than crash a long reproduction run.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("figure %q: draw: %v", f.Name, r)
			}
		}()
		dc := draw.New(c)
		if f.Title != "" {
			dc.FillText(figureTitle, vg.Point{X: dc.Center().X, Y: dc.Max.Y - 6}, drawable(f.Title))
			dc.Max.Y -= titleBand
		}
		gridArea := draw.Crop(dc, 0, -lay.legendW, lay.legendH, 0)
		grid := make([][]*plot.Plot, rows)
		for r := range grid {
			grid[r] = make([]*plot.Plot, cols)
			for c := range grid[r] {
				if i := r*cols + c; i < len(plots) {
					grid[r][c] = plots[i]
				}
			}
		}
		tiles := draw.Tiles{
			Rows: rows, Cols: cols, PadX: tilePad, PadY: tilePad,
			PadTop: tilePad, PadBottom: tilePad, PadLeft: tilePad, PadRight: tilePad,
		}
		canvases := plot.Align(grid, tiles, gridArea)
		var top vg.Length
		band := axisLabel.Height("M") + axisLabelPad
		descent := axisLabel.FontExtents().Descent
		for i, p := range plots {
			tile := canvases[i/cols][i%cols]
			axes := draw.Crop(tile, band, 0, band, 0)
			p.Draw(axes)
			data := p.DataCanvas(axes)
			if i == 0 {
				top = data.Max.Y
			}
			if l := labels[i][0]; l != "" {
				dc.FillText(axisLabel, vg.Point{X: data.Center().X, Y: tile.Min.Y + descent}, l)
			}
			if l := labels[i][1]; l != "" {
				sty := axisLabel
				sty.Rotation = math.Pi / 2
				dc.FillText(sty, vg.Point{X: tile.Min.X + band - axisLabelPad - descent, Y: data.Center().Y}, l)
			}
		}
		switch {
		case leg == nil:
		case lay.legendInCell:
			cell := tiles.At(gridArea, cols-1, rows-1)
			cell.Min.X += 3 * tilePad
			cell.Max.Y -= 3 * tilePad
			leg.Draw(cell)
		case lay.legendH > 0:
			leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: dc.Min.X + 3*tilePad, Y: dc.Min.Y},
				Max: vg.Point{X: dc.Max.X, Y: dc.Min.Y + lay.legendH - legendGap},
			}})
		default:
			leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: gridArea.Max.X + legendGap, Y: dc.Min.Y},
				Max: vg.Point{X: dc.Max.X, Y: top},
			}})
		}
		return nil
	}

	img := vgimg.NewWith(vgimg.UseWH(lay.width, lay.height), vgimg.UseDPI(pngDPI))
	if err := layout(img); err != nil {
		return nil, nil, err
	}
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("figure %q: png: %w", f.Name, err)
	}
	sc := vgsvg.New(lay.width, lay.height)
	if err := layout(sc); err != nil {
		return nil, nil, err
	}
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("figure %q: svg: %w", f.Name, err)
	}
	return pb.Bytes(), sb.Bytes(), nil
}

// decades is how many powers of ten the values of a linear y axis may span
// before buildPanel makes it logarithmic: beyond it the small values are a
// flat line along the bottom.
const decades = 3

// spansDecades reports whether the finite y values of p's series and
// reference lines are all positive and span more than decades powers of ten.
func spansDecades(p Panel) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	add := func(v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return true
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		return v > 0
	}
	for _, s := range p.Series {
		for _, v := range s.Y {
			if !add(v) {
				return false
			}
		}
	}
	for _, h := range p.HLines {
		if !add(h.Y) {
			return false
		}
	}
	return lo > 0 && hi/lo > math.Pow10(decades)
}

// buildPanel turns p into a plot and the legend entries of its series.
func buildPanel(p Panel, col colours) (*plot.Plot, []legendEntry) {
	pl := plot.New()
	pl.Title.Text = drawable(p.Title)
	pl.Title.TextStyle.Font = font.From(sans, 11)
	pl.X.Label.Text, pl.Y.Label.Text = drawable(p.XLabel), drawable(p.YLabel)
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
		a.Tick.Length = vg.Points(5)
		a.Tick.Marker = plainTicks{}
	}
	base := 10.0
	if p.LogBase2 {
		base = 2
	}
	if !p.LogY && spansDecades(p) {
		p.LogY = true
	}
	if p.LogX {
		pl.X.Scale, pl.X.Tick.Marker = plot.LogScale{}, logTicks{Base: base}
	}
	if p.LogY {
		pl.Y.Scale, pl.Y.Tick.Marker = plot.LogScale{}, logTicks{Base: base}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	pl.Add(grid)

	var entries []legendEntry
	xr, yr := newSpan(), newSpan()
	seen := make(map[string]int) // series per colour key so far in this panel
	for _, s := range p.Series {
		key := colourKey(s)
		slot := col[key]
		variant := slot/len(palette) + seen[key]
		seen[key]++
		ls := draw.LineStyle{
			Color:  palette[slot%len(palette)],
			Width:  vg.Points(1.2),
			Dashes: dashes[variant%len(dashes)],
		}
		gs := draw.GlyphStyle{
			Color:  palette[slot%len(palette)],
			Radius: glyphRadius(len(s.X)),
			Shape:  glyphs[variant%len(glyphs)],
		}
		segs := pieces(s.X, s.Y, p.LogX, p.LogY)
		var thumbs []plot.Thumbnailer
		var all plotter.XYs
		for _, seg := range segs {
			all = append(all, seg...)
			xr.addXYs(seg, true)
			yr.addXYs(seg, false)
		}
		if s.Style != StylePoints {
			line := &plotter.Line{LineStyle: ls}
			thumbs = append(thumbs, line)
			for _, seg := range segs {
				if len(seg) == 1 && s.Style != StyleLinePoints {
					// A lone point between gaps would vanish from a line.
					pl.Add(edgeBoxes{&plotter.Scatter{XYs: seg, GlyphStyle: gs}, seg, gs.Radius})
					continue
				}
				pl.Add(edgeBoxes{&plotter.Line{XYs: seg, LineStyle: ls}, seg, ls.Width / 2})
			}
		}
		if s.Style == StylePoints || s.Style == StyleLinePoints {
			sc := &plotter.Scatter{XYs: all, GlyphStyle: gs}
			thumbs = append(thumbs, sc)
			if len(all) > 0 {
				pl.Add(edgeBoxes{sc, all, gs.Radius})
			}
		}
		var notes []string
		up, down := infinities(s.X, s.Y, p.LogX)
		if n := undrawnNote(s.X, s.Y, p.LogX, p.LogY, len(all)); n != "" && (n != "no data" || len(up)+len(down) == 0) {
			notes = append(notes, n)
		}
		if len(up)+len(down) > 0 {
			m := &edgeMarks{up: up, down: down, color: ls.Color, radius: vg.Points(3)}
			pl.Add(m)
			thumbs = append(thumbs, m)
			for _, x := range up {
				xr.add(x)
			}
			for _, x := range down {
				xr.add(x)
			}
			notes = append(notes, m.note(len(s.X)))
		}
		if s.Label != "" {
			entries = append(entries, legendEntry{s.Label, strings.Join(notes, ", "), thumbs})
		}
	}

	for i, hl := range p.HLines {
		if math.IsNaN(hl.Y) || math.IsInf(hl.Y, 0) || (p.LogY && hl.Y <= 0) {
			continue
		}
		yr.add(hl.Y)
		r := &hline{y: hl.Y, style: draw.LineStyle{
			Color: hlineColor, Width: vg.Points(1), Dashes: dashes[1+i%(len(dashes)-1)],
		}}
		pl.Add(r)
		if hl.Label != "" {
			entries = append(entries, legendEntry{hl.Label, "", []plot.Thumbnailer{r}})
		}
	}

	pl.X.Min, pl.X.Max = xr.axis(p.LogX, base, false)
	pl.Y.Min, pl.Y.Max = yr.axis(p.LogY, base, true)
	return pl, entries
}

// infinities returns the x of the points whose y is +∞ (up) or −∞ (down)
// and whose x is drawable: a bound that is infinite there (THEORY §3) is
// marked on the panel's edge instead of vanishing.
func infinities(x, y []float64, logX bool) (up, down []float64) {
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || (logX && x[i] <= 0) {
			continue
		}
		switch {
		case math.IsInf(y[i], 1):
			up = append(up, x[i])
		case math.IsInf(y[i], -1):
			down = append(down, x[i])
		}
	}
	return up, down
}

// edgeMarks draws a triangle on the top edge of the data area at every x
// where a series is +∞, and one pointing down on the bottom edge where it
// is −∞.
type edgeMarks struct {
	up, down []float64
	color    color.Color
	radius   vg.Length
}

// Plot implements plot.Plotter.
func (m *edgeMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := draw.GlyphStyle{Color: m.color, Radius: m.radius, Shape: triangle{}}
	for _, x := range m.up {
		if px := trX(x); c.ContainsX(px) {
			c.DrawGlyphNoClip(sty, vg.Point{X: px, Y: c.Max.Y - m.radius})
		}
	}
	sty.Shape = triangle{down: true}
	for _, x := range m.down {
		if px := trX(x); c.ContainsX(px) {
			c.DrawGlyphNoClip(sty, vg.Point{X: px, Y: c.Min.Y + m.radius})
		}
	}
}

// Thumbnail implements plot.Thumbnailer.
func (m *edgeMarks) Thumbnail(c *draw.Canvas) {
	sty := draw.GlyphStyle{Color: m.color, Radius: m.radius, Shape: triangle{down: len(m.up) == 0}}
	c.DrawGlyphNoClip(sty, c.Center())
}

// note is the legend suffix saying what the marks mean.
func (m *edgeMarks) note(n int) string {
	var parts []string
	if len(m.up) > 0 {
		parts = append(parts, fmt.Sprintf("+∞ at %d of %d: ▲", len(m.up), n))
	}
	if len(m.down) > 0 {
		parts = append(parts, fmt.Sprintf("−∞ at %d of %d: ▼", len(m.down), n))
	}
	return strings.Join(parts, "; ")
}

// triangle is a filled equilateral triangle pointing up, or down.
type triangle struct{ down bool }

// DrawGlyph implements draw.GlyphDrawer.
func (t triangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	cos, sin := r*vg.Length(math.Cos(math.Pi/6)), r*vg.Length(math.Sin(math.Pi/6))
	tip, base := r, -sin
	if t.down {
		tip, base = -r, sin
	}
	var p vg.Path
	p.Move(vg.Point{X: pt.X, Y: pt.Y + tip})
	p.Line(vg.Point{X: pt.X - cos, Y: pt.Y + base})
	p.Line(vg.Point{X: pt.X + cos, Y: pt.Y + base})
	p.Close()
	c.SetColor(sty.Color)
	c.Fill(p)
}

// glyphRadius shrinks the markers of dense point clouds so that their
// structure stays visible.
func glyphRadius(n int) vg.Length {
	switch {
	case n <= 200:
		return vg.Points(2)
	case n <= 2000:
		return vg.Points(1.2)
	}
	return vg.Points(0.8)
}

// pieces returns the drawable points of (x, y) as runs of consecutive points:
// a NaN or ±Inf coordinate, or a non-positive one on a log axis, is skipped
// and ends the run, so a line shows a gap there instead of bridging it.
func pieces(x, y []float64, logX, logY bool) []plotter.XYs {
	ok := func(v float64, log bool) bool {
		return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
	}
	var out []plotter.XYs
	start := -1
	for i := range x {
		good := ok(x[i], logX) && ok(y[i], logY)
		switch {
		case good && start < 0:
			start = i
		case !good && start >= 0:
			out = append(out, makeXYs(x[start:i], y[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, makeXYs(x[start:], y[start:]))
	}
	return out
}

// undrawnNote is the legend note saying what a series could not show:
// "" when every point is drawn, "no data" when it has no finite point, and
// otherwise how many finite points a log axis cannot draw because they are
// ≤ 0 (for instance a λ_min that rounding made −1e-14). NaN and ±Inf points
// are gaps by design (THEORY's E_s = +∞) and are not counted.
func undrawnNote(x, y []float64, logX, logY bool, drawn int) string {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	nonpos := 0
	nfinite := 0
	for i := range x {
		if !finite(x[i]) || !finite(y[i]) {
			continue
		}
		nfinite++
		if (logX && x[i] <= 0) || (logY && y[i] <= 0) {
			nonpos++
		}
	}
	switch {
	case nfinite == 0:
		return "no data"
	case nonpos == 0:
		return ""
	case drawn == 0:
		return "all ≤ 0: off the log axis"
	case nonpos == 1:
		return "1 value ≤ 0 not drawn"
	default:
		return fmt.Sprintf("%d values ≤ 0 not drawn", nonpos)
	}
}

func makeXYs(x, y []float64) plotter.XYs {
	xy := make(plotter.XYs, len(x))
	for i := range x {
		xy[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return xy
}

// span is the range of the values drawn along one axis.
type span struct{ min, max float64 }

func newSpan() span { return span{math.Inf(1), math.Inf(-1)} }

func (s *span) add(v float64) {
	s.min, s.max = math.Min(s.min, v), math.Max(s.max, v)
}

func (s *span) addXYs(xy plotter.XYs, useX bool) {
	for _, p := range xy {
		if useX {
			s.add(p.X)
		} else {
			s.add(p.Y)
		}
	}
}

// axisMargin is the fraction of the data range left free at each end of the
// y axis, so that curves do not run along the frame.
const axisMargin = 0.04

// axis returns the axis range for s: a fixed default without data, a widened
// range around a single value, and with margin a little air at both ends.
func (s span) axis(log bool, base float64, margin bool) (lo, hi float64) {
	lo, hi = s.min, s.max
	switch {
	case lo > hi: // no data
		if log {
			return 1, base
		}
		return 0, 1
	case lo == hi:
		if log {
			return lo / base, hi * base
		}
		if lo == 0 {
			return -1, 1
		}
		d := math.Abs(lo) / 10
		return lo - d, hi + d
	}
	if !margin {
		return lo, hi
	}
	if log {
		// In log space: hi/lo may overflow, and lo/f may underflow to 0.
		f := math.Exp(axisMargin * (math.Log(hi) - math.Log(lo)))
		if l, h := lo/f, hi*f; l > 0 && !math.IsInf(h, 0) {
			return l, h
		}
		return lo, hi
	}
	d := (hi - lo) * axisMargin
	return lo - d, hi + d
}

// edgeBoxes wraps a Line or Scatter of xys, whose own GlyphBoxes return one
// box per point, and returns only the boxes of the extreme points. The plot
// pads its data area by the outermost boxes only, so the picture is the same,
// but computing 10k boxes on each of the several layout passes dominated the
// drawing time of large series.
type edgeBoxes struct {
	plot.Plotter
	xys    plotter.XYs
	radius vg.Length
}

// GlyphBoxes implements plot.GlyphBoxer.
func (e edgeBoxes) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	if len(e.xys) == 0 {
		return nil
	}
	// Both scales are increasing, so the extreme values sit at the edges.
	var minX, maxX, minY, maxY int
	for i, q := range e.xys {
		if q.X < e.xys[minX].X {
			minX = i
		}
		if q.X > e.xys[maxX].X {
			maxX = i
		}
		if q.Y < e.xys[minY].Y {
			minY = i
		}
		if q.Y > e.xys[maxY].Y {
			maxY = i
		}
	}
	r := vg.Rectangle{Min: vg.Point{X: -e.radius, Y: -e.radius}, Max: vg.Point{X: e.radius, Y: e.radius}}
	boxes := make([]plot.GlyphBox, 0, 4)
	for _, i := range []int{minX, maxX, minY, maxY} {
		boxes = append(boxes, plot.GlyphBox{X: p.X.Norm(e.xys[i].X), Y: p.Y.Norm(e.xys[i].Y), Rectangle: r})
	}
	return boxes
}

// hline draws a horizontal reference line across the data area.
type hline struct {
	y     float64
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (h *hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	if !c.ContainsY(y) {
		return
	}
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// Thumbnail implements plot.Thumbnailer.
func (h *hline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// glyphSubstitutes replace characters that Liberation Sans, the figures'
// font, lacks: gonum/plot would draw nothing for them (‖∇R‖ became ‖R‖).
var glyphSubstitutes = map[rune]string{
	'∇': "grad ", '∈': " in ", '⁻': "^-", '⁰': "^0", '¹': "^1", '²': "^2", '³': "^3", '⁴': "^4",
	'⁵': "^5", '⁶': "^6", '⁷': "^7", '⁸': "^8", '⁹': "^9",
}

// superscripts are the characters written as one exponent when a run of
// them holds a character the font lacks.
const superscripts = "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"

// drawable returns s with every character the figure font cannot draw
// replaced by its entry in glyphSubstitutes, or by '?' without one. A run of
// superscripts with a missing character becomes one exponent ("10⁻⁶" →
// "10^-6"); a drawable run ("x²") is kept.
func drawable(s string) string {
	face := font.DefaultCache.Lookup(sans, 10)
	var buf sfnt.Buffer
	has := func(r rune) bool {
		i, err := face.Face.GlyphIndex(&buf, r)
		return err == nil && i != 0
	}
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if strings.ContainsRune(superscripts, r) {
			j, missing := i, false
			for ; j < len(rs) && strings.ContainsRune(superscripts, rs[j]); j++ {
				missing = missing || !has(rs[j])
			}
			if missing {
				b.WriteByte('^')
				for _, q := range rs[i:j] {
					b.WriteString(strings.TrimPrefix(glyphSubstitutes[q], "^"))
				}
			} else {
				b.WriteString(string(rs[i:j]))
			}
			i = j - 1
			continue
		}
		switch sub, ok := glyphSubstitutes[r]; {
		case has(r):
			b.WriteRune(r)
		case ok:
			b.WriteString(sub)
		default:
			b.WriteByte('?')
		}
	}
	out := b.String()
	for strings.Contains(out, "  ") {
		out = strings.ReplaceAll(out, "  ", " ")
	}
	return strings.TrimSpace(out)
}
