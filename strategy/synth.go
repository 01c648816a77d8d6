package strategy

import (
	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

// The synth models are trained on synth's own prompt format, with no
// worked examples, and write one step a line.
func init() {
	RegisterPrompts(synth.Dataset, PrompterFunc(func(q pareto.Question, s Style) (string, []string, error) {
		return synth.PromptText(q.Text, s.Reasoning), stopNext, nil
	}))
	RegisterStepSeparator(synth.Dataset, step.Line)
}
