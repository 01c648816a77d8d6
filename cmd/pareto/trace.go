package main

import (
	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/report"
)

func newTraceCmd() *cobra.Command {
	var storePath, runID, question string
	var seed int64
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Print one question's search tree (or candidates) from a stored run",
		Long: `Print what one run did on one question: for a tree search (beam, dvts,
rebase, particle-filter) every node indented under its parent with its score,
the children the search gave it, whether it was pruned or finished, its answer
(right or wrong against the gold answer) and its step, the winning path marked
with *; for a sampling strategy its candidates and votes. --run takes a run ID
or a unique prefix of one; --seed defaults to the run's first seed.`,
		Example: `  pareto trace --store runs.db --run 3f2a9c1d --question synth-0042
  pareto trace --store runs.db --run 3f2a9c1d0b7e4a21 --question 17 --seed 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := openExistingStore(ctx, storePath)
			if err != nil {
				return err
			}
			defer db.Close()
			var s *int64
			if cmd.Flags().Changed("seed") {
				s = &seed
			}
			t, err := report.LoadTrace(ctx, db, runID, question, s)
			if err != nil {
				return err
			}
			return t.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&storePath, "store", "pareto.db", "SQLite store holding the runs")
	f.StringVar(&runID, "run", "", "run ID, or a unique prefix of one")
	f.StringVar(&question, "question", "", "question ID, as the report's drill-down shows it")
	f.Int64Var(&seed, "seed", 0, "seed of the result (default: the run's first)")
	cmd.MarkFlagRequired("run")
	cmd.MarkFlagRequired("question")
	return cmd
}
