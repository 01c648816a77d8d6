package synth_test

import (
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/scorertest"
	"github.com/pareto-llm/pareto/synth"
)

func TestOracleConformance(t *testing.T) {
	t.Run("Default", func(t *testing.T) { scorertest.Run(t, synth.Oracle{}) })
	// A level-5 question too, with two of its right solutions and a wrong
	// one.
	p := synth.Generate(synth.TrainSeed(99), 5)
	c := scorertest.Case{Question: p.Question}
	for _, sol := range synth.Solutions(p, 2, 1) {
		c.Solutions = append(c.Solutions, strings.Split(sol, "\n"))
	}
	c.Solutions = append(c.Solutions, append([]string{"1 + 1 = 2"}, p.Steps...))
	t.Run("Level5", func(t *testing.T) { scorertest.Run(t, synth.Oracle{}, c) })
}
