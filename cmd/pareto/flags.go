package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/dataset"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/strategy"
)

// backendFlags choose and configure the model server.
type backendFlags struct {
	urls        []string
	model       string
	apiKey      string
	chat        bool
	concurrency int
	arch        compute.Arch
	archGGUF    string
	price       compute.Price
	think       thinkFlags // registered by run and bench only
}

func (f *backendFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.urls, "backend-url", nil, "OpenAI-compatible server base URL, e.g. http://127.0.0.1:11434/v1 (repeat for replicas of one model)")
	fl.StringVar(&f.model, "model", "", "model name on the server; without --backend-url a GGUF file or shipped model for the embedded engine (default "+models.Default+")")
	fl.StringVar(&f.apiKey, "api-key", "", "API key (default $PARETO_API_KEY)")
	fl.BoolVar(&f.chat, "chat", false, "use /chat/completions instead of /completions")
	fl.IntVar(&f.concurrency, "backend-concurrency", 8, "max in-flight requests per server")
	fl.Float64Var(&f.arch.Params, "params", 0, "non-embedding parameters of the model, for FLOP counting")
	fl.IntVar(&f.arch.Layers, "layers", 0, "transformer blocks, for FLOP counting")
	fl.IntVar(&f.arch.DModel, "d-model", 0, "model width, for FLOP counting")
	fl.IntVar(&f.arch.Context, "context", 0, "context length; for the embedded engine the longest sequence allowed (default: the model's trained context)")
	fl.StringVar(&f.archGGUF, "arch-gguf", "", "read the model architecture for FLOP counting from this GGUF file")
	fl.Float64Var(&f.price.InPerM, "price-in", 0, "USD per million prompt tokens")
	fl.Float64Var(&f.price.OutPerM, "price-out", 0, "USD per million completion tokens")
}

// embeddedModel is the model the embedded engine runs: --model, or the
// shipped default.
func (f *backendFlags) embeddedModel() string {
	if f.model == "" {
		return models.Default
	}
	return f.model
}

// inProcess reports whether the backend is the embedded engine.
func (f *backendFlags) inProcess() bool { return len(f.urls) == 0 }

// generator builds the backend and the name the run records for it.
func (f *backendFlags) generator(ctx context.Context) (pareto.Generator, string, error) {
	if err := f.arch.Validate(); err != nil {
		return nil, "", err
	}
	if err := f.think.check(f); err != nil {
		return nil, "", err
	}
	if f.price.InPerM < 0 || f.price.OutPerM < 0 {
		return nil, "", fmt.Errorf("--price-in and --price-out must not be negative")
	}
	if f.archGGUF != "" {
		a, err := compute.ArchFromGGUF(f.archGGUF)
		if err != nil {
			return nil, "", err
		}
		f.arch = a
	}
	if f.inProcess() {
		return f.embedded()
	}
	if f.model == "" {
		return nil, "", fmt.Errorf("--model is required with --backend-url")
	}
	b, err := openai.New(openai.Config{URLs: f.urls, Model: f.model, APIKey: f.apiKey, Chat: f.chat, Concurrency: f.concurrency,
		ContinueFinalMessage: f.think.continueFinal, Markers: f.think.markers})
	if err != nil {
		return nil, "", err
	}
	if err := b.Ping(ctx); err != nil {
		return nil, "", err
	}
	return b, f.model, nil
}

// embedded loads a GGUF file into the in-process engine. It counts its own
// FLOPs exactly (prefill, decode, prefix-cache savings), so no architecture
// flags are needed.
func (f *backendFlags) embedded() (pareto.Generator, string, error) {
	path, id, err := models.Open(f.embeddedModel()) // a shipped model is unpacked to the cache
	if err != nil {
		return nil, "", err
	}
	b, err := embedded.Load(path, embedded.WithPrefixCache(256<<20))
	if err != nil {
		return nil, "", err
	}
	if f.arch.Context > 0 {
		if err := b.Model().SetContext(f.arch.Context); err != nil {
			return nil, "", fmt.Errorf("--context: %w", err)
		}
	}
	return b, "embedded:" + id, nil
}

// datasetFlags choose the questions.
type datasetFlags struct {
	name   string
	fields dataset.Fields
	slice  dataset.Slice
}

func (f *datasetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "dataset", "gsm8k", "built-in dataset ("+strings.Join(dataset.SortedNames(), ", ")+") or a .jsonl file")
	fl.StringVar(&f.fields.Question, "question-field", "question", "JSON field of the question in a .jsonl dataset")
	fl.StringVar(&f.fields.Answer, "answer-field", "answer", "JSON field of the reference answer in a .jsonl dataset")
	fl.StringVar(&f.fields.ID, "id-field", "", "JSON field of a stable question id in a .jsonl dataset (default: row number)")
	fl.StringVar(&f.fields.Format, "format", "gsm8k", "answer format of a .jsonl dataset: gsm8k, math, number or text")
	fl.IntVar(&f.slice.Limit, "limit", 0, "use N questions (0 = all): on a dataset with levels (synth, math500) a fixed sample spread evenly over them; the first N with --exact, --offset or --per-level")
	fl.BoolVar(&f.slice.Exact, "exact", false, "--limit takes the first N questions, not a sample spread over the levels")
	fl.IntVar(&f.slice.Offset, "offset", 0, "skip the first N questions")
	fl.IntVar(&f.slice.PerLevel, "per-level", 0, "take the first N questions of each difficulty level (datasets with levels), after --offset")
}

// load reads the dataset and the questions the flags select.
func (f *datasetFlags) load() (*dataset.Dataset, []pareto.Question, error) {
	d, err := dataset.Open(f.name, f.fields)
	if err != nil {
		return nil, nil, err
	}
	qs, err := d.Select(f.slice)
	if err != nil {
		return nil, nil, fmt.Errorf("--limit/--offset/--per-level: %w", err)
	}
	return d, qs, nil
}

// runFlags are the knobs of one run besides backend and data.
type runFlags struct {
	opts        strategy.Options
	seed        int64
	seeds       int
	concurrency int
	storePath   string
	scorer      string
	remote      scorerFlags // --scorer-url and the rest, for --scorer pooling and http
	prm         string
	noCache     bool
	jsonOut     bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.opts.N, "n", 8, "samples per question (self-consistency, best-of-n, weighted-vote)")
	fl.IntVar(&f.opts.MaxTokens, "max-tokens", 384, "max new tokens per sample")
	fl.Float64Var(&f.opts.Temperature, "temperature", 0.7, "sampling temperature (greedy and direct always use 0)")
	fl.Float64Var(&f.opts.TopP, "top-p", 0, "nucleus sampling (0 = server default)")
	fl.IntVar(&f.opts.Shots, "shots", 0, "worked examples in the prompt")
	fl.StringVar(&f.opts.Aggregate, "aggregate", "min", "step scores to solution score: min, last, prod or mean")
	fl.IntVar(&f.opts.Width, "width", strategy.DefaultWidth, "beam width M of beam and dvts: N/M nodes kept a step, M children each")
	fl.Float64Var(&f.opts.RebaseTemperature, "rebase-temperature", strategy.DefaultRebaseTemperature, "softmax temperature over rewards with which rebase splits its budget")
	fl.StringVar(&f.opts.Select, "select", strategy.DefaultSelect, "how a tree search picks its answer among finished solutions: weighted-vote, best-of-n or majority")
	fl.IntVar(&f.opts.StepTokens, "step-tokens", strategy.DefaultStepTokens, "max tokens of one step in a tree search")
	fl.IntVar(&f.opts.MaxDepth, "max-depth", strategy.DefaultMaxDepth, "max steps of a solution in a tree search")
	fl.Int64Var(&f.seed, "seed", 42, "first seed")
	fl.IntVar(&f.seeds, "seeds", 1, "seeds to run (seed, seed+1, ...)")
	fl.IntVar(&f.concurrency, "concurrency", 4, "questions in flight at once")
	fl.StringVar(&f.storePath, "store", "pareto.db", "SQLite file for results and the generation cache")
	fl.StringVar(&f.scorer, "scorer", "", "step scorer for best-of-n and weighted-vote: prm (a process reward model run in-process, see --prm; the default on the embedded backend), judge (the model itself, asked Yes/No with logprobs; the default on a server), oracle (synth only: the exact step verifier, an upper bound), pooling (a PRM served by vLLM's /pooling or pareto serve, see --scorer-url), http (a remote scorer, see --scorer-url)")
	f.remote.register(cmd)
	fl.StringVar(&f.prm, "prm", models.DefaultPRM, "process reward model for --scorer prm: a GGUF file or a shipped model")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the generation cache")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object per run")
}

// validate refuses bad values before any work starts.
func (f *runFlags) validate() error {
	if f.seeds < 1 {
		return fmt.Errorf("--seeds must be at least 1, got %d", f.seeds)
	}
	if f.concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1, got %d", f.concurrency)
	}
	if f.opts.N < 1 {
		return fmt.Errorf("--n must be at least 1, got %d", f.opts.N)
	}
	if f.opts.MaxTokens < 1 {
		return fmt.Errorf("--max-tokens must be at least 1, got %d", f.opts.MaxTokens)
	}
	if err := reward.Check(f.scorer); err != nil {
		return fmt.Errorf("--scorer: %w", err)
	}
	return nil
}
