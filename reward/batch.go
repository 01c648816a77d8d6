package reward

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
)

// BatchScorer is a Scorer that scores several candidate solutions to one
// question at once, as a tree search scores the nodes of a depth: out[i]
// is the step scores of candidates[i], one per step, or the call fails as
// a whole.
type BatchScorer interface {
	pareto.Scorer
	ScoreBatch(ctx context.Context, question string, candidates [][]string) (out [][]float64, usage pareto.Usage, err error)
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
func ScoreAll(ctx context.Context, s pareto.Scorer, question string, candidates [][]string) ([][]float64, pareto.Usage, error) {
	var total pareto.Usage
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
		usage := make([]pareto.Usage, len(candidates))
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

var _ BatchScorer = (*PRM)(nil)

// ScoreBatch implements BatchScorer. The engine has no batched prefill
// yet (a forward pass of several sequences at once), so this scores the
// candidates one Score each: identical candidates once, the first alone so
// that its prompt's KV is in the prefix cache before the rest look for it
// (else each would prefill the prompt), then the rest a few at once,
// since a step's few tokens keep the engine's workers only partly busy.
// The usage is the calls' sum, their latencies included.
func (p *PRM) ScoreBatch(ctx context.Context, question string, candidates [][]string) ([][]float64, pareto.Usage, error) {
	var total pareto.Usage
	if len(candidates) == 0 {
		return nil, total, fmt.Errorf("prm: no candidates to score")
	}
	// first[i] is the candidate whose scores candidate i shares.
	first := make([]int, len(candidates))
	seen := map[string]int{}
	var unique []int
	for i, steps := range candidates {
		if len(steps) == 0 {
			return nil, total, fmt.Errorf("prm: candidate %d: no steps to score", i)
		}
		key := strings.Join(steps, "\x00")
		j, ok := seen[key]
		if !ok {
			j = i
			seen[key] = i
			unique = append(unique, i)
		}
		first[i] = j
	}
	out := make([][]float64, len(candidates))
	usage := make([]pareto.Usage, len(candidates))
	score := func(ctx context.Context, i int) error {
		sc, u, err := p.Score(ctx, question, candidates[i])
		usage[i] = u
		if err != nil {
			return fmt.Errorf("prm: candidate %d: %w", i, err)
		}
		out[i] = sc
		return nil
	}
	err := score(ctx, unique[0])
	if err == nil {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, i := range unique[1:] {
			g.Go(func() error { return score(gctx, i) })
		}
		err = g.Wait()
	}
	for _, u := range usage {
		total.Add(u)
	}
	if err != nil {
		return nil, total, err
	}
	for i, j := range first {
		if j != i {
			out[i] = slices.Clone(out[j])
		}
	}
	return out, total, nil
}
