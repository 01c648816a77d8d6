//go:build integration

package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
)

// Budget forcing against real servers, the shipped policy standing in for
// a thinking model (its solution is the thought, its end-of-sequence an
// early end of thinking): Ollama, and pareto serve.
func TestThinkBudgetAgainstOllama(t *testing.T) {
	srv, path := shippedPolicy(t)
	thinkBudgetAgainst(t, srv.Host, path)
}

func TestThinkBudgetAgainstParetoServe(t *testing.T) {
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	thinkBudgetAgainst(t, startServe(t, "--model", models.Default), path)
}

// thinkBudgetAgainst runs self-consistency with budget forcing on 5 synth
// problems against the server at host through a recording proxy, and
// checks: every sample's hidden tokens are within the budget (the forced
// marker and cue are written into the prompt, not generated, so they add
// none) and reach the minimum; and each call the run cached was charged,
// visible plus hidden, the server's completion tokens for it.
func thinkBudgetAgainst(t *testing.T, host, policy string) {
	t.Helper()
	const budget, minimum = 24, 16
	var proxy usageProxy
	base := proxy.start(t, host)
	db := filepath.Join(t.TempDir(), "runs.db")
	s := paretoJSON(t, "run", "--backend-url", base, "--model", models.Default, "--arch-gguf", policy,
		"--dataset", "synth", "--limit", "5", "--strategy", "self-consistency", "--n", "2", "--temperature", "0.7",
		"--max-tokens", "40", "--think-budget", fmt.Sprint(budget), "--think-min", fmt.Sprint(minimum),
		"--think-open", "", "--think-cue", `\n`, "--concurrency", "2", "--store", db, "--json")
	if s.Answered != 5 || s.Think == nil || s.Think.Budget != budget {
		t.Fatalf("answered %d of 5, think settings %+v", s.Answered, s.Think)
	}
	cands := storedCandidates(t, db, s.RunID)
	if len(cands) != 10 {
		t.Fatalf("%d samples stored, want 10", len(cands))
	}
	for i, c := range cands {
		if h := c.Usage.HiddenTokens; h > budget || h < minimum {
			t.Errorf("sample %d: %d hidden tokens, want between the minimum %d and the budget %d", i, h, minimum, budget)
		}
	}

	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if s.Calls != proxy.calls || s.Tokens.Prompt != proxy.prompt || s.Tokens.Completion+s.Tokens.Hidden != proxy.completed {
		t.Errorf("pareto counted %d calls, %d prompt and %d+%d generated tokens; the server %d, %d and %d",
			s.Calls, s.Tokens.Prompt, s.Tokens.Completion, s.Tokens.Hidden, proxy.calls, proxy.prompt, proxy.completed)
	}
	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT request, completions FROM generations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var reqJSON, compsJSON string
		if err := rows.Scan(&reqJSON, &compsJSON); err != nil {
			t.Fatal(err)
		}
		var req pareto.Request
		var comps []pareto.Completion
		if err := json.Unmarshal([]byte(reqJSON), &req); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(compsJSON), &comps); err != nil {
			t.Fatal(err)
		}
		server := proxy.byCall[callKey(req.Prompt, req.Seed, req.MaxTokens, req.Stop)]
		if len(server) != 1 || len(comps) != 1 {
			t.Errorf("call %q: %d completions cached, the server answered it %d times", req.Prompt, len(comps), len(server))
			continue
		}
		if u := comps[0].Usage; u.CompletionTokens+u.HiddenTokens != server[0] {
			t.Errorf("call %q: pareto counted %d visible + %d hidden tokens, the server %d", req.Prompt, u.CompletionTokens, u.HiddenTokens, server[0])
		}
		checked++
	}
	if checked != proxy.calls {
		t.Errorf("%d calls cached, the server answered %d", checked, proxy.calls)
	}
	t.Logf("%d samples, %d calls, %.1f hidden and %.1f visible tokens a sample (budget %d, minimum %d)",
		len(cands), s.Calls, float64(s.Tokens.Hidden)/10, float64(s.Tokens.Completion)/10, budget, minimum)
}
