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
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
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
	// QuestionIDs fixes the slice of the dataset (filled by Run).
	QuestionIDs []string `json:"question_ids"`
}

// ID derives the run's identity from its config.
func (c Config) ID() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
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
}

// Run answers every question under every seed not yet recorded and returns
// the summary of the whole run (earlier sessions included).
func (r *Runner) Run(ctx context.Context, cfg Config, questions []pareto.Question) (Summary, error) {
	strat, err := strategy.New(cfg.Strategy, cfg.Options)
	if err != nil {
		return Summary{}, err
	}
	if cfg.Seeds <= 0 {
		cfg.Seeds = 1
	}
	cfg.QuestionIDs = make([]string, len(questions))
	for i, q := range questions {
		cfg.QuestionIDs[i] = q.ID
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return Summary{}, err
	}
	rec, err := r.Store.EnsureRun(ctx, store.Run{
		ID: cfg.ID(), Model: cfg.Model, Dataset: cfg.Dataset, Strategy: cfg.Strategy,
		Config: cfgJSON, Questions: len(questions), Seeds: cfg.Seeds,
	})
	if err != nil {
		return Summary{}, err
	}
	done, err := r.Store.Done(ctx, rec.ID)
	if err != nil {
		return Summary{}, err
	}
	type task struct {
		seed int64
		pos  int
	}
	var todo []task
	for s := 0; s < cfg.Seeds; s++ {
		for i, q := range questions {
			if !done[store.DoneKey{Seed: cfg.Seed + int64(s), QuestionID: q.ID}] {
				todo = append(todo, task{cfg.Seed + int64(s), i})
			}
		}
	}
	total := cfg.Seeds * len(questions)
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("run", "id", rec.ID, "strategy", cfg.Strategy, "dataset", cfg.Dataset, "questions", len(questions), "seeds", cfg.Seeds, "to_do", len(todo), "done", total-len(todo))
	if r.Progress != nil {
		r.Progress.Start(total, total-len(todo))
		defer r.Progress.Finish()
	}

	conc := r.Concurrency
	if conc <= 0 {
		conc = 1
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	var firstErr sync.Once
	var runErr error
	for _, t := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			q := questions[t.pos]
			env := strategy.Env{Gen: r.Gen, Scorer: r.Scorer, Seed: t.seed}
			t0 := time.Now()
			res, err := strat.Solve(gctx, env, q)
			if err != nil {
				err = fmt.Errorf("question %s (seed %d): %w", q.ID, t.seed, err)
				firstErr.Do(func() { runErr = err })
				return err
			}
			wall := time.Since(t0)
			v := grade.Grade(res.Output, q.Reference, q.Format)
			if res.Answer != "" && res.Answer != v.Predicted {
				// The strategy chose an answer by vote; grade that one.
				v.Predicted = res.Answer
				v.Correct = grade.Equal(res.Answer, v.Gold, q.Format)
			}
			if r.Verify != nil {
				for i := range res.Candidates {
					c := &res.Candidates[i]
					if len(c.StepScores) == 0 {
						continue
					}
					if ok, err := r.Verify(q.Text, strategy.SplitSteps(c.Text)); err == nil && len(ok) == len(c.StepScores) {
						c.StepLabels = ok
					}
				}
			}
			detail, _ := json.Marshal(res)
			err = r.Store.PutResult(ctx, store.Result{
				RunID: rec.ID, Seed: t.seed, QuestionID: q.ID, Position: t.pos, Level: q.Level,
				Correct: v.Correct, Predicted: v.Predicted, Gold: v.Gold, Detail: detail,
				Usage: res.Usage, Wall: wall,
			})
			if err != nil {
				firstErr.Do(func() { runErr = err })
				return err
			}
			if r.Progress != nil {
				r.Progress.Step(v.Correct)
			}
			return nil
		})
	}
	werr := g.Wait()
	// Record the time spent even when the run stops early, so a resumed
	// run's wall time adds up.
	if err := r.Store.AddRunWall(context.WithoutCancel(ctx), rec.ID, time.Since(start)); err != nil {
		log.Warn("recording wall time", "err", err)
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
