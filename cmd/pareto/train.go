package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/progress"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/train"
)

func newTrainCmd() *cobra.Command {
	var cfgPath, out string
	var steps int
	var resume, f16 bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a small llama model on the synthetic task and export it as GGUF",
		Long: `Train a decoder-only llama model in pure Go on pareto's synthetic word
problems, as described by a YAML config (see configs/). The config is checked
completely before any work starts. Training checkpoints every few minutes
(checkpoint.every_minutes) and on Ctrl-C; running the same command again
resumes from the checkpoint of the same config, bit for bit. At the end the
model is written as a llama GGUF file that pareto's engine, Ollama and
llama.cpp load.`,
		Example: `  pareto train --config configs/policy.yaml
  pareto train --config configs/policy.yaml --steps 50 --out /tmp/smoke.gguf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := train.LoadConfig(cfgPath)
			if err != nil {
				return err
			}
			if steps > 0 {
				cfg.Optim.Steps = steps
				cfg.Optim.WarmupSteps = min(cfg.Optim.WarmupSteps, steps)
			}
			if out != "" {
				cfg.Out = out
			}
			if cfg.Out == "" {
				return fmt.Errorf("config %s: field out is empty and --out is not given", cfgPath)
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("config %s: %w", cfgPath, err)
			}
			return runTrain(cmd.Context(), cfg, resume, f16)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "configs/policy.yaml", "training config (YAML)")
	cmd.Flags().IntVar(&steps, "steps", 0, "override optim.steps (and cap warmup); a different step count is a different run")
	cmd.Flags().StringVar(&out, "out", "", "override the GGUF output path (out)")
	cmd.Flags().BoolVar(&resume, "resume", false, "require a checkpoint to resume from (resuming is automatic when one exists)")
	cmd.Flags().BoolVar(&f16, "f16", false, "store the large matrices of the exported GGUF as F16")
	return cmd
}

func runTrain(ctx context.Context, cfg train.Config, mustResume, f16 bool) error {
	if cfg.Data.Kind == train.KindPRM {
		if err := label(ctx, cfg); err != nil {
			return err
		}
	}
	tr, err := train.New(cfg)
	if err != nil {
		return err
	}
	defer tr.Close()
	resumed, err := tr.Resume()
	if err != nil {
		return err
	}
	if mustResume && !resumed {
		return fmt.Errorf("--resume: no checkpoint at %s", tr.CheckpointPath())
	}
	log := slog.Default()
	log.Info("train", "params", tr.Params(), "steps", cfg.Optim.Steps, "done", tr.StepsDone(),
		"tokens_per_step", tr.TokensPerStep(), "checkpoint", tr.CheckpointPath(), "resumed", resumed)

	rep := progress.NewTrain(os.Stderr, log, cfg.Optim.Steps, tr.StepsDone())
	var qs qsWindow
	err = tr.Run(ctx, func(st train.Stats) {
		rep.Step(progress.TrainStep{Step: st.Step, Tokens: st.Tokens, Loss: st.Loss, LR: st.LR, GradNorm: st.GradNorm})
		qs.add(log, st, cfg.Optim.Steps)
	})
	rep.Finish()
	if errors.Is(err, context.Canceled) {
		log.Info("train stopped; run the same command to resume", "step", tr.StepsDone(), "checkpoint", tr.CheckpointPath())
		return &quietError{err}
	}
	if err != nil {
		return err
	}
	if dir := filepath.Dir(cfg.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("train: output directory: %w", err)
		}
	}
	if err := tr.ExportGGUF(cfg.Out, f16); err != nil {
		return err
	}
	log.Info("train done", "out", cfg.Out, "steps", tr.StepsDone(), "final_loss", rep.Loss())
	return nil
}

// label makes the PRM's Math-Shepherd labels with the policy on the
// embedded engine, resuming a labels file an earlier run left short.
func label(ctx context.Context, cfg train.Config) error {
	sc := *cfg.Data.Shepherd
	path, err := models.Resolve(sc.Policy)
	if err != nil {
		return fmt.Errorf("label: policy: %w", err)
	}
	// Many problems in flight keep the decode loop's batches full: a
	// problem's rollouts come a few at a time.
	const workers, batch = 8, 32
	gen, err := embedded.Load(path, embedded.WithPrefixCache(256<<20), embedded.WithMaxBatch(batch))
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	if dir := filepath.Dir(cfg.Data.Labels); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("label: %w", err)
		}
	}
	bar := progress.New(os.Stderr, "label", slog.Default())
	err = shepherd.Run(ctx, gen, sc, cfg.Data.Labels, workers, func(n int, recs []shepherd.Record) {
		if recs == nil {
			bar.Start(sc.Problems, n)
			return
		}
		bar.Step(recs[0].Correct)
	})
	bar.Finish()
	if errors.Is(err, context.Canceled) {
		slog.Info("labelling stopped; run the same command to resume", "labels", cfg.Data.Labels)
		return &quietError{err}
	}
	return err
}

// qsWindow averages a quiet-star run's loss parts and thought figures
// over qsEvery steps and logs them.
type qsWindow struct {
	sum train.QuietStarStats
	n   int
}

const qsEvery = 25

func (w *qsWindow) add(log *slog.Logger, st train.Stats, total int) {
	if st.QuietStar == nil {
		return
	}
	w.sum.Add(*st.QuietStar)
	w.n++
	if st.Step%qsEvery != 0 && st.Step != total {
		return
	}
	m := w.sum.Mean(float64(w.n))
	log.Info("quiet-star", "step", st.Step, "steps", w.n, "mix", m.Mix, "rl", m.RL, "lm", m.LM,
		"abs_advantage", m.Advantage, "thought_gain", m.Gain, "thought_tokens", m.ThoughtLen,
		"thoughts_closed", m.Ended, "mix_weight", m.W)
	*w = qsWindow{}
}
