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

var _ pareto.BatchScorer = (*PRM)(nil)

// ScoreBatch implements pareto.BatchScorer. The engine has no batched prefill
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
