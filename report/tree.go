package report

import (
	"fmt"
	"math"
	"strings"
)

// Search tree geometry in SVG user units: top down, one column per leaf,
// one row per depth.
const (
	treeColW    = 16.0
	treeRowH    = 44.0
	treeNodeR   = 5.0
	treePad     = 16.0
	treeMinW    = 460.0 // room for the legend
	treeLegendH = 44.0
	treeMarkGap = 13.0 // from a leaf to its right/wrong mark
)

// Colours: Okabe–Ito for right and wrong, which stay apart under every
// common colour blindness; the marks also differ in shape.
const (
	rightColor   = "#009E73"
	wrongColor   = "#D55E00"
	unscoredFill = "#bdbdbd"
	edgeColor    = "#9a9a9a"
	winColor     = "#000"
	fadedOpacity = "0.3"
)

// viridis stops, evenly spaced from 0 to 1: a sequential scale that reads
// in greyscale and under colour blindness.
var viridis = [][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}

// scoreColor maps v in [0, 1] onto viridis.
func scoreColor(v float64) string {
	v = math.Max(0, math.Min(1, v))
	f := v * float64(len(viridis)-1)
	i := min(int(f), len(viridis)-2)
	t := f - float64(i)
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(viridis[i][k] + t*(viridis[i+1][k]-viridis[i][k])))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// treeSVG draws an answer's search tree top down: nodes coloured by score,
// the winning path thick and black, branches the search dropped faded,
// answers marked right (✓) or wrong (✗) where the question has a gold
// answer, and each node's step in a hover tooltip. Empty without a tree.
func treeSVG(a Answer) string {
	nodes := a.Tree
	if len(nodes) == 0 {
		return ""
	}
	pos := map[int]int{} // node ID to index; IDs are unique after treeOrder
	for i, n := range nodes {
		pos[n.ID] = i
	}
	parentOf := func(i int) int {
		n := nodes[i]
		if n.Parent == nil {
			return -1
		}
		if p, ok := pos[*n.Parent]; ok && p != i {
			return p
		}
		return -1
	}
	kids := make([][]int, len(nodes))
	for i := range nodes {
		if p := parentOf(i); p >= 0 {
			kids[p] = append(kids[p], i)
		}
	}
	// Leaves take columns in depth-first order; a parent sits over the
	// middle of its children. nodes is depth first, so walking it backwards
	// meets every child before its parent.
	x := make([]float64, len(nodes))
	col, maxDepth := 0, 0
	for i, n := range nodes {
		maxDepth = max(maxDepth, n.Depth)
		if len(kids[i]) == 0 {
			x[i] = treePad + treeColW/2 + float64(col)*treeColW
			col++
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		if k := kids[i]; len(k) > 0 {
			x[i] = (x[k[0]] + x[k[len(k)-1]]) / 2
		}
	}
	// A node is faded when the search dropped it, or everything under it.
	faded := make([]bool, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		faded[i] = n.Pruned
		if len(kids[i]) > 0 && !n.Finished {
			faded[i] = true
			for _, k := range kids[i] {
				faded[i] = faded[i] && faded[k]
			}
		}
	}
	lo, hi := 0.0, 1.0
	var scores []float64
	for _, n := range nodes {
		if n.Score != nil && !math.IsNaN(*n.Score) && !math.IsInf(*n.Score, 0) {
			scores = append(scores, *n.Score)
		}
	}
	if len(scores) > 0 {
		smin, smax := scores[0], scores[0]
		for _, s := range scores {
			smin, smax = math.Min(smin, s), math.Max(smax, s)
		}
		if smin < 0 || smax > 1 { // not probabilities: use the tree's range
			lo, hi = smin, math.Max(smax, smin+1e-9)
		}
	}
	yOf := func(depth int) float64 { return treePad + treeNodeR + float64(depth)*treeRowH }
	w := math.Max(treeMinW, 2*treePad+float64(col)*treeColW)
	treeH := yOf(maxDepth) + treeNodeR + treeMarkGap + 6
	h := treeH + treeLegendH
	if a.MoreNodes > 0 {
		h += 18
	}

	var b svgBuf
	label := fmt.Sprintf("Search tree of %s: %d nodes", a.Label, len(nodes))
	b.f(`<svg class="tree" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s" font-family="%s">`, w, h, w, h, esc(label), esc(fontFamily))
	b.f(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`, w, h)
	opacity := func(i int) string {
		if faded[i] {
			return ` opacity="` + fadedOpacity + `"`
		}
		return ""
	}
	// Edges first, the winning path last so nothing covers it.
	for _, win := range []bool{false, true} {
		for i, n := range nodes {
			p := parentOf(i)
			if p < 0 || (n.Selected && nodes[p].Selected) != win {
				continue
			}
			cls, stroke, sw := "edge", edgeColor, 1.2
			if win {
				cls, stroke, sw = "edge win", winColor, 3.0
			}
			if faded[i] {
				cls += " pruned"
			}
			b.f(`<line class="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`,
				cls, x[p], yOf(nodes[p].Depth), x[i], yOf(n.Depth), stroke, sw, opacity(i))
		}
	}
	for i, n := range nodes {
		cls := []string{"node"}
		fill := unscoredFill
		if n.Score != nil {
			fill = scoreColor((*n.Score - lo) / (hi - lo))
		}
		stroke, sw, r := "#fff", 1.0, treeNodeR
		if n.Selected {
			cls = append(cls, "win")
			stroke, sw, r = winColor, 2.2, treeNodeR+1
		}
		if faded[i] {
			cls = append(cls, "pruned")
		}
		if n.Right != nil {
			cls = append(cls, verdict(*n.Right))
		}
		cx, cy := x[i], yOf(n.Depth)
		b.f(`<g class="%s"%s><title>%s</title><circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" stroke="%s" stroke-width="%.1f"/>`,
			strings.Join(cls, " "), opacity(i), esc(nodeTip(n)), cx, cy, r, fill, stroke, sw)
		if n.Right != nil {
			glyph, color := "✗", wrongColor
			if *n.Right {
				glyph, color = "✓", rightColor
			}
			b.f(`<text class="mark" x="%.1f" y="%.1f" font-size="12" font-weight="700" text-anchor="middle" fill="%s">%s</text>`, cx, cy+r+treeMarkGap, color, glyph)
		}
		b.f(`</g>`)
	}
	treeLegend(&b, treeH, lo, hi)
	if a.MoreNodes > 0 {
		b.f(`<text class="more" x="%.1f" y="%.1f" font-size="12" fill="#555">%d more nodes not drawn</text>`, treePad, h-6, a.MoreNodes)
	}
	b.f(`</svg>`)
	return b.String()
}

// treeLegend explains the colours and marks under the tree.
func treeLegend(b *svgBuf, y, lo, hi float64) {
	x := treePad
	b.f(`<g class="legend" font-size="11">`)
	b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle">score %s</text>`, x, y+8, esc(fmt.Sprintf("%.3g", lo)))
	x += 62
	const swatches = 5
	for k := range swatches {
		b.f(`<rect x="%.1f" y="%.1f" width="14" height="10" fill="%s"/>`, x+float64(k)*14, y+3, scoreColor(float64(k)/(swatches-1)))
	}
	x += swatches*14 + 4
	b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`, x, y+8, esc(fmt.Sprintf("%.3g", hi)))
	x += 40
	b.f(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/><text x="%.1f" y="%.1f" dominant-baseline="middle">unscored</text>`, x, y+8, unscoredFill, x+8, y+8)
	y2 := y + 26
	x = treePad
	b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/><text x="%.1f" y="%.1f" dominant-baseline="middle">winning path</text>`, x, y2, x+22, y2, winColor, x+28, y2)
	x += 110
	b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2" opacity="%s"/><text x="%.1f" y="%.1f" dominant-baseline="middle">pruned (faded)</text>`, x, y2, x+22, y2, edgeColor, fadedOpacity, x+28, y2)
	x += 122
	b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle" font-weight="700" fill="%s">✓</text><text x="%.1f" y="%.1f" dominant-baseline="middle">right</text>`, x, y2, rightColor, x+12, y2)
	x += 52
	b.f(`<text x="%.1f" y="%.1f" dominant-baseline="middle" font-weight="700" fill="%s">✗</text><text x="%.1f" y="%.1f" dominant-baseline="middle">wrong</text>`, x, y2, wrongColor, x+12, y2)
	b.f(`</g>`)
}

// nodeFacts appends to parts what the search knew of n, in the words the
// tree's hover text and `pareto trace` share: its score, the children it
// was given, pruned, finished, its answer right or wrong.
func nodeFacts(parts []string, n TreeNode) []string {
	if n.Score != nil {
		parts = append(parts, fmt.Sprintf("score %.3f", *n.Score))
	}
	if n.Children > 0 {
		parts = append(parts, fmt.Sprintf("%d children", n.Children))
	}
	if n.Pruned {
		parts = append(parts, "pruned")
	}
	if n.Finished {
		parts = append(parts, "finished")
	}
	if n.Answer != "" {
		parts = append(parts, "answer "+answerVerdict(n.Answer, n.Right))
	}
	return parts
}

// nodeTip is a node's hover text: what the search knew of it, then its step.
func nodeTip(n TreeNode) string {
	parts := nodeFacts([]string{fmt.Sprintf("#%d, depth %d", n.ID, n.Depth)}, n)
	if n.Selected {
		parts = append(parts, "on the winning path")
	}
	tip := strings.Join(parts, " · ")
	if n.Text != "" {
		tip += "\n" + n.Text
	}
	return tip
}
