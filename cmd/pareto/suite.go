package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/report"
	"github.com/pareto-llm/pareto/think"
)

// studyRow is one row of the study's published table (arXiv 2412.16260:
// Mistral-7B on 128 GSM8K test questions, one A100).
type studyRow struct {
	Accuracy    float64 `json:"accuracy"` // percent
	TFLOPs      float64 `json:"tflops_per_q"`
	Seconds     float64 `json:"seconds_per_q"`
	AccPerTFLOP float64 `json:"acc_per_tflop"`
	AccPerS     float64 `json:"acc_per_s"`
	Efficiency  float64 `json:"efficiency_score"`
}

// suiteArm is one setting of a suite: a strategy at a budget, run on the
// search model or, thinking, on the reasoning model.
type suiteArm struct {
	Setting   string // the row's name
	Study     studyRow
	Strategy  string
	N         int
	Reasoning bool
}

// paperSuite is the study's comparison. Its baseline votes over 16
// samples, the widest REBASE's budget, so that sampling and search meet at
// equal compute; reasoning is one answer written after a hidden thought;
// REBASE + reasoning is REBASE at width 3 grown after one (see --think-at
// step for a thought before every step, as the study's Quiet-STaR model
// thought at every token).
var paperSuite = []suiteArm{
	{"baseline (CoT, majority of 16)", studyRow{10.16, 11.22, 52.47, 0.91, 0.19, 17.29}, "self-consistency", 16, false},
	{"reasoning (hidden thought)", studyRow{32.03, 12.73, 554.66, 2.52, 0.06, 15.12}, "cot", 1, true},
	{"REBASE width 3 + reasoning", studyRow{9.38, 4.25, 143.66, 2.21, 0.07, 15.47}, "rebase", 3, true},
	{"REBASE width 3", studyRow{10.94, 2.35, 8.47, 4.66, 1.29, 601.14}, "rebase", 3, false},
	{"REBASE width 6", studyRow{10.16, 4.96, 17.82, 2.05, 0.57, 116.85}, "rebase", 6, false},
	{"REBASE width 16", studyRow{12.50, 13.57, 46.90, 0.92, 0.27, 24.84}, "rebase", 16, false},
}

// suites are the suites `pareto bench --suite` runs.
var suites = map[string][]suiteArm{"paper": paperSuite}

// suiteNames lists them for help and errors.
func suiteNames() []string {
	var names []string
	for n := range suites {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// defaultThinkBudget is the reasoning arms' thought budget when no
// --think-budget is given: room for all of the shipped thinker's working
// on the synth test set (at most 135 tokens an answer), and for a short
// thought of a server's model.
const defaultThinkBudget = 256

// suiteFlags are bench's suite options.
type suiteFlags struct {
	name           string
	reasoningModel string
}

func (f *suiteFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "suite", "", "run a named suite instead of a grid: "+strings.Join(suiteNames(), ", ")+
		" (paper: the study's comparison — majority voting over 16 samples, reasoning, REBASE at widths 3, 6 and 16, and REBASE + reasoning — with its settings as defaults: "+
		"temperature 1.0, 384 tokens, REBASE softmax temperature 0.2, 96 tokens a step, 3 seeds; 128 GSM8K questions on a server, 200 synth problems (40 a level) on the embedded default; "+
		"the table sets the published Mistral-7B figures beside yours)")
	fl.StringVar(&f.reasoningModel, "reasoning-model", "", "the model of a suite's reasoning arms (default: "+models.DefaultThinker+" on the embedded engine, --model on a server); they think under --think-budget (default 256; the shipped thinker's working takes at most 135 tokens on the synth test set) and the other --think-* flags")
}

// suiteRow is one setting's figures beside the study's, for --json.
type suiteRow struct {
	Setting string     `json:"setting"`
	Model   string     `json:"model"`
	Row     report.Row `json:"row"`
	Study   studyRow   `json:"study"`
}

// runSuite runs the named suite's arms and prints their table beside the
// study's, then writes the report with all arms on one plot.
func runSuite(cmd *cobra.Command, sf *suiteFlags, bf *backendFlags, df *datasetFlags, rf *runFlags, reportPath string) error {
	ctx := cmd.Context()
	arms, ok := suites[sf.name]
	if !ok {
		return fmt.Errorf("--suite %q: no such suite (known: %s)", sf.name, strings.Join(suiteNames(), ", "))
	}
	set := cmd.Flags().Changed
	for _, f := range []string{"strategies", "budgets", "config", "preset"} {
		if set(f) {
			return fmt.Errorf("--suite %s runs its own settings: drop --%s", sf.name, f)
		}
	}
	// The study's settings, where no flag says otherwise.
	if !set("temperature") {
		rf.opts.Temperature = 1
	}
	if !set("max-tokens") {
		rf.opts.MaxTokens = 384
	}
	if !set("rebase-temperature") {
		rf.opts.RebaseTemperature = 0.2
	}
	if !set("step-tokens") {
		rf.opts.StepTokens = 96
	}
	if !set("seeds") {
		rf.seeds = 3
	}
	if !set("dataset") {
		df.name = "gsm8k"
		if bf.inProcess() {
			df.name = "synth"
		}
	}
	if !set("limit") && !set("per-level") {
		if df.name == "synth" {
			df.slice.PerLevel = 40
		} else {
			df.slice.Limit = 128
		}
	}

	// The search arms run without thinking; the reasoning arms think on
	// the reasoning model.
	search := *bf
	search.think.settings = think.Settings{Show: bf.think.settings.Show}
	search.think.given = nil // none of the reasoning flags is theirs
	reason := *bf
	switch {
	case sf.reasoningModel != "":
		reason.model = sf.reasoningModel
	case bf.inProcess():
		reason.model = models.DefaultThinker
	}
	if !set("think-budget") && !set("think-min") {
		reason.think.settings.Budget = defaultThinkBudget
	}

	d, qs, err := df.load()
	if err != nil {
		return err
	}
	searchS, err := openSession(ctx, &search, rf)
	if err != nil {
		return err
	}
	db := searchS.db
	defer db.Close()
	reasonS, err := searchS.with(ctx, &reason)
	if err != nil {
		return fmt.Errorf("--suite %s: the reasoning model: %w", sf.name, err)
	}
	start := time.Now()
	var ids []string
	for _, a := range arms {
		s := searchS
		if a.Reasoning {
			s = reasonS
		}
		opts := rf.opts
		opts.N = a.N
		slog.Info("suite", "setting", a.Setting, "model", s.model, "strategy", a.Strategy, "n", a.N)
		sum, err := s.runOne(ctx, d, qs, a.Strategy, opts)
		if err != nil {
			return fmt.Errorf("suite %s, %s: %w", sf.name, a.Setting, err)
		}
		ids = append(ids, sum.RunID)
	}
	wall := time.Since(start)

	data, err := report.BuildCombined(ctx, db, ids, report.Budget{})
	if err != nil {
		return err
	}
	byRun := map[string]report.Row{}
	for _, r := range data.Table {
		byRun[r.RunID] = r
	}
	rows := make([]suiteRow, len(arms))
	for i, a := range arms {
		r := byRun[ids[i]]
		rows[i] = suiteRow{Setting: a.Setting, Model: r.Model, Row: r, Study: a.Study}
	}
	if reportPath != "" {
		built := func(context.Context, report.Source, []string, report.Budget) (*report.Data, error) { return data, nil }
		if err := writeReport(ctx, db, ids, reportPath, "", report.Budget{}, built); err != nil {
			return err
		}
		slog.Info("report written", "path", reportPath)
	}
	if rf.jsonOut {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(rows)
	}
	how := cmp.Or(reason.think.settings.Label(), "no thought budget")
	switch st := reason.think.settings; {
	case st.Inline:
		how += ", REBASE's steps think inside themselves"
	case st.At != think.AtStep:
		how += ", REBASE thinks once then searches"
	}
	what := fmt.Sprintf("%d %s questions x %d seeds, temperature %g, at most %d tokens; reasoning: %s, %s",
		len(qs), d.Name, rf.seeds, rf.opts.Temperature, rf.opts.MaxTokens, reasonS.model, how)
	return printSuite(cmd.OutOrStdout(), sf.name, what, rows, wall)
}

// printSuite writes the suite's table, each setting's figures with their
// spread over seeds beside the study's, and what the table says.
func printSuite(w io.Writer, name, what string, rows []suiteRow, wall time.Duration) error {
	fmt.Fprintf(w, "suite %s: %s; %s in all\n\n", name, what, wall.Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "setting\taccuracy %\tTFLOPs/q\ts/q\tacc/TFLOP\tacc/s\tefficiency\t|\tstudy: acc %\tTFLOPs/q\ts/q\tacc/TFLOP\tacc/s\tefficiency")
	for _, r := range rows {
		x, p := r.Row, r.Study
		flops, perT, eff := "-", "-", "-" // FLOPs unknown: no --params or --arch-gguf for a server's model
		if x.FLOPsPerQ > 0 {
			flops = fmt.Sprintf("%.3g ± %.1g", x.FLOPsPerQ/1e12, x.FLOPsStd/1e12)
			perT, eff = fmt.Sprintf("%.4g", x.AccPerTFLOP), fmt.Sprintf("%.4g", x.EfficiencyScore)
		}
		fmt.Fprintf(tw, "%s\t%.1f ± %.1f\t%s\t%.3g ± %.1g\t%s\t%.4g\t%s\t|\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n",
			r.Setting, x.Accuracy, x.AccuracyStd, flops, x.SecondsPerQ, x.SecondsStd,
			perT, x.AccPerS, eff, p.Accuracy, p.TFLOPs, p.Seconds, p.AccPerTFLOP, p.AccPerS, p.Efficiency)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, line := range suiteFindings(rows) {
		fmt.Fprintln(w, line)
	}
	return nil
}

// suiteFindings says which setting buys most accuracy, most per TFLOP and
// most per second, and how reasoning, search and their combination
// compare, in the words of the study's question.
func suiteFindings(rows []suiteRow) []string {
	if len(rows) == 0 {
		return nil
	}
	best := func(key func(report.Row) float64) suiteRow {
		b := rows[0]
		for _, r := range rows[1:] {
			if key(r.Row) > key(b.Row) {
				b = r
			}
		}
		return b
	}
	acc := best(func(r report.Row) float64 { return r.Accuracy })
	perT := best(func(r report.Row) float64 { return r.AccPerTFLOP })
	perS := best(func(r report.Row) float64 { return r.AccPerS })
	out := []string{
		fmt.Sprintf("most accurate: %s (%.1f %%); most accuracy per TFLOP: %s (%.4g); most per second: %s (%.4g)",
			acc.Setting, acc.Row.Accuracy, perT.Setting, perT.Row.AccPerTFLOP, perS.Setting, perS.Row.AccPerS),
	}
	find := func(strategy string, reasoning bool, n int) (suiteRow, bool) {
		for i, a := range paperSuite {
			if i < len(rows) && a.Strategy == strategy && a.Reasoning == reasoning && a.N == n && rows[i].Setting == a.Setting {
				return rows[i], true
			}
		}
		return suiteRow{}, false
	}
	r, okR := find("cot", true, 1)
	s, okS := find("rebase", false, 3)
	c, okC := find("rebase", true, 3)
	if okR && okS && okC {
		var verdict string
		switch lo, hi := min(r.Row.Accuracy, s.Row.Accuracy), max(r.Row.Accuracy, s.Row.Accuracy); {
		case c.Row.Accuracy > hi:
			verdict = "better than both alone"
		case c.Row.Accuracy >= lo:
			verdict = "no better than the better of the two alone"
		default:
			verdict = "worse than either alone, as the study found"
		}
		out = append(out, fmt.Sprintf("REBASE width 3 + reasoning: %.1f %% against reasoning %.1f %% and REBASE width 3 %.1f %%: %s",
			c.Row.Accuracy, r.Row.Accuracy, s.Row.Accuracy, verdict))
	}
	return out
}
