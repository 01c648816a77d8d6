package serve_test

import (
	"net/http/httptest"
	"testing"

	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/serve"
)

// TestServedConformance runs the conformance suite on the shipped policy
// served over HTTP and read back by the openai backend, on both APIs: the
// server must carry n, max_tokens, stop, seed and usage through unchanged.
func TestServedConformance(t *testing.T) {
	b := modelstest.Load(t, models.Default)
	srv := httptest.NewServer(serve.New(map[string]serve.Model{models.Default: b}))
	t.Cleanup(srv.Close)
	for _, chat := range []bool{false, true} {
		name := "completions"
		if chat {
			name = "chat"
		}
		t.Run(name, func(t *testing.T) {
			g, err := openai.New(openai.Config{URLs: []string{srv.URL}, Model: models.Default, Chat: chat})
			if err != nil {
				t.Fatal(err)
			}
			generatortest.Run(t, g, generatortest.Options{
				Prompt:        "Question: Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?\nAnswer (step by step):\n",
				Deterministic: true,
				Seeded:        true,
			})
		})
	}
}
