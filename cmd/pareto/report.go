package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/report"
	"github.com/pareto-llm/pareto/store"
)

func newReportCmd() *cobra.Command {
	var storePath, out, format string
	var runIDs []string
	var b report.Budget
	var combined bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a self-contained report comparing stored runs at equal compute",
		Long: `Write one HTML page (no network needed to view it) with accuracy against
FLOPs, latency and money and the Pareto frontier, accuracy by difficulty
level, the study's table, a recommendation for a budget and a per-question
drill-down. --format markdown and --format csv write the advice and the table
as text. The format follows the --out extension (.md, .csv) unless given.`,
		Example: `  pareto report --store runs.db --out report.html
  pareto report --store runs.db --budget-flops 2e12 --format markdown --out -
  pareto report --store runs.db --run 3f2a9c1d0b7e4a21 --run 9d1e... --format csv --out table.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if format == "" {
				format = formatFor(out)
			}
			if _, err := reportFormat(format); err != nil {
				return err
			}
			db, err := openExistingStore(ctx, storePath)
			if err != nil {
				return err
			}
			defer db.Close()
			build := report.Build
			if combined {
				build = report.BuildCombined
			}
			if out == "-" {
				return writeReportTo(ctx, db, runIDs, cmd.OutOrStdout(), format, b, build)
			}
			if err := writeReport(ctx, db, runIDs, out, format, b, build); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "report written to %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storePath, "store", "pareto.db", "SQLite store holding the runs")
	f.StringArrayVar(&runIDs, "run", nil, "run ID to include (repeatable; default all runs)")
	f.BoolVar(&combined, "combined", false, "one plot per dataset whatever the runs' models (e.g. a reasoning model beside a search model), each series naming its model; default: one per model and dataset")
	f.StringVarP(&out, "out", "o", "report.html", `file to write, "-" for stdout`)
	f.StringVar(&format, "format", "", "html, markdown or csv (default from the --out extension, else html)")
	f.Float64Var(&b.FLOPs, "budget-flops", 0, "compute budget per question in FLOPs, e.g. 2e12")
	f.Float64Var(&b.LatencyS, "budget-latency", 0, "latency budget per question in seconds")
	f.Float64Var(&b.USD, "budget-usd", 0, "cost budget per question in US dollars")
	return cmd
}

type renderFunc func(d *report.Data, w io.Writer) error

// reportFormat returns the renderer for a --format value.
func reportFormat(format string) (renderFunc, error) {
	switch strings.ToLower(format) {
	case "html", "":
		return (*report.Data).HTML, nil
	case "markdown", "md":
		return (*report.Data).Markdown, nil
	case "csv":
		return (*report.Data).CSV, nil
	}
	return nil, fmt.Errorf("--format %q: want html, markdown or csv", format)
}

// formatFor guesses the format from an output file name.
func formatFor(out string) string {
	switch strings.ToLower(filepath.Ext(out)) {
	case ".md", ".markdown":
		return "markdown"
	case ".csv":
		return "csv"
	}
	return "html"
}

// writeReport builds the report of runIDs (all runs when empty) and writes
// it to the file out ("-" for stdout) in format html, markdown or csv. The
// file is replaced whole, so a failed report never leaves half a page.
// openExistingStore opens the store of --store path, refusing a path that
// does not exist: store.Open would create an empty store, and a typo
// should fail.
func openExistingStore(ctx context.Context, path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("--store %s: %w", path, err)
	}
	return store.Open(ctx, path)
}

func writeReport(ctx context.Context, db *store.DB, runIDs []string, out, format string, b report.Budget, build reportBuilder) error {
	if out == "-" {
		return writeReportTo(ctx, db, runIDs, os.Stdout, format, b, build)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := writeReportTo(ctx, db, runIDs, tmp, format, b, build); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("report %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	return nil
}

// reportBuilder is report.Build or report.BuildCombined.
type reportBuilder func(ctx context.Context, st report.Source, runIDs []string, b report.Budget) (*report.Data, error)

func writeReportTo(ctx context.Context, db *store.DB, runIDs []string, w io.Writer, format string, b report.Budget, build reportBuilder) error {
	render, err := reportFormat(format)
	if err != nil {
		return err
	}
	d, err := build(ctx, db, runIDs, b)
	if err != nil {
		return err
	}
	return render(d, w)
}
