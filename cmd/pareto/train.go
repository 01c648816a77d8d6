package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

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
		"tokens_per_step", cfg.Optim.BatchSize*cfg.Model.SeqLen, "checkpoint", tr.CheckpointPath(), "resumed", resumed)

	rep := newTrainReport(os.Stderr, log, cfg.Optim.Steps, tr.StepsDone())
	err = tr.Run(ctx, rep.step)
	rep.finish()
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
	log.Info("train done", "out", cfg.Out, "steps", tr.StepsDone(), "final_loss", rep.lastLoss())
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

// trainReport shows training progress: an mpb bar with loss, learning rate,
// tokens/s and ETA on a terminal, a log line every 10 seconds otherwise.
type trainReport struct {
	log   *slog.Logger
	total int

	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	start   time.Time
	last    time.Time
	tokens  int
	st      train.Stats
	emaLoss float64
}

func newTrainReport(w *os.File, log *slog.Logger, total, done int) *trainReport {
	r := &trainReport{log: log, total: total, start: time.Now(), last: time.Now()}
	r.st.Step = done
	if progress.IsTerminal(w) {
		r.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(30), mpb.WithRefreshRate(250*time.Millisecond))
		r.bar = r.p.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name("train "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return r.line() }),
				decor.Name(" ETA "), decor.EwmaETA(decor.ET_STYLE_GO, 30)),
		)
		r.bar.SetCurrent(int64(done))
	}
	return r
}

func (r *trainReport) line() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("loss %.4f lr %.2e %.0f tok/s", r.emaLoss, r.st.LR, r.rateLocked())
}

func (r *trainReport) rateLocked() float64 {
	if s := time.Since(r.start).Seconds(); s > 0 {
		return float64(r.tokens) / s
	}
	return 0
}

func (r *trainReport) step(st train.Stats) {
	r.mu.Lock()
	first := r.tokens == 0
	r.st = st
	r.tokens += st.Tokens
	if first {
		r.emaLoss = st.Loss
	} else {
		r.emaLoss = 0.95*r.emaLoss + 0.05*st.Loss
	}
	bar := r.bar
	logNow := bar == nil && (time.Since(r.last) >= 10*time.Second || st.Step == r.total || first)
	if logNow {
		r.last = time.Now()
	}
	rate := r.rateLocked()
	r.mu.Unlock()
	if bar != nil {
		bar.EwmaIncrement(time.Since(r.lastTick()))
		return
	}
	if logNow {
		eta := time.Duration(0)
		if rate > 0 {
			eta = time.Duration(float64((r.total-st.Step)*st.Tokens) / rate * float64(time.Second)).Round(time.Second)
		}
		r.log.Info("train", "step", st.Step, "total", r.total, "loss", fmt.Sprintf("%.4f", st.Loss),
			"loss_avg", fmt.Sprintf("%.4f", r.emaLoss), "lr", fmt.Sprintf("%.2e", st.LR),
			"grad_norm", fmt.Sprintf("%.3f", st.GradNorm), "tok_per_s", fmt.Sprintf("%.0f", rate), "eta", eta)
	}
}

// lastTick returns the time of the previous step and records this one, for
// the bar's moving-average ETA.
func (r *trainReport) lastTick() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.last
	r.last = time.Now()
	return t
}

func (r *trainReport) lastLoss() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emaLoss
}

func (r *trainReport) finish() {
	if r.bar != nil {
		r.bar.Abort(false)
		r.p.Wait()
	}
}
