package strategy

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/pareto-llm/pareto"
)

// The tree searches: each grows a tree of partial solutions a step at a
// time (search.go) and spends its budget N differently. N counts solutions,
// as for the sampling strategies: a search expands at most N nodes a depth.

func init() {
	uses := []Option{OptN, OptMaxTokens, OptTemperature, OptTopP, OptShots, OptAggregate, OptSelect, OptStepTokens, OptMaxDepth}
	with := func(o ...Option) []Option { return append(slices.Clone(uses), o...) }
	Register(Spec{Name: "beam", Scored: true, Budget: OptN, Uses: with(OptWidth),
		About: "beam search: keep the N/M best partial solutions a step, expand each M times (--width M)",
		New:   func(o Options) (Strategy, error) { return newTree("beam", o, (*search).beam) }})
	Register(Spec{Name: "dvts", Scored: true, Budget: OptN, Uses: with(OptWidth),
		About: "diverse verifier tree search: N/M independent subtrees, each keeping its best of M children a step",
		New:   func(o Options) (Strategy, error) { return newTree("dvts", o, (*search).dvts) }})
	Register(Spec{Name: "rebase", Scored: true, Budget: OptN, Uses: with(OptRebaseTemperature),
		About: "REBASE: a step at a time, the budget left split among live nodes by softmax(reward / T)",
		New:   func(o Options) (Strategy, error) { return newTree("rebase", o, (*search).rebase) }})
	Register(Spec{Name: "particle-filter", Scored: true, Budget: OptN, Uses: uses,
		About: "particle filtering: N partial solutions resampled by reward each step",
		New:   func(o Options) (Strategy, error) { return newTree("particle-filter", o, (*search).particles) }})
}

// tree is a search strategy: grow returns the finished solutions.
type tree struct {
	name string
	opts Options
	grow func(*search, context.Context) ([]*node, error)
}

func newTree(name string, o Options, grow func(*search, context.Context) ([]*node, error)) (Strategy, error) {
	// o is canonical: Width is 0 for a search that has no width.
	if o.Width > max(o.N, 1) {
		return nil, fmt.Errorf("strategy %s: beam width %d is more than the budget --n %d", name, o.Width, max(o.N, 1))
	}
	return &tree{name: name, opts: o, grow: grow}, nil
}

func (t *tree) Name() string { return t.name }

func (t *tree) Solve(ctx context.Context, env Env, q pareto.Question) (Result, error) {
	s, err := newSearch(env, q, t.opts, t.name)
	if err != nil {
		return Result{}, err
	}
	if env.Thinker != nil {
		if err := s.think(ctx, env.Thinker); err != nil {
			return Result{}, err
		}
	}
	pool, err := t.grow(s, ctx)
	if err != nil {
		return Result{}, err
	}
	return s.result(pool), nil
}

// budget is the number of solutions a search grows.
func (s *search) budget() int { return max(s.opts.N, 1) }

// byScore sorts nodes best first, earlier nodes first on ties.
func byScore(nodes []*node) {
	slices.SortStableFunc(nodes, func(a, b *node) int { return cmp.Compare(b.score, a.score) })
}

// grow gives the root N children; then, at each depth, the finished
// children join the pool and next says which live nodes get how many
// children, the solutions still to find (B) being its budget. It stops
// when B solutions are found or no node is live.
func (s *search) grow(ctx context.Context, next func(alive []*node, left int) ([]*node, []int)) ([]*node, error) {
	n := s.budget()
	var pool []*node
	live, counts := []*node{s.root()}, []int{n}
	for {
		kids, err := s.expand(ctx, live, counts)
		if err != nil {
			return nil, err
		}
		fin, alive := split(kids)
		pool = append(pool, fin...)
		left := n - len(pool)
		if left <= 0 || len(alive) == 0 {
			return pool, nil
		}
		live, counts = next(alive, left)
	}
}

// beam keeps the best ceil(B/M) distinct live nodes of each depth and gives
// each M children (the budget's remainder to the last), as N/M beams of
// width M do before any finishes; when fewer nodes are distinct, the B
// children are dealt out among them.
func (s *search) beam(ctx context.Context) ([]*node, error) {
	return s.grow(ctx, func(alive []*node, left int) ([]*node, []int) {
		return prune(alive, left, s.opts.Width)
	})
}

// prune is beam search's choice at one depth: the best ceil(left/m)
// distinct nodes, and how many of the left children each gets.
func prune(alive []*node, left, m int) ([]*node, []int) {
	alive = distinct(alive)
	byScore(alive)
	live := alive[:min((left+m-1)/m, len(alive))]
	counts := make([]int, len(live))
	for i := range left {
		counts[i%len(live)]++
	}
	return live, counts
}

// distinct drops nodes whose solution so far repeats an earlier node's:
// sampling often writes the same step twice, and a search that kept both
// would spend its budget twice on one partial solution.
func distinct(nodes []*node) []*node {
	seen := map[string]bool{}
	var out []*node
	for _, n := range nodes {
		if !seen[n.text] {
			seen[n.text] = true
			out = append(out, n)
		}
	}
	return out
}

// dvts runs N/M subtrees. Each starts with M children of the root and then
// keeps its best child a step and gives it M children, until its best child
// finishes. Every finished child joins the pool.
func (s *search) dvts(ctx context.Context) ([]*node, error) {
	n, m := s.budget(), s.opts.Width
	trees := max(n/m, 1)
	live := make([]*node, trees)
	for i := range live {
		live[i] = s.root()
	}
	counts := slices.Repeat([]int{m}, trees)
	var pool []*node
	for len(live) > 0 {
		// The root appears once per subtree: expand it once for all, then
		// deal its children out M at a time, in order.
		parents, each := live, counts
		if live[0] == s.root() {
			parents, each = []*node{s.root()}, []int{m * trees}
		}
		kids, err := s.expand(ctx, parents, each)
		if err != nil {
			return nil, err
		}
		var next []*node
		for i := range live {
			group := kids[i*m : (i+1)*m]
			fin, _ := split(group)
			pool = append(pool, fin...)
			best := slices.Clone(group)
			byScore(best)
			if !best[0].finished {
				next = append(next, best[0])
			}
		}
		live, counts = next, slices.Repeat([]int{m}, len(next))
	}
	return pool, nil
}

// rebase splits the solutions still to find among the distinct live nodes
// of each depth by softmax(score / T).
func (s *search) rebase(ctx context.Context) ([]*node, error) {
	return s.grow(ctx, func(alive []*node, left int) ([]*node, []int) {
		alive = distinct(alive)
		return alive, allocate(left, scores(alive), s.opts.RebaseTemperature)
	})
}

// scores are the nodes' scores.
func scores(nodes []*node) []float64 {
	out := make([]float64, len(nodes))
	for i, n := range nodes {
		out[i] = n.score
	}
	return out
}

// allocate splits budget among nodes by softmax(reward / temperature):
// each gets its share rounded down, and the units left go to the largest
// remainders (higher reward first on ties). The counts sum to budget, and
// a higher reward never gets fewer.
func allocate(budget int, rewards []float64, temperature float64) []int {
	counts := make([]int, len(rewards))
	if len(rewards) == 0 || budget <= 0 {
		return counts
	}
	top := slices.Max(rewards)
	w := make([]float64, len(rewards))
	var sum float64
	for i, r := range rewards {
		w[i] = math.Exp((r - top) / temperature) // shifted: no overflow
		sum += w[i]
	}
	rem := make([]float64, len(rewards))
	given := 0
	for i := range w {
		share := float64(budget) * w[i] / sum
		counts[i] = int(share)
		rem[i] = share - float64(counts[i])
		given += counts[i]
	}
	order := make([]int, len(rewards))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(rem[b], rem[a]); c != 0 {
			return c
		}
		return cmp.Compare(rewards[b], rewards[a])
	})
	for _, i := range order[:budget-given] {
		counts[i]++
	}
	return counts
}

// particles resamples the live nodes of each depth by reward into as many
// particles as solutions are still to find, each then taking a step.
func (s *search) particles(ctx context.Context) ([]*node, error) {
	return s.grow(ctx, func(alive []*node, left int) ([]*node, []int) {
		return alive, resample(s.rng, scores(alive), left)
	})
}

// resample draws k particles with probability proportional to the weights
// (all equal when they sum to zero) by systematic resampling: one uniform
// offset, k evenly spaced pointers. Particle i is drawn floor(k w_i) or
// ceil(k w_i) times, so the draw is as even as the weights allow.
func resample(rng *rand.Rand, weights []float64, k int) []int {
	counts := make([]int, len(weights))
	if len(weights) == 0 || k <= 0 {
		return counts
	}
	var sum float64
	for _, w := range weights {
		sum += max(w, 0)
	}
	norm := func(i int) float64 {
		if sum == 0 {
			return 1 / float64(len(weights))
		}
		return max(weights[i], 0) / sum
	}
	u := rng.Float64() / float64(k)
	i, cum := 0, norm(0)
	for j := range k {
		p := u + float64(j)/float64(k)
		for p >= cum && i < len(weights)-1 {
			i++
			cum += norm(i)
		}
		counts[i]++
	}
	return counts
}
