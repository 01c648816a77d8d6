package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/randmodel/randmodeltest"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// execute runs the command tree in-process.
func execute(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--quiet"))
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}

// summary runs the command with args, which ask for --json, and returns
// the run summary it prints, decoded and as printed.
func summary(t *testing.T, args ...string) (run.Summary, string) {
	t.Helper()
	out, err := execute(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var s run.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return s, out
}

// fakeServer is an OpenAI-compatible server that always answers "#### 4".
func fakeServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/models") {
			w.Write([]byte(`{"object":"list","data":[{"id":"m","object":"model"}]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","object":"text_completion","model":"m","choices":[{"index":0,"text":" 2+2=4\n#### 4","finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":6,"total_tokens":17}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func garbageServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/models") {
			w.Write([]byte(`{"object":"list","data":[]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`<html>this is not json`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// jsonl writes a dataset file q.jsonl.
func jsonl(t *testing.T, body string) string { return writeFile(t, "q.jsonl", body) }

func TestRunJSONAndBadInputs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "runs.db")
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n"+`{"question":"What is 3+1?","answer":"4"}`+"\n"+`{"question":"What is 1+1?","answer":"2"}`+"\n")
	s, out := summary(t, "run", "--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--format", "number",
		"--strategy", "self-consistency", "--n", "3", "--seeds", "2", "--params", "1e6", "--layers", "2", "--d-model", "32",
		"--price-in", "1", "--price-out", "2", "--store", db, "--json")
	// The fake ignores n: 3 calls per question and seed.
	if s.Answered != 6 || s.Calls != 18 || s.Tokens.Prompt != 18*11 || s.Tokens.Completion != 18*6 {
		t.Fatalf("summary %+v", s)
	}
	if s.Accuracy < 0.66 || s.Accuracy > 0.67 || s.FLOPs <= 0 || s.CostUSD <= 0 || s.AccuracyCI95[1] < s.Accuracy {
		t.Fatalf("summary figures %+v", s)
	}
	for _, field := range []string{"run_id", "model", "dataset", "strategy", "params", "questions", "seeds", "accuracy", "accuracy_std", "accuracy_ci95", "tokens", "flops", "latency_s", "wall_s", "cost_usd", "acc_per_tflop", "acc_per_s", "efficiency_score"} {
		if !strings.Contains(out, `"`+field+`"`) {
			t.Errorf("JSON lacks %q", field)
		}
	}

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"unknown strategy", []string{"run", "--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--strategy", "magic", "--store", db}, `unknown strategy "magic"`},
		{"malformed jsonl", []string{"run", "--backend-url", fakeServer(t), "--model", "m", "--dataset", jsonl(t, `{"question":"a","answer":"1"}`+"\n{oops\n"), "--store", db}, "q.jsonl:2"},
		{"missing field", []string{"run", "--backend-url", fakeServer(t), "--model", "m", "--dataset", jsonl(t, `{"question":"a"}`), "--store", db}, `q.jsonl:1: field "answer": missing`},
		{"unreachable backend", []string{"run", "--backend-url", "http://127.0.0.1:9/v1", "--model", "m", "--dataset", data, "--store", db}, "127.0.0.1:9"},
		{"garbage backend", []string{"run", "--backend-url", garbageServer(t), "--model", "m", "--dataset", data, "--format", "number", "--strategy", "greedy", "--store", db}, "malformed"},
		{"bad seeds", []string{"run", "--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--seeds", "0", "--store", db}, "--seeds"},
		{"bad grid", []string{"bench", "--backend-url", fakeServer(t), "--model", "m", "--config", writeFile(t, "grid.yaml", "grid:\n  - strategy: greedy\n    bogus: 1\n"), "--store", db}, "bogus"},
	}
	for _, c := range bad {
		_, err := execute(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "\n") > 2 {
			t.Errorf("%s: got %v, want a short error containing %q", c.name, err, c.want)
		}
	}

	// Nothing stored before the failures is lost.
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Results(context.Background(), s.RunID)
	if err != nil || len(res) != 6 {
		t.Fatalf("stored results after failures: %d, %v", len(res), err)
	}
}

func writeFile(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBenchGridTable(t *testing.T) {
	db := filepath.Join(t.TempDir(), "runs.db")
	data := jsonl(t, `{"question":"What is 2+2?","answer":"4"}`+"\n")
	grid := writeFile(t, "grid.yaml", "seeds: 1\ngrid:\n  - strategy: greedy\n  - strategy: self-consistency\n    n: [2, 4]\n")
	rep := filepath.Join(t.TempDir(), "report.md")
	out, err := execute(t, "bench", "--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--format", "number", "--config", grid, "--store", db, "--report", rep)
	if err != nil {
		t.Fatal(err)
	}
	if md, err := os.ReadFile(rep); err != nil || !strings.Contains(string(md), "self-consistency") {
		t.Fatalf("bench report: %v\n%s", err, md)
	}
	if strings.Count(out, "self-consistency") != 2 || !strings.Contains(out, "greedy") || !strings.Contains(out, "100.0%") {
		t.Fatalf("table:\n%s", out)
	}
	out, err = execute(t, "bench", "--backend-url", fakeServer(t), "--model", "m", "--dataset", data, "--format", "number", "--strategies", "greedy,self-consistency", "--budgets", "2,3", "--store", db, "--report", "", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 3 {
		t.Fatalf("bench --json printed %d lines, want 3:\n%s", lines, out)
	}
}

func TestRunEmbeddedEngine(t *testing.T) {
	cfg := randmodel.Small()
	cfg.DModel, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.FFN = 64, 2, 4, 2, 128
	model := randmodeltest.Write(t, "m.gguf", cfg)
	s, _ := summary(t, "run", "--model", model, "--dataset", "synth", "--limit", "3", "--strategy", "self-consistency",
		"--n", "4", "--max-tokens", "8", "--store", filepath.Join(t.TempDir(), "r.db"), "--json")
	if s.Answered != 3 || s.Tokens.Completion == 0 || s.Tokens.Completion > 3*4*8 || s.PrefillFLOPs <= 0 || s.DecodeFLOPs <= 0 || !strings.HasPrefix(s.Model, "embedded:m@") {
		t.Fatalf("embedded run summary %+v", s)
	}
	// Four samples of one prompt are one engine call that reads the prompt
	// once.
	if s.Calls != 3 || s.Tokens.Prompt == 0 {
		t.Fatalf("calls %d, prompt tokens %d", s.Calls, s.Tokens.Prompt)
	}
}

// On the embedded backend best-of-n scores with the shipped PRM by default,
// and on synth the run reports how well it ranks the verifier's steps.
func TestBestOfNUsesTheShippedPRM(t *testing.T) {
	dir := t.TempDir()
	s, _ := summary(t, "run", "--dataset", "synth", "--per-level", "2", "--strategy", "best-of-n",
		"--n", "4", "--max-tokens", "160", "--store", filepath.Join(dir, "r.db"), "--json")
	if s.Answered != 10 || s.StepsLabelled == 0 || s.StepAUROC <= 0.5 {
		t.Fatalf("best-of-n summary %+v: want scored, labelled steps ranked better than chance", s)
	}
	// The PRM's forward passes are part of the run's compute: one call per
	// distinct candidate (identical samples are scored once) on top of the
	// one generation call per question.
	st, err := store.Open(t.Context(), filepath.Join(dir, "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	results, err := st.Results(t.Context(), s.RunID)
	if err != nil {
		t.Fatal(err)
	}
	distinct := 0
	for _, r := range results {
		var res strategy.Result
		if err := json.Unmarshal(r.Detail, &res); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range res.Candidates {
			seen[strings.Join(step.Split(c.Text), "\n")] = true
		}
		distinct += len(seen)
	}
	if s.Calls != 10+distinct || distinct < 10 {
		t.Errorf("calls = %d, want 10 generations + %d PRM scorings of distinct candidates", s.Calls, distinct)
	}
	if _, err := execute(t, "run", "--dataset", "synth", "--limit", "1", "--strategy", "best-of-n", "--scorer", "bogus",
		"--store", filepath.Join(dir, "r.db")); err == nil || !strings.Contains(err.Error(), `--scorer: unknown scorer "bogus"`) {
		t.Errorf("bad --scorer error = %v", err)
	}
}

func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	if out, err := execute(t, "list", "--cpuprofile", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no profile written: %v", err)
	}
	if _, err := execute(t, "list", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "p")); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Fatalf("an unwritable profile: %v", err)
	}
}
