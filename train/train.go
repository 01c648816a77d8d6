package train

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/tokenizer"
)

// Trainer holds one training run: model, optimizer state and data stream.
type Trainer struct {
	cfg     Config
	mdl     *model
	tok     *tokenizer.Tokenizer
	src     Source
	qs      *quietStar // a quiet-star run's stage (nil otherwise)
	tensors []tensor   // what the optimizer updates: the model's, and a quiet-star run's head
	pool    *pool
	acts    *acts
	params  []float32
	grads   []float32
	m, v    []float32
	step    int
	inputs  []int32
	targets []int32
	weights []float32
}

// Stats describe one finished step.
type Stats struct {
	Step     int     // steps done so far
	Loss     float64 // masked mean cross-entropy of the batch, before the update
	LR       float64
	GradNorm float64 // before clipping
	Tokens   int     // tokens processed in the step (batch × seq_len)
	Counted  int     // tokens that counted in the loss
	// QuietStar is a quiet-star step's parts of the loss and figures of
	// its thoughts (nil for other runs); Loss is then their weighted sum
	// and Counted the GOLD tokens of one reading.
	QuietStar *QuietStarStats
}

// Option adjusts a Trainer.
type Option func(*Trainer)

// WithWorkers sets the number of goroutines matmuls use (default: all CPUs).
// Results do not depend on it.
func WithWorkers(n int) Option {
	return func(t *Trainer) { t.pool.close(); t.pool = newPool(n) }
}

// New validates cfg and builds a freshly initialised trainer.
func New(cfg Config, opts ...Option) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: config: %w", err)
	}
	tok, err := vocabTokenizer(cfg.Model.Vocab)
	if err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, tok: tok, pool: newPool(runtime.NumCPU())}
	t.mdl = newModel(cfg.Model, tok.VocabSize())
	t.mdl.isolate = cfg.Data.Isolate
	n := t.mdl.nParams
	t.tensors = t.mdl.tensors
	if cfg.Data.Kind == KindQuietStar {
		if t.qs, err = newQuietStar(cfg, t.mdl, tok); err != nil {
			return nil, err
		}
		n += t.qs.head.size()
		t.tensors = append(slices.Clip(t.mdl.tensors), t.qs.head.tensors()...)
	}
	t.params, t.grads, t.m, t.v = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	t.mdl.init(t.params, cfg.Seed)
	if t.qs != nil {
		t.qs.head.init(t.params, cfg.Seed)
	}
	if cfg.Init != "" {
		path, err := models.Resolve(cfg.Init)
		if err != nil {
			return nil, fmt.Errorf("train: init: %w", err)
		}
		if err := t.loadWeights(path); err != nil {
			return nil, err
		}
	}
	if cfg.Data.Kind == KindPRM {
		recs, err := shepherd.Read(cfg.Data.Labels)
		if err != nil {
			return nil, fmt.Errorf("train: prm labels: %w", err)
		}
		var weights []float64
		if cfg.Data.Balance {
			recs, weights = shepherd.Balance(recs)
		}
		if t.src, err = NewPRMSource(recs, weights, cfg.Data.LMWeight, cfg.Data.Dense, tok, cfg.Model.SeqLen, cfg.Data.Seed); err != nil {
			return nil, err
		}
	} else if t.qs != nil {
		t.src = t.qs.problems
	} else {
		t.src = NewSynthSource(cfg.Data, tok)
	}
	for _, o := range opts {
		o(t)
	}
	b, T := cfg.Optim.BatchSize, cfg.Model.SeqLen
	if t.qs != nil {
		b *= t.qs.layout.k + 1 // each problem is read after each thought and after none
	}
	t.acts = t.mdl.newActs(b)
	t.inputs, t.targets, t.weights = make([]int32, b*T), make([]int32, b*T), make([]float32, b*T)
	return t, nil
}

// Close stops the worker goroutines.
func (t *Trainer) Close() { t.pool.close() }

// Config returns the trainer's config.
func (t *Trainer) Config() Config { return t.cfg }

// Params is the number of parameters.
func (t *Trainer) Params() int { return t.mdl.nParams }

// TokensPerStep is the tokens a step reads: its sequences (a quiet-star
// problem's after each thought and after none) times their length.
func (t *Trainer) TokensPerStep() int { return len(t.inputs) }

// StepsDone is the number of optimizer steps taken.
func (t *Trainer) StepsDone() int { return t.step }

// Tokenizer is the synth tokenizer the trainer feeds the model with.
func (t *Trainer) Tokenizer() *tokenizer.Tokenizer { return t.tok }

// nextBatch fills inputs, targets and weights from the source.
func (t *Trainer) nextBatch() error {
	T := t.cfg.Model.SeqLen
	for b := 0; b < t.cfg.Optim.BatchSize; b++ {
		lo, hi := b*T, (b+1)*T
		if err := t.src.Next(t.inputs[lo:hi], t.targets[lo:hi], t.weights[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// Step runs one optimizer step on the next batch.
func (t *Trainer) Step() (Stats, error) {
	if t.step >= t.cfg.Optim.Steps {
		return Stats{}, fmt.Errorf("train: all %d steps are done", t.cfg.Optim.Steps)
	}
	if t.qs != nil {
		return t.qsStep()
	}
	if err := t.nextBatch(); err != nil {
		return Stats{}, err
	}
	clear(t.grads)
	t.mdl.forward(t.pool, t.params, t.acts, t.inputs)
	loss, counted := t.mdl.lossAndBackward(t.pool, t.params, t.grads, t.acts, t.inputs, t.targets, t.weights)
	st := t.update()
	st.Loss, st.Counted = loss, int(counted)
	return st, nil
}

// update takes the optimizer step from t.grads: clipping, learning rate,
// AdamW. The stats it returns lack the loss.
func (t *Trainer) update() Stats {
	norm := gradNorm(t.grads)
	scale := 1.0
	if c := t.cfg.Optim.GradClip; c > 0 && norm > c {
		scale = c / norm
	}
	lr := lrAt(t.cfg.Optim, t.step)
	t.step++
	adamW(t.pool, t.cfg.Optim, t.tensors, t.params, t.grads, t.m, t.v, t.step, lr, scale)
	return Stats{Step: t.step, LR: lr, GradNorm: norm, Tokens: len(t.inputs)}
}

// Logits runs the forward pass on one token sequence (at most seq_len
// tokens) and returns the logits of its last position.
func (t *Trainer) Logits(tokens []int) ([]float32, error) {
	T := t.cfg.Model.SeqLen
	if len(tokens) == 0 || len(tokens) > T {
		return nil, fmt.Errorf("train: Logits: %d tokens, want 1..%d", len(tokens), T)
	}
	a := t.mdl.newActs(1)
	in := make([]int32, T)
	for i := range in {
		in[i] = eosID
	}
	for i, id := range tokens {
		if id < 0 || id >= t.mdl.vocab {
			return nil, fmt.Errorf("train: Logits: token %d at %d out of range", id, i)
		}
		in[i] = int32(id)
	}
	t.mdl.forward(t.pool, t.params, a, in)
	V := t.mdl.vocab
	return append([]float32(nil), a.logits[(len(tokens)-1)*V:len(tokens)*V]...), nil
}

// Resume loads the checkpoint at CheckpointPath when there is one and
// reports whether it did. A damaged or foreign checkpoint is an error.
func (t *Trainer) Resume() (bool, error) {
	err := t.LoadCheckpoint(t.CheckpointPath())
	if errors.Is(err, ErrNoCheckpoint) {
		return false, nil
	}
	return err == nil, err
}

// Run trains until optim.steps, checkpointing to CheckpointPath every
// checkpoint.every_minutes, at the end, and when ctx is cancelled (then it
// returns ctx's error). Call Resume first to continue an earlier run.
// report, if not nil, sees every step.
func (t *Trainer) Run(ctx context.Context, report func(Stats)) error {
	path := t.CheckpointPath()
	every := time.Duration(t.cfg.Checkpoint.EveryMinutes * float64(time.Minute))
	last := time.Now()
	for t.step < t.cfg.Optim.Steps {
		if ctx.Err() != nil {
			if err := t.SaveCheckpoint(path); err != nil {
				return err
			}
			return ctx.Err()
		}
		st, err := t.Step()
		if err != nil {
			return err
		}
		if report != nil {
			report(st)
		}
		if every > 0 && time.Since(last) >= every {
			if err := t.SaveCheckpoint(path); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	return t.SaveCheckpoint(path)
}
