package reward_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/reward"
)

// loadPRM loads the shipped PRM, a fresh one each call, so that no score
// comes from another's cache.
func loadPRM(t *testing.T) *reward.PRM {
	t.Helper()
	return modelstest.Open(t, models.DefaultPRM, reward.LoadPRM)
}

const pears = "Lea had 26 pears, bought 12 and found 2. Una has 11 pears. How many pears do they have in total?"

// scoreTol bounds how far a batch's score may be from Score's: the engine
// multiplies rows in groups, so forwarding the same tokens in other
// passes changes the logits' last bits, and a score by up to about 1e-4.
const scoreTol = 1e-4

// checkScores compares got with the scores of each candidate alone.
func checkScores(t *testing.T, got [][]float64, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("scores for %d candidates, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("candidate %d: %d scores, want %d", i, len(got[i]), len(want[i]))
		}
		for k := range want[i] {
			if math.Abs(got[i][k]-want[i][k]) > scoreTol {
				t.Errorf("candidate %d step %d: batch %v, alone %v", i, k+1, got[i][k], want[i][k])
			}
		}
	}
}

// scoreEach scores candidates one Score each with p, returning the scores
// and the usage summed over the distinct candidates.
func scoreEach(t *testing.T, p *reward.PRM, question string, cands [][]string) ([][]float64, pareto.Usage) {
	t.Helper()
	var total pareto.Usage
	out := make([][]float64, len(cands))
	seen := map[string]bool{}
	for i, c := range cands {
		s, u, err := p.Score(t.Context(), question, c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
		if key := strings.Join(c, "\x00"); !seen[key] {
			seen[key] = true
			total.Add(u)
		}
	}
	return out, total
}

// The PRM's batch gives each candidate the scores it gets alone (from a
// PRM of its own, so that no score comes from the other's cache), scoring
// a repeated candidate once; scoring the batch again computes nothing.
func TestPRMScoreBatchMatchesScore(t *testing.T) {
	batch, alone := loadPRM(t), loadPRM(t)
	cands := [][]string{
		{"26 + 12 = 38", "38 + 2 = 40"},
		{"26 + 12 = 38", "38 + 2 = 41", "41 + 11 = 52"},
		{"26 + 12 = 38", "38 + 2 = 40"},
		{"26 + 11 = 37", "#### 37"},
		{"26 + 12 = 38"},
	}
	out, u, err := batch.ScoreBatch(t.Context(), pears, cands)
	if err != nil {
		t.Fatal(err)
	}
	want, wu := scoreEach(t, alone, pears, cands)
	checkScores(t, out, want)
	for k := range out[0] {
		if out[0][k] != out[2][k] {
			t.Errorf("the repeated candidate, step %d: scored %v and %v", k+1, out[0][k], out[2][k])
		}
	}
	if err := u.Check(); err != nil {
		t.Errorf("usage %+v: %v", u, err)
	}
	if u.Calls != 4 || u.PromptTokens != wu.PromptTokens || u.PrefillFLOPs <= 0 || u.CachedTokens >= u.PromptTokens || u.Latency <= 0 {
		t.Errorf("usage %+v: want 4 calls (the repeated candidate scored once), the %d prompt tokens Score counts, some forwarded, the forward compute and the time", u, wu.PromptTokens)
	}

	again, u2, err := batch.ScoreBatch(t.Context(), pears, cands)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		for k := range out[i] {
			if again[i][k] != out[i][k] {
				t.Errorf("candidate %d step %d: scored %v, then %v", i, k+1, out[i][k], again[i][k])
			}
		}
	}
	if u2.Calls != u.Calls || u2.PromptTokens != u.PromptTokens || u2.CachedTokens != u2.PromptTokens || u2.PrefillFLOPs != 0 {
		t.Errorf("the same batch again: usage %+v, want it all cached and nothing forwarded", u2)
	}
	// Spent plus saved is what the batch costs with nothing reused, however
	// much the caches served.
	if full := u.PrefillFLOPs + u.SavedFLOPs; u.SavedFLOPs <= 0 || math.Abs(u2.SavedFLOPs-full) > 1e-9*full {
		t.Errorf("saved FLOPs %g then %g (spent %g then %g): want some saved, then all %g", u.SavedFLOPs, u2.SavedFLOPs, u.PrefillFLOPs, u2.PrefillFLOPs, full)
	}
}

// A new question's prompt, common to all candidates, is forwarded once,
// as when Score scores them in turn, and the batch charges what those
// calls do.
func TestPRMScoreBatchForwardsThePromptOnce(t *testing.T) {
	batch, alone := loadPRM(t), loadPRM(t)
	cands := [][]string{
		{"26 + 12 = 38", "38 + 2 = 40", "40 + 11 = 51", "#### 51"},
		{"Lea has 26 + 12 + 2 = 40 pears.", "40 + 11 = 51"},
		{"Together they have 26 + 12 + 2 + 11 = 51 pears."},
	}
	out, u, err := batch.ScoreBatch(t.Context(), pears, cands)
	if err != nil {
		t.Fatal(err)
	}
	want, wu := scoreEach(t, alone, pears, cands)
	checkScores(t, out, want)
	if u.PromptTokens != wu.PromptTokens || u.CachedTokens != wu.CachedTokens {
		t.Errorf("batch usage %+v, Score in turn %+v: want the same prompt and cached tokens", u, wu)
	}
	if math.Abs(u.PrefillFLOPs-wu.PrefillFLOPs) > 1e-9*wu.PrefillFLOPs {
		t.Errorf("batch spent %g FLOPs, Score in turn %g", u.PrefillFLOPs, wu.PrefillFLOPs)
	}
}

// A tree search scores a depth's children after their parents: the batch
// forwards only the children's new steps.
func TestPRMScoreBatchForwardsOnlyNewSteps(t *testing.T) {
	batch, alone := loadPRM(t), loadPRM(t)
	parents := [][]string{{"26 + 12 = 38"}, {"26 + 11 = 37"}}
	children := [][]string{
		{"26 + 12 = 38", "38 + 2 = 40"},
		{"26 + 12 = 38", "38 + 2 = 41"},
		{"26 + 11 = 37", "37 + 2 = 39"},
	}
	if _, _, err := batch.ScoreBatch(t.Context(), pears, parents); err != nil {
		t.Fatal(err)
	}
	out, u, err := batch.ScoreBatch(t.Context(), pears, children)
	if err != nil {
		t.Fatal(err)
	}
	want, wu := scoreEach(t, alone, pears, children)
	checkScores(t, out, want)
	parentTokens := 0
	for _, i := range []int{0, 0, 1} {
		_, pu, err := alone.Score(t.Context(), pears, parents[i])
		if err != nil {
			t.Fatal(err)
		}
		parentTokens += pu.PromptTokens
	}
	if u.PromptTokens != wu.PromptTokens || u.CachedTokens != parentTokens {
		t.Errorf("usage %+v: want %d prompt tokens of which the parents' %d cached", u, wu.PromptTokens, parentTokens)
	}
}

func TestPRMScoreBatchErrors(t *testing.T) {
	p := loadPRM(t)
	if _, _, err := p.ScoreBatch(t.Context(), pears, nil); err == nil || !strings.Contains(err.Error(), "no candidates") {
		t.Errorf("no candidates: error %v", err)
	}
	if _, _, err := p.ScoreBatch(t.Context(), pears, [][]string{{"a"}, {}}); err == nil || !strings.Contains(err.Error(), "candidate 1: no steps") {
		t.Errorf("a candidate without steps: error %v", err)
	}
	long := strings.Repeat("1 + 1 = 2, ", 5000)
	if _, _, err := p.ScoreBatch(t.Context(), pears, [][]string{{"a"}, {long}}); err == nil || !strings.Contains(err.Error(), "candidate 1") || !strings.Contains(err.Error(), "context") {
		t.Errorf("a candidate beyond the context: error %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, u, err := p.ScoreBatch(ctx, pears, [][]string{{"a"}, {"b"}}); !errors.Is(err, context.Canceled) || u.PrefillFLOPs != 0 {
		t.Errorf("canceled: error %v, usage %+v", err, u)
	}
}
