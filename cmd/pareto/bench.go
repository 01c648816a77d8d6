package main

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/report"
	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/strategy"
)

// gridFile is the YAML form of a bench grid.
type gridFile struct {
	Dataset     string     `yaml:"dataset"`
	Limit       int        `yaml:"limit"`
	Seeds       int        `yaml:"seeds"`
	Seed        *int64     `yaml:"seed"`
	MaxTokens   int        `yaml:"max_tokens"`
	Temperature *float64   `yaml:"temperature"`
	Grid        []gridItem `yaml:"grid"`
}

type gridItem struct {
	Strategy    string   `yaml:"strategy"`
	N           []int    `yaml:"n"`
	Shots       int      `yaml:"shots"`
	Temperature *float64 `yaml:"temperature"`
	Aggregate   string   `yaml:"aggregate"`
}

// cell is one run of the grid.
type cell struct {
	strategy string
	opts     strategy.Options
}

func newBenchCmd() *cobra.Command {
	var bf backendFlags
	var df datasetFlags
	var rf runFlags
	var strategies, budgets, gridPath, reportPath string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a grid of strategies x budgets and compare them at equal compute",
		Example: `  pareto bench --backend-url http://127.0.0.1:11434/v1 --model llama3.2:1b \
    --dataset gsm8k --limit 64 --strategies greedy,self-consistency,best-of-n --budgets 4,8,16
  pareto bench --config grid.yaml --backend-url ... --model ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if len(bf.urls) == 0 {
				embeddedDefaults(cmd, &df, &rf, &strategies, &budgets)
			}
			var cells []cell
			var err error
			if gridPath != "" {
				cells, err = loadGrid(gridPath, &df, &rf, cmd)
			} else {
				cells, err = flagGrid(strategies, budgets, rf.opts)
			}
			if err != nil {
				return err
			}
			if err := checkScorer(rf.scorer); err != nil {
				return err
			}
			name, qs, err := df.load()
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
				cfg := run.Config{Model: s.model, Dataset: name, Strategy: c.strategy, Options: optionsFor(c.strategy, c.opts),
					Seed: rf.seed, Seeds: rf.seeds, Arch: bf.arch, Price: bf.price}
				sum, err := s.runOne(ctx, cfg, qs, &rf)
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
				if err := writeReport(ctx, s.db, ids, reportPath, "", report.Budget{}); err != nil {
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
	cmd.Flags().StringVar(&budgets, "budgets", "4,8", "comma-separated sample counts N for the sampling strategies")
	cmd.Flags().StringVar(&gridPath, "config", "", "YAML grid file (overrides --strategies and --budgets)")
	cmd.Flags().StringVar(&reportPath, "report", "pareto-report.html", "write a report of the grid here at the end (.html, .md or .csv; empty = none)")
	bf.register(cmd)
	df.register(cmd)
	rf.register(cmd)
	cmd.AddCommand(newBenchEngineCmd())
	return cmd
}

// sampled reports whether a strategy's budget is a sample count.
func sampled(name string) bool {
	return name == "self-consistency" || strategy.NeedsScorer(name)
}

func flagGrid(strategies, budgets string, base strategy.Options) ([]cell, error) {
	var ns []int
	for _, b := range strings.Split(budgets, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--budgets: %q is not a positive sample count", b)
		}
		ns = append(ns, n)
	}
	var cells []cell
	for _, s := range strings.Split(strategies, ",") {
		s = strings.TrimSpace(s)
		if _, err := strategy.New(s, base); err != nil {
			return nil, fmt.Errorf("--strategies: %w", err)
		}
		if !sampled(s) {
			cells = append(cells, cell{s, base})
			continue
		}
		for _, n := range ns {
			o := base
			o.N = n
			cells = append(cells, cell{s, o})
		}
	}
	return cells, nil
}

// loadGrid reads a YAML grid. Unknown fields and bad values are errors
// that name the file and the line, before any work starts. Fields the file
// sets override the command's flags unless the flag was given explicitly.
func loadGrid(path string, df *datasetFlags, rf *runFlags, cmd *cobra.Command) ([]cell, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grid: %w", err)
	}
	var g gridFile
	if err := yaml.UnmarshalWithOptions(data, &g, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("grid %s", yamlPosition(path, yaml.FormatError(err, false, false)))
	}
	if len(g.Grid) == 0 {
		return nil, fmt.Errorf("grid %s: no entries under \"grid\"", path)
	}
	set := func(flag string) bool { return cmd.Flags().Changed(flag) }
	if g.Dataset != "" && !set("dataset") {
		df.name = g.Dataset
	}
	if g.Limit != 0 && !set("limit") {
		df.limit = g.Limit
	}
	if g.Seeds != 0 && !set("seeds") {
		rf.seeds = g.Seeds
	}
	if g.Seed != nil && !set("seed") {
		rf.seed = *g.Seed
	}
	base := rf.opts
	if g.MaxTokens != 0 && !set("max-tokens") {
		base.MaxTokens = g.MaxTokens
	}
	if g.Temperature != nil && !set("temperature") {
		base.Temperature = *g.Temperature
	}
	var cells []cell
	for i, it := range g.Grid {
		o := base
		o.Shots = it.Shots
		if it.Temperature != nil {
			o.Temperature = *it.Temperature
		}
		if it.Aggregate != "" {
			o.Aggregate = it.Aggregate
		}
		if _, err := strategy.New(it.Strategy, o); err != nil {
			return nil, fmt.Errorf("grid %s: entry %d: %w", path, i+1, err)
		}
		if !sampled(it.Strategy) {
			if len(it.N) > 0 {
				return nil, fmt.Errorf("grid %s: entry %d: strategy %s takes no n", path, i+1, it.Strategy)
			}
			cells = append(cells, cell{it.Strategy, o})
			continue
		}
		if len(it.N) == 0 {
			return nil, fmt.Errorf("grid %s: entry %d: strategy %s needs a list of sample counts under n", path, i+1, it.Strategy)
		}
		for _, n := range it.N {
			if n < 1 {
				return nil, fmt.Errorf("grid %s: entry %d: n = %d, want at least 1", path, i+1, n)
			}
			o.N = n
			cells = append(cells, cell{it.Strategy, o})
		}
	}
	return cells, nil
}

// yamlPos matches the "[line:column] message" form of go-yaml's errors.
var yamlPos = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)

// yamlPosition turns go-yaml's "[3:5] unknown field" into the
// compiler-style "file:3:5: unknown field" that editors jump to.
func yamlPosition(path, msg string) string {
	msg = strings.TrimSpace(msg)
	if m := yamlPos.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s:%s: %s", path, m[1], m[2], msg[len(m[0]):])
	}
	return path + ": " + msg
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
		df.perLevel = 40 // 200 problems, 40 of each of the 5 levels
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
