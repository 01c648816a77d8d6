package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// Trace is one run's work on one question under one seed: the search tree
// when the strategy searched, else its candidates. `pareto trace` prints it.
type Trace struct {
	Run    store.Run
	Result store.Result
	// Format is the answer format the tree's answers were graded under.
	Format     string
	Tree       []TreeNode // depth first, every node
	Candidates []strategy.Candidate
	Votes      []strategy.Vote
}

// maxTraceText is the runes of a step or candidate on one line of a trace.
const maxTraceText = 100

// LoadTrace reads the result of run runID (an ID or a unique prefix of one)
// on question questionID under seed, or under the run's first seed when
// seed is nil.
func LoadTrace(ctx context.Context, st Source, runID, questionID string, seed *int64) (*Trace, error) {
	run, err := findRun(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	results, err := st.Results(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	var ids []string
	var seeds []int64
	found := -1
	for i, r := range results {
		if !slices.Contains(ids, r.QuestionID) {
			ids = append(ids, r.QuestionID)
		}
		if r.QuestionID != questionID {
			continue
		}
		seeds = append(seeds, r.Seed)
		if (seed == nil || r.Seed == *seed) && (found < 0 || r.Seed < results[found].Seed) {
			found = i
		}
	}
	switch {
	case len(seeds) == 0 && len(ids) == 0:
		return nil, fmt.Errorf("trace: run %s has no results yet", run.ID)
	case len(seeds) == 0:
		more := ""
		if len(ids) > 5 {
			ids, more = ids[:5], ", …"
		}
		return nil, fmt.Errorf("trace: question %q is not in run %s (its questions: %s%s)", questionID, run.ID, strings.Join(ids, ", "), more)
	case found < 0:
		return nil, fmt.Errorf("trace: run %s has no result for question %q under seed %d (seeds: %s)", run.ID, questionID, *seed, strings.Trim(fmt.Sprint(seeds), "[]"))
	}
	r := results[found]
	d, err := readDetail(r.Detail)
	if err != nil {
		return nil, fmt.Errorf("trace: run %s seed %d question %s: detail: %w", run.ID, r.Seed, r.QuestionID, err)
	}
	t := &Trace{Run: run, Result: r, Format: gradeFormat(run.Dataset, results)}
	if d != nil {
		t.Tree, _ = treeOrder(d.Tree, 0)
		gradeTree(t.Tree, r, t.Format)
		t.Candidates, t.Votes = d.Candidates, d.Votes
	}
	return t, nil
}

// findRun returns the run with the given ID, or the only one it prefixes.
func findRun(ctx context.Context, st Source, id string) (store.Run, error) {
	if id == "" {
		return store.Run{}, fmt.Errorf("trace: no run ID given")
	}
	r, ok, err := st.Run(ctx, id)
	if err != nil {
		return store.Run{}, fmt.Errorf("trace: %w", err)
	}
	if ok {
		return r, nil
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		return store.Run{}, fmt.Errorf("trace: %w", err)
	}
	var match []store.Run
	for _, r := range runs {
		if strings.HasPrefix(r.ID, id) {
			match = append(match, r)
		}
	}
	switch len(match) {
	case 0:
		return store.Run{}, fmt.Errorf("trace: no run %s in the store (it holds %d runs; `pareto report` lists them)", id, len(runs))
	case 1:
		return match[0], nil
	}
	return store.Run{}, fmt.Errorf("trace: %d runs start with %s; give more of the ID", len(match), id)
}

// WriteText prints the trace: a header with the verdict, then the tree
// indented depth first, each node with its score, the children the search
// gave it, whether it was pruned or finished, its answer and its step, the
// winning path marked with *. Without a tree it lists the candidates.
func (t *Trace) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	r := t.Result
	p("run %s: %s on %s, model %s\n", t.Run.ID, t.Run.Strategy, t.Run.Dataset, t.Run.Model)
	p("question %s", r.QuestionID)
	if r.Level > 0 {
		p(" (level %d)", r.Level)
	}
	p(", seed %d: answer %q, gold %q, %s\n", r.Seed, r.Predicted, r.Gold, verdict(r.Correct))
	if len(t.Tree) == 0 {
		p("no search tree: %s does not search step by step.\n", t.Run.Strategy)
		t.writeCandidates(p)
		return flush(bw)
	}
	var finished, pruned int
	for _, n := range t.Tree {
		if n.Finished {
			finished++
		}
		if n.Pruned {
			pruned++
		}
	}
	p("search tree: %d nodes, %d finished, %d pruned; * marks the winning path\n\n", len(t.Tree), finished, pruned)
	for _, n := range t.Tree {
		mark := "-"
		if n.Selected {
			mark = "*"
		}
		parts := nodeFacts([]string{fmt.Sprintf("%s%s #%d", strings.Repeat("  ", n.Depth), mark, n.ID)}, n)
		if s := oneLine(n.Text, maxTraceText); s != "" {
			parts = append(parts, fmt.Sprintf("%q", s))
		}
		p("%s\n", strings.Join(parts, "  "))
	}
	return flush(bw)
}

// writeCandidates lists the candidates, marking those with the chosen
// answer, and the votes.
func (t *Trace) writeCandidates(p func(string, ...any)) {
	if len(t.Candidates) == 0 {
		p("no candidates recorded.\n")
		return
	}
	p("%d candidate(s); * marks those with the chosen answer\n\n", len(t.Candidates))
	for i, c := range t.Candidates {
		mark := "-"
		if c.Answer != "" && c.Answer == t.Result.Predicted {
			mark = "*"
		}
		parts := []string{fmt.Sprintf("%s #%d", mark, i)}
		if c.Score != nil {
			parts = append(parts, fmt.Sprintf("score %.3f", *c.Score))
		}
		parts = append(parts, fmt.Sprintf("answer %q", c.Answer), fmt.Sprintf("%q", oneLine(c.Text, maxTraceText)))
		p("%s\n", strings.Join(parts, "  "))
	}
	if len(t.Votes) > 0 {
		var vs []string
		for _, v := range t.Votes {
			s := fmt.Sprintf("%q×%d", v.Answer, v.Count)
			if v.Weight != 0 {
				s += fmt.Sprintf(" (%.3f)", v.Weight)
			}
			vs = append(vs, s)
		}
		p("\nvotes: %s\n", strings.Join(vs, ", "))
	}
}

func verdict(right bool) string {
	if right {
		return "right"
	}
	return "wrong"
}

// answerVerdict is an answer with its grade, where there is one.
func answerVerdict(answer string, right *bool) string {
	if right == nil {
		return fmt.Sprintf("%q", answer)
	}
	return fmt.Sprintf("%q (%s)", answer, verdict(*right))
}

// oneLine joins s's lines and shortens it, for a line of a trace.
func oneLine(s string, n int) string {
	return shorten(strings.Join(strings.Fields(s), " "), n)
}

func flush(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}
