package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/dataset"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/strategy"
	"github.com/pareto-llm/pareto/synth"
)

// kvConfig is what `pareto bench kv` runs: one search on one question.
type kvConfig struct {
	model, prm, scorer string
	strategy           string
	opts               strategy.Options
	dataset, question  string // question "" is the one with the longest prompt
	seed               int64
	floor              float64
}

// newBenchKVCmd is `pareto bench kv`: the KV memory one tree search holds
// in the embedded engine's prefix cache, set beside the KV its distinct
// tokens need.
func newBenchKVCmd() *cobra.Command {
	var c kvConfig
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Measure the KV memory a tree search holds against the KV of its distinct tokens",
		Long: `Runs one tree search on the embedded engine, on one question (by default the
dataset's question whose prompt is the longest in tokens), and reads the
engine's prefix cache, a radix tree of KV blocks of ` + fmt.Sprint(engine.BlockSize) + ` positions, after every
call. It prints the search's tree, the distinct tokens the cache holds (a
prefix shared by several sequences counts once), the KV bytes held and the KV
bytes those tokens need one position each, and their ratio: what sharing
prefixes in blocks costs over ideal sharing (partly filled blocks at the ends
of steps, and the copy of a block a step forks from the middle of). The cache
is unbounded for the run, so nothing is evicted. The floor applies to the
whole tree, after the search; the peak ratio over the calls is shown beside
it (a young tree of short steps pays most for partly filled blocks). The
command exits non-zero when the floor is not met.`,
		Example: `  pareto bench kv
  pareto bench kv --strategy beam --n 16 --question test-L3-000 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := benchKV(cmd.Context(), c)
			if err != nil {
				return fmt.Errorf("bench kv: %w", err)
			}
			if err := printBenchReport(cmd.OutOrStdout(), jsonOut, rep, rep.print); err != nil {
				return err
			}
			if !rep.Pass {
				return fmt.Errorf("bench kv: the tree's ratio %.3f is over the floor %.2f", rep.End.Ratio, rep.Floor)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.model, "model", models.Default, "policy: a GGUF file or the name of a shipped model")
	f.StringVar(&c.strategy, "strategy", "rebase", "search to run (see pareto list)")
	f.IntVar(&c.opts.N, "n", 64, "the search's budget: solutions it grows")
	f.IntVar(&c.opts.MaxTokens, "max-tokens", 160, "max tokens of a solution")
	f.Float64Var(&c.opts.Temperature, "temperature", 0.7, "sampling temperature")
	f.IntVar(&c.opts.Width, "width", strategy.DefaultWidth, "beam width M of beam and dvts")
	f.Float64Var(&c.opts.RebaseTemperature, "rebase-temperature", strategy.DefaultRebaseTemperature, "softmax temperature over rewards with which rebase splits its budget")
	f.IntVar(&c.opts.StepTokens, "step-tokens", strategy.DefaultStepTokens, "max tokens of one step")
	f.IntVar(&c.opts.MaxDepth, "max-depth", strategy.DefaultMaxDepth, "max steps of a solution")
	f.StringVar(&c.scorer, "scorer", "prm", "step scorer: prm (in-process, see --prm) or oracle (synth's exact verifier)")
	f.StringVar(&c.prm, "prm", models.DefaultPRM, "process reward model for --scorer prm: a GGUF file or a shipped model")
	f.StringVar(&c.dataset, "dataset", synth.Dataset, "built-in dataset ("+strings.Join(dataset.SortedNames(), ", ")+") or a .jsonl file")
	f.StringVar(&c.question, "question", "", "question ID (default: the one whose prompt is the longest in tokens)")
	f.Int64Var(&c.seed, "seed", 42, "seed of the search")
	f.Float64Var(&c.floor, "floor", 1.1, "the most KV held per byte of distinct tokens' KV that passes")
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}

// kvReport is what `pareto bench kv` prints.
type kvReport struct {
	Dataset      string   `json:"dataset"`
	Question     string   `json:"question"`
	Level        int      `json:"level,omitempty"`
	Longest      bool     `json:"longest"` // chosen as the longest prompt of Questions
	Questions    int      `json:"questions"`
	PromptTokens int      `json:"prompt_tokens"`
	Strategy     string   `json:"strategy"`
	N            int      `json:"n"`
	Nodes        int      `json:"nodes"` // steps the search expanded: the tree without its root
	Solutions    int      `json:"solutions"`
	Calls        int      `json:"calls"`
	BlockTokens  int      `json:"block_tokens"`
	End          kvSample `json:"end"`  // the cache after the search
	Peak         kvSample `json:"peak"` // the sample of the highest ratio
	// EngineBytes is all KV the engine holds at the end; with no sequence
	// live it is the cache's, so a difference is KV the cache does not see.
	EngineBytes int     `json:"engine_kv_bytes"`
	Evicted     bool    `json:"evicted"` // the cache is unbounded: always false
	Floor       float64 `json:"floor"`
	Pass        bool    `json:"pass"`
}

// kvSample is the prefix cache's contents after one call of the search.
type kvSample struct {
	Call       int     `json:"call"` // calls done when sampled
	Tokens     int     `json:"distinct_tokens"`
	Bytes      int     `json:"kv_bytes"`
	TokenBytes int     `json:"token_kv_bytes"`
	Ratio      float64 `json:"ratio"` // Bytes / TokenBytes
}

// sampleOf reads st as the sample after call calls.
func sampleOf(st engine.CacheStats, call int) kvSample {
	s := kvSample{Call: call, Tokens: st.Tokens, Bytes: st.Bytes, TokenBytes: st.TokenBytes}
	if st.TokenBytes > 0 {
		s.Ratio = float64(st.Bytes) / float64(st.TokenBytes)
	}
	return s
}

// benchKV runs the search of c on a fresh embedded backend and reports the
// KV its cache held.
func benchKV(ctx context.Context, c kvConfig) (*kvReport, error) {
	if c.scorer == "judge" {
		// The judge asks the policy, whose cache would then hold its
		// prompts beside the tree.
		return nil, fmt.Errorf("--scorer judge asks the policy model, whose prefix cache must hold the tree alone")
	}
	s, err := strategy.New(c.strategy, c.opts)
	if err != nil {
		return nil, err
	}
	spec, _ := strategy.Lookup(c.strategy) // New found it
	d, err := dataset.Open(c.dataset, dataset.Fields{Question: "question", Answer: "answer", Format: "gsm8k"})
	if err != nil {
		return nil, err
	}
	path, _, err := models.Open(c.model)
	if err != nil {
		return nil, err
	}
	// Unbounded, so what the search made is all still there at the end.
	b, err := embedded.Load(path, embedded.WithPrefixCache(math.MaxInt))
	if err != nil {
		return nil, err
	}
	rep := &kvReport{Dataset: d.Name, Strategy: c.strategy, N: spec.BudgetOf(c.opts), Questions: len(d.Questions),
		BlockTokens: engine.BlockSize, Floor: c.floor}
	q, err := pickQuestion(d.Questions, c.question, b.Tokenizer())
	if err != nil {
		return nil, err
	}
	rep.Question, rep.Level, rep.Longest = q.ID, q.Level, c.question == ""
	env := strategy.Env{Seed: c.seed}
	if spec.Scored {
		chooser := &reward.Chooser{PRM: c.prm, Default: "prm"}
		if env.Scorer, _, err = chooser.Scorer(c.scorer); err != nil {
			return nil, fmt.Errorf("--scorer: %w", err)
		}
	}
	probe := &kvProbe{Generator: b, cache: b.PrefixCache()}
	env.Gen = probe
	res, err := s.Solve(ctx, env, q)
	if err != nil {
		return nil, fmt.Errorf("question %s: %w", q.ID, err)
	}
	rep.Nodes = max(len(res.Tree)-1, 0)
	rep.Solutions = len(res.Candidates)
	rep.Calls, rep.PromptTokens, rep.Peak = probe.calls, probe.promptTokens, probe.peak
	rep.End = sampleOf(b.PrefixCache().Stats(), probe.calls)
	if rep.End.Ratio > rep.Peak.Ratio {
		rep.Peak = rep.End
	}
	rep.EngineBytes = b.Model().KVStats().Bytes
	rep.Pass = rep.End.Ratio >= 1 && rep.End.Ratio <= c.floor
	return rep, nil
}

// pickQuestion returns the question of qs with the given ID or, for "",
// the one whose tree-search prompt is the longest in tokens (the first of
// the longest).
func pickQuestion(qs []pareto.Question, id string, tok embedded.Tokenizer) (pareto.Question, error) {
	if id != "" {
		for _, q := range qs {
			if q.ID == id {
				return q, nil
			}
		}
		return pareto.Question{}, fmt.Errorf("--question %s: no such question", id)
	}
	best, longest := -1, -1
	for i, q := range qs {
		p, _, err := strategy.DefaultPrompts.Prompt(q, strategy.Style{Reasoning: true})
		if err != nil {
			return pareto.Question{}, fmt.Errorf("prompt for question %s: %w", q.ID, err)
		}
		if n := len(tok.Encode(p, false)); n > longest {
			best, longest = i, n
		}
	}
	if best < 0 {
		return pareto.Question{}, fmt.Errorf("no questions")
	}
	return qs[best], nil
}

// kvProbe is a Generator that reads the prefix cache after every call, to
// catch the highest ratio the search's tree reaches, not only its last.
type kvProbe struct {
	pareto.Generator
	cache *engine.PrefixCache

	mu           sync.Mutex
	calls        int
	promptTokens int // the shortest prompt of a call: the root's
	peak         kvSample
}

func (p *kvProbe) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	out, err := p.Generator.Generate(ctx, req)
	if err != nil {
		return out, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if len(out) > 0 {
		if n := out[0].Usage.PromptTokens; p.promptTokens == 0 || n < p.promptTokens {
			p.promptTokens = n
		}
	}
	if s := sampleOf(p.cache.Stats(), p.calls); s.Ratio > p.peak.Ratio {
		p.peak = s
	}
	return out, nil
}

// print writes the report as a table.
func (r *kvReport) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	which := "given by --question"
	if r.Longest {
		which = fmt.Sprintf("the longest prompt of the %d %s questions", r.Questions, r.Dataset)
	}
	fmt.Fprintf(tw, "question\t%s (level %d; %s)\n", r.Question, r.Level, which)
	fmt.Fprintf(tw, "prompt\t%d tokens\n", r.PromptTokens)
	fmt.Fprintf(tw, "search\t%s N=%d: %d nodes, %d solutions, %d calls\n", r.Strategy, r.N, r.Nodes, r.Solutions, r.Calls)
	fmt.Fprintf(tw, "prefix cache\tunbounded, nothing evicted; blocks of %d positions; engine KV at the end %s\n", r.BlockTokens, mib(r.EngineBytes))
	fmt.Fprintf(tw, "\n\tdistinct tokens\tKV held\tKV of the tokens\tratio\n")
	fmt.Fprintf(tw, "at the end\t%d\t%s\t%s\t%.3f\n", r.End.Tokens, mib(r.End.Bytes), mib(r.End.TokenBytes), r.End.Ratio)
	fmt.Fprintf(tw, "peak (call %d)\t%d\t%s\t%s\t%.3f\n", r.Peak.Call, r.Peak.Tokens, mib(r.Peak.Bytes), mib(r.Peak.TokenBytes), r.Peak.Ratio)
	fmt.Fprintf(tw, "\nfloor\tratio <= %.2f: the whole tree %s (peak %.3f)\n", r.Floor, passFail(r.Pass), r.Peak.Ratio)
	return tw.Flush()
}

// passFail names a verdict.
func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// mib formats a byte count in MiB, with the bytes beside it.
func mib(b int) string { return fmt.Sprintf("%.2f MiB (%d B)", float64(b)/(1<<20), b) }
