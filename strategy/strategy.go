// Package strategy holds the ways of spending inference compute on a
// question: greedy decoding, chain of thought, self-consistency, best-of-N
// and weighted voting. Each is a small type behind the Strategy interface,
// registered by name.
package strategy

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pareto-llm/pareto"
)

// Strategy answers one question by calling a backend one or more times.
type Strategy interface {
	// Name is the registered name, e.g. "self-consistency".
	Name() string
	// Solve answers q. The Env carries the backend, the scorer and the seed.
	Solve(ctx context.Context, env Env, q pareto.Question) (Result, error)
}

// Env is what a strategy may use to answer a question.
type Env struct {
	Gen    pareto.Generator
	Scorer pareto.Scorer // nil when no scorer is configured
	// Seed makes sampling reproducible; each run seed gives a different draw.
	Seed int64
	// Prompts builds prompts; nil means DefaultPrompts.
	Prompts Prompter
}

// Options are the budget knobs shared by all strategies. A strategy ignores
// the ones it has no use for.
type Options struct {
	N           int     `json:"n,omitempty"`
	MaxTokens   int     `json:"max_tokens,omitempty"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p,omitempty"`
	// Shots is the number of worked examples in the prompt (cot only).
	Shots int `json:"shots,omitempty"`
	// Aggregate turns step scores into a solution score: min, last, prod or mean.
	Aggregate string `json:"aggregate,omitempty"`
}

// Result is a strategy's answer and everything behind it.
type Result struct {
	Answer     string       `json:"answer"` // the chosen final answer, as extracted
	Output     string       `json:"output"` // the chosen candidate's full text
	Candidates []Candidate  `json:"candidates"`
	Votes      []Vote       `json:"votes,omitempty"`
	Usage      pareto.Usage `json:"usage"`
}

// Candidate is one sampled solution.
type Candidate struct {
	Text       string    `json:"text"`
	Answer     string    `json:"answer"`
	Score      *float64  `json:"score,omitempty"`
	StepScores []float64 `json:"step_scores,omitempty"`
	// StepLabels are an exact verifier's verdicts on the same steps (the
	// solution is right up to and including the step), where one exists.
	StepLabels []bool       `json:"step_labels,omitempty"`
	Usage      pareto.Usage `json:"usage"`
}

// Vote is the support one distinct answer got.
type Vote struct {
	Answer string  `json:"answer"`
	Count  int     `json:"count"`
	Weight float64 `json:"weight"`
}

type factory func(Options) (Strategy, error)

var registry = map[string]struct {
	about string
	make  factory
}{}

// Register adds a strategy under a name. It panics on a duplicate name, as
// registering twice is a programming error.
func Register(name, about string, f func(Options) (Strategy, error)) {
	if _, dup := registry[name]; dup {
		panic("strategy: duplicate " + name)
	}
	registry[name] = struct {
		about string
		make  factory
	}{about, f}
}

// New makes the strategy registered under name.
func New(name string, o Options) (Strategy, error) {
	r, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown strategy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if o.N < 0 || o.MaxTokens < 0 || o.Temperature < 0 || o.TopP < 0 || o.TopP > 1 || o.Shots < 0 {
		return nil, fmt.Errorf("strategy %s: out-of-range options %+v", name, o)
	}
	if _, err := aggregator(o.Aggregate); err != nil {
		return nil, fmt.Errorf("strategy %s: %w", name, err)
	}
	return r.make(o)
}

// Names lists registered strategies in order.
func Names() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// About returns a registered strategy's one-line description.
func About(name string) string { return registry[name].about }

// NeedsScorer reports whether a strategy uses a step scorer.
func NeedsScorer(name string) bool { return name == "best-of-n" || name == "weighted-vote" }

// aggregator returns the function that folds step scores into one score.
func aggregator(name string) (func([]float64) float64, error) {
	switch name {
	case "", "min":
		return func(s []float64) float64 {
			m := math.Inf(1)
			for _, v := range s {
				m = math.Min(m, v)
			}
			return m
		}, nil
	case "last":
		return func(s []float64) float64 { return s[len(s)-1] }, nil
	case "prod":
		return func(s []float64) float64 {
			p := 1.0
			for _, v := range s {
				p *= v
			}
			return p
		}, nil
	case "mean":
		return func(s []float64) float64 {
			var t float64
			for _, v := range s {
				t += v
			}
			return t / float64(len(s))
		}, nil
	}
	return nil, fmt.Errorf("unknown score aggregation %q (want min, last, prod or mean)", name)
}

// SplitSteps cuts a solution into steps: at blank lines when it has any,
// otherwise at line ends. Empty steps are dropped.
func SplitSteps(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	sep := "\n"
	if strings.Contains(strings.TrimSpace(text), "\n\n") {
		sep = "\n\n"
	}
	var steps []string
	for _, s := range strings.Split(text, sep) {
		if s = strings.TrimSpace(s); s != "" {
			steps = append(steps, s)
		}
	}
	return steps
}
