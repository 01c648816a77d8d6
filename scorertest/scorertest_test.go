package scorertest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/internal/childtest"
)

// fake is a scorer that keeps the contract, unless broken names a rule it
// breaks. A step's score is a hash of the question and the steps so far.
type fake struct{ broken string }

func (f fake) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	var u pareto.Usage
	if err := ctx.Err(); err != nil {
		switch f.broken {
		case "ignores cancellation":
		case "hides the cancellation":
			return nil, u, errors.New("fake: canceled")
		case "hangs when canceled":
			time.Sleep(time.Second)
			return nil, u, fmt.Errorf("fake: %w", err)
		default:
			return nil, u, fmt.Errorf("fake: %w", err)
		}
	}
	if len(steps) == 0 && f.broken != "accepts no steps" {
		return nil, u, errors.New("fake: no steps")
	}
	scores := make([]float64, len(steps))
	h := fnv.New64a()
	h.Write([]byte(question))
	for i, s := range steps {
		h.Write([]byte(s))
		scores[i] = float64(h.Sum64()%1000) / 999
	}
	u.Calls, u.PromptTokens = 1, len(strings.Fields(question))
	switch f.broken {
	case "one score": // reward.Judge as it was before it scored each step
		scores = scores[len(scores)-1:]
	case "a score of 1.3":
		scores[0] = 1.3
	case "NaN":
		scores[len(scores)-1] = math.NaN()
	case "random":
		scores[0] = rand.Float64()
	case "negative cost":
		u.CostUSD = -1
	case "caches more than the prompt":
		u.CachedTokens = u.PromptTokens + 1
	}
	return scores, u, nil
}

func init() { patience = 300 * time.Millisecond }

func TestConformingScorerPasses(t *testing.T) {
	for _, c := range checks {
		if err := c.fn(t.Context(), fake{}, defaultCases); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	Run(t, fake{})
}

// TestBrokenScorersFail runs the checks on scorers that each break one
// rule, and wants that rule's check to fail with a message naming it.
func TestBrokenScorersFail(t *testing.T) {
	for _, tc := range []struct {
		broken, check, want string
	}{
		{"one score", "Steps", `count: 1 scores for 4 steps, want one score per step`},
		{"one score", "Prefixes", `count: 1 scores for 3 steps, want one score per step`},
		{"a score of 1.3", "Steps", "range: score 0 is 1.3, want a probability in [0,1]"},
		{"NaN", "Steps", "range: score 1 is NaN, want a probability in [0,1]"},
		{"accepts no steps", "Empty", "empty: Score(" + fmt.Sprintf("%q", defaultCases[0].Question) + ", []string(nil)) returned [] and no error"},
		{"random", "Deterministic", "deterministic: Score("},
		{"negative cost", "Steps", "usage: CostUSD is -1, want a non-negative figure"},
		{"caches more than the prompt", "Steps", "usage: 19 cached tokens of 18 prompt tokens"},
		{"ignores cancellation", "Canceled", "with a canceled context returned [0.27627627627627627 0.07107107107107107] and no error, want an error wrapping context.Canceled"},
		{"hides the cancellation", "Canceled", `returned error "fake: canceled", which does not wrap context.Canceled`},
		{"hangs when canceled", "Canceled", "with a canceled context did not return within 300ms"},
	} {
		t.Run(tc.broken+"/"+tc.check, func(t *testing.T) {
			var err error
			for _, c := range checks {
				if c.name == tc.check {
					err = c.fn(t.Context(), fake{tc.broken}, defaultCases)
				}
			}
			if err == nil {
				t.Fatalf("%s passed a scorer with %s", tc.check, tc.broken)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s failed a scorer with %s with\n%v\nwant a message containing %q", tc.check, tc.broken, err, tc.want)
			}
		})
	}
}

// TestRunReportsFailures runs Run itself on a broken scorer, in a child
// process since a failing *testing.T cannot be faked, and wants the test to
// fail in the subtest of the broken rule.
func TestRunReportsFailures(t *testing.T) {
	childtest.Fails(t, func(t *testing.T) { Run(t, fake{"one score"}) },
		"--- FAIL: TestRunReportsFailures/Steps ",
		"count: 1 scores for 2 steps, want one score per step",
		"--- PASS: TestRunReportsFailures/Empty ")
}
