package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/dataset"
	"github.com/pareto-llm/pareto/progress"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// session holds what run and bench share: the store, the backend and the
// scorers.
type session struct {
	db *store.DB
	// gen is what strategies call: the cached backend wrapped for the
	// run's reasoning options (think.Settings.Wrap), above the cache so
	// that each call a budget-forced answer makes is cached on its own.
	gen   pareto.Generator
	model string
	// thinker is the tree searches' one thought per question, when the
	// run forces thinking at the root (think.Settings.Thinker).
	thinker strategy.Thinker
	scorers *reward.Chooser
	bf      *backendFlags
	rf      *runFlags
}

func openSession(ctx context.Context, bf *backendFlags, rf *runFlags) (*session, error) {
	if err := rf.validate(); err != nil {
		return nil, err
	}
	if err := rf.remote.check(rf.scorer); err != nil {
		return nil, err
	}
	backend, model, err := bf.generator(ctx)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, rf.storePath)
	if err != nil {
		return nil, err
	}
	return newSession(bf, rf, db, backend, model), nil
}

// with is a session on another backend (bf) that shares s's store and run
// flags: a suite runs its reasoning arms on another model.
func (s *session) with(ctx context.Context, bf *backendFlags) (*session, error) {
	backend, model, err := bf.generator(ctx)
	if err != nil {
		return nil, err
	}
	return newSession(bf, s.rf, s.db, backend, model), nil
}

func newSession(bf *backendFlags, rf *runFlags, db *store.DB, backend pareto.Generator, model string) *session {
	c := &run.Cached{Inner: backend, Cache: db, Model: model, Accountant: compute.Accountant{Arch: bf.arch, Price: bf.price}}
	if rf.noCache {
		c.Cache = nil
	}
	// A judge asks the model without forcing: its Yes/No is read from the
	// logprobs of its first visible token.
	scorers := &reward.Chooser{Gen: c, PRM: rf.prm, Default: reward.Default(bf.inProcess())}
	rf.remote.fill(scorers)
	chat := bf.chat && !bf.inProcess()
	gen := bf.think.settings.Wrap(c, chat)
	s := &session{db: db, gen: gen, model: model, scorers: scorers, bf: bf, rf: rf}
	if th := bf.think.settings.Thinker(c, chat); th != nil {
		s.thinker = th
	}
	return s
}

// runOne runs one strategy with its options on the dataset's questions,
// with progress on stderr.
func (s *session) runOne(ctx context.Context, d *dataset.Dataset, qs []pareto.Question, name string, opts strategy.Options) (run.Summary, error) {
	spec, err := strategy.Lookup(name)
	if err != nil {
		return run.Summary{}, err
	}
	cfg := run.Config{Model: s.model, Dataset: d.Name, Strategy: name, Options: opts,
		Seed: s.rf.seed, Seeds: s.rf.seeds, Arch: s.bf.arch, Price: s.bf.price, Think: &s.bf.think.settings}
	r := &run.Runner{Store: s.db, Gen: s.gen, Concurrency: s.rf.concurrency, Log: slog.Default(), Verify: d.Verify, Thinker: s.thinker}
	label := name
	if spec.Budget != "" {
		label = fmt.Sprintf("%s %s=%d", name, spec.Budget, spec.BudgetOf(opts))
	}
	if spec.Scored {
		if r.Scorer, cfg.Scorer, err = s.scorers.Scorer(s.rf.scorer); err != nil {
			return run.Summary{}, fmt.Errorf("--scorer: %w", err)
		}
	}
	r.Progress = progress.New(os.Stderr, label, slog.Default())
	return r.Run(ctx, cfg, qs)
}
