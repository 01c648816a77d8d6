package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// thinkingServer is a completions server whose model thinks for 10
// tokens ("t" each) and ends its thought, or stops at max_tokens; asked to
// answer (any request not stopped at </think>) it writes "#### 4" in 3
// tokens. It counts the requests it answered.
func thinkingServer(t *testing.T) (url string, calls *atomic.Int64) {
	calls = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/models") {
			w.Write([]byte(`{"object":"list","data":[{"id":"m","object":"model"}]}`))
			return
		}
		calls.Add(1)
		var body struct {
			Prompt    string   `json:"prompt"`
			MaxTokens int      `json:"max_tokens"`
			Stop      []string `json:"stop"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		text, n, finish := "#### 4", 3, "stop"
		if len(body.Stop) == 1 && body.Stop[0] == "</think>" {
			n = 10
			if body.MaxTokens > 0 && body.MaxTokens <= n {
				n, finish = body.MaxTokens, "length"
			}
			text = strings.Repeat("t", n)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"text_completion","model":"m","choices":[{"index":0,"text":%q,"finish_reason":%q}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
			text, finish, len(body.Prompt)/4, n, len(body.Prompt)/4+n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", calls
}

// Budget forcing end to end on a server: the thought is hidden and kept
// to the budget, the minimum is met by waiting, the answer is graded, the
// budget is part of the run's identity, and a re-run is answered from the
// cache call by call.
func TestRunThinkBudget(t *testing.T) {
	url, calls := thinkingServer(t)
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n"+`{"question":"What is 3+1?","answer":"4"}`+"\n")
	db := filepath.Join(t.TempDir(), "runs.db")
	args := func(extra ...string) []string {
		return append([]string{"run", "--backend-url", url, "--model", "m", "--dataset", data, "--format", "number",
			"--strategy", "greedy", "--store", db, "--json"}, extra...)
	}
	six, _ := summary(t, args("--think-budget", "6")...)
	if six.Accuracy != 1 || six.Tokens.Hidden != 2*6 || six.Tokens.Completion != 2*3 || six.Calls != 2*2 || calls.Load() != 4 {
		t.Fatalf("--think-budget 6: accuracy %.2f, %+v, %d calls (server %d)", six.Accuracy, six.Tokens, six.Calls, calls.Load())
	}
	if six.Think == nil || six.Think.Budget != 6 {
		t.Errorf("the summary does not name the budget: %+v", six.Think)
	}
	again, _ := summary(t, args("--think-budget", "6")...)
	if again.RunID != six.RunID || calls.Load() != 4 {
		t.Errorf("the same run again: id %s (first %s), %d server calls in all, want 4", again.RunID, six.RunID, calls.Load())
	}
	eight, _ := summary(t, args("--think-budget", "8")...)
	if eight.RunID == six.RunID || eight.Tokens.Hidden != 2*8 {
		t.Errorf("--think-budget 8: run %s (6's was %s), %d hidden tokens", eight.RunID, six.RunID, eight.Tokens.Hidden)
	}
	// The model ends its thought after 10 tokens; told to wait it thinks
	// 10 more, cut at the budget's 15.
	before := calls.Load()
	waited, _ := summary(t, args("--think-budget", "15", "--think-min", "12")...)
	if waited.Tokens.Hidden != 2*15 || calls.Load()-before != 2*3 {
		t.Errorf("--think-min 12: %d hidden tokens, %d calls", waited.Tokens.Hidden, calls.Load()-before)
	}
	// A budget of zero: no thought, one call a question, a run of its own.
	before = calls.Load()
	zero, _ := summary(t, args("--think-budget", "0")...)
	if zero.Tokens.Hidden != 0 || calls.Load()-before != 2 || zero.Think == nil || !zero.Think.NoThought || zero.Accuracy != 1 {
		t.Errorf("--think-budget 0: %d hidden tokens, %d calls, think %+v, accuracy %.2f", zero.Tokens.Hidden, calls.Load()-before, zero.Think, zero.Accuracy)
	}
	plain, _ := summary(t, args()...)
	if plain.Think != nil || plain.Tokens.Hidden != 0 {
		t.Errorf("a run without reasoning options: think %+v, %d hidden tokens", plain.Think, plain.Tokens.Hidden)
	}

	// The reasoning text is stored only when asked for.
	for _, show := range []bool{false, true} {
		db := filepath.Join(t.TempDir(), "runs.db")
		a := append(args("--think-budget", "6"), "--store", db)
		if show {
			a = append(a, "--show-reasoning")
		}
		s, _ := summary(t, a...)
		cands := storedCandidates(t, db, s.RunID)
		if len(cands) != 2 {
			t.Fatalf("%d candidates stored", len(cands))
		}
		for _, c := range cands {
			if want := map[bool]string{true: "tttttt"}[show]; c.Reasoning != want {
				t.Errorf("--show-reasoning=%v: stored reasoning %q, want %q", show, c.Reasoning, want)
			}
		}
	}
}

// storedCandidates are the candidates of every stored result of a run.
func storedCandidates(t *testing.T, path, runID string) []strategy.Candidate {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Results(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var out []strategy.Candidate
	for _, r := range res {
		var d strategy.Result
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.Candidates...)
	}
	return out
}

// Budget forcing on the embedded engine, the shipped policy standing in
// for a thinking model: its solution is the thought.
func TestRunThinkBudgetEmbedded(t *testing.T) {
	s, _ := summary(t, "run", "--dataset", "synth", "--limit", "2", "--strategy", "greedy", "--max-tokens", "40",
		"--think-budget", "16", "--think-min", "8", "--think-open", "", "--think-cue", `\n`,
		"--store", filepath.Join(t.TempDir(), "runs.db"), "--json")
	if s.Answered != 2 || s.Tokens.Hidden < 2*8 || s.Tokens.Hidden > 2*16 || s.Calls < 4 {
		t.Errorf("summary %+v", s)
	}
}

func TestThinkFlagsRefuseBadInput(t *testing.T) {
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n")
	db := filepath.Join(t.TempDir(), "runs.db")
	server := []string{"--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--format", "number", "--store", db}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"negative budget", []string{"run", "--think-budget", "-1"}, []string{"--think-budget must not be negative"}},
		{"a minimum with no thought", []string{"run", "--think-budget", "0", "--think-min", "3"}, []string{"--think-min 3 with --think-budget 0"}},
		{"negative minimum", []string{"run", "--think-min", "-3"}, []string{"--think-min must not be negative"}},
		{"minimum beyond the budget", []string{"bench", "--think-budget", "4", "--think-min", "5"}, []string{"--think-min 5 exceeds --think-budget 4"}},
		{"no end marker", []string{"run", "--think-budget", "4", "--think-close", ""}, []string{"--think-close"}},
		{"a minimum inside the answer", []string{"run", "--think-inline", "--think-budget", "8", "--think-min", "4"}, []string{"--think-min 4 with --think-inline"}},
		{"a minimum on the shipped thinker, which thinks inline", []string{"run", "--model", "pareto-synth-thinker", "--think-budget", "8", "--think-min", "4"}, []string{"--think-min 4 with --think-inline", "--think-inline=false"}},
		{"inline with no start marker", []string{"run", "--think-inline", "--think-budget", "8", "--think-open", ""}, []string{"--think-open must not be empty with --think-inline"}},
		{"budget on a chat server that cannot continue", append([]string{"run", "--chat", "--think-budget", "64"}, server...),
			[]string{"--continue-final-message", "--chat=false", "Ollama", "127.0.0.1"}},
		{"continuing without chat", append([]string{"run", "--continue-final-message", "--think-budget", "64"}, server...), []string{"--continue-final-message is for a --chat server"}},
		{"unknown effort", append([]string{"run", "--chat", "--reasoning-effort", "extreme"}, server...), []string{"--reasoning-effort", `"extreme"`}},
		{"effort on completions", append([]string{"run", "--reasoning-effort", "low"}, server...), []string{"--reasoning-effort", "--chat"}},
		{"effort on the embedded engine", []string{"bench", "--reasoning-effort", "high"}, []string{"--reasoning-effort", "--chat"}},
	} {
		_, err := execute(t, c.args...)
		for _, want := range c.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, want)
			}
		}
	}
}

// A tree search under a budget thinks once per question at its root (the
// default) or before every step (--think-at step), and the two are
// different runs.
func TestRunThinkAtRootOrStep(t *testing.T) {
	url, calls := thinkingServer(t)
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n")
	db := filepath.Join(t.TempDir(), "runs.db")
	args := func(extra ...string) []string {
		return append([]string{"run", "--backend-url", url, "--model", "m", "--dataset", data, "--format", "number",
			"--strategy", "rebase", "--n", "3", "--scorer", "http", "--scorer-url", stepScorer(t), "--store", db, "--json", "--think-budget", "6"}, extra...)
	}
	root, _ := summary(t, args()...)
	rootCalls := calls.Load()
	if root.Tokens.Hidden != 6 || root.Accuracy != 1 {
		t.Fatalf("root: %d hidden tokens, accuracy %.2f; want one thought of 6", root.Tokens.Hidden, root.Accuracy)
	}
	step, _ := summary(t, args("--think-at", "step")...)
	stepCalls := calls.Load() - rootCalls
	if step.RunID == root.RunID || step.Tokens.Hidden != 6*3 || stepCalls != 2*3 {
		t.Fatalf("step: run %s (root's %s), %d hidden tokens, %d server calls; want a thought before each of the 3 children", step.RunID, root.RunID, step.Tokens.Hidden, stepCalls)
	}
	if _, err := execute(t, args("--think-at", "leaf")...); err == nil || !strings.Contains(err.Error(), "--think-at") {
		t.Fatalf("--think-at leaf: %v", err)
	}
}

// stepScorer is a generic http scorer that rates every step 0.5.
func stepScorer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Steps []string `json:"steps"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		scores := make([]float64, len(body.Steps))
		for i := range scores {
			scores[i] = 0.5
		}
		json.NewEncoder(w).Encode(map[string]any{"scores": scores})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The paper suite runs its six settings, the reasoning ones thinking, and
// prints them beside the study's figures.
func TestBenchSuitePaper(t *testing.T) {
	url, _ := thinkingServer(t)
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n"+`{"question":"What is 3+1?","answer":"4"}`+"\n")
	db := filepath.Join(t.TempDir(), "runs.db")
	args := []string{"bench", "--suite", "paper", "--backend-url", url, "--model", "m", "--dataset", data, "--format", "number",
		"--scorer", "http", "--scorer-url", stepScorer(t), "--store", db, "--seeds", "2", "--report", filepath.Join(t.TempDir(), "r.html")}
	out, err := execute(t, append(args, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var rows []suiteRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rows) != len(paperSuite) {
		t.Fatalf("%d rows, want %d", len(rows), len(paperSuite))
	}
	for i, r := range rows {
		a := paperSuite[i]
		if r.Setting != a.Setting || r.Study != a.Study || r.Row.Seeds != 2 || r.Row.Questions != 2 || r.Row.FLOPsPerQ < 0 {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	text, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"study: acc %", "REBASE width 16", "think<=256", "most accurate:", "REBASE width 3 + reasoning:"} {
		if !strings.Contains(text, want) {
			t.Errorf("suite table lacks %q:\n%s", want, text)
		}
	}
	if _, err := execute(t, append(args, "--strategies", "greedy")...); err == nil || !strings.Contains(err.Error(), "drop --strategies") {
		t.Errorf("--suite with --strategies: %v", err)
	}
}
