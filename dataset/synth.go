package dataset

import (
	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/synth"
)

func init() {
	Register(synth.Dataset, "synthetic multi-step arithmetic word problems, 1000 test problems, 200 per level 1-5 (pareto's own task)", func() *Dataset {
		ps := synth.TestSet()
		d := &Dataset{Name: synth.Dataset, Questions: make([]pareto.Question, len(ps)), Verify: verifySynth}
		for i, p := range ps {
			d.Questions[i] = p.AsQuestion()
		}
		return d
	})
}

// verifySynth labels steps with synth's exact verifier, cumulatively: a step
// is right when it and every step before it are.
func verifySynth(question string, steps []string) ([]bool, error) {
	ok, err := synth.VerifyQuestion(question, steps)
	return synth.Cumulative(ok), err
}
