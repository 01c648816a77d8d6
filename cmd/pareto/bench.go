package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/grid"
	"github.com/pareto-llm/pareto/report"
	"github.com/pareto-llm/pareto/run"
)

func newBenchCmd() *cobra.Command {
	var bf backendFlags
	var df datasetFlags
	var rf runFlags
	var strategies, budgets, gridPath, preset, reportPath string
	var sf suiteFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a grid of strategies x budgets and compare them at equal compute",
		Example: `  pareto bench --backend-url http://127.0.0.1:11434/v1 --model llama3.2:1b \
    --dataset gsm8k --limit 64 --strategies greedy,self-consistency,best-of-n --budgets 4,8,16
  pareto bench --suite paper
  pareto bench --config grid.yaml --backend-url ... --model ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if sf.name != "" {
				return runSuite(cmd, &sf, &bf, &df, &rf, reportPath)
			}
			if bf.inProcess() {
				embeddedDefaults(cmd, &df, &rf, &strategies, &budgets)
			}
			cells, err := benchGrid(cmd, gridPath, preset, strategies, budgets, &df, &rf)
			if err != nil {
				return err
			}
			d, qs, err := df.load()
			if err != nil {
				return err
			}
			s, err := openSession(ctx, &bf, &rf)
			if err != nil {
				return err
			}
			defer s.db.Close()
			var sums []run.Summary
			var ids []string
			for _, c := range cells {
				sum, err := s.runOne(ctx, d, qs, c.Strategy, c.Options)
				if err != nil {
					return err
				}
				sums = append(sums, sum)
				ids = append(ids, sum.RunID)
				if rf.jsonOut {
					// One line per run as it finishes, so a long grid streams.
					if err := printSummaries(cmd.OutOrStdout(), []run.Summary{sum}, true); err != nil {
						return err
					}
				}
			}
			if reportPath != "" {
				if err := writeReport(ctx, s.db, ids, reportPath, "", report.Budget{}, report.Build); err != nil {
					return err
				}
				slog.Info("report written", "path", reportPath)
			}
			if rf.jsonOut {
				return nil
			}
			return printSummaries(cmd.OutOrStdout(), sums, false)
		},
	}
	cmd.Flags().StringVar(&strategies, "strategies", "greedy,self-consistency", "comma-separated strategies of the grid")
	cmd.Flags().StringVar(&budgets, "budgets", "4,8", "comma-separated budgets (sample counts N) for the strategies that have one")
	cmd.Flags().StringVar(&gridPath, "config", "", "YAML grid file (overrides --strategies and --budgets)")
	cmd.Flags().StringVar(&preset, "preset", "", "a named grid instead of --config: "+strings.Join(grid.Presets(), ", ")+" (paper: the study's REBASE at widths 3, 6, 16, temperature 1.0, softmax temperature 0.2, 384 tokens)")
	cmd.Flags().StringVar(&reportPath, "report", "pareto-report.html", "write a report of the grid here at the end (.html, .md or .csv; empty = none)")
	bf.register(cmd)
	bf.think.register(cmd)
	sf.register(cmd)
	df.register(cmd)
	rf.register(cmd)
	cmd.AddCommand(newBenchEngineCmd(), newBenchKVCmd())
	return cmd
}

// benchGrid is the grid of a bench: from --config or --preset, whose
// run-wide values apply where no flag was given, or from --strategies and
// --budgets.
func benchGrid(cmd *cobra.Command, path, preset, strategies, budgets string, df *datasetFlags, rf *runFlags) ([]grid.Cell, error) {
	var g *grid.File
	var err error
	switch {
	case path != "" && preset != "":
		return nil, fmt.Errorf("--config and --preset: give one")
	case path != "":
		g, err = grid.Load(path)
	case preset != "":
		g, err = grid.Preset(preset)
	default:
		return grid.FromLists(strategies, budgets, rf.opts)
	}
	if err != nil {
		return nil, err
	}
	s := grid.Settings{Dataset: df.name, Limit: df.slice.Limit, Seeds: rf.seeds, Seed: rf.seed, Options: rf.opts}
	g.Merge(&s, cmd.Flags().Changed)
	df.name, df.slice.Limit, rf.seeds, rf.seed, rf.opts = s.Dataset, s.Limit, s.Seeds, s.Seed, s.Options
	return g.Cells(rf.opts)
}

// embeddedDefaults makes a bare `pareto bench` the main job: the shipped
// model on 200 synth problems, reasoning vs answering directly vs voting vs
// searching with the shipped PRM, at a few budgets. Flags the user gave win.
func embeddedDefaults(cmd *cobra.Command, df *datasetFlags, rf *runFlags, strategies, budgets *string) {
	set := cmd.Flags().Changed
	if !set("dataset") {
		df.name = "synth"
	}
	if !set("limit") && !set("per-level") {
		df.slice.PerLevel = 40 // 200 problems, 40 of each of the 5 levels
	}
	if !set("strategies") {
		*strategies = "direct,greedy,self-consistency,best-of-n,weighted-vote"
	}
	if !set("budgets") {
		*budgets = "4,16"
	}
	if !set("max-tokens") {
		rf.opts.MaxTokens = 160 // the longest reference synth solution is 85 tokens (132 with symbolic steps); room for a sampled detour
	}
}
