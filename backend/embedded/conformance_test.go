package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/randmodel"
)

// TestShippedPolicyConformance runs the conformance suite on the shipped
// policy, which writes a short solution and stops at end-of-sequence.
func TestShippedPolicyConformance(t *testing.T) {
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	generatortest.Run(t, b, generatortest.Options{
		Prompt:        "Question: Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?\nAnswer (step by step):\n",
		Deterministic: true,
		Seeded:        true,
	})
}

// TestRandomModelConformance runs it on a random-weight model, whose
// generations go on to the token limit, so that one is canceled in flight.
func TestRandomModelConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	cfg := randmodel.Small()
	cfg.Layers, cfg.Context = 2, 1024
	if err := randmodel.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	generatortest.Run(t, b, generatortest.Options{Deterministic: true, Seeded: true, LongMaxTokens: 1000})
}
