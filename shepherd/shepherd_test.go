package shepherd

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

func testConfig() Config {
	return Config{Policy: models.Default, Problems: 6, Levels: []int{2, 3}, Samples: 3, Rollouts: 2, Perturbed: 1, Misread: 1,
		Temperature: 0.8, MaxTokens: 120, Seed: 1}
}

func load(t *testing.T) *embedded.Backend {
	t.Helper()
	path, err := models.Resolve(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Load(path, embedded.WithPrefixCache(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProblemsAreTrainingProblems(t *testing.T) {
	cfg := testConfig()
	seen := map[string]bool{}
	for i := range 200 {
		p := cfg.Problem(i)
		if synth.Heldout(p.Question) {
			t.Fatalf("problem %d is a held-out test problem", i)
		}
		if p.Level != 2 && p.Level != 3 {
			t.Fatalf("problem %d has level %d, want 2 or 3", i, p.Level)
		}
		seen[p.Question] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct questions in 200", len(seen))
	}
	if cfg.Problem(7).Question != cfg.Problem(7).Question {
		t.Error("Problem is not deterministic")
	}
}

func TestLabelInvariants(t *testing.T) {
	b := load(t)
	cfg := testConfig()
	var wrong, bad, perturbed int
	for i := range cfg.Problems {
		recs, err := Label(t.Context(), b, cfg, i)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) < cfg.Samples || len(recs) > cfg.Samples+cfg.Perturbed+cfg.Misread {
			t.Fatalf("problem %d: %d records, want %d samples and up to %d perturbed", i, len(recs), cfg.Samples, cfg.Perturbed+cfg.Misread)
		}
		for _, r := range recs {
			if r.Sample >= cfg.Samples {
				perturbed++
				// The steps before the changed one come from a right
				// sample and are good.
				k := 0
				for _, o := range recs[:cfg.Samples] {
					if !o.Correct {
						continue
					}
					n := 0
					for n < len(o.Steps) && n < len(r.Steps) && o.Steps[n] == r.Steps[n] {
						n++
					}
					k = max(k, n)
				}
				// A change can land on another right sample's step (a misread
				// that uses the quantity another order of the solution
				// adds first): the record is then a right partial solution,
				// and the exact verifier must say so.
				if k == len(r.Steps) && slices.Contains(r.Oracle, false) {
					t.Errorf("perturbed record %+v repeats a right sample's steps, yet the verifier calls one wrong", r)
				}
				if slices.Contains(r.Labels[:k], false) {
					t.Errorf("perturbed record %+v: a step before the changed one (%d) is labelled bad", r, k)
				}
			}
			if len(r.Labels) != len(r.Steps) || len(r.Oracle) != len(r.Steps) || len(r.Steps) == 0 {
				t.Fatalf("record %+v: lengths disagree", r)
			}
			last := r.Steps[len(r.Steps)-1]
			if step.HasAnswer(last) && r.Labels[len(r.Labels)-1] != r.Correct {
				t.Errorf("record %+v: answer line label %v but correct %v", r, r.Labels[len(r.Labels)-1], r.Correct)
			}
			if r.Correct {
				for k, l := range r.Labels {
					if !l {
						t.Errorf("correct solution has a bad step %d: %+v", k, r)
					}
				}
				continue
			}
			wrong++
			for _, l := range r.Labels {
				if !l {
					bad++
				}
			}
		}
	}
	if perturbed == 0 {
		t.Error("no perturbed solutions")
	}
	if wrong == 0 || bad == 0 {
		t.Errorf("levels 2-3 gave %d wrong solutions with %d bad steps; want some of each", wrong, bad)
	}
}

func TestRunResumes(t *testing.T) {
	b := load(t)
	cfg := testConfig()
	cfg.Problems, cfg.Samples, cfg.Rollouts, cfg.Perturbed, cfg.Misread = 4, 2, 1, 0, 0
	path := filepath.Join(t.TempDir(), "labels.jsonl")
	cut := cfg
	cut.Problems = 2
	if err := Run(t.Context(), b, cut, path, 2, nil); err != nil {
		t.Fatal(err)
	}
	// A torn write at the end is cut off, not read.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"problem":3,"sample":0,"ques`)
	f.Close()
	var calls []int
	if err := Run(t.Context(), b, cfg, path, 1, func(n int, _ []Record) { calls = append(calls, n) }); err != nil {
		t.Fatal(err)
	}
	if calls[0] != 2 || calls[len(calls)-1] != 4 {
		t.Errorf("progress %v, want from 2 to 4", calls)
	}
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != cfg.Problems*cfg.Samples {
		t.Errorf("%d records, want %d", len(recs), cfg.Problems*cfg.Samples)
	}
	// Labelling is deterministic: the resumed file equals a fresh run's.
	fresh := filepath.Join(t.TempDir(), "fresh.jsonl")
	if err := Run(t.Context(), load(t), cfg, fresh, 1, nil); err != nil {
		t.Fatal(err)
	}
	again, err := Read(fresh)
	if err != nil {
		t.Fatal(err)
	}
	key := func(r Record) string { return strings.Join(r.Steps, "|") }
	byKey := map[[2]int]string{}
	for _, r := range recs {
		byKey[[2]int{r.Problem, r.Sample}] = key(r)
	}
	for _, r := range again {
		if byKey[[2]int{r.Problem, r.Sample}] != key(r) {
			t.Errorf("problem %d sample %d differs between the resumed and the fresh run", r.Problem, r.Sample)
		}
	}
}

func TestReadBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.jsonl")
	os.WriteFile(path, []byte(`{"problem":0,"sample":0,"steps":["a"],"labels":[true],"oracle":[true]}`+"\n"+`{"problem":1,"steps":["a"],"labels":[]}`+"\n"), 0o644)
	_, err := Read(path)
	if err == nil || !strings.Contains(err.Error(), "l.jsonl:2: 1 steps but 0 labels") {
		t.Errorf("error = %v, want one naming line 2", err)
	}
}

func TestRunRefusesAnotherConfig(t *testing.T) {
	b := load(t)
	cfg := testConfig()
	cfg.Problems, cfg.Samples, cfg.Rollouts = 1, 1, 1
	path := filepath.Join(t.TempDir(), "labels.jsonl")
	if err := Run(t.Context(), b, cfg, path, 1, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Rollouts = 2
	err := Run(t.Context(), b, cfg, path, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "made with another config") {
		t.Errorf("error = %v, want a refusal to mix configs", err)
	}
}

func TestLabelStepsFirstError(t *testing.T) {
	steps := []string{"1 + 2 = 3", "3 * 4 = 12", "12 - 5 = 7", "7 + 1 = 8", "8 / 2 = 4", "#### 4"}
	for first := 0; first <= 5; first++ {
		calls := 0
		good := func(k int) (bool, error) { calls++; return k < first, nil }
		got, err := labelSteps(steps, false, SearchFirstError, good)
		if err != nil {
			t.Fatal(err)
		}
		for k, l := range got {
			if want := k < first; l != want {
				t.Errorf("first bad %d: step %d labelled %v, want %v", first, k, l, want)
			}
		}
		if calls > 3 { // ceil(log2(6)) probes over 5 calculation steps
			t.Errorf("first bad %d: %d rollout batches, want at most 3", first, calls)
		}
		every, _ := labelSteps(steps, false, SearchEvery, good)
		if !slices.Equal(every, got) {
			t.Errorf("first bad %d: every-step labels %v differ from first-error %v on a monotone labelling", first, every, got)
		}
	}
	right, _ := labelSteps(steps, true, SearchFirstError, func(int) (bool, error) { t.Fatal("rolled out a right solution"); return false, nil })
	if slices.Contains(right, false) {
		t.Errorf("right solution labelled %v, want all good", right)
	}
}

func TestMisreadIsRightArithmeticOnAnotherQuantity(t *testing.T) {
	p := synth.TestSet()[450]
	t.Run("bare", func(t *testing.T) { testMisread(t, p, step.Split(p.Solution)) })
	t.Run("symbolic", func(t *testing.T) {
		if testMisread(t, p, step.Split(synth.SymbolicSolutions(p, 1, 1)[0])) == 0 {
			t.Error("no misread of a step with names")
		}
	})
}

func testMisread(t *testing.T, p synth.Problem, steps []string) (symbolic int) {
	change := misread(p.Question)
	changed, wrong := 0, 0
	for k := range steps[:len(steps)-1] {
		for h := range uint64(20) {
			st, ok := change(steps, k, h)
			if !ok {
				continue
			}
			changed++
			prefix, a, op, b, c, ok := binaryStep(st)
			if !ok {
				t.Fatalf("step %d became %q, not a op b = c", k, st)
			}
			if f := strings.Fields(prefix); len(f) == 6 {
				// The names say what the numbers are: a stated number
				// among them is the one the step now uses.
				for i, v := range []int64{a, b} {
					if n := f[2+2*i]; n[0] >= '0' && n[0] <= '9' && n != strconv.FormatInt(v, 10) {
						t.Errorf("step %d %q became %q: names and numbers disagree", k, steps[k], st)
					}
				}
				symbolic++
			}
			if v, ok := synth.Apply(a, op[0], b); !ok || v != c || c < 0 {
				t.Errorf("step %d became %q: the arithmetic is not redone", k, st)
			}
			_, oa, oop, ob, oc, _ := binaryStep(steps[k])
			if oop != op || (oa != a) == (ob != b) || oc == c {
				t.Errorf("step %d %q became %q: want one operand swapped and another result", k, steps[k], st)
			}
			// A swap can land on a step of another valid order; most are
			// wrong. (Rollouts label them, not the verifier.)
			ok2, err := synth.VerifyQuestion(p.Question, append(slices.Clone(steps[:k]), st))
			if err != nil {
				t.Fatal(err)
			}
			if !ok2[k] {
				wrong++
			}
		}
	}
	if changed == 0 || wrong < changed/2 {
		t.Fatalf("%d of %d misreads of %q are wrong steps; want most", wrong, changed, steps)
	}
	return symbolic
}

func TestBalance(t *testing.T) {
	rec := func(problem int, sol string, correct bool) Record {
		return Record{Problem: problem, Steps: []string{sol}, Correct: correct}
	}
	recs := []Record{
		rec(0, "a", true), rec(0, "a", true), rec(0, "b", true), rec(0, "c", false), // 2 distinct right, 1 wrong
		rec(1, "a", true), rec(1, "b", true), // all right: left out
		rec(2, "x", false), // all wrong: left out
		rec(3, "a", false), rec(3, "b", true), rec(3, "c", false), rec(3, "d", false),
	}
	kept, w := Balance(recs)
	if len(kept) != 3+4 || len(w) != len(kept) {
		t.Fatalf("kept %d records (%d weights), want 7", len(kept), len(w))
	}
	sums := map[int][2]float64{}
	for i, r := range kept {
		s := sums[r.Problem]
		if r.Correct {
			s[0] += w[i]
		} else {
			s[1] += w[i]
		}
		sums[r.Problem] = s
	}
	for p, s := range sums {
		n := map[int]float64{0: 3, 3: 4}[p]
		if math.Abs(s[0]-n/2) > 1e-12 || math.Abs(s[1]-n/2) > 1e-12 {
			t.Errorf("problem %d: right weigh %g, wrong %g; want %g each", p, s[0], s[1], n/2)
		}
	}
}
