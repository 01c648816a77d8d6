package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/strategy"
)

// printSummaries writes one JSON object per run, or the table.
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

// writeTable prints summaries as the study's table plus pareto's extras.
func writeTable(w io.Writer, sums []run.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tn\tquestions\taccuracy\t±std\tCI95\ttokens/q\tTFLOPs/q\ts/q\tp95 s\t$/q\tacc/TFLOP\tacc/s\tefficiency\t")
	for _, s := range sums {
		n := "-"
		if spec, err := strategy.Lookup(s.Strategy); err == nil && spec.Budget != "" {
			var o strategy.Options
			_ = json.Unmarshal(s.Params, &o)
			n = fmt.Sprint(spec.BudgetOf(o))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d×%d\t%.1f%%\t%.1f\t[%.1f, %.1f]\t%.0f\t%.4g\t%.2f\t%.2f\t%.2g\t%.3g\t%.3g\t%.3g\t\n",
			s.Strategy, n, s.Answered/max(s.Seeds, 1), s.Seeds, 100*s.Accuracy, 100*s.AccuracyStd,
			100*s.AccuracyCI95[0], 100*s.AccuracyCI95[1], s.PerQuestion.Tokens, s.PerQuestion.FLOPs/1e12,
			s.PerQuestion.Seconds, s.LatencyS.P95, s.PerQuestion.CostUSD, s.AccPerTFLOP, s.AccPerS, s.EfficiencyScore)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range sums {
		if s.UsageUnreported > 0 {
			fmt.Fprintf(w, "note: %s: %d of %d calls came back without token usage; their tokens and FLOPs are counted as 0\n", s.Strategy, s.UsageUnreported, s.Calls)
		}
		if s.CacheUnreported > 0 {
			fmt.Fprintf(w, "note: %s: %d of %d calls did not report cached prompt tokens; their prefill is charged in full\n", s.Strategy, s.CacheUnreported, s.Calls)
		}
		if s.FLOPs == 0 && s.Calls > 0 {
			fmt.Fprintf(w, "note: %s: FLOPs unknown; give --arch-gguf FILE or --params/--layers/--d-model\n", s.Strategy)
			break
		}
	}
	return nil
}

// printBenchReport writes a bench report as indented JSON, or with its own
// printer.
func printBenchReport(w io.Writer, jsonOut bool, rep any, print func(io.Writer) error) error {
	if !jsonOut {
		return print(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
