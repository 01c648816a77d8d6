package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/grade"
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
	// MoreNodes counts tree nodes left off the page.
	MoreNodes int     `json:"more_nodes,omitempty"`
	FLOPs     float64 `json:"flops"`
	Seconds   float64 `json:"seconds"`
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
	// Right says whether the node's answer agrees with the gold answer;
	// nil where the node has no answer or the question no reference.
	Right *bool `json:"right,omitempty"`
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
	maxStepText   = 120 // runes of a tree node's step, shown on hover
)

type runResults struct {
	point   Point
	results []store.Result
}

// drillDown lines up every run's answer per question, questions in dataset
// order; format is the dataset's answer format, to grade the answers of a
// search tree's leaves.
func drillDown(runs []runResults, format string) ([]Question, error) {
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
			if err := a.fill(r, format); err != nil {
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
func (a *Answer) fill(r store.Result, format string) error {
	d, err := readDetail(r.Detail)
	if err != nil || d == nil {
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
	a.Tree, a.MoreNodes = treeOrder(d.Tree, maxTreeNodes)
	for i := range a.Tree {
		a.Tree[i].Text = shorten(a.Tree[i].Text, maxStepText)
	}
	gradeTree(a.Tree, r, format)
	return nil
}

// readDetail decodes a stored strategy result; nil when none was stored.
func readDetail(raw json.RawMessage) (*detail, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var d detail
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// gradeTree marks the nodes with an answer right or wrong against r's gold.
// A node whose answer is the one r recorded takes r's verdict, so the tree
// never contradicts the table even where the format is a guess.
func gradeTree(nodes []TreeNode, r store.Result, format string) {
	if r.Gold == "" {
		return
	}
	for i := range nodes {
		n := &nodes[i]
		if n.Answer == "" {
			continue
		}
		ok := r.Correct
		if n.Answer != r.Predicted {
			ok = grade.Equal(n.Answer, r.Gold, format)
		}
		n.Right = &ok
	}
}

// gradeFormat returns the answer format of a dataset's questions, which the
// store does not keep: known for the built-in datasets, else the format
// under which the stored verdicts come out most often as recorded.
func gradeFormat(dataset string, results []store.Result) string {
	switch dataset {
	case "math500":
		return pareto.FormatMath
	case "gsm8k", "gsm8k-train", "synth":
		return pareto.FormatGSM8K
	}
	best, bestAgree := pareto.FormatGSM8K, -1
	for _, f := range []string{pareto.FormatGSM8K, pareto.FormatMath, pareto.FormatText} {
		agree := 0
		for _, r := range results {
			if r.Gold != "" && grade.Equal(r.Predicted, r.Gold, f) == r.Correct {
				agree++
			}
		}
		if agree > bestAgree {
			best, bestAgree = f, agree
		}
	}
	return best
}

// treeOrder returns nodes depth first (children after their parent, in
// stored order) with depths filled, and how many nodes it left out. Nodes
// whose parent is missing become roots so a partial trace still shows.
// Past limit (0: none) it keeps the winning path and then the shallowest
// nodes, so a cut tree still shows how the search chose its answer.
func treeOrder(nodes []strategy.Node, limit int) ([]TreeNode, int) {
	if len(nodes) == 0 {
		return nil, 0
	}
	index := map[int]int{}
	for i, n := range nodes {
		if _, dup := index[n.ID]; !dup {
			index[n.ID] = i
		}
	}
	parent := func(i int) (int, bool) {
		n := nodes[i]
		if n.Parent == nil || *n.Parent == n.ID {
			return 0, false
		}
		p, ok := index[*n.Parent]
		return p, ok
	}
	children := map[int][]int{}
	var roots []int
	for i := range nodes {
		if index[nodes[i].ID] != i {
			continue // a repeated ID: the first one stands
		}
		if p, ok := parent(i); ok {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
	}
	var keep map[int]bool // nil: keep everything
	if limit > 0 && len(nodes) > limit {
		keep = map[int]bool{}
		for i, n := range nodes {
			if !n.Selected {
				continue
			}
			var path []int
			for j, ok := i, true; ok && !keep[j] && len(path) <= len(nodes); j, ok = parent(j) {
				path = append(path, j)
			}
			for k := len(path) - 1; k >= 0 && len(keep) < limit; k-- {
				keep[path[k]] = true
			}
		}
		for layer := roots; len(layer) > 0 && len(keep) < limit; {
			var next []int
			for _, i := range layer {
				if len(keep) == limit {
					break
				}
				keep[i] = true
				next = append(next, children[i]...)
			}
			layer = next
		}
	}
	var out []TreeNode
	visited := map[int]bool{}
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if visited[i] || (keep != nil && !keep[i]) {
			return
		}
		visited[i] = true
		out = append(out, TreeNode{Node: nodes[i], Depth: depth})
		for _, c := range children[i] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out, len(nodes) - len(out)
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + " …"
}
