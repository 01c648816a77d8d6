package report

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Plot geometry in SVG user units; the viewBox scales it to the page.
const (
	plotW, plotH              = 620, 400
	padL, padR, padT, padB    = 58, 168, 30, 54
	markerSize                = 5.0
	frontierDash              = "7 4"
	gridColor, axisColor      = "#d9d9d9", "#333"
	fontFamily                = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
	levelPlotW, levelPlotH    = 620, 400
	levelPadL, levelPadR      = 58, 190
	levelPadT, levelPadB      = 30, 54
	axisLabelSize, tickSize   = 14, 12
	pointLabelSize            = 12
	legendRow                 = 21
	errorCap                  = 4.0
	minorTickLen, majorTickLn = 3, 6
)

var axisTitle = map[Axis]string{
	AxisFLOPs:   "FLOPs per question (log scale)",
	AxisLatency: "seconds per question (log scale)",
	AxisUSD:     "US dollars per question (log scale)",
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

// esc escapes text for SVG inside HTML.
func esc(s string) string { return html.EscapeString(s) }

// costPlot draws accuracy against the cost on f.Axis for every series of g:
// log x with decade ticks, linear y 0–100 %, CI95 error bars, the frontier
// dashed, a legend on the right, and a <title> on each point for hover.
func costPlot(g *Group, f Frontier) string {
	a := f.Axis
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range g.Series {
		for _, p := range s.Points {
			if c := p.Cost(a); c > 0 {
				lo, hi = math.Min(lo, c), math.Max(hi, c)
			}
		}
	}
	d0, d1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if d1 <= d0 {
		d1 = d0 + 1
	}
	x0, x1, y0, y1 := float64(padL), float64(plotW-padR), float64(padT), float64(plotH-padB)
	xOf := func(v float64) float64 { return x0 + (math.Log10(v)-d0)/(d1-d0)*(x1-x0) }
	yOf := func(acc float64) float64 { return y1 - math.Max(0, math.Min(100, acc))/100*(y1-y0) }

	var b svgBuf
	title := fmt.Sprintf("Accuracy against %s: %s on %s", axisName[a], g.Model, g.Dataset)
	b.f(`<svg class="plot" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="%s">`, plotW, plotH, esc(title), esc(fontFamily))
	b.f(`<title>%s</title>`, esc(title))
	b.f(`<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, plotW, plotH)
	yAxis(&b, x0, x1, y0, y1, yOf)
	// Decade ticks with grid lines and minor ticks at 2..9.
	for d := d0; d <= d1; d++ {
		x := xOf(math.Pow(10, d))
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x, y0, x, y1, gridColor)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x, y1, x, y1+majorTickLn, axisColor)
		b.f(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle">%s</text>`, x, y1+majorTickLn+13, tickSize, esc(decadeLabel(a, int(d))))
		if d < d1 {
			for m := 2; m <= 9; m++ {
				xm := xOf(float64(m) * math.Pow(10, d))
				b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, xm, y1, xm, y1+minorTickLen, axisColor)
			}
		}
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="%s"/>`, x0, y0, x1-x0, y1-y0, axisColor)
	b.f(`<text x="%.1f" y="%d" font-size="%d" text-anchor="middle">%s</text>`, (x0+x1)/2, plotH-12, axisLabelSize, esc(axisTitle[a]))
	plotTitle(&b, fmt.Sprintf("%s on %s: accuracy vs %s", g.Model, g.Dataset, axisName[a]), plotW)

	// Series lines and error bars under the frontier; markers on top.
	type placed struct {
		p Point
		s Series
	}
	var all []placed
	for _, s := range g.Series {
		pts := slices.Clone(s.Points)
		pts = slices.DeleteFunc(pts, func(p Point) bool { return p.Cost(a) <= 0 })
		slices.SortStableFunc(pts, func(p, q Point) int { return cmpFloat(p.Cost(a), q.Cost(a)) })
		if len(pts) > 1 {
			var coords []string
			for _, p := range pts {
				coords = append(coords, fmt.Sprintf("%.1f,%.1f", xOf(p.Cost(a)), yOf(p.Accuracy)))
			}
			b.f(`<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, strings.Join(coords, " "), s.Color)
		}
		for _, p := range pts {
			x := xOf(p.Cost(a))
			ylo, yhi := yOf(p.CILo), yOf(p.CIHi)
			b.f(`<g class="errorbar" stroke="%s" stroke-width="1.2"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, s.Color, x, ylo, x, yhi)
			b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/></g>`,
				x-errorCap, ylo, x+errorCap, ylo, x-errorCap, yhi, x+errorCap, yhi)
			all = append(all, placed{p, s})
		}
	}
	if len(f.Points) > 1 {
		var coords []string
		for _, p := range f.Points {
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", xOf(p.Cost(a)), yOf(p.Accuracy)))
		}
		b.f(`<polyline class="frontier" points="%s" fill="none" stroke="#000" stroke-width="1.4" stroke-dasharray="%s"/>`, strings.Join(coords, " "), frontierDash)
	}
	onFrontier := map[string]bool{}
	for _, p := range f.Points {
		onFrontier[p.RunID] = true
	}
	var anchors [][2]float64
	var texts []string
	for _, pl := range all {
		p := pl.p
		x, y := xOf(p.Cost(a)), yOf(p.Accuracy)
		tip := fmt.Sprintf("%s: %.1f%% (CI95 %.1f–%.1f) at %s per question", p.Label, p.Accuracy, p.CILo, p.CIHi, formatCost(a, p.Cost(a)))
		if onFrontier[p.RunID] {
			tip += " — on the frontier"
			b.f(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="none" stroke="#000" stroke-width="1"/>`, x, y, markerSize+3)
		}
		b.f(`<g class="point"><title>%s</title>%s</g>`, esc(tip), marker(pl.s.Marker, pl.s.Color, x, y, markerSize))
		anchors = append(anchors, [2]float64{x, y})
		texts = append(texts, p.Budget)
	}
	for _, l := range placeLabels(anchors, texts, pointLabelSize, box{x0, y0, x1, y1}) {
		if l.ok {
			b.f(`<text class="budget" x="%.1f" y="%.1f" font-size="%d" fill="#333" text-anchor="%s">%s</text>`, l.x, l.y, pointLabelSize, l.anchor, esc(l.text))
		}
	}
	// Legend.
	lx, ly := x1+14, y0+8
	for i, s := range g.Series {
		y := ly + float64(i)*legendRow
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.6"/>`, lx, y, lx+22, y, s.Color)
		name, size := fitText(s.Strategy, tickSize+1, plotW-(lx+30)-4, false)
		b.f(`%s<text x="%.1f" y="%.1f" font-size="%.1f" dominant-baseline="middle">%s</text>`, marker(s.Marker, s.Color, lx+11, y, markerSize), lx+30, y, size, esc(name))
	}
	y := ly + float64(len(g.Series))*legendRow
	b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="1.4" stroke-dasharray="%s"/>`, lx, y, lx+22, y, frontierDash)
	b.f(`<text x="%.1f" y="%.1f" font-size="%d" dominant-baseline="middle">Pareto frontier</text>`, lx+30, y, tickSize+1)
	y += legendRow
	b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-width="1.2"/>`, lx+11, y-6, lx+11, y+6)
	b.f(`<text x="%.1f" y="%.1f" font-size="%d" dominant-baseline="middle">95%% bootstrap CI</text>`, lx+30, y, tickSize+1)
	if f.Missing > 0 {
		y += legendRow
		note, size := fitText(fmt.Sprintf("%d run(s) without %s not shown", f.Missing, axisName[a]), tickSize-1, plotW-lx-4, false)
		b.f(`<text x="%.1f" y="%.1f" font-size="%.1f" fill="#555">%s</text>`, lx, y, size, esc(note))
	}
	b.f(`</svg>`)
	return b.String()
}

// levelPlot draws accuracy by difficulty level, one line per run.
func levelPlot(g *Group) string {
	if len(g.Levels) == 0 {
		return ""
	}
	x0, x1, y0, y1 := float64(levelPadL), float64(levelPlotW-levelPadR), float64(levelPadT), float64(levelPlotH-levelPadB)
	n := len(g.Levels)
	xOf := func(i int) float64 {
		if n == 1 {
			return (x0 + x1) / 2
		}
		return x0 + 20 + float64(i)/float64(n-1)*(x1-x0-40)
	}
	yOf := func(acc float64) float64 { return y1 - math.Max(0, math.Min(100, acc))/100*(y1-y0) }
	var b svgBuf
	title := fmt.Sprintf("Accuracy by difficulty level: %s on %s", g.Model, g.Dataset)
	b.f(`<svg class="plot" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="%s">`, levelPlotW, levelPlotH, esc(title), esc(fontFamily))
	b.f(`<title>%s</title>`, esc(title))
	b.f(`<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, levelPlotW, levelPlotH)
	yAxis(&b, x0, x1, y0, y1, yOf)
	for i, l := range g.Levels {
		x := xOf(i)
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x, y1, x, y1+majorTickLn, axisColor)
		b.f(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle">%d</text>`, x, y1+majorTickLn+13, tickSize, l)
	}
	b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="%s"/>`, x0, y0, x1-x0, y1-y0, axisColor)
	b.f(`<text x="%.1f" y="%d" font-size="%d" text-anchor="middle">difficulty level</text>`, (x0+x1)/2, levelPlotH-12, axisLabelSize)
	plotTitle(&b, fmt.Sprintf("%s on %s: accuracy by level", g.Model, g.Dataset), levelPlotW)
	style := map[string]Series{}
	for _, s := range g.Series {
		for _, p := range s.Points {
			style[p.Label] = s
		}
	}
	dashes := []string{"", "5 3", "2 3", "8 3 2 3"}
	seen := map[string]int{}
	for ri, row := range g.LevelRows {
		s := style[row.Label]
		dash := dashes[seen[s.Strategy]%len(dashes)]
		seen[s.Strategy]++
		var coords []string
		var marks strings.Builder
		for i, v := range row.Accuracy {
			if v == nil {
				continue
			}
			x, y := xOf(i), yOf(*v)
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&marks, `<g class="point"><title>%s</title>%s</g>`,
				esc(fmt.Sprintf("%s, level %d: %.1f%%", row.Label, g.Levels[i], *v)), marker(s.Marker, s.Color, x, y, markerSize-0.5))
		}
		dashAttr := ""
		if dash != "" {
			dashAttr = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
		}
		if len(coords) > 1 {
			b.f(`<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="1.5"%s/>`, strings.Join(coords, " "), s.Color, dashAttr)
		}
		b.WriteString(marks.String())
		ly := y0 + 8 + float64(ri)*legendRow*0.85
		lx := x1 + 18
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"%s/>`, lx, ly, lx+22, ly, s.Color, dashAttr)
		name, size := fitText(row.Label, tickSize, levelPlotW-(lx+30)-4, false)
		b.f(`%s<text x="%.1f" y="%.1f" font-size="%.1f" dominant-baseline="middle">%s</text>`, marker(s.Marker, s.Color, lx+11, ly, markerSize-0.5), lx+30, ly, size, esc(name))
	}
	b.f(`</svg>`)
	return b.String()
}

// yAxis draws the accuracy grid, ticks every 10 % and the axis title.
func yAxis(b *svgBuf, x0, x1, y0, y1 float64, yOf func(float64) float64) {
	for v := 0; v <= 100; v += 10 {
		y := yOf(float64(v))
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, x0, y, x1, y, gridColor)
		b.f(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="end" dominant-baseline="middle">%d</text>`, x0-6, y, tickSize, v)
	}
	b.f(`<text transform="translate(%d %.1f) rotate(-90)" font-size="%d" text-anchor="middle">accuracy (%%)</text>`, 18, (y0+y1)/2, axisLabelSize)
}

// marker draws a filled shape centred on (x, y); shapes tell series apart
// in greyscale print.
func marker(shape, color string, x, y, r float64) string {
	switch shape {
	case "square":
		s := r * 1.8
		return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x-s/2, y-s/2, s, s, color)
	case "triangle":
		return fmt.Sprintf(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x, y-r*1.2, x-r*1.1, y+r*0.8, x+r*1.1, y+r*0.8, color)
	case "down":
		return fmt.Sprintf(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x, y+r*1.2, x-r*1.1, y-r*0.8, x+r*1.1, y-r*0.8, color)
	case "diamond":
		return fmt.Sprintf(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x, y-r*1.3, x+r*1.1, y, x, y+r*1.3, x-r*1.1, y, color)
	}
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x, y, r, color)
}

var superscript = strings.NewReplacer("-", "⁻", "0", "⁰", "1", "¹", "2", "²", "3", "³", "4", "⁴", "5", "⁵", "6", "⁶", "7", "⁷", "8", "⁸", "9", "⁹")

// decadeLabel names the tick at 10^d: plain numbers where they are short
// (seconds, dollars), powers of ten otherwise.
func decadeLabel(a Axis, d int) string {
	if a != AxisFLOPs && d >= -3 && d <= 4 {
		return strconv.FormatFloat(math.Pow(10, float64(d)), 'f', -1, 64)
	}
	return "10" + superscript.Replace(strconv.Itoa(d))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Text width estimates, in ems per rune: generous for the system sans
// fonts the page asks for, so that a string that fits by the estimate fits
// on screen.
const (
	emPerRune     = 0.6
	emPerRuneBold = 0.64
	minFontSize   = 10.0
)

// textWidth estimates the drawn width of s at a font size.
func textWidth(s string, size float64, bold bool) float64 {
	em := emPerRune
	if bold {
		em = emPerRuneBold
	}
	return float64(utf8.RuneCountInString(s)) * size * em
}

// fitText makes s fit in width: a smaller font down to minFontSize, then
// cut with an ellipsis. It returns the text and the size to draw it at.
func fitText(s string, size, width float64, bold bool) (string, float64) {
	if textWidth(s, size, bold) <= width {
		return s, size
	}
	size = math.Max(minFontSize, size*width/textWidth(s, size, bold))
	r := []rune(s)
	for n := len(r); n > 0; n-- {
		t := string(r[:n])
		if n < len(r) {
			t = strings.TrimRight(t, " ") + "…"
		}
		if textWidth(t, size, bold) <= width+1e-9 {
			return t, size
		}
	}
	return "…", size
}

// plotTitle draws a plot's heading from the left edge of the plot area,
// fitted to the width so it is never clipped (the full text is in the
// plot's <title>).
func plotTitle(b *svgBuf, title string, svgWidth int) {
	const x = 12
	t, size := fitText(title, axisLabelSize, float64(svgWidth-x-8), true)
	b.f(`<text class="title" x="%d" y="%d" font-size="%.1f" font-weight="600">%s</text>`, x, 20, size, esc(t))
}

// box is a rectangle in SVG units.
type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

func (a box) inside(b box) bool {
	return a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 >= b.y0 && a.y1 <= b.y1
}

// label is where placeLabels put a point's label; ok is false when it
// found no free spot.
type label struct {
	text   string
	x, y   float64 // the text's anchor point, on its baseline
	anchor string  // start or end
	box    box
	ok     bool
}

// placeLabels puts each text beside its point: above right, below right,
// above left or below left, the first spot that stays inside area and
// overlaps no point and no label placed before it. A label with no free
// spot is left out; its point's tooltip still names it. Empty texts get no
// label.
func placeLabels(points [][2]float64, texts []string, size float64, area box) []label {
	taken := make([]box, 0, 2*len(points))
	for _, p := range points {
		r := markerSize + 1
		taken = append(taken, box{p[0] - r, p[1] - r, p[0] + r, p[1] + r})
	}
	const gap = markerSize + 2 // clear of the point's own marker
	out := make([]label, len(points))
	for i, p := range points {
		out[i].text = texts[i]
		if texts[i] == "" {
			continue
		}
		w, h := textWidth(texts[i], size, false), size
		x, y := p[0], p[1]
		spots := []label{
			{x: x + gap, y: y - gap, anchor: "start", box: box{x + gap, y - gap - h, x + gap + w, y - gap}},
			{x: x + gap, y: y + gap + h, anchor: "start", box: box{x + gap, y + gap, x + gap + w, y + gap + h}},
			{x: x - gap, y: y - gap, anchor: "end", box: box{x - gap - w, y - gap - h, x - gap, y - gap}},
			{x: x - gap, y: y + gap + h, anchor: "end", box: box{x - gap - w, y + gap, x - gap, y + gap + h}},
		}
		for _, s := range spots {
			if !s.box.inside(area) || slices.ContainsFunc(taken, s.box.overlaps) {
				continue
			}
			s.text, s.ok = texts[i], true
			out[i] = s
			taken = append(taken, s.box)
			break
		}
	}
	return out
}
