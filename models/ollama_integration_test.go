//go:build integration

package models

import (
	"context"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/synth"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestShippedPolicyMatchesOllama loads the shipped policy in Ollama and in
// pareto's engine and checks that greedy solutions of 10 synth test
// problems are identical.
func TestShippedPolicyMatchesOllama(t *testing.T) {
	srv := ollamatest.Shared(t)
	ctx := context.Background()
	path, err := Path(Default)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Create(ctx, Default, path); err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	test := synth.TestSet()
	for i := 0; i < 10; i++ {
		p := test[i*len(test)/10] // every level
		prompt := synth.Prompt(p, true)
		want, _, _, err := srv.Generate(ctx, Default, prompt, map[string]any{"temperature": 0, "num_predict": 160, "seed": 0, "repeat_penalty": 1})
		if err != nil {
			t.Fatalf("ollama: %v\n%s", err, srv.Log())
		}
		got, err := b.Generate(ctx, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 160, Temperature: 0}})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Text != want {
			t.Errorf("problem %s: greedy solutions differ\nollama %q\npareto %q", p.ID, want, got[0].Text)
		}
	}
}
