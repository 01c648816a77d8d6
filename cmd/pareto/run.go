package main

import (
	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/strategy"
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
			d, qs, err := df.load()
			if err != nil {
				return err
			}
			if _, err := strategy.New(strategyName, rf.opts); err != nil {
				return err
			}
			s, err := openSession(ctx, &bf, &rf)
			if err != nil {
				return err
			}
			defer s.db.Close()
			sum, err := s.runOne(ctx, d, qs, strategyName, rf.opts)
			if err != nil {
				return err
			}
			return printSummaries(cmd.OutOrStdout(), []run.Summary{sum}, rf.jsonOut)
		},
	}
	cmd.Flags().StringVar(&strategyName, "strategy", "greedy", "strategy to run (see pareto list)")
	bf.register(cmd)
	bf.think.register(cmd)
	df.register(cmd)
	rf.register(cmd)
	return cmd
}
