// Package scorertest implements support for testing implementations of
// pareto.Scorer: a conformance suite that every step scorer must pass.
package scorertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

// Case is a question and candidate solutions to it, each a list of steps.
type Case struct {
	Question  string
	Solutions [][]string
}

// defaultCases are synth questions (see package synth) with right and
// wrong solutions in its step format, the final answer as a "#### n" step.
var defaultCases = []Case{
	{
		Question: "Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?",
		Solutions: [][]string{
			{"10 / 2 = 5", "#### 5"},
			{"10 / 2 = 4", "#### 4"},
		},
	},
	{
		Question: "Lea had 26 pears, bought 12 and found 2. Una has 11 pears. How many pears do they have in total?",
		Solutions: [][]string{
			{"26 + 12 = 38", "38 + 2 = 40", "40 + 11 = 51", "#### 51"},
			{"26 + 12 = 38", "38 + 2 = 41", "41 + 11 = 52", "#### 52"},
			{"26 + 11 = 37", "#### 37"},
		},
	},
}

// patience bounds how long Score may take to return once its context is
// canceled; a variable so the package's own tests can shorten it.
var patience = 10 * time.Second

// Run tests a scorer implementation on cases: by default questions of the
// synth task with right and wrong solutions. Each case needs at least one
// solution, of at least one step. Each rule of the contract is a subtest of t:
//
//   - Steps: scoring a solution gives exactly one score per step, each in
//     [0,1] and not NaN, and usage with no negative figure, no more cached
//     than prompt tokens and no more Unreported than counted calls.
//   - Prefixes: scoring the first k steps of a solution gives k scores.
//   - Empty: scoring no steps is an error.
//   - Deterministic: scoring the same steps twice gives the same scores.
//   - Canceled: a canceled context makes Score return an error that wraps
//     context.Canceled, promptly.
//
// The scores and usage rules are checked on every call the suite makes.
func Run(t *testing.T, s pareto.Scorer, cases ...Case) {
	t.Helper()
	if len(cases) == 0 {
		cases = defaultCases
	}
	for i, c := range cases {
		if len(c.Solutions) == 0 || slices.ContainsFunc(c.Solutions, func(s []string) bool { return len(s) == 0 }) {
			t.Fatalf("scorertest.Run: case %d has no solutions or an empty one", i)
		}
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(t.Context(), s, cases); err != nil {
				t.Error(err)
			}
		})
	}
}

// A check tests one rule and returns what it found wrong.
type check struct {
	name string
	fn   func(ctx context.Context, s pareto.Scorer, cases []Case) error
}

var checks = []check{
	{"Steps", checkSteps},
	{"Prefixes", checkPrefixes},
	{"Empty", checkEmpty},
	{"Deterministic", checkDeterministic},
	{"Canceled", checkCanceled},
}

// score calls s and checks the rules every call must keep.
func score(ctx context.Context, s pareto.Scorer, question string, steps []string) ([]float64, error) {
	scores, u, err := s.Score(ctx, question, steps)
	if err != nil {
		return nil, fmt.Errorf("Score(%q, %q): %w", question, steps, err)
	}
	if err := validate(steps, scores, u); err != nil {
		return nil, fmt.Errorf("Score(%q, %q): %w", question, steps, err)
	}
	return scores, nil
}

// validate checks one call's scores and usage.
func validate(steps []string, scores []float64, u pareto.Usage) error {
	var errs []error
	report := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(scores) != len(steps) {
		report("count: %d scores for %d steps, want one score per step", len(scores), len(steps))
	}
	for i, v := range scores {
		if !(v >= 0 && v <= 1) { // NaN fails both
			report("range: score %d is %v, want a probability in [0,1]", i, v)
		}
	}
	if err := u.Check(); err != nil {
		report("usage: %v", err)
	}
	return errors.Join(errs...)
}

func checkSteps(ctx context.Context, s pareto.Scorer, cases []Case) error {
	var errs []error
	for _, c := range cases {
		for _, steps := range c.Solutions {
			_, err := score(ctx, s, c.Question, steps)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkPrefixes(ctx context.Context, s pareto.Scorer, cases []Case) error {
	var errs []error
	for _, c := range cases {
		for _, steps := range c.Solutions {
			for k := 1; k < len(steps); k++ {
				_, err := score(ctx, s, c.Question, steps[:k:k])
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func checkEmpty(ctx context.Context, s pareto.Scorer, cases []Case) error {
	var errs []error
	for _, steps := range [][]string{nil, {}} {
		scores, _, err := s.Score(ctx, cases[0].Question, steps)
		if err == nil {
			errs = append(errs, fmt.Errorf("empty: Score(%q, %#v) returned %v and no error, want an error for no steps", cases[0].Question, steps, scores))
		}
	}
	return errors.Join(errs...)
}

func checkDeterministic(ctx context.Context, s pareto.Scorer, cases []Case) error {
	for _, c := range cases {
		for _, steps := range c.Solutions {
			a, err := score(ctx, s, c.Question, steps)
			if err != nil {
				return err
			}
			b, err := score(ctx, s, c.Question, steps)
			if err != nil {
				return err
			}
			if !slices.Equal(a, b) {
				return fmt.Errorf("deterministic: Score(%q, %q) gave %v, then %v", c.Question, steps, a, b)
			}
		}
	}
	return nil
}

func checkCanceled(ctx context.Context, s pareto.Scorer, cases []Case) error {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	q, steps := cases[0].Question, cases[0].Solutions[0]
	type result struct {
		scores []float64
		err    error
	}
	done := make(chan result, 1)
	go func() {
		scores, _, err := s.Score(ctx, q, steps)
		done <- result{scores, err}
	}()
	select {
	case r := <-done:
		switch {
		case r.err == nil:
			return fmt.Errorf("cancel: Score(%q, %q) with a canceled context returned %v and no error, want an error wrapping context.Canceled", q, steps, r.scores)
		case !errors.Is(r.err, context.Canceled):
			return fmt.Errorf("cancel: Score(%q, %q) with a canceled context returned error %q, which does not wrap context.Canceled", q, steps, r.err)
		}
		return nil
	case <-time.After(patience):
		return fmt.Errorf("cancel: Score(%q, %q) with a canceled context did not return within %v", q, steps, patience)
	}
}
