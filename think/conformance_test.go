package think_test

import (
	"testing"

	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/think"
)

// TestForcerConformance runs the conformance suite on a Forcer over the
// shipped policy in the embedded engine, the thinking-model stand-in: its
// solution is the thought, which the Forcer makes last at least 8 tokens
// (the policy ends early and is told to wait) and at most 12, and the
// answer follows the forced marker. Each completion is a chain of calls
// with up to the budget in hidden tokens beside MaxTokens visible ones.
func TestForcerConformance(t *testing.T) {
	const budget = 12
	f := &think.Forcer{
		Inner:   modelstest.Load(t, models.Default),
		Markers: think.Markers{Close: "</think>"}, // the prompt stands for a template that opened the thought
		Budget:  budget, Min: 8, Cue: "\n",
	}
	opts := generatortest.ShippedPolicy()
	opts.Chained, opts.HiddenBeyond = true, budget
	generatortest.Run(t, f, opts)
}
