package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

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

// palette is matplotlib's "tab10": distinct, familiar and readable on white.
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

var (
	sans        = font.Font{Typeface: "Liberation", Variant: "Sans"}
	figureTitle = text.Style{
		Color: color.Black, Font: font.From(sans, 14),
		XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler,
	}
)

// colours maps a series' colour key (its Group, else its Label) to a palette
// slot, in order of first appearance.
type colours map[string]int

func colourKey(s Series) string {
	if s.Group != "" {
		return s.Group
	}
	return s.Label
}

func (c colours) add(figs ...Figure) {
	for _, f := range figs {
		for _, p := range f.Panels {
			for _, s := range p.Series {
				if _, ok := c[colourKey(s)]; !ok {
					c[colourKey(s)] = len(c)
				}
			}
		}
	}
}

// RenderFigure draws f as one multi-panel image and writes it atomically to
// dir/<f.Name>.png and dir/<f.Name>.svg, creating dir if needed. Colours are
// assigned by first appearance of each Group within f; Write assigns them
// across all figures of a document instead.
func RenderFigure(dir string, f Figure) (pngPath, svgPath string, err error) {
	col := make(colours)
	col.add(f)
	pngPath, svgPath, _, err = renderFigure(dir, f, col)
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

// drawFigure returns f encoded as PNG and as SVG.
func drawFigure(f Figure, col colours) (png, svg []byte, err error) {
	cols := f.Columns
	if cols == 0 {
		cols = min(len(f.Panels), 2)
	}
	rows := (len(f.Panels) + cols - 1) / cols

	plots := make([]*plot.Plot, len(f.Panels))
	legends := make([]*plot.Legend, len(f.Panels))
	var legendWidth vg.Length
	for i, p := range f.Panels {
		plots[i], legends[i] = buildPanel(p, col)
		legendWidth = max(legendWidth, legendSize(legends[i]))
	}
	if legendWidth > 0 {
		legendWidth += legendGap
	}

	w := vg.Length(cols)*(panelWidth+legendWidth) + 2*tilePad
	h := vg.Length(rows)*panelHeight + 2*tilePad
	if f.Title != "" {
		h += titleBand
	}
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
			dc.FillText(figureTitle, vg.Point{X: dc.Center().X, Y: dc.Max.Y - 6}, f.Title)
			dc.Max.Y -= titleBand
		}
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
		canvases := plot.Align(grid, tiles, dc)
		for i, p := range plots {
			tile := canvases[i/cols][i%cols]
			axes := draw.Crop(tile, 0, -legendWidth, 0, 0)
			p.Draw(axes)
			if legends[i] != nil {
				top := p.DataCanvas(axes).Max.Y
				lc := draw.Canvas{Canvas: tile.Canvas, Rectangle: vg.Rectangle{
					Min: vg.Point{X: axes.Max.X + legendGap, Y: tile.Min.Y},
					Max: vg.Point{X: tile.Max.X, Y: top},
				}}
				legends[i].Draw(lc)
			}
		}
		return nil
	}

	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))
	if err := layout(img); err != nil {
		return nil, nil, err
	}
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("figure %q: png: %w", f.Name, err)
	}
	sc := vgsvg.New(w, h)
	if err := layout(sc); err != nil {
		return nil, nil, err
	}
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("figure %q: svg: %w", f.Name, err)
	}
	return pb.Bytes(), sb.Bytes(), nil
}

// legendSize is the width a legend needs, 0 for none.
func legendSize(l *plot.Legend) vg.Length {
	if l == nil {
		return 0
	}
	// Rectangle only measures the entries; the canvas just anchors it.
	return l.Rectangle(draw.Canvas{}).Size().X
}

// buildPanel turns p into a plot, and a legend to draw beside it (nil when
// nothing is labelled).
func buildPanel(p Panel, col colours) (*plot.Plot, *plot.Legend) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font = font.From(sans, 11)
	pl.X.Label.Text, pl.Y.Label.Text = p.XLabel, p.YLabel
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
		a.Tick.Length = vg.Points(5)
	}
	base := 10.0
	if p.LogBase2 {
		base = 2
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

	leg := plot.NewLegend()
	leg.TextStyle.Font = font.From(sans, 9)
	leg.ThumbnailWidth = vg.Points(18)
	leg.Padding = vg.Points(2)
	leg.Top, leg.Left = true, true
	labelled := false

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
		if s.Label != "" {
			label := s.Label + undrawnNote(s.X, s.Y, p.LogX, p.LogY, len(all))
			leg.Add(label, thumbs...)
			labelled = true
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
			leg.Add(hl.Label, r)
			labelled = true
		}
	}

	pl.X.Min, pl.X.Max = xr.axis(p.LogX, base, false)
	pl.Y.Min, pl.Y.Max = yr.axis(p.LogY, base, true)
	if !labelled {
		return pl, nil
	}
	return pl, &leg
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

// undrawnNote is the legend suffix saying what a series could not show:
// "" when every point is drawn, "(no data)" when it has no finite point, and
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
		return " (no data)"
	case nonpos == 0:
		return ""
	case drawn == 0:
		return " (all ≤ 0: off the log axis)"
	case nonpos == 1:
		return " (1 value ≤ 0 not drawn)"
	default:
		return fmt.Sprintf(" (%d values ≤ 0 not drawn)", nonpos)
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
