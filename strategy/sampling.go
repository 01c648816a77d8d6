package strategy

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/grade"
	"github.com/pareto-llm/pareto/step"
)

func init() {
	single := []Option{OptMaxTokens}
	sampled := []Option{OptN, OptMaxTokens, OptTemperature, OptTopP, OptShots}
	scored := append(slices.Clone(sampled), OptAggregate)
	Register(Spec{Name: "greedy", About: "one answer at temperature 0, prompted to reason step by step", Uses: single,
		New: func(o Options) (Strategy, error) {
			return &one{name: "greedy", style: Style{Reasoning: true}, opts: o, greedy: true}, nil
		}})
	Register(Spec{Name: "direct", About: "one answer at temperature 0, prompted to answer without reasoning", Uses: single,
		New: func(o Options) (Strategy, error) {
			return &one{name: "direct", style: Style{Reasoning: false}, opts: o, greedy: true}, nil
		}})
	Register(Spec{Name: "cot", About: "chain of thought: one answer after worked examples (--shots, 0 = zero-shot 'Let's think step by step')",
		Uses: []Option{OptMaxTokens, OptTemperature, OptTopP, OptShots},
		New: func(o Options) (Strategy, error) {
			return &one{name: "cot", style: Style{Reasoning: true, Shots: o.Shots}, opts: o}, nil
		}})
	Register(Spec{Name: "self-consistency", About: "N sampled chains of thought, majority vote over their answers", Uses: sampled, Budget: OptN,
		New: func(o Options) (Strategy, error) { return &vote{name: "self-consistency", opts: o}, nil }})
	Register(Spec{Name: "best-of-n", About: "N sampled chains of thought, the one the scorer rates highest", Uses: scored, Budget: OptN, Scored: true,
		New: func(o Options) (Strategy, error) {
			return &vote{name: "best-of-n", opts: o, scored: true, best: true}, nil
		}})
	Register(Spec{Name: "weighted-vote", About: "N sampled chains of thought, vote weighted by the scorer's rating", Uses: scored, Budget: OptN, Scored: true,
		New: func(o Options) (Strategy, error) { return &vote{name: "weighted-vote", opts: o, scored: true}, nil }})
}

// sample asks the backend for n completions of q's prompt and extracts the
// answer of each.
func sample(ctx context.Context, env Env, q pareto.Question, style Style, o Options, n int, temperature float64) ([]Candidate, pareto.Usage, error) {
	prompts := env.Prompts
	if prompts == nil {
		prompts = DefaultPrompts
	}
	prompt, stop, err := prompts.Prompt(q, style)
	if err != nil {
		return nil, pareto.Usage{}, fmt.Errorf("prompt for question %s: %w", q.ID, err)
	}
	seed := env.Seed
	req := pareto.Request{Prompt: prompt, Params: pareto.Params{
		N: n, MaxTokens: o.MaxTokens, Temperature: temperature, TopP: o.TopP, Seed: &seed, Stop: stop,
	}}
	comps, err := env.Gen.Generate(ctx, req)
	if err != nil {
		return nil, pareto.Usage{}, err
	}
	if len(comps) != n {
		return nil, pareto.Usage{}, fmt.Errorf("backend returned %d completions, asked for %d", len(comps), n)
	}
	var total pareto.Usage
	cands := make([]Candidate, n)
	for i, c := range comps {
		ans, _ := grade.Extract(c.Text)
		cands[i] = Candidate{Text: c.Text, Answer: ans, Usage: c.Usage}
		total.Add(c.Usage)
	}
	return cands, total, nil
}

// one answers with one completion.
type one struct {
	name   string
	style  Style
	opts   Options
	greedy bool
}

func (s *one) Name() string { return s.name }

func (s *one) Solve(ctx context.Context, env Env, q pareto.Question) (Result, error) {
	temp := s.opts.Temperature
	if s.greedy {
		temp = 0
	}
	cands, u, err := sample(ctx, env, q, s.style, s.opts, 1, temp)
	if err != nil {
		return Result{}, err
	}
	return Result{Answer: cands[0].Answer, Output: cands[0].Text, Candidates: cands, Usage: u}, nil
}

// vote samples N chains of thought and picks an answer by (weighted)
// majority or by the best score.
type vote struct {
	name   string
	opts   Options
	scored bool // weight by the scorer
	best   bool // take the best-scored candidate instead of voting
}

func (v *vote) Name() string { return v.name }

// DefaultSamplingTemperature is used when a sampling strategy is given
// temperature 0, which would make all N samples the same.
const DefaultSamplingTemperature = 0.7

func (v *vote) Solve(ctx context.Context, env Env, q pareto.Question) (Result, error) {
	n := v.opts.N
	if n <= 0 {
		n = 1
	}
	temp := v.opts.Temperature
	if temp == 0 {
		temp = DefaultSamplingTemperature
	}
	cands, u, err := sample(ctx, env, q, Style{Reasoning: true, Shots: v.opts.Shots}, v.opts, n, temp)
	if err != nil {
		return Result{}, err
	}
	if v.scored {
		if env.Scorer == nil {
			return Result{}, fmt.Errorf("strategy %s needs a scorer (--scorer)", v.name)
		}
		agg, _ := aggregator(v.opts.Aggregate)
		var scored []int
		var steps [][]string
		for i := range cands {
			zero := 0.0
			cands[i].Score = &zero // a candidate without steps scores 0
			if st := step.Split(cands[i].Text); len(st) > 0 {
				scored = append(scored, i)
				steps = append(steps, st)
			}
		}
		out, su, err := pareto.ScoreAll(ctx, env.Scorer, q.Text, steps)
		u.Add(su)
		if err != nil {
			return Result{}, err
		}
		for k, i := range scored {
			s := agg(out[k])
			cands[i].StepScores, cands[i].Score = out[k], &s
		}
	}
	res := Result{Candidates: cands, Usage: u}
	res.Votes = tally(cands, q.Format, v.scored)
	if v.best {
		bi := -1
		for i, c := range cands {
			if c.Answer == "" {
				continue
			}
			if bi < 0 || *c.Score > *cands[bi].Score {
				bi = i
			}
		}
		if bi >= 0 {
			res.Answer, res.Output = cands[bi].Answer, cands[bi].Text
		}
		return res, nil
	}
	if len(res.Votes) > 0 {
		res.Answer = res.Votes[0].Answer
		for _, c := range cands {
			if c.Answer != "" && grade.Equal(c.Answer, res.Answer, q.Format) {
				res.Output = c.Text
				break
			}
		}
	}
	return res, nil
}

// tally groups equivalent answers (by the grader's notion of equality, so
// "1/2" and "0.5" vote together) and sorts them by weight, then count, then
// first appearance. Candidates without an answer do not vote.
func tally(cands []Candidate, format string, weighted bool) []Vote {
	var votes []Vote
	for _, c := range cands {
		if c.Answer == "" {
			continue
		}
		w := 1.0
		if weighted && c.Score != nil {
			w = *c.Score
		}
		found := false
		for i := range votes {
			if grade.Equal(c.Answer, votes[i].Answer, format) {
				votes[i].Count++
				votes[i].Weight += w
				found = true
				break
			}
		}
		if !found {
			votes = append(votes, Vote{Answer: c.Answer, Count: 1, Weight: w})
		}
	}
	sort.SliceStable(votes, func(i, j int) bool {
		if votes[i].Weight != votes[j].Weight {
			return votes[i].Weight > votes[j].Weight
		}
		return votes[i].Count > votes[j].Count
	})
	return votes
}
