// Package train trains small decoder-only llama models in pure Go on
// pareto's synthetic task and exports them as llama GGUF files.
//
// The code reads top to bottom like llm.c's train_gpt2.c: the config
// (this file), the vocabulary and data (vocab.go, data.go), every layer as a
// forward/backward pair (layers.go), the model (model.go), the optimizer
// (optim.go), checkpoints (checkpoint.go), GGUF export (export.go) and the
// training loop (train.go).
package train

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/goccy/go-yaml"

	"github.com/pareto-llm/pareto/shepherd"
)

// Config is one training run, as written in a YAML file under configs/.
type Config struct {
	Model      ModelConfig      `yaml:"model" json:"model"`
	Optim      OptimConfig      `yaml:"optim" json:"optim"`
	Data       DataConfig       `yaml:"data" json:"data"`
	Checkpoint CheckpointConfig `yaml:"checkpoint" json:"checkpoint"`
	Seed       int64            `yaml:"seed" json:"seed"`
	Out        string           `yaml:"out" json:"out"` // GGUF path written at the end
	// Init is a GGUF file (or a shipped model's name) whose weights start
	// the run instead of a random init: the PRM starts from the policy. A
	// model deeper than its init starts as the init with some layers
	// repeated and silenced (see Trainer.growth).
	Init string `yaml:"init" json:"init,omitempty"`
}

// ModelConfig is the architecture.
type ModelConfig struct {
	DModel  int    `yaml:"d_model" json:"d_model"`
	Layers  int    `yaml:"layers" json:"layers"`
	Heads   int    `yaml:"heads" json:"heads"`
	KVHeads int    `yaml:"kv_heads" json:"kv_heads"`
	FFN     int    `yaml:"ffn" json:"ffn"`
	SeqLen  int    `yaml:"seq_len" json:"seq_len"`
	Vocab   string `yaml:"vocab" json:"vocab"` // VocabSynth or VocabSynthThink
}

// OptimConfig is AdamW with linear warmup and cosine decay.
type OptimConfig struct {
	LR          float64 `yaml:"lr" json:"lr"`
	MinLR       float64 `yaml:"min_lr" json:"min_lr"`
	WarmupSteps int     `yaml:"warmup_steps" json:"warmup_steps"`
	Steps       int     `yaml:"steps" json:"steps"`
	BatchSize   int     `yaml:"batch_size" json:"batch_size"` // sequences per step
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	Beta1       float64 `yaml:"beta1" json:"beta1"`
	Beta2       float64 `yaml:"beta2" json:"beta2"`
	GradClip    float64 `yaml:"grad_clip" json:"grad_clip"` // global norm; 0 disables
}

// Data kinds.
const (
	KindPolicy = "policy" // worked solutions and direct answers (the default)
	KindPRM    = "prm"    // step labels read at each step's line end
	// KindQuietStar trains a thinker's thoughts the Quiet-STaR way from
	// thoughts it samples itself (see QuietStarConfig, quietstar.go).
	KindQuietStar = "quiet-star"
)

// DataConfig describes the synthetic training stream.
type DataConfig struct {
	// Kind is KindPolicy (also when empty), KindPRM or KindQuietStar.
	Kind string `yaml:"kind" json:"kind,omitempty"`
	// QuietStar is the settings of a quiet-star run; a section left out
	// takes DefaultQuietStar, and a field left out its default.
	QuietStar *QuietStarConfig `yaml:"quiet_star" json:"quiet_star,omitempty"`
	// Labels is the Math-Shepherd labels file a PRM trains on; the
	// shepherd section says how to make it when it is missing or short.
	Labels              string           `yaml:"labels" json:"labels,omitempty"`
	Shepherd            *shepherd.Config `yaml:"shepherd" json:"shepherd,omitempty"`
	Levels              []int            `yaml:"levels" json:"levels"`
	DirectFraction      float64          `yaml:"direct_fraction" json:"direct_fraction"`
	SolutionsPerProblem int              `yaml:"solutions_per_problem" json:"solutions_per_problem"`
	Seed                int64            `yaml:"seed" json:"seed"`
	// MaskPrompt makes only answer tokens (the completion and its EOS)
	// count in the loss.
	MaskPrompt bool `yaml:"mask_prompt" json:"mask_prompt"`
	// NamedSteps writes worked solutions with each step labelled by the
	// quantity it computes ("Lea = 26 + 12 = 38"; see synth.NamedSolutions).
	NamedSteps bool `yaml:"named_steps" json:"named_steps,omitempty"`
	// SymbolicSteps writes worked solutions with each step labelled and its
	// computed operands named before their values ("Lea = Tom + 12 = 26 + 12
	// = 38"; see synth.SymbolicSolutions). It excludes named_steps.
	SymbolicSteps bool `yaml:"symbolic_steps" json:"symbolic_steps,omitempty"`
	// Think writes each worked solution after a thought between the
	// model's thought markers: the plan of synth.PlannedSolutions, one line
	// per step naming what it combines, then the bare steps
	// ("<think>Mia = 3 * 4\nEva = Mia / 2</think>\n3 * 4 = 12\n12 / 2 =
	// 6\n#### 6"). It needs model.vocab synth-think.
	Think bool `yaml:"think" json:"think,omitempty"`
	// ThinkStyle is what a thought holds: "plan" (the default, above) or
	// "arithmetic": no plan; each step's result is written after the
	// working of its operation, digit by digit, as a thought inside the
	// step ("274 + 58 = <think>4+8=12,7+5+1=13,2+0+1=3</think>332"; see
	// synth.Scratch). Steps of two one-digit numbers get none.
	ThinkStyle string `yaml:"think_style" json:"think_style,omitempty"`
	// ThinkCut is the fraction of thoughts cut short at a random point,
	// down to none at all, and closed there: a thought budget cuts a
	// thought where it stands, and the model must then write its steps
	// from what it has.
	ThinkCut float64 `yaml:"think_cut" json:"think_cut,omitempty"`
	// Isolate makes each example packed into a sequence attend only to its
	// own tokens (from its <s>), as a prompt is alone at inference, rather
	// than to the examples packed before it. It also spares the attention
	// work across examples.
	Isolate bool `yaml:"isolate" json:"isolate,omitempty"`
	// Balance (PRM only) weighs each problem's right and wrong solutions
	// equally and leaves out problems with only one kind (shepherd.Balance),
	// so the labels say nothing about how hard a question is.
	Balance bool `yaml:"balance" json:"balance,omitempty"`
	// LMWeight (PRM only) also trains the next-token prediction of the
	// right solutions, at this weight per token against 1 per label: a PRM
	// started from the policy keeps the policy's reading of questions
	// (which quantities a step combines) instead of trading it for cues
	// such as a question's difficulty that lower the label loss sooner.
	LMWeight float64 `yaml:"lm_weight" json:"lm_weight,omitempty"`
	// Dense (PRM only) also puts each step's label on every token of the
	// step, at this weight per token against 1 at the step's end: the
	// position where a wrong operand or digit appears is where the model
	// can best compare it with what the question implies, and there it
	// gets a gradient directly rather than through the step's end. (It did
	// not help the synth PRM; see models/pareto-synth-prm.md.)
	Dense float64 `yaml:"dense" json:"dense,omitempty"`
}

// CheckpointConfig says where and how often to checkpoint.
type CheckpointConfig struct {
	Dir          string  `yaml:"dir" json:"dir"`
	EveryMinutes float64 `yaml:"every_minutes" json:"every_minutes"`
}

// LoadConfig reads and validates a YAML config. An unknown field is an
// error naming the file, line and field; an out-of-range value names the
// file and field. Nothing else happens before the config is known good.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("train: read config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("train: config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes YAML strictly (unknown fields and duplicate keys are
// errors) and validates the result.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return Config{}, &yamlError{text: yaml.FormatError(err, false, true), err: err}
	}
	if cfg.Data.Kind == KindQuietStar {
		// Again over the defaults: the decoder fills the section it is
		// given in place, so the fields the file leaves out keep theirs.
		cfg = Config{}
		def := DefaultQuietStar()
		cfg.Data.QuietStar = &def
		if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
			return Config{}, &yamlError{text: yaml.FormatError(err, false, true), err: err}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// yamlError shows a YAML error with its line, column and source excerpt
// while keeping the decoder's error for errors.As.
type yamlError struct {
	text string
	err  error
}

func (e *yamlError) Error() string { return e.text }
func (e *yamlError) Unwrap() error { return e.err }

// Validate reports the first out-of-range field, by its YAML path.
func (c Config) Validate() error {
	m, o, d := c.Model, c.Optim, c.Data
	type check struct {
		bad   bool
		field string
		msg   string
	}
	for _, ch := range []check{
		{m.DModel <= 0, "model.d_model", fmt.Sprintf("%d must be positive", m.DModel)},
		{m.Layers <= 0, "model.layers", fmt.Sprintf("%d must be positive", m.Layers)},
		{m.Heads <= 0, "model.heads", fmt.Sprintf("%d must be positive", m.Heads)},
		{m.Heads > 0 && m.DModel%m.Heads != 0, "model.heads", fmt.Sprintf("%d does not divide d_model %d", m.Heads, m.DModel)},
		{m.Heads > 0 && (m.DModel/m.Heads)%2 != 0, "model.heads", fmt.Sprintf("head size d_model/heads = %d must be even for rope", m.DModel/max(m.Heads, 1))},
		{m.KVHeads <= 0, "model.kv_heads", fmt.Sprintf("%d must be positive", m.KVHeads)},
		{m.KVHeads > 0 && m.Heads%m.KVHeads != 0, "model.kv_heads", fmt.Sprintf("%d does not divide heads %d", m.KVHeads, m.Heads)},
		{m.FFN <= 0, "model.ffn", fmt.Sprintf("%d must be positive", m.FFN)},
		{m.SeqLen < 8 || m.SeqLen > 4096, "model.seq_len", fmt.Sprintf("%d must be in [8, 4096]", m.SeqLen)},
		{m.Vocab != VocabSynth && m.Vocab != VocabSynthThink, "model.vocab", fmt.Sprintf("%q: only %q and %q are supported", m.Vocab, VocabSynth, VocabSynthThink)},
		{d.Think && m.Vocab != VocabSynthThink, "data.think", fmt.Sprintf("needs model.vocab %q, whose tokens mark a thought", VocabSynthThink)},
		{!(d.ThinkCut >= 0 && d.ThinkCut <= 1), "data.think_cut", fmt.Sprintf("%g must be in [0, 1]", d.ThinkCut)},
		{d.ThinkCut > 0 && !d.Think, "data.think_cut", "cuts thoughts: set data.think"},
		{d.ThinkStyle != "" && d.ThinkStyle != ThinkPlan && d.ThinkStyle != ThinkArithmetic, "data.think_style", fmt.Sprintf("%q: must be %q or %q", d.ThinkStyle, ThinkPlan, ThinkArithmetic)},
		{d.ThinkStyle != "" && !d.Think, "data.think_style", "styles thoughts: set data.think"},
		{d.Think && (d.NamedSteps || d.SymbolicSteps), "data.think", "writes bare steps after a plan; drop named_steps and symbolic_steps"},
		{!(o.LR > 0 && o.LR < 1), "optim.lr", fmt.Sprintf("%g must be in (0, 1)", o.LR)},
		{!(o.MinLR >= 0 && o.MinLR <= o.LR), "optim.min_lr", fmt.Sprintf("%g must be in [0, lr]", o.MinLR)},
		{o.Steps <= 0, "optim.steps", fmt.Sprintf("%d must be positive", o.Steps)},
		{o.WarmupSteps < 0 || o.WarmupSteps > o.Steps, "optim.warmup_steps", fmt.Sprintf("%d must be in [0, steps]", o.WarmupSteps)},
		{o.BatchSize <= 0, "optim.batch_size", fmt.Sprintf("%d must be positive", o.BatchSize)},
		{!(o.WeightDecay >= 0 && o.WeightDecay < 1), "optim.weight_decay", fmt.Sprintf("%g must be in [0, 1)", o.WeightDecay)},
		{!(o.Beta1 >= 0 && o.Beta1 < 1), "optim.beta1", fmt.Sprintf("%g must be in [0, 1)", o.Beta1)},
		{!(o.Beta2 >= 0 && o.Beta2 < 1), "optim.beta2", fmt.Sprintf("%g must be in [0, 1)", o.Beta2)},
		{!(o.GradClip >= 0), "optim.grad_clip", fmt.Sprintf("%g must be >= 0", o.GradClip)},
		{len(d.Levels) == 0, "data.levels", "must list at least one level"},
		{!(d.DirectFraction >= 0 && d.DirectFraction <= 1), "data.direct_fraction", fmt.Sprintf("%g must be in [0, 1]", d.DirectFraction)},
		{d.SolutionsPerProblem <= 0 || d.SolutionsPerProblem > 64, "data.solutions_per_problem", fmt.Sprintf("%d must be in [1, 64]", d.SolutionsPerProblem)},
		{d.Seed < 0, "data.seed", fmt.Sprintf("%d must be >= 0", d.Seed)},
		{d.NamedSteps && d.SymbolicSteps, "data.symbolic_steps", "names the steps already; drop named_steps"},
		{c.Checkpoint.EveryMinutes < 0, "checkpoint.every_minutes", fmt.Sprintf("%g must be >= 0", c.Checkpoint.EveryMinutes)},
	} {
		if ch.bad {
			return fmt.Errorf("field %s: %s", ch.field, ch.msg)
		}
	}
	for i, l := range d.Levels {
		if l < 1 || l > 5 {
			return fmt.Errorf("field data.levels[%d]: level %d must be in [1, 5]", i, l)
		}
	}
	switch d.Kind {
	case "", KindPolicy, KindQuietStar:
		kind := cmp.Or(d.Kind, KindPolicy)
		if d.Balance {
			return fmt.Errorf("field data.balance: weighs a prm run's labels; this is a %s run", kind)
		}
		if d.LMWeight != 0 {
			return fmt.Errorf("field data.lm_weight: adds language modelling to a prm run; this is a %s run", kind)
		}
		if d.Dense != 0 {
			return fmt.Errorf("field data.dense: spreads a prm run's labels; this is a %s run", kind)
		}
		if d.Kind == KindQuietStar {
			if err := c.validateQuietStar(); err != nil {
				return err
			}
		}
	case KindPRM:
		if !(d.LMWeight >= 0 && d.LMWeight <= 10) {
			return fmt.Errorf("field data.lm_weight: %g must be in [0, 10]", d.LMWeight)
		}
		if !(d.Dense >= 0 && d.Dense <= 10) {
			return fmt.Errorf("field data.dense: %g must be in [0, 10]", d.Dense)
		}
		if d.Dense > 0 && d.LMWeight > 0 {
			return fmt.Errorf("field data.dense: cannot be used with data.lm_weight (both set targets on a step's tokens)")
		}
		if d.Labels == "" {
			return fmt.Errorf("field data.labels: a prm run needs a labels file")
		}
		if d.Shepherd == nil {
			return fmt.Errorf("field data.shepherd: a prm run needs the labelling settings")
		}
		if err := d.Shepherd.Validate("data.shepherd."); err != nil {
			return err
		}
	default:
		return fmt.Errorf("field data.kind: %q must be %q, %q or %q", d.Kind, KindPolicy, KindPRM, KindQuietStar)
	}
	if d.QuietStar != nil && d.Kind != KindQuietStar {
		return fmt.Errorf("field data.quiet_star: settings of a quiet-star run; this is a %s run", cmp.Or(d.Kind, KindPolicy))
	}
	return nil
}

// identity is the part of the config that decides the parameters: two runs
// with equal identities produce the same model bit for bit, so a checkpoint
// can resume any of them. Output paths and checkpoint timing are not in it.
func (c Config) identity() []byte {
	id := struct {
		Model ModelConfig `json:"model"`
		Optim OptimConfig `json:"optim"`
		Data  DataConfig  `json:"data"`
		Seed  int64       `json:"seed"`
		Init  string      `json:"init,omitempty"`
	}{c.Model, c.Optim, c.Data, c.Seed, c.Init}
	b, err := json.Marshal(id)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

// ID is a short hash of the config's identity, naming its checkpoint file.
func (c Config) ID() string {
	h := sha256.Sum256(c.identity())
	return hex.EncodeToString(h[:6])
}

func sameIdentity(a, b Config) bool { return bytes.Equal(a.identity(), b.identity()) }
