//go:build integration

package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/run"
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
