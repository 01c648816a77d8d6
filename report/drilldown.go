package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// Question is one question of the drill-down with every run's answer.
type Question struct {
	ID       string   `json:"id"`
	Position int      `json:"position"`
	Level    int      `json:"level,omitempty"`
	Gold     string   `json:"gold"`
	Answers  []Answer `json:"answers"`
	// Solved counts the runs that got it right under every seed; the page
	// uses it to point at questions only some strategies solve.
	Solved int `json:"solved"`
}

// Answer is one run's work on one question. Correct and Seeds count over
// seeds; the rest shows the first seed, to keep the page small.
type Answer struct {
	RunID      string          `json:"run_id"`
	Label      string          `json:"label"`
	Seeds      int             `json:"seeds"`
	Correct    int             `json:"correct"`
	Predicted  string          `json:"predicted"`
	Output     string          `json:"output,omitempty"`
	Votes      []strategy.Vote `json:"votes,omitempty"`
	Candidates []Candidate     `json:"candidates,omitempty"`
	// MoreCandidates counts candidates left off the page.
	MoreCandidates int        `json:"more_candidates,omitempty"`
	Tree           []TreeNode `json:"tree,omitempty"`
	FLOPs          float64    `json:"flops"`
	Seconds        float64    `json:"seconds"`
}

// Candidate is one sampled solution, its text shortened.
type Candidate struct {
	Answer string   `json:"answer"`
	Score  *float64 `json:"score,omitempty"`
	Text   string   `json:"text"`
}

// TreeNode is one node of a tree search's trace, with its depth, which the
// report fills from the parent links.
type TreeNode struct {
	strategy.Node
	Depth int `json:"depth"`
}

// detail is the stored strategy result with the optional tree trace.
type detail struct {
	Answer     string               `json:"answer"`
	Output     string               `json:"output"`
	Candidates []strategy.Candidate `json:"candidates"`
	Votes      []strategy.Vote      `json:"votes"`
	Tree       []strategy.Node      `json:"tree"`
}

// Limits that keep a page with hundreds of questions loadable.
const (
	maxOutput     = 1500 // runes of the chosen output
	maxCandText   = 300  // runes per candidate
	maxCandidates = 64
	maxTreeNodes  = 256
)

type runResults struct {
	point   Point
	results []store.Result
}

// drillDown lines up every run's answer per question, questions in dataset
// order.
func drillDown(runs []runResults) ([]Question, error) {
	idx := map[string]int{}
	var qs []Question
	for ri, rr := range runs {
		for _, r := range rr.results {
			qi, ok := idx[r.QuestionID]
			if !ok {
				qi = len(qs)
				idx[r.QuestionID] = qi
				qs = append(qs, Question{ID: r.QuestionID, Position: r.Position, Level: r.Level, Gold: r.Gold,
					Answers: make([]Answer, len(runs))})
				for j, o := range runs {
					qs[qi].Answers[j] = Answer{RunID: o.point.RunID, Label: o.point.Label}
				}
			}
			a := &qs[qi].Answers[ri]
			first := a.Seeds == 0
			a.Seeds++
			if r.Correct {
				a.Correct++
			}
			a.FLOPs += r.Usage.FLOPs()
			a.Seconds += r.Wall.Seconds()
			if !first {
				continue
			}
			a.Predicted = r.Predicted
			if err := a.fill(r.Detail); err != nil {
				return nil, fmt.Errorf("report: run %s seed %d question %s: detail: %w", r.RunID, r.Seed, r.QuestionID, err)
			}
		}
	}
	for i := range qs {
		for j := range qs[i].Answers {
			a := &qs[i].Answers[j]
			if a.Seeds > 0 {
				a.FLOPs /= float64(a.Seeds)
				a.Seconds /= float64(a.Seeds)
				if a.Correct == a.Seeds {
					qs[i].Solved++
				}
			}
		}
	}
	slices.SortStableFunc(qs, func(a, b Question) int { return a.Position - b.Position })
	return qs, nil
}

// fill copies what the page shows from a stored strategy result.
func (a *Answer) fill(raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var d detail
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	a.Output = shorten(d.Output, maxOutput)
	a.Votes = d.Votes
	for i, c := range d.Candidates {
		if i == maxCandidates {
			a.MoreCandidates = len(d.Candidates) - i
			break
		}
		a.Candidates = append(a.Candidates, Candidate{Answer: c.Answer, Score: c.Score, Text: shorten(c.Text, maxCandText)})
	}
	a.Tree = treeOrder(d.Tree)
	return nil
}

// treeOrder returns nodes depth first (children after their parent, in
// stored order) with depths filled; nodes whose parent is missing become
// roots so a partial trace still shows.
func treeOrder(nodes []strategy.Node) []TreeNode {
	if len(nodes) == 0 {
		return nil
	}
	ids := map[int]bool{}
	for _, n := range nodes {
		ids[n.ID] = true
	}
	children := map[int][]int{}
	var roots []int
	for i, n := range nodes {
		if n.Parent == nil || !ids[*n.Parent] || *n.Parent == n.ID {
			roots = append(roots, i)
			continue
		}
		children[*n.Parent] = append(children[*n.Parent], i)
	}
	var out []TreeNode
	visited := map[int]bool{}
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if len(out) == maxTreeNodes || visited[nodes[i].ID] {
			return
		}
		visited[nodes[i].ID] = true
		n := TreeNode{Node: nodes[i], Depth: depth}
		n.Text = shorten(n.Text, maxCandText)
		out = append(out, n)
		for _, c := range children[n.ID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + " …"
}
