//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// shippedPolicy loads the shipped policy into the shared Ollama server and
// returns the server and the model's file.
func shippedPolicy(t *testing.T) (*ollamatest.Server, string) {
	t.Helper()
	srv := ollamatest.Shared(t)
	return srv, srv.CreateShipped(t, models.Default)
}

// Each tree search runs end to end against a real server, with the token
// totals the server reported, call for call: Ollama, which ignores n and
// names no stop string, and pareto serve.
func TestSearchAgainstOllama(t *testing.T) {
	srv, path := shippedPolicy(t)
	s := searchAgainst(t, srv.Host, path)
	// Ollama reports no cached prompt tokens: every call says so.
	if s.CacheUnreported != s.Calls {
		t.Errorf("%d of %d calls marked without a cache report", s.CacheUnreported, s.Calls)
	}
}

func TestSearchAgainstParetoServe(t *testing.T) {
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	s := searchAgainst(t, startServe(t, "--model", models.Default), path)
	// pareto serve reports the prompt tokens its prefix cache served, and
	// a search's expansions share their question's prompt.
	if s.CacheUnreported != 0 || s.Tokens.Cached == 0 || s.SavedFLOPs == 0 {
		t.Errorf("through pareto serve: %d calls without a cache report, %d cached tokens, %g FLOPs saved", s.CacheUnreported, s.Tokens.Cached, s.SavedFLOPs)
	}
}

// searchAgainst runs each tree search on 2 synth problems against the
// OpenAI-compatible server at host, serving the shipped policy as
// models.Default, through a proxy that sums the server's usage; it returns
// the last run's summary. Each search has a store of its own, so that no
// call is served from another's generation cache.
func searchAgainst(t *testing.T, host, policy string) run.Summary {
	t.Helper()
	var proxy usageProxy
	base := proxy.start(t, host)
	var s run.Summary
	for _, name := range []string{"beam", "dvts", "rebase", "particle-filter"} {
		proxy.mu.Lock()
		calls, prompt, completed := proxy.calls, proxy.prompt, proxy.completed
		proxy.mu.Unlock()
		s = paretoJSON(t, "run", "--backend-url", base, "--model", models.Default, "--arch-gguf", policy,
			"--dataset", "synth", "--limit", "2", "--strategy", name, "--n", "4", "--width", "2",
			"--scorer", "oracle", "--max-tokens", "160", "--store", filepath.Join(t.TempDir(), name+".db"), "--json")
		proxy.mu.Lock()
		calls, prompt, completed = proxy.calls-calls, proxy.prompt-prompt, proxy.completed-completed
		proxy.mu.Unlock()
		if s.Answered != 2 || s.Accuracy < 0.5 {
			t.Errorf("%s: answered %d, accuracy %.2f: want 2 problems, one solved at least with the oracle's guidance", name, s.Answered, s.Accuracy)
		}
		if s.Calls != calls || s.Tokens.Prompt != prompt || s.Tokens.Completion+s.Tokens.Hidden != completed {
			t.Errorf("%s: pareto counted %d calls, %d prompt and %d completion tokens; the server %d, %d and %d",
				name, s.Calls, s.Tokens.Prompt, s.Tokens.Completion+s.Tokens.Hidden, calls, prompt, completed)
		}
		if s.PrefillFLOPs <= 0 || s.DecodeFLOPs <= 0 {
			t.Errorf("%s: no FLOPs counted: %+v", name, s)
		}
		t.Logf("%s: accuracy %.2f, %d calls, %.0f tokens a question", name, s.Accuracy, s.Calls, s.PerQuestion.Tokens)
	}
	return s
}

// startServe starts `pareto serve` with args on a free loopback port and
// returns its host:port once it answers.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	host := freeAddr(t)
	cmd := exec.Command(paretoBin(t), append([]string{"serve", "--addr", host}, args...)...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + host + "/v1/models"); err == nil {
			resp.Body.Close()
			return host
		}
	}
	t.Fatalf("pareto serve did not answer on %s within a minute:\n%s", host, log.String())
	return ""
}

// A search whose PRM is remote, served by `pareto serve` on its /pooling
// endpoint, scores as the same PRM in process: rebase on 2 synth problems,
// the policy on the embedded engine, gives the same answers and, node for
// node, the same scores within the engine's rounding (about 1e-5, see
// serve's TestPoolingThroughServeMatchesPRM); and the server did the
// scoring, its prompt tokens counted in the run's.
func TestSearchWithPRMThroughParetoServe(t *testing.T) {
	var proxy usageProxy
	base := proxy.start(t, startServe(t, "--model", models.DefaultPRM))
	dir := t.TempDir()
	search := func(db string, scorer ...string) (run.Summary, map[string]store.Result) {
		args := append([]string{"run", "--dataset", "synth", "--limit", "2", "--strategy", "rebase", "--n", "4",
			"--max-tokens", "160", "--store", filepath.Join(dir, db), "--json"}, scorer...)
		s := paretoJSON(t, args...)
		if s.Answered != 2 {
			t.Fatalf("--scorer %s: answered %d of 2", scorer[1], s.Answered)
		}
		return s, results(t, filepath.Join(dir, db), s.RunID)
	}
	remote, remoteRes := search("remote.db", "--scorer", "pooling", "--scorer-url", base, "--scorer-model", models.DefaultPRM)
	proxy.mu.Lock()
	calls, prompt := proxy.calls, proxy.prompt
	proxy.mu.Unlock()
	if calls == 0 || prompt == 0 || remote.Tokens.Prompt <= prompt {
		t.Errorf("the server scored %d calls of %d prompt tokens; the run counted %d prompt tokens in all",
			calls, prompt, remote.Tokens.Prompt)
	}
	local, localRes := search("local.db", "--scorer", "prm")
	if remote.Accuracy != local.Accuracy {
		t.Errorf("accuracy %.2f with the PRM through pareto serve, %.2f in process", remote.Accuracy, local.Accuracy)
	}
	if len(remoteRes) != 2 {
		t.Fatalf("%d results stored of the run through pareto serve, want 2", len(remoteRes))
	}
	var worst float64 // the largest difference of a score
	for id, r := range remoteRes {
		l, ok := localRes[id]
		if !ok || r.Predicted != l.Predicted {
			t.Errorf("question %s: answer %q through pareto serve, %q in process", id, r.Predicted, l.Predicted)
			continue
		}
		rc, lc := candidates(t, r), candidates(t, l)
		if len(rc) != len(lc) {
			t.Errorf("question %s: %d solutions through pareto serve, %d in process", id, len(rc), len(lc))
			continue
		}
		for i := range rc {
			if rc[i].Text != lc[i].Text || rc[i].Score == nil || lc[i].Score == nil || math.Abs(*rc[i].Score-*lc[i].Score) > 1e-3 {
				t.Errorf("question %s solution %d: %q scored %v through pareto serve, %q scored %v in process",
					id, i, rc[i].Text, rc[i].Score, lc[i].Text, lc[i].Score)
				continue
			}
			worst = max(worst, math.Abs(*rc[i].Score-*lc[i].Score))
		}
	}
	t.Logf("rebase N=4 with the PRM through pareto serve: accuracy %.2f, %d scoring calls of %d prompt tokens; scores within %.1e of the PRM in process",
		remote.Accuracy, calls, prompt, worst)
}

// results reads a run's results from its store, by question.
func results(t *testing.T, path, runID string) map[string]store.Result {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Results(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Result{}
	for _, r := range rs {
		byID[r.QuestionID] = r
	}
	return byID
}

// candidates are the solutions a result's strategy found, with their scores.
func candidates(t *testing.T, r store.Result) []strategy.Candidate {
	t.Helper()
	var res strategy.Result
	if err := json.Unmarshal(r.Detail, &res); err != nil {
		t.Fatalf("question %s: detail: %v", r.QuestionID, err)
	}
	return res.Candidates
}
