package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/randmodel/randmodeltest"
)

func TestGenerateCmd(t *testing.T) {
	cfg := randmodel.Small()
	cfg.Layers, cfg.Context = 2, 256
	path := randmodeltest.Write(t, "m.gguf", cfg)
	run := func(args ...string) string {
		t.Helper()
		cmd := newGenerateCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("generate %v: %v", args, err)
		}
		return out.String()
	}
	args := []string{"--model", path, "--prompt", "Once upon a time", "--max-tokens", "12"}
	var res struct {
		Text         string  `json:"text"`
		Tokens       int     `json:"tokens"`
		PromptTokens int     `json:"prompt_tokens"`
		FLOPs        float64 `json:"flops"`
		TokensPerS   float64 `json:"tokens_per_s"`
	}
	if err := json.Unmarshal([]byte(run(append(args, "--json")...)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Tokens <= 0 || res.Tokens > 12 || res.PromptTokens <= 0 || res.FLOPs <= 0 || res.TokensPerS <= 0 {
		t.Fatalf("json result %+v", res)
	}
	// Random models emit invalid UTF-8, which JSON replaces: compare the
	// plain text as JSON would carry it.
	plain := strings.TrimSuffix(run(args...), "\n")
	raw, _ := json.Marshal(plain)
	var viaJSON string
	if err := json.Unmarshal(raw, &viaJSON); err != nil || viaJSON != res.Text {
		t.Fatalf("plain output %q, json text %q", plain, res.Text)
	}
	// Sampling with a seed is reproducible.
	s := append(args, "--temperature", "1", "--seed", "3", "--top-k", "40", "--top-p", "0.9", "--min-p", "0.05")
	if a, b := run(s...), run(s...); a != b {
		t.Fatalf("same seed, different text: %q vs %q", a, b)
	}
	cmd := newGenerateCmd()
	cmd.SetArgs([]string{"--prompt", "x"})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil {
		t.Fatal("generate without --model succeeded")
	}
}
