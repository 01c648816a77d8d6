package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchKVFlags(t *testing.T) {
	_, err := execute(t, "bench", "kv", "--scorer", "judge")
	if err == nil || !strings.Contains(err.Error(), "judge") {
		t.Fatalf("--scorer judge: %v", err)
	}
	_, err = execute(t, "bench", "kv", "--n", "2", "--question", "no-such-question")
	if err == nil || !strings.Contains(err.Error(), "no-such-question") {
		t.Fatalf("unknown question: %v", err)
	}
	_, err = execute(t, "bench", "kv", "--strategy", "no-such-strategy")
	if err == nil || !strings.Contains(err.Error(), "no-such-strategy") {
		t.Fatalf("unknown strategy: %v", err)
	}
}

// TestBenchKVJSON runs a small rebase on the longest synth prompt with the
// shipped models: the cache holds the tree, a little over the KV of its
// distinct tokens, and the report has every field.
func TestBenchKVJSON(t *testing.T) {
	// The floor is loose: a tree of 8 solutions is small enough for the
	// padding of a few blocks to weigh.
	out, err := execute(t, "bench", "kv", "--n", "8", "--floor", "1.5", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, k := range []string{"dataset", "question", "prompt_tokens", "strategy", "n", "nodes", "solutions", "calls",
		"end", "peak", "engine_kv_bytes", "evicted", "floor", "pass"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	for _, k := range []string{"distinct_tokens", "kv_bytes", "token_kv_bytes", "ratio"} {
		if _, ok := fields["end"].(map[string]any)[k]; !ok {
			t.Errorf("no end.%s in %s", k, out)
		}
	}
	var rep kvReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Longest || rep.Dataset != "synth" || rep.Strategy != "rebase" || rep.N != 8 || rep.Solutions != 8 || rep.Nodes < 8 || !rep.Pass {
		t.Errorf("report %+v", rep)
	}
	// The tree holds the prompt and at least a step of each solution; the
	// cache holds nothing else, so all the engine's KV is its.
	if rep.PromptTokens < 20 || rep.End.Tokens <= rep.PromptTokens || rep.EngineBytes != rep.End.Bytes {
		t.Errorf("prompt %d tokens, tree %d, engine KV %d bytes against the cache's %d",
			rep.PromptTokens, rep.End.Tokens, rep.EngineBytes, rep.End.Bytes)
	}
	for _, s := range []kvSample{rep.End, rep.Peak} {
		if s.Ratio < 1 || s.Ratio > 1.25 || s.Bytes < s.TokenBytes {
			t.Errorf("sample %+v: want a ratio in [1, 1.25]", s)
		}
	}
	if rep.Peak.Ratio < rep.End.Ratio || rep.Peak.Call < 1 || rep.Peak.Call > rep.Calls {
		t.Errorf("peak %+v, end %+v, %d calls", rep.Peak, rep.End, rep.Calls)
	}
}

// TestBenchKVText prints the table with the verdict, and fails the
// command when the floor is not met.
func TestBenchKVText(t *testing.T) {
	out, err := execute(t, "bench", "kv", "--n", "4", "--question", "test-L3-000", "--floor", "1.5")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"test-L3-000 (level 3; given by --question)", "rebase N=4", "nothing evicted", "ratio <= 1.50: the whole tree PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	out, err = execute(t, "bench", "kv", "--n", "4", "--question", "test-L3-000", "--floor", "0.5")
	if err == nil || !strings.Contains(err.Error(), "over the floor 0.50") || !strings.Contains(out, "the whole tree FAIL") {
		t.Fatalf("floor 0.5: %v\n%s", err, out)
	}
}
