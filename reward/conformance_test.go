package reward_test

import (
	"testing"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/scorertest"
)

func TestPRMConformance(t *testing.T) {
	scorertest.Run(t, modelstest.Open(t, models.DefaultPRM, reward.LoadPRM))
}

// TestJudgeConformance runs the judge on the shipped policy in the embedded
// engine: a real generator with logprobs.
func TestJudgeConformance(t *testing.T) {
	scorertest.Run(t, reward.Judge{Gen: modelstest.Load(t, models.Default)})
}
