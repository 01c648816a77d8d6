package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// traceStore writes a beam run with a tree under seeds 0 and 1 and a
// self-consistency run without one, and returns the store's path and the
// two run IDs.
func traceStore(t *testing.T) (path, beam, sc string) {
	t.Helper()
	ctx := context.Background()
	path = filepath.Join(t.TempDir(), "runs.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(strat string, n int, seed int64, res strategy.Result, correct bool) string {
		cfg := run.Config{Model: "m", Dataset: "synth", Strategy: strat, Options: strategy.Options{N: n}, Seeds: 2}
		raw, _ := json.Marshal(cfg)
		r, err := db.EnsureRun(ctx, store.Run{ID: cfg.ID(), CreatedAt: time.Unix(1, 0), Model: cfg.Model, Dataset: cfg.Dataset,
			Strategy: cfg.Strategy, Config: raw, Questions: 1, Seeds: 2})
		if err != nil {
			t.Fatal(err)
		}
		detail, _ := json.Marshal(res)
		if err := db.PutResult(ctx, store.Result{RunID: r.ID, Seed: seed, QuestionID: "q7", Position: 0, Level: 2,
			Correct: correct, Predicted: res.Answer, Gold: "38", Detail: detail}); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	zero, one := 0, 1
	s := func(v float64) *float64 { return &v }
	tree := []strategy.Node{
		{ID: 0, Children: 2, Selected: true},
		{ID: 1, Parent: &zero, Text: "Lea = 26 + 12\n= 38", Score: s(0.91), Children: 2, Selected: true},
		{ID: 2, Parent: &zero, Text: "Lea = 26 - 12 = 14", Score: s(0.12), Pruned: true},
		{ID: 3, Parent: &one, Text: "#### 38", Score: s(0.88), Answer: "38", Finished: true, Selected: true},
		{ID: 4, Parent: &one, Text: "#### 40", Score: s(0.3), Answer: "40", Finished: true},
	}
	beam = put("beam", 4, 0, strategy.Result{Answer: "38", Tree: tree}, true)
	put("beam", 4, 1, strategy.Result{Answer: "40", Tree: tree[:1]}, false)
	sc = put("self-consistency", 3, 0, strategy.Result{Answer: "38", Candidates: []strategy.Candidate{
		{Text: "26 + 12 = 38\n#### 38", Answer: "38"}, {Text: "#### 14", Answer: "14"}, {Text: "#### 38", Answer: "38"},
	}, Votes: []strategy.Vote{{Answer: "38", Count: 2}, {Answer: "14", Count: 1}}}, true)
	return path, beam, sc
}

func runTrace(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newTraceCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTraceTree(t *testing.T) {
	path, beam, _ := traceStore(t)
	out, err := runTrace(t, "--store", path, "--run", beam[:6], "--question", "q7")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], beam) || !strings.Contains(lines[0], "beam on synth") {
		t.Errorf("header %q does not name the run", lines[0])
	}
	if !strings.Contains(lines[1], `seed 0: answer "38", gold "38", right`) {
		t.Errorf("verdict line %q", lines[1])
	}
	if !strings.Contains(out, "5 nodes, 2 finished, 1 pruned") {
		t.Errorf("no tree summary in:\n%s", out)
	}
	// Depth first, indented two spaces a level, the winning path starred.
	want := []string{
		`^\* #0  2 children$`,
		`^  \* #1  score 0\.910  2 children  "Lea = 26 \+ 12 = 38"$`,
		`^    \* #3  score 0\.880  finished  answer "38" \(right\)  "#### 38"$`,
		`^    - #4  score 0\.300  finished  answer "40" \(wrong\)  "#### 40"$`,
		`^  - #2  score 0\.120  pruned  "Lea = 26 - 12 = 14"$`,
	}
	tree := lines[len(lines)-len(want):]
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(tree[i]) {
			t.Errorf("tree line %d is %q, want /%s/", i, tree[i], w)
		}
	}

	out, err = runTrace(t, "--store", path, "--run", beam, "--question", "q7", "--seed", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `seed 1: answer "40", gold "38", wrong`) || !strings.Contains(out, "1 nodes") {
		t.Errorf("--seed 1 did not pick seed 1's result:\n%s", out)
	}
}

func TestTraceCandidates(t *testing.T) {
	path, _, sc := traceStore(t)
	out, err := runTrace(t, "--store", path, "--run", sc, "--question", "q7")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"no search tree: self-consistency does not search step by step.",
		`* #0  answer "38"  "26 + 12 = 38 #### 38"`,
		`- #1  answer "14"  "#### 14"`,
		`votes: "38"×2, "14"×1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceErrors(t *testing.T) {
	path, beam, _ := traceStore(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", path, "--run", "ffffffff", "--question", "q7"}, "no run ffffffff in the store"},
		{[]string{"--store", path, "--run", beam, "--question", "q8"}, `question "q8" is not in run ` + beam + " (its questions: q7)"},
		{[]string{"--store", path, "--run", beam, "--question", "q7", "--seed", "5"}, "no result for question \"q7\" under seed 5 (seeds: 0 1)"},
		{[]string{"--store", path, "--question", "q7"}, `"run" not set`},
		{[]string{"--store", filepath.Join(t.TempDir(), "none.db"), "--run", beam, "--question", "q7"}, "none.db"},
	} {
		_, err := runTrace(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
