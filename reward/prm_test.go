package reward

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/synth"
)

func shippedPRM(t *testing.T) *PRM {
	t.Helper()
	path, err := models.Path(models.DefaultPRM)
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPRM(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPRMRefusesAPolicy(t *testing.T) {
	path, err := models.Path(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPRM(path); err == nil || !strings.Contains(err.Error(), "not a process reward model") {
		t.Errorf("LoadPRM(policy) error = %v, want a refusal", err)
	}
}

// corrupt changes the result of step k of a reference solution, so that
// step and every later one are wrong.
func corrupt(steps []string, k int) []string {
	out := append([]string(nil), steps...)
	i := strings.LastIndex(out[k], "= ")
	v, err := strconv.Atoi(strings.TrimSpace(out[k][i+2:]))
	if err != nil {
		return nil
	}
	out[k] = out[k][:i+2] + strconv.Itoa(v+1+k%3)
	return out
}

func TestPRMRanksRightStepsAboveWrongOnes(t *testing.T) {
	p := shippedPRM(t)
	var xs []run.Scored
	var scoredOnce bool
	for i, prob := range synth.TestSet() {
		if i%20 != 0 || prob.Level < 2 {
			continue
		}
		steps := shepherd.Lines(prob.Solution)
		k := i % (len(steps) - 1)
		bad := corrupt(steps, k)
		if bad == nil {
			continue
		}
		for _, sol := range [][]string{steps, bad} {
			scores, u, err := p.Score(t.Context(), prob.Question, sol)
			if err != nil {
				t.Fatal(err)
			}
			if len(scores) != len(sol) || u.PrefillFLOPs <= 0 || u.Calls != 1 {
				t.Fatalf("%d scores for %d steps, usage %+v", len(scores), len(sol), u)
			}
			if scoredOnce && u.CachedTokens == 0 {
				t.Errorf("the second solution to one question paid for its prompt again")
			}
			scoredOnce = !scoredOnce
			ok, err := synth.VerifyQuestion(prob.Question, sol)
			if err != nil {
				t.Fatal(err)
			}
			for j, c := range synth.Cumulative(ok) {
				if s := scores[j]; !(s >= 0 && s <= 1) || math.IsNaN(s) {
					t.Fatalf("score %g out of [0,1]", s)
				}
				xs = append(xs, run.Scored{Score: scores[j], Right: c})
			}
		}
	}
	// The shipped PRM mostly ranks by how hard a question is, not by
	// checking arithmetic: on a reference solution and its corrupted twin
	// it is near chance (see models/pareto-synth-prm.md). Logged so a
	// better PRM shows here; the floor lives in the issue, not the test.
	t.Logf("AUROC %.3f over %d steps of reference and corrupted solutions", run.AUROC(xs), len(xs))
}

func TestPRMScoresAreDeterministic(t *testing.T) {
	p := shippedPRM(t)
	prob := synth.TestSet()[450]
	steps := shepherd.Lines(prob.Solution)
	a, _, err := p.Score(t.Context(), prob.Question, steps)
	if err != nil {
		t.Fatal(err)
	}
	b, u, err := p.Score(t.Context(), prob.Question, steps)
	if err != nil {
		t.Fatal(err)
	}
	// The second call reads the prompt from the prefix cache and forwards
	// its last token alone; batch-1 and batched kernels sum in different
	// orders, so the scores agree to float32 rounding, not bit for bit.
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-5 {
			t.Fatalf("step %d scored %g, then %g", i, a[i], b[i])
		}
	}
	if u.CachedTokens == 0 {
		t.Error("the second scoring of one question paid for its prompt again")
	}
	if _, _, err := p.Score(t.Context(), prob.Question, nil); err == nil {
		t.Error("no steps: want an error")
	}
}
