package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csvHeader names the CSV columns; they match Row's JSON fields.
var csvHeader = []string{"run_id", "model", "dataset", "strategy", "budget", "questions", "seeds", "answered",
	"accuracy", "accuracy_std", "ci95_lo", "ci95_hi", "tokens_per_q", "flops_per_q", "flops_per_q_std",
	"seconds_per_q", "seconds_per_q_std", "usd_per_q", "acc_per_tflop", "acc_per_s", "efficiency_score",
	"on_frontier_flops", "on_frontier_latency", "on_frontier_usd"}

// CSV writes the table, one row per run, with full-precision numbers and
// whether the run is on each axis's frontier.
func (d *Data) CSV(w io.Writer) error {
	on := d.onFrontier()
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range d.Table {
		rec := []string{r.RunID, r.Model, r.Dataset, r.Strategy, r.Budget, strconv.Itoa(r.Questions), strconv.Itoa(r.Seeds), strconv.Itoa(r.Answered),
			num(r.Accuracy), num(r.AccuracyStd), num(r.CI95[0]), num(r.CI95[1]), num(r.TokensPerQ), num(r.FLOPsPerQ), num(r.FLOPsStd),
			num(r.SecondsPerQ), num(r.SecondsStd), num(r.USDPerQ), num(r.AccPerTFLOP), num(r.AccPerS), num(r.EfficiencyScore)}
		for _, a := range Axes {
			rec = append(rec, strconv.FormatBool(on[a][r.RunID]))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

func (d *Data) onFrontier() map[Axis]map[string]bool {
	on := map[Axis]map[string]bool{}
	for _, a := range Axes {
		on[a] = map[string]bool{}
	}
	for _, g := range d.Groups {
		for _, f := range g.Frontiers {
			for _, p := range f.Points {
				on[f.Axis][p.RunID] = true
			}
		}
	}
	return on
}

// Markdown writes the report as text: advice, frontiers, levels and the
// table; no plots and no drill-down.
func (d *Data) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# pareto report\n\n")
	for _, g := range d.Groups {
		p("## %s on %s\n\n### Recommendation\n\n", mdEsc(g.Model), mdEsc(g.Dataset))
		for _, t := range g.Advice.Text {
			p("%s\n", mdEsc(t))
		}
		p("\n")
		if len(g.Advice.Dominated) > 0 {
			p("Dominated on %s:\n\n", axisName[g.Advice.Axis])
			for _, x := range g.Advice.Dominated {
				p("- **%s** is dominated by **%s**: %s\n", mdEsc(x.Loser), mdEsc(x.Winner), mdEsc(x.Why))
			}
			p("\n")
		}
		p("### Pareto frontier\n\n")
		for _, f := range g.Frontiers {
			var parts []string
			for _, pt := range f.Points {
				parts = append(parts, fmt.Sprintf("%s (%.1f%% at %s)", pt.Label, pt.Accuracy, formatCost(f.Axis, pt.Cost(f.Axis))))
			}
			p("- %s: %s\n", axisName[f.Axis], mdEsc(strings.Join(parts, " → ")))
		}
		p("\n")
		if len(g.Levels) > 0 {
			p("### Accuracy by level (%%)\n\n| run |")
			for _, l := range g.Levels {
				p(" level %d |", l)
			}
			p("\n|---|%s\n", strings.Repeat("---:|", len(g.Levels)))
			for _, r := range g.LevelRows {
				p("| %s |", mdEsc(r.Label))
				for _, v := range r.Accuracy {
					if v == nil {
						p(" – |")
					} else {
						p(" %.1f |", *v)
					}
				}
				p("\n")
			}
			p("\n")
		}
	}
	p("## All runs\n\n")
	p("| model | dataset | strategy | budget | questions × seeds | accuracy %% | CI95 | tokens/q | TFLOPs/q | s/q | $/q | acc/TFLOP | acc/s | efficiency |\n")
	p("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range d.Table {
		p("| %s | %s | %s | %s | %d × %d | %.1f ± %.1f | %.1f–%.1f | %.0f | %.4g ± %.2g | %.3g ± %.2g | %.3g | %.3g | %.3g | %.3g |\n",
			mdEsc(r.Model), mdEsc(r.Dataset), mdEsc(r.Strategy), mdEsc(r.Budget), r.Questions, r.Seeds,
			r.Accuracy, r.AccuracyStd, r.CI95[0], r.CI95[1], r.TokensPerQ, r.FLOPsPerQ/1e12, r.FLOPsStd/1e12,
			r.SecondsPerQ, r.SecondsStd, r.USDPerQ, r.AccPerTFLOP, r.AccPerS, r.EfficiencyScore)
	}
	if len(d.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range d.Notes {
			p("- %s\n", mdEsc(n))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: markdown: %w", err)
	}
	return nil
}

// mdEsc keeps user text from breaking a table or turning into markup.
var mdEsc = strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "\n", " ").Replace
