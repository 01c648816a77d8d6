// Package reward holds step scorers: ways to rate a (partial) solution,
// used by best-of-N, weighted voting and tree search.
package reward

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/pareto-llm/pareto"
)

// Judge asks an LLM, through any backend, whether a solution is correct so
// far, and reads the probability of "Yes" from the logprobs of its one-token
// reply. A backend that returns no logprobs still works: the reply itself
// counts as 1 (yes) or 0 (no), which is coarser.
//
// Like every scorer it scores each step: step k's score is the judge's
// verdict on steps[:k+1], one call per step, so n steps cost n calls.
type Judge struct {
	Gen pareto.Generator
}

// Score implements pareto.Scorer.
func (j Judge) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	var total pareto.Usage
	if len(steps) == 0 {
		return nil, total, fmt.Errorf("judge: no steps to score")
	}
	scores := make([]float64, len(steps))
	for k := range steps {
		if err := ctx.Err(); err != nil {
			return nil, total, err
		}
		p, u, err := j.ask(ctx, question, steps[:k+1])
		if err != nil {
			return nil, total, err
		}
		total.Add(u)
		scores[k] = p
	}
	return scores, total, nil
}

func judgePrompt(question string, steps []string) string {
	var b strings.Builder
	b.WriteString("You check math solutions. Reply with one word: Yes if every step below is correct, No otherwise.\n\n")
	fmt.Fprintf(&b, "Question: %s\n\nSolution:\n", strings.TrimSpace(question))
	for i, s := range steps {
		fmt.Fprintf(&b, "Step %d: %s\n", i+1, s)
	}
	b.WriteString("\nAre all steps correct? Answer:")
	return b.String()
}

func (j Judge) ask(ctx context.Context, question string, steps []string) (float64, pareto.Usage, error) {
	req := pareto.Request{Prompt: judgePrompt(question, steps), Params: pareto.Params{
		N: 1, MaxTokens: 1, Temperature: 0, Logprobs: true, TopLogprobs: 10,
	}}
	seed := int64(0)
	req.Seed = &seed
	comps, err := j.Gen.Generate(ctx, req)
	if err != nil {
		return 0, pareto.Usage{}, fmt.Errorf("judge: %w", err)
	}
	if len(comps) == 0 {
		return 0, pareto.Usage{}, fmt.Errorf("judge: backend returned no completion")
	}
	c := comps[0]
	return YesProbability(c), c.Usage, nil
}

// YesProbability reads P(yes) / (P(yes) + P(no)) from a one-token reply's
// top logprobs; without logprobs it falls back to the reply text.
func YesProbability(c pareto.Completion) float64 {
	if len(c.Logprobs) > 0 {
		var yes, no float64
		lp := c.Logprobs[0]
		top := lp.Top
		if len(top) == 0 {
			top = map[string]float64{lp.Token: lp.Logprob}
		}
		for tok, l := range top {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "yes":
				yes += math.Exp(l)
			case "no":
				no += math.Exp(l)
			}
		}
		if yes+no > 0 {
			return yes / (yes + no)
		}
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.Text)), "yes") {
		return 1
	}
	return 0
}
