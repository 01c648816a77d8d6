package pareto_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
)

// scorerFunc is a Scorer made of a function.
type scorerFunc func(question string, steps []string) ([]float64, error)

func (f scorerFunc) Score(_ context.Context, q string, steps []string) ([]float64, pareto.Usage, error) {
	s, err := f(q, steps)
	return s, pareto.Usage{Calls: 1}, err
}

// batchFunc is a BatchScorer whose ScoreBatch is a function.
type batchFunc struct {
	scorerFunc
	batch func(cands [][]string) [][]float64
}

func (b batchFunc) ScoreBatch(_ context.Context, _ string, cands [][]string) ([][]float64, pareto.Usage, error) {
	return b.batch(cands), pareto.Usage{Calls: 1}, nil
}

func halves(_ string, steps []string) ([]float64, error) {
	s := make([]float64, len(steps))
	for i := range s {
		s[i] = 0.5
	}
	return s, nil
}

func TestScoreAllFallsBackToScore(t *testing.T) {
	cands := [][]string{{"a"}, {"a", "b"}, {"c", "d", "e"}}
	out, u, err := pareto.ScoreAll(t.Context(), scorerFunc(halves), "q", cands)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cands {
		if len(out[i]) != len(c) {
			t.Errorf("candidate %d: %d scores for %d steps", i, len(out[i]), len(c))
		}
	}
	if u.Calls != 3 {
		t.Errorf("usage calls %d, want 3", u.Calls)
	}
}

// A scorer that breaks its contract fails the question, naming the
// candidate, rather than leaving it unscored.
func TestScoreAllRefusesBrokenScorers(t *testing.T) {
	cands := [][]string{{"a", "b"}, {"c", "d"}}
	for _, c := range []struct {
		name  string
		s     pareto.Scorer
		wants string
	}{
		{"short", scorerFunc(func(q string, steps []string) ([]float64, error) {
			if steps[0] == "c" {
				return []float64{0.5}, nil
			}
			return halves(q, steps)
		}), "candidate 1: scorer returned 1 scores for 2 steps"},
		{"NaN", scorerFunc(func(q string, steps []string) ([]float64, error) {
			return []float64{0.5, math.NaN()}, nil
		}), "candidate 0: scorer gave step 2 the score NaN"},
		{"failing", scorerFunc(func(q string, steps []string) ([]float64, error) {
			return nil, errors.New("server gone")
		}), "server gone"},
		{"batch short", batchFunc{scorerFunc(halves), func(c [][]string) [][]float64 { return [][]float64{{0.5, 0.5}} }},
			"scores for 1 candidates of 2"},
		{"batch wrong steps", batchFunc{scorerFunc(halves), func(c [][]string) [][]float64 { return [][]float64{{0.5, 0.5}, {0.5, 0.5, 0.5}} }},
			"candidate 1: scorer returned 3 scores for 2 steps"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := pareto.ScoreAll(t.Context(), c.s, "q", cands)
			if err == nil || !strings.Contains(err.Error(), c.wants) {
				t.Errorf("scores %v, error %v: want an error saying %q", out, err, c.wants)
			}
		})
	}
	if _, _, err := pareto.ScoreAll(t.Context(), scorerFunc(halves), "q", [][]string{{"a"}, nil}); err == nil || !strings.Contains(err.Error(), "candidate 1: no steps") {
		t.Errorf("a candidate without steps: error %v", err)
	}
}
