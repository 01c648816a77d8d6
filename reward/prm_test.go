package reward

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

func shippedPRM(t *testing.T) *PRM {
	t.Helper()
	return modelstest.Open(t, models.DefaultPRM, LoadPRM)
}

func TestLoadPRMRefusesAPolicy(t *testing.T) {
	if _, err := LoadPRM(modelstest.Path(t, models.Default)); err == nil || !strings.Contains(err.Error(), "not a process reward model") {
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
		steps := step.Split(prob.Solution)
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
	steps := step.Split(prob.Solution)
	a, _, err := p.Score(t.Context(), prob.Question, steps)
	if err != nil {
		t.Fatal(err)
	}
	b, u, err := p.Score(t.Context(), prob.Question, steps)
	if err != nil {
		t.Fatal(err)
	}
	// The second call finds every step's score remembered and forwards
	// nothing.
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d scored %g, then %g", i, a[i], b[i])
		}
	}
	if u.CachedTokens != u.PromptTokens || u.PrefillFLOPs != 0 {
		t.Errorf("the second scoring of the same steps computed again: %+v", u)
	}
	if _, _, err := p.Score(t.Context(), prob.Question, nil); err == nil {
		t.Error("no steps: want an error")
	}
}

// coldScores scores steps with p's model as a PRM that has seen nothing
// before: no prefix cache, no scores remembered.
func coldScores(t *testing.T, p *PRM, question string, steps []string) ([]float64, pareto.Usage) {
	t.Helper()
	cold := *p
	cold.cache, cold.scores = nil, newMemo[float64](1)
	s, u, err := cold.Score(t.Context(), question, steps)
	if err != nil {
		t.Fatal(err)
	}
	return s, u
}

// TestPRMReusesEarlierSteps scores a solution's steps[:1], [:2], [:3] in
// turn, as a tree search does: each call forwards only the new step's
// tokens, charges only their FLOPs, and scores as a PRM with no cache does.
func TestPRMReusesEarlierSteps(t *testing.T) {
	p := shippedPRM(t)
	prob := synth.TestSet()[450]
	steps := step.Split(prob.Solution)
	if len(steps) < 3 {
		t.Fatalf("%d steps, the test wants 3", len(steps))
	}
	prev := 0 // tokens of the sequence scored before
	for k := 1; k <= 3; k++ {
		got, u, err := p.Score(t.Context(), prob.Question, steps[:k])
		if err != nil {
			t.Fatal(err)
		}
		want, cu := coldScores(t, p, prob.Question, steps[:k])
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-5 {
				t.Errorf("steps[:%d]: step %d scored %g, a cold PRM %g", k, i+1, got[i], want[i])
			}
		}
		tokens, _, _ := Encode(p.tok, Prompt(p.prompt, prob.Question), steps[:k])
		if u.Calls != 1 || u.PromptTokens != len(tokens) || u.CachedTokens != prev {
			t.Errorf("steps[:%d]: usage %+v, want %d prompt tokens of which %d cached", k, u, len(tokens), prev)
		}
		// The FLOPs of forwarding the new tokens after the old ones.
		seq := p.m.NewSeq()
		if _, err := p.m.Prefill(seq, tokens[:prev]); err != nil {
			t.Fatal(err)
		}
		f, err := p.m.Prefill(seq, tokens[prev:])
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(u.PrefillFLOPs-f) > 1e-9*f {
			t.Errorf("steps[:%d]: %g prefill FLOPs, forwarding the new tokens costs %g", k, u.PrefillFLOPs, f)
		}
		if k > 1 && u.PrefillFLOPs >= cu.PrefillFLOPs {
			t.Errorf("steps[:%d]: %g prefill FLOPs, no fewer than a cold PRM's %g", k, u.PrefillFLOPs, cu.PrefillFLOPs)
		}
		prev = len(tokens)
	}
}

// TestPRMConcurrentScores scores prefixes of several solutions from many
// goroutines at once, each sharing a question and steps with others, and
// checks every score against a cold PRM's.
func TestPRMConcurrentScores(t *testing.T) {
	p := shippedPRM(t)
	type job struct {
		question string
		steps    []string
	}
	var jobs []job
	for _, i := range []int{450, 451, 700} {
		prob := synth.TestSet()[i]
		steps := step.Split(prob.Solution)
		for k := 1; k <= len(steps); k++ {
			jobs = append(jobs, job{prob.Question, steps[:k]})
		}
		if bad := corrupt(steps, 0); bad != nil {
			jobs = append(jobs, job{prob.Question, bad})
		}
	}
	want := make([][]float64, len(jobs))
	for i, j := range jobs {
		want[i], _ = coldScores(t, p, j.question, j.steps)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4*len(jobs))
	got := make([][]float64, 4*len(jobs))
	for i := range got {
		wg.Go(func() {
			j := jobs[(i*7)%len(jobs)]
			got[i], _, errs[i] = p.Score(t.Context(), j.question, j.steps)
		})
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		w := want[(i*7)%len(jobs)]
		if len(got[i]) != len(w) {
			t.Fatalf("call %d: %d scores, want %d", i, len(got[i]), len(w))
		}
		for s := range w {
			// Which call fills the cache first decides in which chunks a
			// reused prefix was prefilled, and a prefill's rounding depends
			// on its chunks (the engine multiplies rows in groups): a score
			// moves by up to about 1e-4. Same chunks agree to 1e-5 (above).
			if math.Abs(got[i][s]-w[s]) > 1e-3 {
				t.Errorf("call %d: step %d scored %g, a cold PRM %g", i, s+1, got[i][s], w[s])
			}
		}
	}
}

func TestStepKeys(t *testing.T) {
	a := stepKeys([]int{1, 2, 3, 4, 5}, []int{1, 3, 4})
	b := stepKeys([]int{1, 2, 3, 4}, []int{1, 3})
	c := stepKeys([]int{1, 2, 9, 4}, []int{1, 3})
	if a[0] != b[0] || a[1] != b[1] {
		t.Error("equal token prefixes have different keys")
	}
	if a[0] == a[1] || a[1] == a[2] || c[0] != a[0] || c[1] == a[1] {
		t.Error("different token prefixes share a key")
	}
}

func TestScoreCacheIsBounded(t *testing.T) {
	c := newMemo[float64](4)
	c.put("kept", 0.5)
	for i := range 20 {
		c.put(strconv.Itoa(i), float64(i))
		if _, ok := c.get("kept"); !ok {
			t.Fatalf("an entry read after every put was dropped after %d puts", i+1)
		}
		if n := len(c.cur) + len(c.old); n > 8 {
			t.Fatalf("%d entries, want at most 8", n)
		}
	}
	if _, ok := c.get("0"); ok {
		t.Error("an entry not read for 20 puts survived")
	}
	if v, ok := c.get("19"); !ok || v != 19 {
		t.Errorf("latest entry = %v, %v", v, ok)
	}
}

// A fresh PRM scores as the one it came from but remembers nothing of it:
// steps the first one scored cost a full prefill again.
func TestPRMFreshRemembersNothing(t *testing.T) {
	p := shippedPRM(t)
	q := "Mia has 3 bags with 4 eggs each. How many eggs does Mia have?"
	steps := []string{"3 * 4 = 12", "#### 12"}
	first, u1, err := p.Score(context.Background(), q, steps)
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := p.Score(context.Background(), q, steps)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Fresh()
	fresh, u2, err := f.Score(context.Background(), q, steps)
	if err != nil {
		t.Fatal(err)
	}
	if again.PrefillFLOPs != 0 || again.CachedTokens != again.PromptTokens {
		t.Fatalf("the same PRM again: %+v, want everything remembered", again)
	}
	if u2.PrefillFLOPs != u1.PrefillFLOPs || u2.CachedTokens != u1.CachedTokens || !slices.Equal(first, fresh) {
		t.Fatalf("fresh: scores %v usage %+v, want %v and %+v as the first time", fresh, u2, first, u1)
	}
}
