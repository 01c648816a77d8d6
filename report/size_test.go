package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// memSource is a Source held in memory, so a bench-sized fixture needs no
// SQLite writes.
type memSource struct {
	runs    []store.Run
	results map[string][]store.Result
}

func (m *memSource) Runs(context.Context) ([]store.Run, error) { return m.runs, nil }

func (m *memSource) Run(_ context.Context, id string) (store.Run, bool, error) {
	for _, r := range m.runs {
		if r.ID == id {
			return r, true, nil
		}
	}
	return store.Run{}, false, nil
}

func (m *memSource) Results(_ context.Context, id string) ([]store.Result, error) {
	return m.results[id], nil
}

// benchSource is shaped like the default bench (200 synth questions, 40 per
// level) with nine runs, one of them a tree search, and texts of the length
// the shipped model writes, so the page size measured on it is the one a
// user gets.
func benchSource(t testing.TB) *memSource {
	t.Helper()
	const questions = 200
	rng := rand.New(rand.NewPCG(1, 2))
	step := func() string {
		a, b := rng.IntN(90)+10, rng.IntN(90)+10
		return fmt.Sprintf("Lea has %d more stickers than Tom, so Lea = %d + %d = %d.", b, a, b, a+b)
	}
	solution := func(ans string) string {
		var parts []string
		for range 4 {
			parts = append(parts, step())
		}
		return strings.Join(parts, "\n") + "\n#### " + ans
	}
	type spec struct {
		strategy string
		n        int
		acc      float64
		tree     bool
	}
	specs := []spec{
		{"direct", 1, 0.3, false}, {"greedy", 1, 0.45, false},
		{"self-consistency", 4, 0.5, false}, {"self-consistency", 16, 0.6, false},
		{"best-of-n", 4, 0.5, false}, {"best-of-n", 16, 0.55, false},
		{"weighted-vote", 4, 0.52, false}, {"weighted-vote", 16, 0.62, false},
		{"beam", 16, 0.6, true},
	}
	m := &memSource{results: map[string][]store.Result{}}
	for i, s := range specs {
		cfg := run.Config{Model: "pareto-synth-policy", Dataset: "synth", Strategy: s.strategy,
			Options: strategy.Options{N: s.n, Temperature: 0.7, MaxTokens: 160}, Seeds: 1}
		for q := range questions {
			cfg.QuestionIDs = append(cfg.QuestionIDs, fmt.Sprintf("synth-%04d", q))
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		id := cfg.ID()
		m.runs = append(m.runs, store.Run{ID: id, CreatedAt: time.Unix(int64(i), 0), Model: cfg.Model, Dataset: cfg.Dataset,
			Strategy: cfg.Strategy, Config: raw, Questions: questions, Seeds: 1})
		for q := range questions {
			gold := fmt.Sprint(100 + q)
			correct := rng.Float64() < s.acc
			pred := gold
			if !correct {
				pred = fmt.Sprint(rng.IntN(500))
			}
			res := strategy.Result{Answer: pred, Output: solution(pred)}
			for c := range s.n {
				ans := pred
				if c%3 == 2 {
					ans = fmt.Sprint(rng.IntN(500))
				}
				sc := rng.Float64()
				res.Candidates = append(res.Candidates, strategy.Candidate{Text: solution(ans), Answer: ans, Score: &sc})
			}
			if s.tree {
				res.Tree = benchTree(rng, step, pred, gold)
			}
			u := pareto.Usage{Calls: s.n, PromptTokens: 60, CompletionTokens: 90 * s.n, DecodeFLOPs: 4e8 * float64(s.n)}
			res.Usage = u
			detail, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			m.results[id] = append(m.results[id], store.Result{RunID: id, QuestionID: fmt.Sprintf("synth-%04d", q), Position: q,
				Level: q/40 + 1, Correct: correct, Predicted: pred, Gold: gold, Detail: detail, Usage: u,
				Wall: time.Duration(s.n) * 40 * time.Millisecond})
		}
	}
	return m
}

// benchTree is a beam search of width 4 keeping 4 of 16 nodes per step for
// five steps: 84 nodes, the last layer finished.
func benchTree(rng *rand.Rand, step func() string, pred, gold string) []strategy.Node {
	var nodes []strategy.Node
	add := func(parent *int, text string) int {
		id := len(nodes)
		sc := rng.Float64()
		nodes = append(nodes, strategy.Node{ID: id, Parent: parent, Text: text, Score: &sc})
		return id
	}
	root := 0
	nodes = append(nodes, strategy.Node{ID: 0, Children: 4})
	live := []int{root}
	for depth := range 5 {
		var next []int
		for _, p := range live {
			nodes[p].Children = 16 / len(live)
			for range 16 / len(live) {
				p := p
				next = append(next, add(&p, step()))
			}
		}
		if depth == 4 {
			for k, id := range next {
				nodes[id].Finished = true
				nodes[id].Answer = pred
				if k%2 == 1 {
					nodes[id].Answer = gold
				}
			}
			break
		}
		for _, id := range next[4:] {
			nodes[id].Pruned = true
		}
		live = next[:4]
	}
	for id := len(nodes) - 1; ; {
		nodes[id].Selected = true
		if nodes[id].Parent == nil {
			break
		}
		id = *nodes[id].Parent
	}
	return nodes
}

// TestPageSizeBound keeps the page of a default-bench-sized report small
// enough to open: it was 2.6 MB before the drill-down was capped.
func TestPageSizeBound(t *testing.T) {
	d, err := Build(context.Background(), benchSource(t), nil, Budget{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	t.Logf("page of 200 questions x 9 runs: %d bytes", len(page))
	const bound = 1 << 20 // 8.8 MB before the cap
	if len(page) > bound {
		t.Errorf("page is %d bytes, want at most %d", len(page), bound)
	}
	// Every question is still in the table; some have their drill-down and
	// the page says the rest are left out.
	table := regexp.MustCompile(`(?s)<table class="sortable matrix">.*?</table>`).FindString(page)
	if n := strings.Count(table, "<tr>"); n != 201 {
		t.Errorf("question table has %d rows, want a heading and all 200 questions", n)
	}
	details := strings.Count(page, `<details class="q"`)
	if details < 5 || details > maxDetailQuestions {
		t.Errorf("%d questions drilled into, want 5 to %d", details, maxDetailQuestions)
	}
	if !strings.Contains(page, fmt.Sprintf("(%d left out;", 200-details)) || strings.Count(page, `<a href="#g1-q`) != details {
		t.Error("the page does not say which questions are left out of the drill-down")
	}
}

// TestDrillDownPicksDisagreements gives the drill-down room for one
// question: it must be the one the runs disagree on, not the first.
func TestDrillDownPicksDisagreements(t *testing.T) {
	ans := func(label string, correct int) Answer {
		return Answer{Label: label, Seeds: 1, Correct: correct, Output: strings.Repeat("step\n", 50)}
	}
	g := &Group{Questions: []Question{
		{ID: "easy", Answers: []Answer{ans("a", 1), ans("b", 1)}},
		{ID: "split", Answers: []Answer{ans("a", 1), ans("b", 0)}},
		{ID: "hard", Answers: []Answer{ans("a", 0), ans("b", 0)}},
	}}
	all := htmlGroup{Group: g, Anchor: "g1"}
	if err := all.drillDown(1 << 20); err != nil {
		t.Fatal(err)
	}
	if len(all.Details) != 3 || all.Left != 0 || all.Columns[1].Label != "b" {
		t.Fatalf("with room: %d details, %d left, columns %v", len(all.Details), all.Left, all.Columns)
	}
	one := htmlGroup{Group: g, Anchor: "g1"}
	if err := one.drillDown(len(all.Details[1])); err != nil {
		t.Fatal(err)
	}
	if len(one.Details) != 1 || !strings.Contains(string(one.Details[0]), "<b>split</b>") || one.Left != 2 {
		t.Fatalf("room for one: got %d details, %d left: %.80s", len(one.Details), one.Left, one.Details)
	}
	if one.Rows[1].Link != "g1-q2" || one.Rows[0].Link != "" {
		t.Errorf("links %q %q, want only the split question linked", one.Rows[0].Link, one.Rows[1].Link)
	}
}
