package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	var verbose, quiet bool
	var cpuProfile string
	var profile *os.File
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
	// A CPU profile of any command, to see where a run's time goes
	// (go tool pprof FILE).
	startProfile := func() error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		profile = f
		return nil
	}
	pre := root.PersistentPreRun
	root.PersistentPreRun = nil
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		pre(cmd, args)
		return startProfile()
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
		}
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	root.PersistentFlags().BoolVarP(&quiet, "quiet", "q", false, "log warnings and errors only")
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (read it with go tool pprof)")
	root.AddCommand(newRunCmd(), newBenchCmd(), newGradeCmd(), newListCmd(), newGenerateCmd(), newReportCmd(), newTraceCmd(), newTrainCmd(), newModelsCmd(), newServeCmd())
	return root
}
