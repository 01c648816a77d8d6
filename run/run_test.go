package run

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// arith answers "What is A+B?" questions: right when the seed is even or
// the sum is small, so accuracy differs by seed and by question.
type arith struct {
	calls    atomic.Int64
	failFrom int64 // fail every call after this many (0 = never)
}

func (a *arith) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	k := a.calls.Add(1)
	if a.failFrom > 0 && k > a.failFrom {
		return nil, errors.New("backend went away")
	}
	var x, y int
	i := strings.LastIndex(req.Prompt, "What is ")
	fmt.Sscanf(req.Prompt[i:], "What is %d+%d?", &x, &y)
	out := make([]pareto.Completion, max(req.N, 1))
	for j := range out {
		ans := x + y
		if *req.Seed%2 == 1 && ans > 10 && j%2 == 0 {
			ans++
		}
		out[j] = pareto.Completion{Text: fmt.Sprintf("%d+%d=%d\n#### %d", x, y, ans, ans),
			Usage: pareto.Usage{Calls: 1, PromptTokens: 20, CompletionTokens: 7}}
	}
	return out, nil
}

func questions(n int) []pareto.Question {
	qs := make([]pareto.Question, n)
	for i := range qs {
		qs[i] = pareto.Question{ID: fmt.Sprint(i), Dataset: "t", Format: pareto.FormatGSM8K,
			Text: fmt.Sprintf("What is %d+%d?", i, i+1), Reference: fmt.Sprintf("#### %d", 2*i+1)}
	}
	return qs
}

func openStore(t *testing.T) *store.DB {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func runner(db *store.DB, gen pareto.Generator) *Runner {
	acc := compute.Accountant{Arch: compute.Arch{Params: 1e6, Layers: 2, DModel: 16}, Price: compute.Price{InPerM: 1, OutPerM: 1}}
	return &Runner{Store: db, Gen: &Cached{Inner: gen, Cache: db, Model: "m", Accountant: acc}, Concurrency: 3}
}

func TestResumeAfterFailureEqualsUninterrupted(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Model: "m", Dataset: "t", Strategy: "self-consistency", Options: strategy.Options{N: 3, MaxTokens: 16, Temperature: 0.7}, Seed: 1, Seeds: 2}
	qs := questions(12)

	whole, err := runner(openStore(t), &arith{}).Run(ctx, cfg, qs)
	if err != nil {
		t.Fatal(err)
	}

	db := openStore(t)
	_, err = runner(db, &arith{failFrom: 9}).Run(ctx, cfg, qs)
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted run: want an error that says how to resume, got %v", err)
	}
	partial, _ := db.Results(ctx, cfg.idWith(qs))
	if len(partial) == 0 || len(partial) >= 24 {
		t.Fatalf("interrupted run kept %d results", len(partial))
	}
	second := &arith{}
	resumed, err := runner(db, second).Run(ctx, cfg, qs)
	if err != nil {
		t.Fatal(err)
	}
	// Every call the interrupted run finished is cached, even one whose
	// result the abort kept from being saved, so the resume calls the
	// backend only for the 24-9 calls that never succeeded.
	if second.calls.Load() != 24-9 {
		t.Errorf("resume made %d calls, want %d (one per call that never succeeded)", second.calls.Load(), 24-9)
	}
	if resumed.Answered != 24 || resumed.Accuracy != whole.Accuracy || resumed.Tokens != whole.Tokens || resumed.FLOPs != whole.FLOPs || resumed.AccuracyCI95 != whole.AccuracyCI95 {
		t.Fatalf("resumed run differs from uninterrupted:\n%+v\n%+v", resumed, whole)
	}
	if whole.Accuracy <= 0 || whole.Accuracy >= 1 || whole.AccuracyStd == 0 {
		t.Fatalf("test data should give a mixed accuracy that varies by seed: %+v", whole)
	}

	// A third identical run does nothing and changes nothing.
	third := &arith{}
	again, err := runner(db, third).Run(ctx, cfg, qs)
	if err != nil || third.calls.Load() != 0 || again.Answered != 24 {
		t.Fatalf("re-run: %v calls=%d answered=%d", err, third.calls.Load(), again.Answered)
	}
}

func TestCacheMakesReRunFree(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	gen := &arith{}
	qs := questions(5)
	cfg := Config{Model: "m", Dataset: "t", Strategy: "greedy", Options: strategy.Options{N: 1, MaxTokens: 8}, Seed: 0, Seeds: 1}
	first, err := runner(db, gen).Run(ctx, cfg, qs)
	if err != nil {
		t.Fatal(err)
	}
	// A different run (another seed count) asks the same calls for seed 0.
	cfg.Seeds = 2
	second, err := runner(db, gen).Run(ctx, cfg, qs)
	if err != nil {
		t.Fatal(err)
	}
	if gen.calls.Load() != 10 {
		t.Fatalf("backend calls = %d, want 10 (seed 0 served from cache)", gen.calls.Load())
	}
	if second.Tokens.Completion != 2*first.Tokens.Completion {
		t.Fatalf("cached calls must carry their original usage: %d vs %d", second.Tokens.Completion, first.Tokens.Completion)
	}
	if first.Accuracy != 1 || first.FLOPs <= 0 || first.CostUSD <= 0 {
		t.Fatalf("summary %+v", first)
	}
}

func TestConcurrentRunsShareStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []string{"greedy", "self-consistency"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := runner(db, &arith{}).Run(ctx, Config{Model: "m", Dataset: "t", Strategy: s, Options: strategy.Options{N: 2, MaxTokens: 8}, Seeds: 1}, questions(20))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnknownStrategy(t *testing.T) {
	_, err := runner(openStore(t), &arith{}).Run(context.Background(), Config{Strategy: "magic"}, questions(1))
	if err == nil || !strings.Contains(err.Error(), "magic") {
		t.Fatalf("got %v", err)
	}
}

// idWith is the ID the runner derives for cfg over qs.
func (c Config) idWith(qs []pareto.Question) string {
	c.QuestionIDs = nil
	for _, q := range qs {
		c.QuestionIDs = append(c.QuestionIDs, q.ID)
	}
	return c.ID()
}

func TestPercentileAndBootstrap(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	if p := percentile(xs, 0.5); p != 2.5 {
		t.Fatalf("median %g", p)
	}
	ci := bootstrapCI(map[string][2]int{"a": {1, 1}, "b": {0, 1}, "c": {1, 1}, "d": {1, 1}}, 500, 0.95)
	if ci[0] > 0.75 || ci[1] < 0.75 || ci[0] < 0 || ci[1] > 1 {
		t.Fatalf("ci %v does not cover 0.75", ci)
	}
	all := bootstrapCI(map[string][2]int{"a": {1, 1}, "b": {1, 1}}, 100, 0.95)
	if all != [2]float64{1, 1} {
		t.Fatalf("ci %v", all)
	}
}

func TestAUROC(t *testing.T) {
	for _, c := range []struct {
		xs   []Scored
		want float64
	}{
		{[]Scored{{0.9, true}, {0.8, true}, {0.1, false}}, 1},
		{[]Scored{{0.1, true}, {0.9, false}}, 0},
		{[]Scored{{0.5, true}, {0.5, false}}, 0.5},
		{[]Scored{{0.9, true}, {0.2, true}, {0.5, false}, {0.1, false}}, 0.75},
		{[]Scored{{0.9, true}}, 0.5},
	} {
		if got := AUROC(c.xs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AUROC(%v) = %g, want %g", c.xs, got, c.want)
		}
	}
}

// A library caller and the command line name the same work the same way:
// options the strategy ignores, and a scorer it does not use, leave the
// run's identity alone.
func TestIDIgnoresWhatTheStrategyIgnores(t *testing.T) {
	base := Config{Model: "m", Dataset: "t", Strategy: "greedy", Options: strategy.Options{N: 1, MaxTokens: 16}, Seed: 1, Seeds: 1}
	noisy := base
	noisy.Options = strategy.Options{N: 8, MaxTokens: 16, Temperature: 0.7, TopP: 0.9, Shots: 3, Aggregate: "min"}
	noisy.Scorer, noisy.Seeds = "judge", 0
	if base.ID() != noisy.ID() {
		t.Errorf("greedy with ignored options has ID %s, want %s", noisy.ID(), base.ID())
	}
	sc := base
	sc.Strategy, sc.Options.N = "best-of-n", 4
	judged := sc
	judged.Scorer = "judge"
	if sc.ID() == judged.ID() {
		t.Error("the scorer of best-of-n does not change its ID")
	}
	more := base
	more.Options.MaxTokens = 32
	if more.ID() == base.ID() {
		t.Error("max tokens do not change greedy's ID")
	}
}

// memo is a Remembering scorer: each instance records the seeds whose
// candidates it scored (read from the run by the seed's questions).
type memo struct {
	mu     sync.Mutex
	fresh  []*memo
	scored int
}

func (m *memo) Score(_ context.Context, _ string, steps []string) ([]float64, pareto.Usage, error) {
	m.mu.Lock()
	m.scored++
	m.mu.Unlock()
	return make([]float64, len(steps)), pareto.Usage{Calls: 1}, nil
}

func (m *memo) Fresh() pareto.Scorer {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := &memo{}
	m.fresh = append(m.fresh, f)
	return f
}

// Each seed scores with a memory of its own: no seed is charged less for
// what another seed scored.
func TestSeedsScoreWithTheirOwnMemory(t *testing.T) {
	root := &memo{}
	r := runner(openStore(t), &arith{})
	r.Scorer = root
	cfg := Config{Model: "m", Dataset: "t", Strategy: "weighted-vote", Options: strategy.Options{N: 2, MaxTokens: 16, Temperature: 0.7}, Seed: 1, Seeds: 3}
	if _, err := r.Run(context.Background(), cfg, questions(4)); err != nil {
		t.Fatal(err)
	}
	if len(root.fresh) != 3 || root.scored != 0 {
		t.Fatalf("%d fresh scorers for 3 seeds; the run's own scorer scored %d times", len(root.fresh), root.scored)
	}
	for i, f := range root.fresh {
		if f.scored != 4*2 {
			t.Errorf("seed scorer %d scored %d candidates, want the 8 of its seed", i, f.scored)
		}
	}
}
