package strategy

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/grade"
	"github.com/pareto-llm/pareto/step"
)

// This file holds what every tree search shares: a tree of partial
// solutions grown one step at a time through any Generator, each node
// scored by the step scorer; tree.go holds the searches themselves.

// stepSeparators maps a dataset to the text that ends one of its steps;
// others use a blank line.
var (
	stepSeparatorsMu sync.RWMutex
	stepSeparators   = map[string]string{}
)

// RegisterStepSeparator makes sep the end of a step for a dataset's
// questions in tree searches (synth writes one step a line).
func RegisterStepSeparator(datasetName, sep string) {
	stepSeparatorsMu.Lock()
	defer stepSeparatorsMu.Unlock()
	stepSeparators[datasetName] = sep
}

// StepSeparator is the text that ends a step of q's solutions.
func StepSeparator(q pareto.Question) string {
	stepSeparatorsMu.RLock()
	defer stepSeparatorsMu.RUnlock()
	if sep, ok := stepSeparators[q.Dataset]; ok {
		return sep
	}
	return step.Paragraph
}

// node is a partial solution: its parent's text and one more step.
type node struct {
	id     int
	parent *node
	depth  int    // steps from the root (the root is 0)
	step   string // the text this node adds, as generated
	text   string // the solution so far: the steps with their separators
	tokens int    // generated tokens of the solution so far

	finished bool   // ends a solution: an answer, the end of text, or a cap
	answer   string // the extracted answer of a finished node
	scores   []float64
	score    float64 // the aggregate of scores
	children int     // the budget given to the node: children asked for
}

// search grows one question's tree. It is used by one goroutine at a time;
// the calls it makes in one round run concurrently.
type search struct {
	name   string // the strategy's
	env    Env
	q      pareto.Question
	opts   Options
	prompt string
	stop   []string
	sep    string
	agg    func([]float64) float64
	temp   float64
	nodes  []*node // every node, in creation order; nodes[0] is the root
	usage  pareto.Usage
	rng    *rand.Rand
}

// newSearch prepares the tree of q: its root is the prompt.
func newSearch(env Env, q pareto.Question, o Options, name string) (*search, error) {
	if err := needScorer(env, name); err != nil {
		return nil, err
	}
	prompt, stop, err := env.prompt(q, Style{Reasoning: true, Shots: o.Shots})
	if err != nil {
		return nil, err
	}
	agg, err := aggregator(o.Aggregate)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(q.ID))
	s := &search{
		name: name, env: env, q: q, opts: o, prompt: prompt, sep: StepSeparator(q), agg: agg, temp: samplingTemperature(o),
		rng: rand.New(rand.NewPCG(uint64(env.Seed), h.Sum64())),
	}
	// The separator ends a step; the prompt's own stops end the solution.
	s.stop = append(append([]string(nil), stop...), s.sep)
	s.nodes = []*node{{id: 0}}
	return s, nil
}

// think writes the search's one thought after its prompt: the tree then
// grows after the thought, its steps written by th's Steps generator, and
// the thought's cost is the question's.
func (s *search) think(ctx context.Context, th Thinker) error {
	seed := s.env.Seed*1_000_003 - 1 // apart from every node's seed
	req := pareto.Request{Prompt: s.prompt, Params: pareto.Params{
		N: 1, MaxTokens: s.opts.MaxTokens, Temperature: s.temp, TopP: s.opts.TopP, Seed: &seed,
	}, CacheScope: s.name}
	prefix, u, err := th.Think(ctx, req)
	s.usage.Add(u)
	if err != nil {
		return fmt.Errorf("thinking before the first step: %w", err)
	}
	s.prompt += prefix
	s.env.Gen = th.Steps()
	return nil
}

// root is the empty solution.
func (s *search) root() *node { return s.nodes[0] }

// expand gives each node counts[i] children: one generation request per
// node asking for that many continuations of one step, all requests of the
// round at once, so a batching backend decodes them together. The new
// children are scored and returned in order.
func (s *search) expand(ctx context.Context, parents []*node, counts []int) ([]*node, error) {
	type job struct {
		parent *node
		n      int
		out    []pareto.Completion
	}
	var jobs []*job
	for i, p := range parents {
		p.children += counts[i]
		if counts[i] > 0 {
			jobs = append(jobs, &job{parent: p, n: counts[i]})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			// A seed per node: reproducible, and a re-run is served from
			// the generation cache.
			seed := s.env.Seed*1_000_003 + int64(j.parent.id)
			req := pareto.Request{Prompt: s.prompt + j.parent.text, Params: pareto.Params{
				N: j.n, MaxTokens: s.opts.StepTokens, Temperature: s.temp, TopP: s.opts.TopP, Seed: &seed, Stop: s.stop,
			}, CacheScope: s.name}
			out, err := s.env.Gen.Generate(gctx, req)
			if err != nil {
				return fmt.Errorf("expanding node %d: %w", j.parent.id, err)
			}
			if len(out) != j.n {
				return fmt.Errorf("expanding node %d: backend returned %d completions, asked for %d", j.parent.id, len(out), j.n)
			}
			j.out = out
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var kids []*node
	for _, j := range jobs {
		for _, c := range j.out {
			s.usage.Add(c.Usage)
			kids = append(kids, s.child(j.parent, c))
		}
	}
	if err := s.score(ctx, kids); err != nil {
		return nil, err
	}
	return kids, nil
}

// child makes the node that completion c adds to p, and says whether it
// ends a solution.
func (s *search) child(p *node, c pareto.Completion) *node {
	n := &node{id: len(s.nodes), parent: p, depth: p.depth + 1, step: c.Text,
		tokens: p.tokens + c.Usage.CompletionTokens + c.Usage.HiddenTokens}
	s.nodes = append(s.nodes, n)
	// The step ended at the separator when the backend says so, or, where
	// it cannot tell (Stop empty), when the step ended at a stop at all.
	atSep := c.FinishReason == "stop" && (c.Stop == s.sep || c.Stop == "")
	n.text = p.text + c.Text
	if atSep {
		n.text += s.sep
	}
	switch {
	case strings.TrimSpace(c.Text) == "":
		n.finished = true // the model has nothing more to say
	case finishesSolution(c.Text):
		n.finished = true
	case c.FinishReason == "stop" && !atSep:
		n.finished = true // another stop (end of text, next question)
	case n.depth >= s.opts.MaxDepth || n.tokens >= s.opts.MaxTokens:
		n.finished = true
	}
	if n.finished {
		n.answer, _ = grade.Extract(n.text)
	}
	return n
}

// finishesSolution reports whether a step states a final answer.
func finishesSolution(text string) bool {
	return step.HasAnswer(text) || strings.Contains(text, `\boxed`)
}

// score rates each node's solution so far with the step scorer, all nodes
// in one batch. A node whose solution has no steps scores 0.
func (s *search) score(ctx context.Context, nodes []*node) error {
	steps := make([][]string, len(nodes))
	for i, n := range nodes {
		steps[i] = step.SplitBy(n.text, s.sep)
	}
	scores, u, err := scoreSteps(ctx, s.env, s.q, steps)
	s.usage.Add(u)
	if err != nil {
		return err
	}
	for i, n := range nodes {
		if scores[i] != nil {
			n.scores, n.score = scores[i], s.agg(scores[i])
		}
	}
	return nil
}

// split separates finished nodes from live ones.
func split(nodes []*node) (finished, live []*node) {
	for _, n := range nodes {
		if n.finished {
			finished = append(finished, n)
		} else {
			live = append(live, n)
		}
	}
	return finished, live
}

// result picks the answer among the finished solutions by the options'
// selection rule and records the tree, with the winning path selected and
// the live nodes left unexpanded marked pruned.
func (s *search) result(pool []*node) Result {
	cands := make([]Candidate, len(pool))
	for i, n := range pool {
		sc := n.score
		cands[i] = Candidate{Text: n.text, Answer: n.answer, Score: &sc, StepScores: n.scores}
	}
	res := Result{Candidates: cands, Usage: s.usage}
	won := map[*node]bool{}
	if chosen := choose(&res, s.opts.Select, s.q.Format); chosen >= 0 {
		for n := pool[chosen]; n != nil; n = n.parent {
			won[n] = true
		}
	}
	res.Tree = make([]Node, len(s.nodes))
	for i, n := range s.nodes {
		t := Node{ID: n.id, Text: n.step, Answer: n.answer, Selected: won[n], Children: n.children,
			Finished: n.finished, Pruned: !n.finished && n.children == 0 && n.parent != nil}
		if n.parent != nil {
			p := n.parent.id
			t.Parent = &p
			sc := n.score
			t.Score = &sc
		}
		res.Tree[i] = t
	}
	return res
}
