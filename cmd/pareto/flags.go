package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/dataset"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
	"github.com/pareto-llm/pareto/synth"
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

// generator builds the backend and the name the run records for it.
func (f *backendFlags) generator(ctx context.Context) (pareto.Generator, string, error) {
	if err := f.arch.Validate(); err != nil {
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
	if len(f.urls) == 0 {
		return f.embedded()
	}
	if f.model == "" {
		return nil, "", fmt.Errorf("--model is required with --backend-url")
	}
	b, err := openai.New(openai.Config{URLs: f.urls, Model: f.model, APIKey: f.apiKey, Chat: f.chat, Concurrency: f.concurrency})
	if err != nil {
		return nil, "", err
	}
	if err := b.Ping(ctx); err != nil {
		return nil, "", err
	}
	return b, f.model, nil
}

// datasetFlags choose the questions.
type datasetFlags struct {
	name, qField, aField, format, idField string
	limit, offset, perLevel               int
}

func (f *datasetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "dataset", "gsm8k", "built-in dataset ("+strings.Join(dataset.SortedNames(), ", ")+") or a .jsonl file")
	fl.StringVar(&f.qField, "question-field", "question", "JSON field of the question in a .jsonl dataset")
	fl.StringVar(&f.aField, "answer-field", "answer", "JSON field of the reference answer in a .jsonl dataset")
	fl.StringVar(&f.idField, "id-field", "", "JSON field of a stable question id in a .jsonl dataset (default: row number)")
	fl.StringVar(&f.format, "format", "gsm8k", "answer format of a .jsonl dataset: gsm8k, math, number or text")
	fl.IntVar(&f.limit, "limit", 0, "use the first N questions (0 = all)")
	fl.IntVar(&f.offset, "offset", 0, "skip the first N questions")
	fl.IntVar(&f.perLevel, "per-level", 0, "take the first N questions of each difficulty level (datasets with levels), after --offset")
}

func (f *datasetFlags) load() (string, []pareto.Question, error) {
	var d *dataset.Dataset
	var err error
	if strings.HasSuffix(f.name, ".jsonl") || strings.ContainsRune(f.name, os.PathSeparator) {
		d, err = dataset.LoadFile(f.name, dataset.Fields{Question: f.qField, Answer: f.aField, Format: f.format, ID: f.idField})
	} else {
		d, err = dataset.Load(f.name)
	}
	if err != nil {
		return "", nil, err
	}
	if f.limit < 0 || f.offset < 0 {
		return "", nil, fmt.Errorf("--limit and --offset must not be negative")
	}
	qs := d.Questions
	if f.offset >= len(qs) {
		return "", nil, fmt.Errorf("--offset %d: dataset %s has only %d questions", f.offset, d.Name, len(qs))
	}
	qs = qs[f.offset:]
	if f.perLevel > 0 {
		qs = firstPerLevel(qs, f.perLevel)
	}
	if f.limit > 0 && f.limit < len(qs) {
		qs = qs[:f.limit]
	}
	return d.Name, qs, nil
}

// runFlags are the knobs of one run besides backend and data.
type runFlags struct {
	opts        strategy.Options
	seed        int64
	seeds       int
	concurrency int
	storePath   string
	scorer      string
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
	fl.Int64Var(&f.seed, "seed", 42, "first seed")
	fl.IntVar(&f.seeds, "seeds", 1, "seeds to run (seed, seed+1, ...)")
	fl.IntVar(&f.concurrency, "concurrency", 4, "questions in flight at once")
	fl.StringVar(&f.storePath, "store", "pareto.db", "SQLite file for results and the generation cache")
	fl.StringVar(&f.scorer, "scorer", "", "step scorer for best-of-n and weighted-vote: prm (a process reward model run in-process, see --prm; the default on the embedded backend), judge (the model itself, asked Yes/No with logprobs; the default on a server), oracle (synth only: the exact step verifier, an upper bound)")
	fl.StringVar(&f.prm, "prm", models.DefaultPRM, "process reward model for --scorer prm: a GGUF file or a shipped model")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the generation cache")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object per run")
}

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
	return nil
}

// checkScorer refuses an unknown --scorer before any work starts.
func checkScorer(name string) error {
	if name == "" || slices.Contains(scorerNames, name) {
		return nil
	}
	return fmt.Errorf("unknown --scorer %q (known: %s)", name, strings.Join(scorerNames, ", "))
}

// scorerNames are the values of --scorer; scorerFor builds each.
var scorerNames = []string{"prm", "judge", "oracle"}

// scorerFor builds the step scorer a strategy needs (nil if none) and the
// name the run records for it. The PRM is loaded once per session.
func (s *session) scorerFor(name, strategyName, prm string) (pareto.Scorer, string, error) {
	if !strategy.NeedsScorer(strategyName) {
		return nil, "", nil
	}
	if name == "" {
		name = "judge"
		if s.embedded {
			name = "prm"
		}
	}
	switch name {
	case "judge":
		return reward.Judge{Gen: s.gen}, "judge", nil
	case "oracle":
		return synth.Oracle{}, "oracle", nil
	case "prm":
		if s.prm == nil {
			path, err := models.Resolve(prm)
			if err != nil {
				return nil, "", fmt.Errorf("--prm: %w", err)
			}
			if s.prm, err = reward.LoadPRM(path); err != nil {
				return nil, "", err
			}
			sum, err := fileDigest(path)
			if err != nil {
				return nil, "", err
			}
			s.prmID = "prm:" + strings.TrimSuffix(filepath.Base(prm), ".gguf") + "@" + sum
		}
		return s.prm, s.prmID, nil
	}
	return nil, "", checkScorer(name)
}

// session holds what run and bench share: the store and the cached backend.
type session struct {
	db       *store.DB
	gen      *run.Cached
	model    string
	embedded bool // the in-process engine, not a server
	prm      *reward.PRM
	prmID    string
}

func openSession(ctx context.Context, bf *backendFlags, rf *runFlags) (*session, error) {
	if err := rf.validate(); err != nil {
		return nil, err
	}
	gen, model, err := bf.generator(ctx)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, rf.storePath)
	if err != nil {
		return nil, err
	}
	c := &run.Cached{Inner: gen, Cache: db, Model: model, Accountant: compute.Accountant{Arch: bf.arch, Price: bf.price}}
	if rf.noCache {
		c.Cache = nil
	}
	return &session{db: db, gen: c, model: model, embedded: len(bf.urls) == 0}, nil
}

// runOne runs one configuration with progress on stderr.
func (s *session) runOne(ctx context.Context, cfg run.Config, qs []pareto.Question, rf *runFlags) (run.Summary, error) {
	scorer, scorerName, err := s.scorerFor(rf.scorer, cfg.Strategy, rf.prm)
	if err != nil {
		return run.Summary{}, err
	}
	cfg.Scorer = scorerName
	label := cfg.Strategy
	if strategy.NeedsScorer(cfg.Strategy) || cfg.Strategy == "self-consistency" {
		label = fmt.Sprintf("%s n=%d", cfg.Strategy, cfg.Options.N)
	}
	r := &run.Runner{
		Store: s.db, Gen: s.gen, Scorer: scorer, Concurrency: rf.concurrency,
		Progress: progressBar(label), Log: slog.Default(),
	}
	if cfg.Dataset == synth.Dataset && scorer != nil {
		r.Verify = func(question string, steps []string) ([]bool, error) {
			ok, err := synth.VerifyQuestion(question, steps)
			return synth.Cumulative(ok), err
		}
	}
	return r.Run(ctx, cfg, qs)
}

// embedded loads a GGUF file into the in-process engine. It counts its own
// FLOPs exactly (prefill, decode, prefix-cache savings), so no architecture
// flags are needed.
func (f *backendFlags) embedded() (pareto.Generator, string, error) {
	path := f.model
	if path == "" {
		path = models.Default
	}
	name := strings.TrimSuffix(filepath.Base(path), ".gguf")
	path, err := models.Resolve(path) // a shipped model is unpacked to the cache
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
	// The run's identity names the file's content, not its path, so a
	// moved file resumes and a retrained one starts afresh.
	sum, err := fileDigest(path)
	if err != nil {
		return nil, "", err
	}
	return b, "embedded:" + name + "@" + sum, nil
}

// fileDigest is the short content digest a run's identity records.
func fileDigest(path string) (string, error) {
	sum, err := models.Digest(path)
	if err != nil {
		return "", err
	}
	return sum[:12], nil
}

// firstPerLevel keeps the first n questions of each level, in dataset
// order, so a small sample still spans every difficulty.
func firstPerLevel(qs []pareto.Question, n int) []pareto.Question {
	seen := map[int]int{}
	var out []pareto.Question
	for _, q := range qs {
		if seen[q.Level] < n {
			seen[q.Level]++
			out = append(out, q)
		}
	}
	return out
}
