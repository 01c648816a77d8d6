package reward_test

import (
	"testing"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/scorertest"
)

func TestPRMConformance(t *testing.T) {
	path, err := models.Path(models.DefaultPRM)
	if err != nil {
		t.Fatal(err)
	}
	p, err := reward.LoadPRM(path)
	if err != nil {
		t.Fatal(err)
	}
	scorertest.Run(t, p)
}

// TestJudgeConformance runs the judge on the shipped policy in the embedded
// engine: a real generator with logprobs.
func TestJudgeConformance(t *testing.T) {
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	g, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	scorertest.Run(t, reward.Judge{Gen: g})
}
