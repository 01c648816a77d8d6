//go:build integration

package openai_test

import (
	"testing"

	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestOllamaConformance runs the conformance suite on a real Ollama serving
// the shipped policy. Ollama ignores n, so the backend fans out.
func TestOllamaConformance(t *testing.T) {
	srv := ollamatest.Shared(t)
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Create(t.Context(), models.Default, path); err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	b, err := openai.New(openai.Config{URLs: []string{srv.URL()}, Model: models.Default})
	if err != nil {
		t.Fatal(err)
	}
	generatortest.Run(t, b, generatortest.Options{
		Prompt:        "Question: Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?\nAnswer (step by step):\n",
		Deterministic: true,
		Seeded:        true,
		FanOut:        true,
	})
}
