package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	var verbose, quiet bool
	root := &cobra.Command{
		Use:           "pareto",
		Short:         "Measure and serve compute-optimal LLM problem solving",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			if quiet {
				level = slog.LevelWarn
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	root.PersistentFlags().BoolVarP(&quiet, "quiet", "q", false, "log warnings and errors only")
	root.AddCommand(newRunCmd(), newBenchCmd(), newGradeCmd(), newListCmd(), newGenerateCmd(), newReportCmd(), newTraceCmd(), newTrainCmd(), newModelsCmd(), newServeCmd())
	return root
}
