package pareto

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// BatchScorer is a Scorer that scores several candidate solutions to one
// question at once, as a tree search scores the nodes of a depth: out[i]
// is the step scores of candidates[i], one per step, or the call fails as
// a whole.
type BatchScorer interface {
	Scorer
	ScoreBatch(ctx context.Context, question string, candidates [][]string) (out [][]float64, usage Usage, err error)
}

// fallbackConcurrency bounds the Score calls ScoreAll makes at once for a
// scorer without ScoreBatch (a judge, a remote scorer): enough to keep a
// server busy, few enough not to flood it.
const fallbackConcurrency = 8

// ScoreAll scores every candidate solution to question with s: in one
// ScoreBatch when s is a BatchScorer, else by Score per candidate, a few
// at once. Every candidate needs at least one step. It holds the scorer
// to its contract, so a broken scorer fails the question rather than
// scoring it zero: one probability in [0,1] per step of each candidate,
// else an error naming the candidate.
func ScoreAll(ctx context.Context, s Scorer, question string, candidates [][]string) ([][]float64, Usage, error) {
	var total Usage
	for i, steps := range candidates {
		if len(steps) == 0 {
			return nil, total, fmt.Errorf("scoring candidate %d: no steps to score", i)
		}
	}
	if len(candidates) == 0 {
		return nil, total, nil
	}
	var out [][]float64
	if b, ok := s.(BatchScorer); ok {
		var err error
		if out, total, err = b.ScoreBatch(ctx, question, candidates); err != nil {
			return nil, total, err
		}
		if len(out) != len(candidates) {
			return nil, total, fmt.Errorf("scorer returned scores for %d candidates of %d", len(out), len(candidates))
		}
	} else {
		out = make([][]float64, len(candidates))
		usage := make([]Usage, len(candidates))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(fallbackConcurrency)
		for i, steps := range candidates {
			g.Go(func() error {
				sc, u, err := s.Score(gctx, question, steps)
				usage[i] = u
				if err != nil {
					return fmt.Errorf("scoring candidate %d: %w", i, err)
				}
				out[i] = sc
				return nil
			})
		}
		err := g.Wait()
		for _, u := range usage {
			total.Add(u)
		}
		if err != nil {
			return nil, total, err
		}
	}
	for i, sc := range out {
		if err := checkScores(sc, len(candidates[i])); err != nil {
			return nil, total, fmt.Errorf("scoring candidate %d: %w", i, err)
		}
	}
	return out, total, nil
}

// checkScores holds one candidate's scores to the Scorer contract.
func checkScores(scores []float64, steps int) error {
	if len(scores) != steps {
		return fmt.Errorf("scorer returned %d scores for %d steps, want one per step", len(scores), steps)
	}
	for k, v := range scores {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("scorer gave step %d the score %v, want a probability in [0,1]", k+1, v)
		}
	}
	return nil
}
