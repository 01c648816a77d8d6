// Package strategy holds the ways of spending inference compute on a
// question: greedy decoding, chain of thought, self-consistency, best-of-N
// and weighted voting. Each is a small type behind the Strategy interface,
// registered by name.
package strategy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
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
	// Thinker, when set, makes a tree search think once: a hidden thought
	// after the question's prompt, before the first step, and every step
	// then written after it by the Thinker's Steps generator, which does
	// not think again. (Gen, when it forces thinking, thinks before each
	// call: before every sampled answer, and before every step of a search
	// that has no Thinker.)
	Thinker Thinker
}

// Thinker writes the one hidden thought a tree search starts from.
type Thinker interface {
	// Think writes a thought after req's prompt and returns the text that
	// follows the prompt from then on (the thought between its markers,
	// and the answer cue) and what the thought cost, its generated tokens
	// hidden.
	Think(ctx context.Context, req pareto.Request) (prefix string, u pareto.Usage, err error)
	// Steps is the generator that writes the steps after the thought.
	Steps() pareto.Generator
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

	// The tree searches' knobs (zero means the default named beside each).

	// Width is the beam width M of beam and dvts: each kept node gets M
	// children, and N/M nodes are kept (DefaultWidth).
	Width int `json:"width,omitempty"`
	// RebaseTemperature is the softmax temperature over rewards with which
	// REBASE splits its budget among live nodes (DefaultRebaseTemperature).
	RebaseTemperature float64 `json:"rebase_temperature,omitempty"`
	// Select picks a search's answer among its finished solutions:
	// weighted-vote, best-of-n or majority (DefaultSelect).
	Select string `json:"select,omitempty"`
	// StepTokens caps the tokens of one step (DefaultStepTokens).
	StepTokens int `json:"step_tokens,omitempty"`
	// MaxDepth caps the steps of a solution (DefaultMaxDepth).
	MaxDepth int `json:"max_depth,omitempty"`
}

// Defaults of the search options.
const (
	DefaultWidth             = 4
	DefaultRebaseTemperature = 0.2 // the study's (arXiv 2412.16260)
	DefaultSelect            = "weighted-vote"
	DefaultStepTokens        = 96 // the study's cap per step
	DefaultMaxDepth          = 32
)

// Result is a strategy's answer and everything behind it.
type Result struct {
	Answer     string      `json:"answer"` // the chosen final answer, as extracted
	Output     string      `json:"output"` // the chosen candidate's full text
	Candidates []Candidate `json:"candidates"`
	Votes      []Vote      `json:"votes,omitempty"`
	// Tree is a tree search's trace: every node it expanded, parents
	// before children. Sampling strategies leave it empty.
	Tree  []Node       `json:"tree,omitempty"`
	Usage pareto.Usage `json:"usage"`
}

// Node is one node of a search tree: a partial solution one step longer
// than its parent's, its score, and whether the search kept it.
type Node struct {
	ID       int      `json:"id"`
	Parent   *int     `json:"parent,omitempty"` // nil for a root
	Text     string   `json:"text"`             // the step this node adds
	Score    *float64 `json:"score,omitempty"`
	Answer   string   `json:"answer,omitempty"`   // set where the node ends a solution
	Selected bool     `json:"selected,omitempty"` // on the path to the chosen answer
	// Children is the budget the search gave the node: how many children
	// it asked for.
	Children int  `json:"children,omitempty"`
	Finished bool `json:"finished,omitempty"` // ends a solution
	Pruned   bool `json:"pruned,omitempty"`   // live, but dropped by the search
}

// Candidate is one sampled solution.
type Candidate struct {
	Text string `json:"text"`
	// Reasoning is the hidden thought before Text, kept only when the run
	// shows reasoning (--show-reasoning); its tokens are in Usage either way.
	Reasoning  string    `json:"reasoning,omitempty"`
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

// Option names one field of Options, as a Spec lists the ones a strategy
// reads. The names are the fields' JSON keys.
type Option string

// The Options fields.
const (
	OptN                 Option = "n"
	OptMaxTokens         Option = "max_tokens"
	OptTemperature       Option = "temperature"
	OptTopP              Option = "top_p"
	OptShots             Option = "shots"
	OptAggregate         Option = "aggregate"
	OptWidth             Option = "width"
	OptRebaseTemperature Option = "rebase_temperature"
	OptSelect            Option = "select"
	OptStepTokens        Option = "step_tokens"
	OptMaxDepth          Option = "max_depth"
)

// options says, for each option, how a strategy that ignores it sets it
// (neutral) and how one that reads it fills a zero (fill: its default, so
// that leaving an option out and giving its default name the same run).
// The older options keep their zero as given, as runs were named by it.
var options = map[Option]struct{ neutral, fill func(*Options) }{
	OptN:                 {neutral: func(o *Options) { o.N = 1 }},
	OptMaxTokens:         {},
	OptTemperature:       {neutral: func(o *Options) { o.Temperature = 0 }},
	OptTopP:              {neutral: func(o *Options) { o.TopP = 0 }},
	OptShots:             {neutral: func(o *Options) { o.Shots = 0 }},
	OptAggregate:         {neutral: func(o *Options) { o.Aggregate = "" }},
	OptWidth:             {func(o *Options) { o.Width = 0 }, func(o *Options) { o.Width = cmp.Or(o.Width, DefaultWidth) }},
	OptRebaseTemperature: {func(o *Options) { o.RebaseTemperature = 0 }, func(o *Options) { o.RebaseTemperature = cmp.Or(o.RebaseTemperature, DefaultRebaseTemperature) }},
	OptSelect:            {func(o *Options) { o.Select = "" }, func(o *Options) { o.Select = cmp.Or(o.Select, DefaultSelect) }},
	OptStepTokens:        {func(o *Options) { o.StepTokens = 0 }, func(o *Options) { o.StepTokens = cmp.Or(o.StepTokens, DefaultStepTokens) }},
	OptMaxDepth:          {func(o *Options) { o.MaxDepth = 0 }, func(o *Options) { o.MaxDepth = cmp.Or(o.MaxDepth, DefaultMaxDepth) }},
}

// Spec is everything pareto knows about a strategy besides how it solves a
// question: the one record that the command line, the grid, run identities
// and the report read, so a new strategy is described in one place.
type Spec struct {
	Name  string // e.g. "self-consistency"
	About string // one line for `pareto list`
	// Scored strategies rate candidates with a step scorer (Env.Scorer).
	Scored bool
	// Uses lists the options the strategy reads; the others are set to
	// their neutral values (N 1, the rest zero) in its canonical options,
	// so that an option it ignores cannot make a new run of the same work.
	Uses []Option
	// Budget is the option a grid varies to spend more compute (OptN for
	// the sampling strategies), or "" for a strategy of fixed cost.
	Budget Option
	// New makes the strategy from options that passed the common checks.
	New func(Options) (Strategy, error)
}

// uses reports whether the strategy reads option o.
func (s Spec) uses(o Option) bool { return slices.Contains(s.Uses, o) }

// Canonical returns o with the options the strategy ignores set to their
// neutral values and the search options it reads filled with their
// defaults. Runs are identified by canonical options.
func (s Spec) Canonical(o Options) Options {
	for name, opt := range options {
		f := opt.neutral
		if s.uses(name) {
			f = opt.fill
		}
		if f != nil {
			f(&o)
		}
	}
	return o
}

var registry = map[string]Spec{}

// Register adds a strategy. It panics on a duplicate or incomplete spec,
// as registering either is a programming error.
func Register(s Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("strategy: duplicate " + s.Name)
	}
	if s.Name == "" || s.New == nil || !s.uses(OptMaxTokens) || (s.Budget != "" && !s.uses(s.Budget)) {
		panic("strategy: incomplete spec for " + s.Name)
	}
	for _, o := range s.Uses {
		if _, ok := options[o]; !ok {
			panic("strategy: " + s.Name + " uses unknown option " + string(o))
		}
	}
	registry[s.Name] = s
}

// Lookup returns the spec registered under name.
func Lookup(name string) (Spec, error) {
	s, ok := registry[name]
	if !ok {
		return Spec{}, fmt.Errorf("unknown strategy %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// New makes the strategy registered under name.
func New(name string, o Options) (Strategy, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if o.N < 0 || o.MaxTokens < 0 || o.Temperature < 0 || o.TopP < 0 || o.TopP > 1 || o.Shots < 0 ||
		o.Width < 0 || o.RebaseTemperature < 0 || o.StepTokens < 0 || o.MaxDepth < 0 {
		return nil, fmt.Errorf("strategy %s: out-of-range options %+v", name, o)
	}
	if _, err := aggregator(o.Aggregate); err != nil {
		return nil, fmt.Errorf("strategy %s: %w", name, err)
	}
	if !slices.Contains([]string{"", "weighted-vote", "best-of-n", "majority"}, o.Select) {
		return nil, fmt.Errorf("strategy %s: unknown selection %q (want weighted-vote, best-of-n or majority)", name, o.Select)
	}
	// The strategy sees its defaults filled in, as its runs are named.
	return s.New(s.Canonical(o))
}

// Names lists registered strategies in order.
func Names() []string {
	names := slices.Collect(maps.Keys(registry))
	slices.Sort(names)
	return names
}

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

// WithBudget returns o with the strategy's budget option set to v; a
// strategy of fixed cost gets o unchanged.
func (s Spec) WithBudget(o Options, v int) Options {
	if s.Budget == OptN {
		o.N = v
	}
	return o
}

// BudgetOf returns the value of the strategy's budget option in o, or 0 for
// a strategy of fixed cost.
func (s Spec) BudgetOf(o Options) int {
	if s.Budget == OptN {
		return max(o.N, 1)
	}
	return 0
}
