package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/run"
)

func newRunCmd() *cobra.Command {
	var bf backendFlags
	var df datasetFlags
	var rf runFlags
	var strategyName string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one strategy on a dataset and report accuracy and compute",
		Long: `Run one strategy on a dataset for one or more seeds. Every call, answer and
score is stored in SQLite as it lands; the same command resumes a stopped run
without repeating or double-counting anything, and cached calls are free.`,
		Example: `  pareto run --backend-url http://127.0.0.1:11434/v1 --model qwen2.5:0.5b \
    --dataset gsm8k --strategy self-consistency --n 8 --limit 128 --seeds 3 \
    --concurrency 8 --store runs.db --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name, qs, err := df.load()
			if err != nil {
				return err
			}
			if err := checkScorer(rf.scorer); err != nil {
				return err
			}
			if err := checkStrategy(strategyName, rf); err != nil {
				return err
			}
			s, err := openSession(ctx, &bf, &rf)
			if err != nil {
				return err
			}
			defer s.db.Close()
			cfg := run.Config{Model: s.model, Dataset: name, Strategy: strategyName, Options: optionsFor(strategyName, rf.opts),
				Seed: rf.seed, Seeds: rf.seeds, Arch: bf.arch, Price: bf.price}
			sum, err := s.runOne(ctx, cfg, qs, &rf)
			if err != nil {
				return err
			}
			return printSummaries(cmd.OutOrStdout(), []run.Summary{sum}, rf.jsonOut)
		},
	}
	cmd.Flags().StringVar(&strategyName, "strategy", "greedy", "strategy to run (see pareto list)")
	bf.register(cmd)
	df.register(cmd)
	rf.register(cmd)
	return cmd
}

func printSummaries(w io.Writer, sums []run.Summary, jsonOut bool) error {
	if jsonOut {
		enc := json.NewEncoder(w)
		for _, s := range sums {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	return writeTable(w, sums)
}

func progressBar(label string) run.Progress { return newBar(os.Stderr, label) }
