package report

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// fixtureRun is one synthetic run: solves[seed] is how many of the
// questions (easiest first) it gets right under that seed.
type fixtureRun struct {
	model, dataset, strategy string
	opts                     strategy.Options
	solves                   []int
	flopsPerQ, secsPerQ, usd float64
	levels                   bool
	tree                     bool
}

const fixtureQuestions = 6

var fixtureRuns = []fixtureRun{
	{"tiny", "synth", "greedy", strategy.Options{N: 1}, []int{3, 3}, 1e11, 0.5, 0, true, false},
	{"tiny", "synth", "self-consistency", strategy.Options{N: 4, Temperature: 0.7}, []int{4, 3}, 4.4e11, 1.2, 0, true, false},
	{"tiny", "synth", "self-consistency", strategy.Options{N: 8, Temperature: 0.7}, []int{5, 5}, 8.8e11, 2.4, 0, true, false},
	{"tiny", "synth", "best-of-n", strategy.Options{N: 4, Temperature: 0.7}, []int{3, 2}, 6e11, 1.5, 0, true, false},
	{"small", "gsm8k", "greedy", strategy.Options{N: 1}, []int{2, 2}, 0, 0.3, 0.0002, false, false},
	{"small", "gsm8k", "beam-search", strategy.Options{N: 4, Temperature: 0.7}, []int{4, 5}, 0, 3.1, 0.003, false, true},
}

// fixtureStore writes the synthetic runs, plus one run with no results, to
// a fresh store and returns it open.
func fixtureStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, fr := range fixtureRuns {
		id := putRun(t, db, fr.model, fr.dataset, fr.strategy, fr.opts, len(fr.solves), base.Add(time.Duration(i)*time.Minute))
		for seed, solved := range fr.solves {
			for q := range fixtureQuestions {
				putResult(t, db, id, fr, int64(seed), q, q < solved)
			}
		}
	}
	putRun(t, db, "tiny", "synth", "cot", strategy.Options{N: 1}, 1, base.Add(time.Hour))
	return db
}

func putRun(t *testing.T, db *store.DB, model, dataset, strat string, opts strategy.Options, seeds int, at time.Time) string {
	t.Helper()
	cfg := run.Config{Model: model, Dataset: dataset, Strategy: strat, Options: opts, Seeds: seeds}
	for q := range fixtureQuestions {
		cfg.QuestionIDs = append(cfg.QuestionIDs, fmt.Sprintf("q%d", q))
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.EnsureRun(context.Background(), store.Run{ID: cfg.ID(), CreatedAt: at, Model: model, Dataset: dataset,
		Strategy: strat, Config: raw, Questions: fixtureQuestions, Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func putResult(t *testing.T, db *store.DB, runID string, fr fixtureRun, seed int64, q int, correct bool) {
	t.Helper()
	gold := fmt.Sprint(10 + q)
	pred := gold
	if !correct {
		pred = fmt.Sprint(100 + q + int(seed))
	}
	// Harder questions cost a little more, so means are not round numbers.
	f := 1 + 0.1*float64(q) + 0.05*float64(seed)
	u := pareto.Usage{Calls: max(fr.opts.N, 1), PromptTokens: 50, CompletionTokens: 40 * max(fr.opts.N, 1),
		DecodeFLOPs: fr.flopsPerQ * f, CostUSD: fr.usd * f}
	res := strategy.Result{Answer: pred, Output: "Step 1: think.\nThe answer is " + pred + ".", Usage: u}
	n := max(fr.opts.N, 1)
	counts := map[string]int{}
	for c := range n {
		ans := pred
		if c%3 == 2 {
			ans = fmt.Sprint(200 + c)
		}
		counts[ans]++
		cand := strategy.Candidate{Text: "Step 1: think.\nThe answer is " + ans + ".", Answer: ans}
		if fr.strategy == "best-of-n" {
			s := 0.9 - 0.1*float64(c)
			cand.Score = &s
			cand.StepScores = []float64{0.95, s}
		}
		res.Candidates = append(res.Candidates, cand)
	}
	if n > 1 {
		for _, c := range res.Candidates {
			if counts[c.Answer] > 0 {
				res.Votes = append(res.Votes, strategy.Vote{Answer: c.Answer, Count: counts[c.Answer]})
				counts[c.Answer] = 0
			}
		}
	}
	if fr.tree {
		zero, one := 0, 1
		res.Tree = []strategy.Node{
			{ID: 0, Text: "Step 1: read the problem.", Children: 2, Selected: true},
			{ID: 1, Parent: &zero, Text: "Step 2: add.", Score: ptr(0.8), Selected: true, Children: 2},
			{ID: 2, Parent: &zero, Text: "Step 2: multiply.", Score: ptr(0.3), Pruned: true},
			{ID: 3, Parent: &one, Text: "The answer is " + pred + ".", Score: ptr(0.7), Answer: pred, Selected: true, Finished: true},
			{ID: 4, Parent: &one, Text: "The answer is 99.", Score: ptr(0.2), Answer: "99", Finished: true},
		}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	level := 0
	if fr.levels {
		level = q/2 + 1
	}
	err = db.PutResult(context.Background(), store.Result{RunID: runID, Seed: seed, QuestionID: fmt.Sprintf("q%d", q), Position: q,
		Level: level, Correct: correct, Predicted: pred, Gold: gold, Detail: raw, Usage: u,
		Wall: time.Duration(fr.secsPerQ * f * float64(time.Second))})
	if err != nil {
		t.Fatal(err)
	}
}

func ptr(v float64) *float64 { return &v }
