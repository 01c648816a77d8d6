package reward_test

import (
	"math"
	"strings"
	"testing"

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

// The PRM's batch gives each candidate the scores it gets alone (from a
// PRM of its own, so that no score comes from the other's cache), scoring
// a repeated candidate once.
func TestPRMScoreBatchMatchesScore(t *testing.T) {
	batch, alone := loadPRM(t), loadPRM(t)
	q := "Lea had 26 pears, bought 12 and found 2. Una has 11 pears. How many pears do they have in total?"
	cands := [][]string{
		{"26 + 12 = 38", "38 + 2 = 40"},
		{"26 + 12 = 38", "38 + 2 = 41", "41 + 11 = 52"},
		{"26 + 12 = 38", "38 + 2 = 40"},
		{"26 + 11 = 37", "#### 37"},
	}
	out, u, err := batch.ScoreBatch(t.Context(), q, cands)
	if err != nil {
		t.Fatal(err)
	}
	if u.Calls != 3 || u.PrefillFLOPs <= 0 {
		t.Errorf("usage %+v: want 3 calls (the repeated candidate scored once) and the forward compute", u)
	}
	for i, c := range cands {
		want, _, err := alone.Score(t.Context(), q, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(out[i]) != len(want) {
			t.Fatalf("candidate %d: %d scores, want %d", i, len(out[i]), len(want))
		}
		for k := range want {
			if math.Abs(out[i][k]-want[k]) > 1e-6 {
				t.Errorf("candidate %d step %d: batch %v, alone %v", i, k+1, out[i][k], want[k])
			}
		}
	}
	if _, _, err := batch.ScoreBatch(t.Context(), q, [][]string{{"a"}, {}}); err == nil || !strings.Contains(err.Error(), "candidate 1: no steps") {
		t.Errorf("a candidate without steps: error %v", err)
	}
}
