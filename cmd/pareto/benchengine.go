package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/enginebench"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/randmodel"
)

// newBenchEngineCmd is `pareto bench engine`: the embedded engine's speed,
// beside an Ollama server on the same file.
func newBenchEngineCmd() *cobra.Command {
	var (
		o            enginebench.Options
		model        string
		randomParams float64
		randomType   string
		jsonOut      bool
		kernelTime   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Measure the embedded engine's speed, against an Ollama server on the same model file",
		Long: `Measures decode tokens/s of one greedy sequence, the throughput of a search-shaped
workload (16 samples of 128 tokens from one 200-token prompt, sampled at Ollama's
defaults: temperature 0.8, top-k 40, top-p 0.9) as is and with its prefill left
out, and prefill tokens/s, for pareto's engine and, with --against, an Ollama
server running the same GGUF file (its native /api/generate, raw prompts; the
search's samples go as concurrent requests, which Ollama runs
OLLAMA_NUM_PARALLEL at a time). Ollama's decode runs on a freshly loaded runner
each run; a run whose decode ends before --min-decode-tokens on either side
takes another prompt. With --ollama-log (the server's log) the report says
whether Ollama's runner has SIMD kernels: a plain "go install" of Ollama has
none; build it with CGO_CFLAGS="-O3 -march=native" CGO_CXXFLAGS="-O3 -march=native".
With --llama-bench, llama.cpp's llama-bench runs on the same file for a third
column (prefill and decode); with --llama-batched-bench, llama.cpp's
llama-batched-bench runs the search's sizes on it for that column's two search
rows (with the prompt shared and prefilled once, and no sampling: it feeds
random tokens, so its search is pure compute); each runs once right after every
run of pareto's (and Ollama's), interleaved. Prints medians of --runs runs, the tokens per run,
the ratios and the speed floors they must meet, and the GFLOP/s of the engine's
matmul kernels on the model's shapes and at 512x512x512 (beside OpenBLAS sgemm
in a build with -tags openblas). Exits non-zero when a floor is not met.`,
		Example: `  pareto bench engine --against http://127.0.0.1:11434 --ollama-log ~/.ollama/serve.log
  pareto bench engine --against http://127.0.0.1:11434 --random-params 1e8 --llama-bench ~/llama.cpp/build/bin/llama-bench \
    --llama-batched-bench ~/llama.cpp/build/bin/llama-batched-bench
  pareto bench engine --model model.gguf --against http://127.0.0.1:11434 --ollama-model mymodel --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if randomParams > 0 {
				if cmd.Flags().Changed("model") {
					return fmt.Errorf("bench engine: --model and --random-params exclude each other")
				}
				dir, err := os.MkdirTemp("", "pareto-bench-engine-")
				if err != nil {
					return fmt.Errorf("bench engine: %w", err)
				}
				defer os.RemoveAll(dir)
				types := map[string]gguf.Type{"f32": gguf.TypeF32, "f16": gguf.TypeF16, "q8_0": gguf.TypeQ8_0}
				typ, ok := types[strings.ToLower(randomType)]
				if !ok {
					return fmt.Errorf("bench engine: --random-type %q: want f32, f16 or q8_0", randomType)
				}
				cfg, err := enginebench.RandomConfig(randomParams, typ)
				if err != nil {
					return fmt.Errorf("bench engine: %w", err)
				}
				o.ModelPath = filepath.Join(dir, fmt.Sprintf("random-%s-%s.gguf", strings.ReplaceAll(fmt.Sprintf("%g", randomParams), "+", ""), strings.ToLower(randomType)))
				slog.Info("writing a random model", "params", enginebench.ConfigParams(cfg), "d_model", cfg.DModel, "layers", cfg.Layers, "path", o.ModelPath)
				if err := randmodel.Write(o.ModelPath, cfg); err != nil {
					return fmt.Errorf("bench engine: %w", err)
				}
			} else {
				path, err := models.Resolve(model)
				if err != nil {
					return fmt.Errorf("bench engine: %w", err)
				}
				o.ModelPath = path
			}
			o.KernelTime, o.NoKernels = kernelTime, kernelTime == 0
			rep, err := enginebench.Run(ctx, o)
			if err != nil {
				return fmt.Errorf("bench engine: %w", err)
			}
			if err := printBenchReport(cmd.OutOrStdout(), jsonOut, rep, rep.Print); err != nil {
				return err
			}
			if failed := rep.Failed(); len(failed) > 0 {
				return fmt.Errorf("bench engine: floors not met: %s", strings.Join(failed, "; "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Against, "against", "", "Ollama server base URL to compare with, e.g. http://127.0.0.1:11434 (empty: pareto alone)")
	f.StringVar(&model, "model", models.Default, "GGUF model file or the name of a shipped model")
	f.StringVar(&o.OllamaModel, "ollama-model", "", "the model's name in the Ollama server (empty: create it there from the file)")
	f.StringVar(&o.OllamaLog, "ollama-log", "", "the Ollama server's log, read for whether its runner has SIMD kernels (empty: the report says it cannot tell)")
	f.StringVar(&o.LlamaBench, "llama-bench", "", "llama.cpp's llama-bench binary, run on the same file for a llama.cpp column (empty: none)")
	f.StringVar(&o.LlamaBatchedBench, "llama-batched-bench", "", "llama.cpp's llama-batched-bench binary, run on the same file with the search's sizes for llama.cpp's figures of the search rows (empty: none)")
	f.IntVar(&o.LlamaBenchThreads, "llama-bench-threads", 2, "threads (-t) of llama-bench and llama-batched-bench")
	f.IntVar(&o.MinDecodeTokens, "min-decode-tokens", 0, "fewest tokens a run's decode must generate on every side, else it takes another prompt (0: half the decode's 128, at least 16)")
	f.IntVar(&o.Runs, "runs", 5, "runs of every figure; medians are reported")
	f.Float64Var(&randomParams, "random-params", 0, "measure a random llama of about this many parameters (e.g. 5e6, 1e8) instead of --model")
	f.StringVar(&randomType, "random-type", "f32", "the random llama's large matrices: f32, f16 or q8_0 (with --random-params)")
	f.DurationVar(&kernelTime, "kernel-time", 200*time.Millisecond, "length of one timed run of each matmul kernel (0 skips the kernels)")
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}
