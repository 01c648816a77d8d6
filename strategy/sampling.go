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
	prompt, stop, err := env.prompt(q, style)
	if err != nil {
		return nil, pareto.Usage{}, err
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
		cands[i] = Candidate{Text: c.Text, Reasoning: c.Reasoning, Answer: ans, Usage: c.Usage}
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

// samplingTemperature is o's temperature, or DefaultSamplingTemperature
// for 0.
func samplingTemperature(o Options) float64 {
	if o.Temperature == 0 {
		return DefaultSamplingTemperature
	}
	return o.Temperature
}

func (v *vote) Solve(ctx context.Context, env Env, q pareto.Question) (Result, error) {
	cands, u, err := sample(ctx, env, q, Style{Reasoning: true, Shots: v.opts.Shots}, v.opts, max(v.opts.N, 1), samplingTemperature(v.opts))
	if err != nil {
		return Result{}, err
	}
	rule := "majority"
	if v.scored {
		rule = "weighted-vote"
		if v.best {
			rule = "best-of-n"
		}
		steps := make([][]string, len(cands))
		for i, c := range cands {
			steps[i] = step.Split(c.Text)
		}
		if err := needScorer(env, v.name); err != nil {
			return Result{}, err
		}
		scores, su, err := scoreSteps(ctx, env, q, steps)
		u.Add(su)
		if err != nil {
			return Result{}, err
		}
		agg, _ := aggregator(v.opts.Aggregate)
		for i, sc := range scores {
			s := 0.0 // a candidate without steps scores 0
			if sc != nil {
				s = agg(sc)
			}
			cands[i].StepScores, cands[i].Score = sc, &s
		}
	}
	res := Result{Candidates: cands, Usage: u}
	choose(&res, rule, q.Format)
	return res, nil
}

// needScorer refuses to run a strategy that scores without a scorer.
func needScorer(env Env, name string) error {
	if env.Scorer == nil {
		return fmt.Errorf("strategy %s needs a scorer (--scorer)", name)
	}
	return nil
}

// scoreSteps rates each solution's steps with env's scorer, all in one
// batch (pareto.ScoreAll); a solution without steps gets no scores.
func scoreSteps(ctx context.Context, env Env, q pareto.Question, steps [][]string) ([][]float64, pareto.Usage, error) {
	var at []int
	var cands [][]string
	for i, st := range steps {
		if len(st) > 0 {
			at = append(at, i)
			cands = append(cands, st)
		}
	}
	out, u, err := pareto.ScoreAll(ctx, env.Scorer, q.Text, cands)
	if err != nil {
		return nil, u, err
	}
	scores := make([][]float64, len(steps))
	for k, i := range at {
		scores[i] = out[k]
	}
	return scores, u, nil
}

// choose sets res's answer and output from its candidates by the selection
// rule (best-of-n: the best-scored candidate with an answer; weighted-vote
// and majority: the answer with the most weight or votes, shown by the
// first candidate giving it) and returns the index of the candidate it
// took (-1 if none).
func choose(res *Result, rule, format string) int {
	cands := res.Candidates
	res.Votes = tally(cands, format, rule != "majority")
	if rule == "best-of-n" {
		bi := -1
		for i, c := range cands {
			if c.Answer != "" && (bi < 0 || *c.Score > *cands[bi].Score) {
				bi = i
			}
		}
		if bi >= 0 {
			res.Answer, res.Output = cands[bi].Answer, cands[bi].Text
		}
		return bi
	}
	if len(res.Votes) == 0 {
		return -1
	}
	res.Answer = res.Votes[0].Answer
	for i, c := range cands {
		if c.Answer != "" && grade.Equal(c.Answer, res.Answer, format) {
			res.Output = c.Text
			return i
		}
	}
	return -1
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
