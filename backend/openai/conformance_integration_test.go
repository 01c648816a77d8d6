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
	srv.CreateShipped(t, models.Default)
	b, err := openai.New(openai.Config{URLs: []string{srv.URL()}, Model: models.Default})
	if err != nil {
		t.Fatal(err)
	}
	opts := generatortest.ShippedPolicy()
	opts.FanOut = true
	generatortest.Run(t, b, opts)
}
