package embedded_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/synth"
)

// TestLongerContextThanTrained checks that a prompt longer than the
// shipped policy's trained context (256) is refused by default and
// generates once the model's context is raised with SetContext.
func TestLongerContextThanTrained(t *testing.T) {
	b := modelstest.Load(t, models.Default)
	trained := b.Model().Config.Context
	test := synth.TestSet()
	var sb strings.Builder
	for i := 0; len(b.Tokenizer().Encode(sb.String(), true)) <= trained+40; i++ {
		sb.WriteString(synth.Prompt(test[i], false))
		sb.WriteString(" 7\n")
	}
	sb.WriteString(synth.Prompt(test[len(test)-1], true))
	req := pareto.Request{Prompt: sb.String(), Params: pareto.Params{MaxTokens: 16, Temperature: 0}}
	if _, err := b.Generate(context.Background(), req); err == nil || !strings.Contains(err.Error(), "fills the context") {
		t.Fatalf("prompt longer than the trained context %d: err = %v, want it refused", trained, err)
	}
	if err := b.Model().SetContext(2048); err != nil {
		t.Fatal(err)
	}
	out, err := b.Generate(context.Background(), req)
	if err != nil {
		t.Fatalf("with context 2048: %v", err)
	}
	if u := out[0].Usage; u.PromptTokens <= trained || u.CompletionTokens == 0 {
		t.Errorf("prompt %d tokens, completion %d: want a prompt past %d and some completion", u.PromptTokens, u.CompletionTokens, trained)
	}
	t.Logf("prompt of %d tokens (trained context %d): %q", out[0].Usage.PromptTokens, trained, out[0].Text)
	if err := b.Model().SetContext(0); err == nil {
		t.Error("SetContext(0) accepted")
	}
}
