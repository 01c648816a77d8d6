// Package run executes a strategy over a dataset slice for several seeds,
// records every result in the store as it lands, and resumes where it
// stopped when the same run is started again.
package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/grade"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
	"github.com/pareto-llm/pareto/think"
)

// Config is everything that decides a run's results. Two runs with the
// same Config are the same run: the second resumes the first.
type Config struct {
	Model    string           `json:"model"`
	Dataset  string           `json:"dataset"`
	Strategy string           `json:"strategy"`
	Options  strategy.Options `json:"params"`
	Scorer   string           `json:"scorer,omitempty"`
	Seed     int64            `json:"seed"`  // first seed
	Seeds    int              `json:"seeds"` // seeds Seed, Seed+1, ...
	Arch     compute.Arch     `json:"arch"`
	Price    compute.Price    `json:"price"`
	// Think are the reasoning options (thinking budget, effort); nil for
	// none, so runs made before they existed keep their identity.
	Think *think.Settings `json:"think,omitempty"`
	// QuestionIDs fixes the slice of the dataset (filled by Run).
	QuestionIDs []string `json:"question_ids"`
}

// ID derives the run's identity from its canonical config (see
// Canonical), so the command line and a library caller name the same work
// the same way.
func (c Config) ID() string {
	b, _ := json.Marshal(c.Canonical())
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// Canonical returns c with what cannot change the run's results left out:
// the options its strategy ignores (strategy.Spec.Canonical), the scorer
// of a strategy that uses none, and reasoning options that change nothing
// (think.Settings.Canonical). Seeds below 1 mean 1.
func (c Config) Canonical() Config {
	if spec, err := strategy.Lookup(c.Strategy); err == nil {
		c.Options = spec.Canonical(c.Options)
		if !spec.Scored {
			c.Scorer = ""
		}
	}
	c.Seeds = max(c.Seeds, 1)
	if c.Think != nil {
		c.Think = c.Think.Canonical()
	}
	return c
}

// Store is what a run needs of the store.
type Store interface {
	EnsureRun(ctx context.Context, r store.Run) (store.Run, error)
	AddRunWall(ctx context.Context, id string, d time.Duration) error
	Done(ctx context.Context, runID string) (map[store.DoneKey]bool, error)
	PutResult(ctx context.Context, r store.Result) error
	Results(ctx context.Context, runID string) ([]store.Result, error)
	Run(ctx context.Context, id string) (store.Run, bool, error)
}

// Progress hears about questions as they finish.
type Progress interface {
	Start(total, done int)
	Step(correct bool)
	Finish()
}

// Runner runs configs against one backend.
type Runner struct {
	Store       Store
	Gen         pareto.Generator // already wrapped in the cache and accountant
	Scorer      pareto.Scorer
	Concurrency int
	Progress    Progress // may be nil
	Log         *slog.Logger
	// Verify, when set, says which steps of a solution are right (an exact
	// step verifier, e.g. synth's). Candidates the scorer rated get these
	// labels beside their scores, and the summary reports how well the
	// scores rank them (prm_step_auroc).
	Verify func(question string, steps []string) ([]bool, error)
	// Thinker, when set, is the tree searches' one thought per question
	// (strategy.Env.Thinker).
	Thinker strategy.Thinker
}

// Run answers every question under every seed not yet recorded and returns
// the summary of the whole run (earlier sessions included).
func (r *Runner) Run(ctx context.Context, cfg Config, questions []pareto.Question) (Summary, error) {
	strat, err := strategy.New(cfg.Strategy, cfg.Options)
	if err != nil {
		return Summary{}, err
	}
	rec, todo, err := r.open(ctx, cfg, questions)
	if err != nil {
		return Summary{}, err
	}
	if r.Progress != nil {
		total := rec.Seeds * rec.Questions
		r.Progress.Start(total, total-len(todo))
		defer r.Progress.Finish()
	}
	start := time.Now()
	scorers := r.seedScorers(todo)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.Concurrency, 1))
	var firstErr sync.Once
	var runErr error
	for _, t := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// The result is stored under ctx, not gctx: an answer that
			// arrives while a sibling fails was paid for; keep it.
			err := r.answer(gctx, ctx, rec.ID, strat, scorers[t.seed], t, questions[t.pos])
			if err != nil {
				firstErr.Do(func() { runErr = err })
			}
			return err
		})
	}
	werr := g.Wait()
	// Record the time spent even when the run stops early, so a resumed
	// run's wall time adds up.
	if err := r.Store.AddRunWall(context.WithoutCancel(ctx), rec.ID, time.Since(start)); err != nil {
		r.log().Warn("recording wall time", "err", err)
	}
	if werr != nil {
		if runErr != nil {
			werr = runErr
		}
		if errors.Is(werr, context.Canceled) && ctx.Err() != nil {
			werr = ctx.Err()
		}
		return Summary{}, fmt.Errorf("run %s stopped (results so far are kept; run the same command to resume): %w", rec.ID, werr)
	}
	return Summarize(ctx, r.Store, rec.ID)
}

// Remembering is a scorer that remembers what it scored (the PRM's step
// scores and KV) and answers again from memory for less compute. Fresh
// returns one that shares its model but nothing it remembers.
type Remembering interface {
	pareto.Scorer
	Fresh() pareto.Scorer
}

// seedScorers gives each seed of the tasks its own scorer memory: a seed
// that scores what another seed scored before would be charged less than
// it costs alone, and a seed's figures would depend on the seeds run
// beside it. Within a seed, memory is what a deployment would have.
func (r *Runner) seedScorers(todo []task) map[int64]pareto.Scorer {
	out := map[int64]pareto.Scorer{}
	rem, ok := r.Scorer.(Remembering)
	for _, t := range todo {
		if _, done := out[t.seed]; done {
			continue
		}
		out[t.seed] = r.Scorer
		if ok {
			out[t.seed] = rem.Fresh()
		}
	}
	return out
}

// task is one question under one seed.
type task struct {
	seed int64
	pos  int // the question's position in the run's slice
}

// open records the run (or finds it from an earlier session) and lists the
// tasks it has not yet answered.
func (r *Runner) open(ctx context.Context, cfg Config, questions []pareto.Question) (store.Run, []task, error) {
	cfg = cfg.Canonical()
	cfg.QuestionIDs = make([]string, len(questions))
	for i, q := range questions {
		cfg.QuestionIDs[i] = q.ID
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return store.Run{}, nil, err
	}
	rec, err := r.Store.EnsureRun(ctx, store.Run{
		ID: cfg.ID(), Model: cfg.Model, Dataset: cfg.Dataset, Strategy: cfg.Strategy,
		Config: cfgJSON, Questions: len(questions), Seeds: cfg.Seeds,
	})
	if err != nil {
		return store.Run{}, nil, err
	}
	done, err := r.Store.Done(ctx, rec.ID)
	if err != nil {
		return store.Run{}, nil, err
	}
	var todo []task
	for s := range cfg.Seeds {
		seed := cfg.Seed + int64(s)
		for i, q := range questions {
			if !done[store.DoneKey{Seed: seed, QuestionID: q.ID}] {
				todo = append(todo, task{seed, i})
			}
		}
	}
	total := cfg.Seeds * len(questions)
	r.log().Info("run", "id", rec.ID, "strategy", cfg.Strategy, "dataset", cfg.Dataset, "questions", len(questions),
		"seeds", cfg.Seeds, "to_do", len(todo), "done", total-len(todo))
	return rec, todo, nil
}

// answer solves one question under one seed, grades the answer and stores
// the result (under keep, which outlives a sibling's failure).
func (r *Runner) answer(ctx, keep context.Context, runID string, strat strategy.Strategy, scorer pareto.Scorer, t task, q pareto.Question) error {
	env := strategy.Env{Gen: r.Gen, Scorer: scorer, Seed: t.seed, Thinker: r.Thinker}
	t0 := time.Now()
	res, err := strat.Solve(ctx, env, q)
	if err != nil {
		return fmt.Errorf("question %s (seed %d): %w", q.ID, t.seed, err)
	}
	wall := time.Since(t0)
	v := grade.Grade(res.Output, q.Reference, q.Format)
	if res.Answer != "" && res.Answer != v.Predicted {
		// The strategy chose an answer by vote; grade that one.
		v.Predicted = res.Answer
		v.Correct = grade.Equal(res.Answer, v.Gold, q.Format)
	}
	r.label(q, res.Candidates)
	detail, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("question %s (seed %d): %w", q.ID, t.seed, err)
	}
	err = r.Store.PutResult(keep, store.Result{
		RunID: runID, Seed: t.seed, QuestionID: q.ID, Position: t.pos, Level: q.Level,
		Correct: v.Correct, Predicted: v.Predicted, Gold: v.Gold, Detail: detail,
		Usage: res.Usage, Wall: wall,
	})
	if err != nil {
		return err
	}
	if r.Progress != nil {
		r.Progress.Step(v.Correct)
	}
	return nil
}

// label gives the scored candidates the exact verifier's step labels, where
// there is a verifier and it reads the same steps the scorer rated.
func (r *Runner) label(q pareto.Question, cands []strategy.Candidate) {
	if r.Verify == nil {
		return
	}
	for i := range cands {
		c := &cands[i]
		if len(c.StepScores) == 0 {
			continue
		}
		if ok, err := r.Verify(q.Text, step.Split(c.Text)); err == nil && len(ok) == len(c.StepScores) {
			c.StepLabels = ok
		}
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
