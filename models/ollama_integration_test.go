//go:build integration

// An external test package: reward, whose PRM format the PRM test uses,
// imports models.
package models_test

import (
	"context"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestShippedPolicyMatchesOllama loads the shipped policy in Ollama and in
// pareto's engine and checks that greedy solutions of 10 synth test
// problems are identical.
func TestShippedPolicyMatchesOllama(t *testing.T) {
	matchOllama(t, models.Default, 10, 160, func(p synth.Problem) string { return synth.Prompt(p, true) })
}

// TestShippedPRMMatchesOllama does the same for the shipped PRM, on its
// own input: a question and the first step of its reference solution, at
// whose end the PRM's next token is its verdict ("+" or "-").
func TestShippedPRMMatchesOllama(t *testing.T) {
	matchOllama(t, models.DefaultPRM, 10, 8, func(p synth.Problem) string {
		return reward.Prompt(reward.PromptTemplate, p.Question) + step.Split(p.Solution)[0] + reward.StepSeparator
	})
}

// TestShippedThinkerMatchesOllama does the same for the shipped thinker:
// Ollama reads its thought markers and its vocabulary without a space
// prefix as pareto does, so the raw text, the steps and the working
// thought inside each, is the same, and Ollama's completion tokens are
// pareto's visible and hidden ones.
func TestShippedThinkerMatchesOllama(t *testing.T) {
	matchOllama(t, models.DefaultThinker, 5, 320, func(p synth.Problem) string { return synth.Prompt(p, true) })
}

// matchOllama loads a shipped model in Ollama and in pareto's engine and
// checks that greedy completions of n synth test problems (spread evenly
// over the levels), prompted by prompt, are identical.
func matchOllama(t *testing.T, name string, n, maxTokens int, prompt func(synth.Problem) string) {
	srv := ollamatest.Shared(t)
	ctx := context.Background()
	path := srv.CreateShipped(t, name)
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	test := synth.TestSet()
	for i := range n {
		p := test[i*len(test)/n] // every level
		in := prompt(p)
		want, _, evals, err := srv.Generate(ctx, name, in, map[string]any{"temperature": 0, "num_predict": maxTokens, "seed": 0, "repeat_penalty": 1})
		if err != nil {
			t.Fatalf("ollama: %v\n%s", err, srv.Log())
		}
		// The raw text: a thinker's thought and markers as it wrote them.
		got, err := b.GenerateRaw(ctx, pareto.Request{Prompt: in, Params: pareto.Params{MaxTokens: maxTokens, Temperature: 0}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Text != want {
			t.Errorf("%s, problem %s: greedy completions differ\nollama %q\npareto %q", name, p.ID, want, got[0].Text)
		}
		// Ollama's eval_count counts the end-of-sequence token too;
		// pareto counts the tokens of the text.
		eos := 0
		if got[0].FinishReason == "stop" {
			eos = 1
		}
		if u := got[0].Usage; u.CompletionTokens+u.HiddenTokens+eos != evals {
			t.Errorf("%s, problem %s: pareto generated %d visible + %d hidden tokens (finish %s), Ollama %d", name, p.ID, u.CompletionTokens, u.HiddenTokens, got[0].FinishReason, evals)
		}
	}
}
