package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// handTree is a small search: the root's two children, one pruned; under
// the other, a right answer (chosen) and a wrong one.
func handTree() []strategy.Node {
	zero, one := 0, 1
	s := func(v float64) *float64 { return &v }
	return []strategy.Node{
		{ID: 0, Children: 2, Selected: true},
		{ID: 1, Parent: &zero, Text: "x = 2 + 3 = 5", Score: s(0.9), Children: 2, Selected: true},
		{ID: 2, Parent: &zero, Text: "x = 2 * 3 = 6", Score: s(0.1), Pruned: true},
		{ID: 3, Parent: &one, Text: "#### 5", Score: s(0.8), Answer: "5", Finished: true, Selected: true},
		{ID: 4, Parent: &one, Text: "#### <b>7</b>", Score: s(0.4), Answer: "7", Finished: true},
	}
}

func handAnswer(t *testing.T, nodes []strategy.Node, gold string) Answer {
	t.Helper()
	a := Answer{Label: "beam n=4"}
	a.Tree, a.MoreNodes = treeOrder(nodes, maxTreeNodes)
	gradeTree(a.Tree, store.Result{Gold: gold, Predicted: "5", Correct: gold == "5"}, "gsm8k")
	return a
}

func wellFormed(t *testing.T, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
	}
}

func TestTreeSVG(t *testing.T) {
	svg := treeSVG(handAnswer(t, handTree(), "5"))
	wellFormed(t, svg)
	if n := strings.Count(svg, `<g class="node`); n != 5 {
		t.Errorf("%d nodes drawn, want 5", n)
	}
	if n := strings.Count(svg, `class="edge win`); n != 2 {
		t.Errorf("%d winning edges, want 2 (root to #1 to #3)", n)
	}
	if n := strings.Count(svg, `<g class="node win`); n != 3 {
		t.Errorf("%d nodes on the winning path, want 3", n)
	}
	if !regexp.MustCompile(`<g class="node pruned"[^>]*opacity="0.3"><title>#2,`).MatchString(svg) {
		t.Error("the pruned node is not drawn faded")
	}
	if !regexp.MustCompile(`<g class="node win right"><title>#3,[^<]*answer &#34;5&#34; \(right\)`).MatchString(svg) {
		t.Error("the chosen leaf is not marked right")
	}
	if !regexp.MustCompile(`<g class="node wrong"><title>#4,[^<]*\(wrong\)`).MatchString(svg) {
		t.Error("the other leaf is not marked wrong")
	}
	if strings.Count(svg, `class="mark"`) != 2 || !strings.Contains(svg, "✓</text>") || !strings.Contains(svg, "✗</text>") {
		t.Error("want one ✓ and one ✗ mark")
	}
	if strings.Contains(svg, "<b>7</b>") || !strings.Contains(svg, "&lt;b&gt;7&lt;/b&gt;") {
		t.Error("step text not escaped in its tooltip")
	}
	if strings.Contains(svg, "not drawn") {
		t.Error("an uncut tree says nodes were left out")
	}
	// Colour follows score: the 0.9 node is drawn nearer viridis's yellow
	// end than the 0.1 one, and the root, unscored, grey.
	if scoreColor(0) != "#440154" || scoreColor(1) != "#fde725" || scoreColor(0.5) != "#21918c" {
		t.Errorf("viridis ends and middle: %s %s %s", scoreColor(0), scoreColor(1), scoreColor(0.5))
	}
	if !strings.Contains(svg, `fill="`+scoreColor(0.9)+`"`) || !strings.Contains(svg, `fill="`+unscoredFill+`"`) {
		t.Error("nodes not coloured by score")
	}

	// Without a gold answer nothing is graded.
	if svg := treeSVG(handAnswer(t, handTree(), "")); strings.Contains(svg, `class="mark"`) {
		t.Error("leaves marked without a reference")
	}
	if treeSVG(Answer{}) != "" {
		t.Error("an answer without a tree drew one")
	}
}

// bigTree is a root with width children per node for depth levels; the
// last node is the chosen leaf, so a depth-first cut would lose it.
func bigTree(width, depth int) []strategy.Node {
	nodes := []strategy.Node{{ID: 0}}
	layer := []int{0}
	for range depth {
		var next []int
		for _, p := range layer {
			for range width {
				p := p
				nodes = append(nodes, strategy.Node{ID: len(nodes), Parent: &p, Text: "step"})
				next = append(next, len(nodes)-1)
			}
		}
		layer = next
	}
	last := len(nodes) - 1
	nodes[last].Answer = "1"
	for id := last; ; id = *nodes[id].Parent {
		nodes[id].Selected = true
		if nodes[id].Parent == nil {
			break
		}
	}
	return nodes
}

func TestTreeCap(t *testing.T) {
	nodes := bigTree(4, 5) // 1365 nodes
	got, more := treeOrder(nodes, maxTreeNodes)
	if len(got) != maxTreeNodes || more != len(nodes)-maxTreeNodes {
		t.Fatalf("kept %d, left out %d; want %d and %d", len(got), more, maxTreeNodes, len(nodes)-maxTreeNodes)
	}
	kept := map[int]bool{}
	selected := 0
	for i, n := range got {
		kept[n.ID] = true
		if n.Selected {
			selected++
		}
		if n.Parent != nil && !kept[*n.Parent] {
			t.Fatalf("node %d at %d comes before or without its parent %d", n.ID, i, *n.Parent)
		}
	}
	if selected != 6 {
		t.Errorf("%d nodes of the winning path kept, want all 6", selected)
	}
	// The shallow layers come first: all of depths 0-3 (85 nodes) fit.
	for id := range 85 {
		if !kept[id] {
			t.Errorf("node %d of the first layers left out", id)
			break
		}
	}
	svg := treeSVG(Answer{Label: "beam", Tree: got, MoreNodes: more})
	wellFormed(t, svg)
	if n := strings.Count(svg, `<g class="node`); n != maxTreeNodes {
		t.Errorf("%d nodes drawn, want %d", n, maxTreeNodes)
	}
	if !strings.Contains(svg, fmt.Sprintf("%d more nodes not drawn", len(nodes)-maxTreeNodes)) {
		t.Error("no note of the nodes left out")
	}
	if all, more := treeOrder(nodes, 0); len(all) != len(nodes) || more != 0 {
		t.Errorf("no limit: kept %d of %d", len(all), len(nodes))
	}
}

func TestTreeOrderOddTraces(t *testing.T) {
	self, missing := 0, 99
	nodes := []strategy.Node{
		{ID: 0, Parent: &self},    // its own parent: a root
		{ID: 1, Parent: &missing}, // parent absent: a root
		{ID: 2, Parent: &self},
		{ID: 2, Parent: &self}, // a repeated ID: left out
	}
	got, more := treeOrder(nodes, 0)
	var order []string
	for _, n := range got {
		order = append(order, fmt.Sprintf("%d@%d", n.ID, n.Depth))
	}
	if strings.Join(order, " ") != "0@0 2@1 1@0" || more != 1 {
		t.Errorf("order %v, %d left out; want 0@0 2@1 1@0 and 1", order, more)
	}
}

func TestGradeFormat(t *testing.T) {
	if gradeFormat("math500", nil) != "math" || gradeFormat("synth", nil) != "gsm8k" {
		t.Error("built-in datasets' formats")
	}
	// A user's LaTeX dataset: only the math rules reproduce the verdicts
	// (equal radicals; case matters in a variable).
	rs := []store.Result{
		{Predicted: `2\sqrt{2}`, Gold: `\sqrt{8}`, Correct: true},
		{Predicted: "A", Gold: "a", Correct: false},
	}
	if f := gradeFormat("geometry.jsonl", rs); f != "math" {
		t.Errorf("format %q, want math", f)
	}
}
