// Package report turns stored runs into a comparison of strategies at equal
// compute: accuracy against FLOPs, latency and money with the Pareto
// frontier, accuracy by difficulty level, the study's table, a budgeted
// recommendation and a per-question drill-down. Everything is computed once
// into Data; HTML, Markdown and CSV only render it, so tests can pin the
// numbers without looking at pixels.
package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pareto-llm/pareto/run"
	"github.com/pareto-llm/pareto/store"
	"github.com/pareto-llm/pareto/strategy"
)

// Source is what a report reads from the store.
type Source interface {
	Runs(ctx context.Context) ([]store.Run, error)
	Run(ctx context.Context, id string) (store.Run, bool, error)
	Results(ctx context.Context, runID string) ([]store.Result, error)
}

// Budget caps the compute one question may use; a zero field means no cap
// on that axis.
type Budget struct {
	FLOPs    float64 `json:"flops,omitempty"`     // FLOPs per question
	LatencyS float64 `json:"latency_s,omitempty"` // seconds per question
	USD      float64 `json:"usd,omitempty"`       // dollars per question
}

// Axis names one cost axis of the plots.
type Axis string

// The cost axes, all per question.
const (
	AxisFLOPs   Axis = "flops"
	AxisLatency Axis = "latency"
	AxisUSD     Axis = "usd"
)

// Axes lists the cost axes in the order the page shows them.
var Axes = []Axis{AxisFLOPs, AxisLatency, AxisUSD}

// Data is everything a report shows.
type Data struct {
	Budget Budget   `json:"budget"`
	Groups []*Group `json:"groups"`
	// Table is the study-style table, one row per run.
	Table []Row `json:"table"`
	// Notes are caveats found while building (empty runs, unknown FLOPs).
	Notes []string `json:"notes,omitempty"`
}

// Group is the runs of one model on one dataset: only they can be compared
// on one plot.
type Group struct {
	Model   string   `json:"model"`
	Dataset string   `json:"dataset"`
	Series  []Series `json:"series"`
	// Frontiers holds, per axis with known costs, the points no other point
	// beats on both cost and accuracy, cheapest first.
	Frontiers []Frontier `json:"frontiers"`
	// Levels are the difficulty levels present, ascending; empty when the
	// dataset has none.
	Levels    []int          `json:"levels,omitempty"`
	LevelRows []LevelRow     `json:"level_rows,omitempty"`
	Advice    Recommendation `json:"recommendation"`
	Questions []Question     `json:"questions"`
}

// Series is one strategy's points, one per budget, cheapest first.
type Series struct {
	Strategy string  `json:"strategy"`
	Color    string  `json:"color"`
	Marker   string  `json:"marker"`
	Points   []Point `json:"points"`
}

// Point is one run on the plots. Costs are per question; accuracy and its
// interval are percentages.
type Point struct {
	RunID    string `json:"run_id"`
	Model    string `json:"model,omitempty"`
	Strategy string `json:"strategy"`
	Budget   string `json:"budget"` // e.g. "n=8"; empty for one-shot strategies
	Label    string `json:"label"`  // strategy and budget
	Scorer   string `json:"scorer,omitempty"`
	// Oracle marks a run scored by the exact verifier: an upper bound to
	// plot beside the others, never on a frontier or recommended.
	Oracle bool `json:"oracle,omitempty"`
	// Partial marks a run not finished: its accuracy is over the questions
	// answered so far (often the easy ones), so it is plotted, labelled,
	// and kept off the frontiers and the recommendation until it is.
	Partial  bool    `json:"partial,omitempty"`
	XFLOPs   float64 `json:"x_flops"`
	XLatency float64 `json:"x_latency"`
	XUSD     float64 `json:"x_usd"`
	Accuracy float64 `json:"accuracy"`
	CILo     float64 `json:"ci_lo"`
	CIHi     float64 `json:"ci_hi"`
}

// Cost returns the point's cost on an axis.
func (p Point) Cost(a Axis) float64 {
	switch a {
	case AxisFLOPs:
		return p.XFLOPs
	case AxisLatency:
		return p.XLatency
	case AxisUSD:
		return p.XUSD
	}
	return 0
}

// Frontier is the Pareto frontier on one axis, plus who dominates whom.
type Frontier struct {
	Axis      Axis        `json:"axis"`
	Points    []Point     `json:"points"`
	Dominated []Dominance `json:"dominated,omitempty"`
	// Missing counts points left off the axis because their cost there is
	// unknown (zero), e.g. FLOPs without an architecture or USD without a
	// price.
	Missing int `json:"missing,omitempty"`
}

// Dominance records that Loser costs at least as much as Winner for at most
// its accuracy, one of the two strictly.
type Dominance struct {
	Loser  string `json:"loser"`
	Winner string `json:"winner"`
	Why    string `json:"why"`
}

// LevelRow is one run's accuracy (percent) per difficulty level, aligned
// with Group.Levels; nil where the run has no question of that level.
type LevelRow struct {
	Label    string     `json:"label"`
	Accuracy []*float64 `json:"accuracy"`
}

// Row is one line of the study-style table. Accuracies are percentages;
// the std fields are the spread over seeds.
type Row struct {
	RunID           string     `json:"run_id"`
	Model           string     `json:"model"`
	Dataset         string     `json:"dataset"`
	Strategy        string     `json:"strategy"`
	Budget          string     `json:"budget"`
	Questions       int        `json:"questions"`
	Seeds           int        `json:"seeds"`
	Answered        int        `json:"answered"`
	Accuracy        float64    `json:"accuracy"`
	AccuracyStd     float64    `json:"accuracy_std"`
	CI95            [2]float64 `json:"accuracy_ci95"`
	TokensPerQ      float64    `json:"tokens_per_q"`
	FLOPsPerQ       float64    `json:"flops_per_q"`
	FLOPsStd        float64    `json:"flops_per_q_std"`
	SecondsPerQ     float64    `json:"seconds_per_q"`
	SecondsStd      float64    `json:"seconds_per_q_std"`
	USDPerQ         float64    `json:"usd_per_q"`
	AccPerTFLOP     float64    `json:"acc_per_tflop"`
	AccPerS         float64    `json:"acc_per_s"`
	EfficiencyScore float64    `json:"efficiency_score"`
}

// Build reads the given runs (all runs when runIDs is empty) and computes
// the report, one group per model and dataset.
func Build(ctx context.Context, st Source, runIDs []string, budget Budget) (*Data, error) {
	return build(ctx, st, runIDs, budget, false)
}

// BuildCombined is Build with one group per dataset, whatever the runs'
// models: a suite that reasons with one model and searches with another
// sets them on one plot and one frontier. Where a group holds several
// models, each series names its model; a run's thinking budget names its
// series too.
func BuildCombined(ctx context.Context, st Source, runIDs []string, budget Budget) (*Data, error) {
	return build(ctx, st, runIDs, budget, true)
}

func build(ctx context.Context, st Source, runIDs []string, budget Budget, combined bool) (*Data, error) {
	if budget.FLOPs < 0 || budget.LatencyS < 0 || budget.USD < 0 {
		return nil, fmt.Errorf("report: negative budget %+v", budget)
	}
	runs, err := selectRuns(ctx, st, runIDs)
	if err != nil {
		return nil, err
	}
	d := &Data{Budget: budget}
	groups := map[[2]string]*Group{}
	type loaded struct {
		point   Point
		results []store.Result
		sum     run.Summary
		opts    strategy.Options
		series  string // the strategy, with the run's model and thinking where they tell runs apart
	}
	byGroup := map[[2]string][]loaded{}
	for _, r := range runs {
		sum, err := run.Summarize(ctx, readOnly{st}, r.ID)
		if err != nil {
			return nil, fmt.Errorf("report: run %s: %w", r.ID, err)
		}
		if sum.Answered == 0 {
			d.Notes = append(d.Notes, fmt.Sprintf("run %s (%s on %s) has no results yet; left out", r.ID, r.Strategy, r.Dataset))
			continue
		}
		results, err := st.Results(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("report: run %s: %w", r.ID, err)
		}
		var cfg run.Config
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			return nil, fmt.Errorf("report: run %s: stored config: %w", r.ID, err)
		}
		key := [2]string{r.Model, r.Dataset}
		if combined {
			key[0] = ""
		}
		if groups[key] == nil {
			groups[key] = &Group{Model: r.Model, Dataset: r.Dataset}
		}
		series := r.Strategy
		if cfg.Think != nil && cfg.Think.Label() != "" {
			series += " " + cfg.Think.Label()
		}
		byGroup[key] = append(byGroup[key], loaded{
			point: Point{
				RunID: r.ID, Model: r.Model, Strategy: r.Strategy, Scorer: cfg.Scorer, Oracle: cfg.Scorer == "oracle",
				Partial: sum.Answered < sum.Questions*max(sum.Seeds, 1),
				XFLOPs:  sum.PerQuestion.FLOPs, XLatency: sum.PerQuestion.Seconds, XUSD: sum.PerQuestion.CostUSD,
				Accuracy: 100 * sum.Accuracy, CILo: 100 * sum.AccuracyCI95[0], CIHi: 100 * sum.AccuracyCI95[1],
			},
			results: results, sum: sum, opts: cfg.Options, series: series,
		})
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	var names []string
	for _, ls := range byGroup {
		for _, l := range ls {
			names = append(names, l.point.Strategy)
		}
	}
	styles := styleByStrategy(names)
	for _, k := range keys {
		g := groups[k]
		ls := byGroup[k]
		models := map[string]bool{}
		for _, l := range ls {
			models[l.point.Model] = true
		}
		if ms := slices.Sorted(maps.Keys(models)); len(ms) > 1 {
			g.Model = strings.Join(ms, " + ")
			for i := range ls {
				ls[i].series += " [" + shortModel(ls[i].point.Model) + "]"
			}
		}
		opts := make([]strategy.Options, len(ls))
		points := make([]Point, len(ls))
		for i, l := range ls {
			opts[i] = l.opts
			points[i] = l.point
		}
		labelPoints(points, opts)
		for i := range points {
			if ls[i].series != points[i].Strategy {
				points[i].Label = ls[i].series + strings.TrimPrefix(points[i].Label, points[i].Strategy)
			}
		}
		// Series per strategy, points cheapest first.
		idx := map[string]int{}
		for i := range ls {
			ls[i].point = points[i]
			p := points[i]
			// Runs of one strategy with different scorers are different
			// series: an oracle's line is not the PRM's.
			name := ls[i].series
			if scorer := scorerLabel(points, i); scorer != "" {
				name += " (" + scorer + ")"
			}
			j, ok := idx[name]
			if !ok {
				j = len(g.Series)
				idx[name] = j
				st := styles[p.Strategy]
				g.Series = append(g.Series, Series{Strategy: name, Color: st.color, Marker: st.marker})
			}
			g.Series[j].Points = append(g.Series[j].Points, p)
		}
		slices.SortFunc(g.Series, func(a, b Series) int { return cmp.Compare(a.Strategy, b.Strategy) })
		for i := range g.Series {
			slices.SortStableFunc(g.Series[i].Points, comparePoints)
		}
		choices := deployable(points)
		for _, a := range Axes {
			f := FrontierOf(choices, a)
			if len(f.Points) > 0 {
				g.Frontiers = append(g.Frontiers, f)
			} else if a != AxisUSD {
				d.Notes = append(d.Notes, fmt.Sprintf("%s on %s: no %s recorded, so that plot is left out", g.Model, g.Dataset, axisName[a]))
			}
		}
		g.Advice = Recommend(choices, budget)
		var rows []Row
		for _, l := range ls {
			rows = append(rows, tableRow(l.sum, l.point, l.results))
		}
		slices.SortFunc(rows, func(a, b Row) int {
			return cmp.Or(cmp.Compare(a.Strategy, b.Strategy), cmp.Compare(a.FLOPsPerQ, b.FLOPsPerQ), cmp.Compare(a.SecondsPerQ, b.SecondsPerQ), cmp.Compare(a.RunID, b.RunID))
		})
		d.Table = append(d.Table, rows...)
		sums := map[string]run.Summary{}
		for _, l := range ls {
			sums[l.point.RunID] = l.sum
		}
		g.Levels, g.LevelRows = levelRows(g.Series, sums)
		var all []store.Result
		for _, l := range ls {
			all = append(all, l.results...)
		}
		format := gradeFormat(g.Dataset, all)
		perRun := make([]runResults, 0, len(ls))
		for _, s := range g.Series {
			for _, p := range s.Points {
				for _, l := range ls {
					if l.point.RunID == p.RunID {
						perRun = append(perRun, runResults{point: p, results: l.results})
					}
				}
			}
		}
		qs, err := drillDown(perRun, format)
		if err != nil {
			return nil, err
		}
		g.Questions = qs
		d.Groups = append(d.Groups, g)
	}
	return d, nil
}

// shortModel is the name of a model of the embedded engine without its
// prefix and file digest ("embedded:pareto-synth-thinker@1dc033923c04" is
// pareto-synth-thinker), enough to tell a group's models apart in a
// legend; a server's model name is kept whole.
func shortModel(m string) string {
	if rest, ok := strings.CutPrefix(m, "embedded:"); ok {
		if i := strings.LastIndex(rest, "@"); i > 0 {
			return rest[:i]
		}
		return rest
	}
	return m
}

// comparePoints orders points cheapest first, by FLOPs, then latency.
func comparePoints(a, b Point) int {
	return cmp.Or(cmp.Compare(a.XFLOPs, b.XFLOPs), cmp.Compare(a.XLatency, b.XLatency), cmp.Compare(a.XUSD, b.XUSD), cmp.Compare(a.RunID, b.RunID))
}

// selectRuns returns the named runs in the order given, or all runs.
func selectRuns(ctx context.Context, st Source, ids []string) ([]store.Run, error) {
	if len(ids) == 0 {
		runs, err := st.Runs(ctx)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		if len(runs) == 0 {
			return nil, errors.New("report: the store holds no runs")
		}
		return runs, nil
	}
	var out []store.Run
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, ok, err := st.Run(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("report: --run %s: no such run in the store", id)
		}
		out = append(out, r)
	}
	return out, nil
}

// labelPoints fills Budget and Label. The budget names the sample count and
// whichever other option differs between runs of the same strategy, so two
// points of one series never share a label.
func labelPoints(points []Point, opts []strategy.Options) {
	type field struct {
		name string
		val  func(o strategy.Options) string
	}
	fields := []field{
		{"n", func(o strategy.Options) string { return strconv.Itoa(max(o.N, 1)) }},
		{"shots", func(o strategy.Options) string { return strconv.Itoa(o.Shots) }},
		{"T", func(o strategy.Options) string { return strconv.FormatFloat(o.Temperature, 'g', -1, 64) }},
		{"top_p", func(o strategy.Options) string { return strconv.FormatFloat(o.TopP, 'g', -1, 64) }},
		{"max_tokens", func(o strategy.Options) string { return strconv.Itoa(o.MaxTokens) }},
		{"agg", func(o strategy.Options) string { return o.Aggregate }},
	}
	for i := range points {
		var parts []string
		for fi, f := range fields {
			v := f.val(opts[i])
			show := fi == 0 && opts[i].N > 1
			for j := range points {
				if j != i && points[j].Strategy == points[i].Strategy && f.val(opts[j]) != v {
					show = true
				}
			}
			if show {
				parts = append(parts, f.name+"="+v)
			}
		}
		if sc := scorerLabel(points, i); sc != "" {
			parts = append(parts, "scorer="+sc)
		}
		if points[i].Partial {
			parts = append(parts, "(unfinished)")
		}
		points[i].Budget = strings.Join(parts, " ")
		points[i].Label = strings.TrimSpace(points[i].Strategy + " " + points[i].Budget)
	}
}

// deployable leaves out the runs of an oracle scorer (upper bounds) and
// unfinished runs: plotted beside the others, never on a frontier or
// recommended.
func deployable(points []Point) []Point {
	var out []Point
	for _, p := range points {
		if !p.Oracle && !p.Partial {
			out = append(out, p)
		}
	}
	return out
}

// scorerLabel names point i's scorer when another run of its strategy used
// a different one, else "": the scorer's kind, without the model digest
// ("prm", "oracle").
func scorerLabel(points []Point, i int) string {
	for j := range points {
		if j != i && points[j].Strategy == points[i].Strategy && points[j].Scorer != points[i].Scorer {
			kind, _, _ := strings.Cut(points[i].Scorer, ":")
			if kind == "" {
				kind = "none"
			}
			return kind
		}
	}
	return ""
}

// tableRow builds a table row; the std of FLOPs and time per question over
// seeds comes from the raw results, which the summary does not keep.
func tableRow(s run.Summary, p Point, results []store.Result) Row {
	type agg struct {
		flops, secs float64
		n           int
	}
	bySeed := map[int64]*agg{}
	for _, r := range results {
		a := bySeed[r.Seed]
		if a == nil {
			a = &agg{}
			bySeed[r.Seed] = a
		}
		a.flops += r.Usage.FLOPs()
		a.secs += r.Wall.Seconds()
		a.n++
	}
	var fl, se []float64
	for _, a := range bySeed {
		fl = append(fl, a.flops/float64(a.n))
		se = append(se, a.secs/float64(a.n))
	}
	slices.Sort(fl)
	slices.Sort(se)
	return Row{
		RunID: s.RunID, Model: s.Model, Dataset: s.Dataset, Strategy: s.Strategy, Budget: p.Budget,
		Questions: s.Questions, Seeds: s.Seeds, Answered: s.Answered,
		Accuracy: 100 * s.Accuracy, AccuracyStd: 100 * s.AccuracyStd,
		CI95:       [2]float64{100 * s.AccuracyCI95[0], 100 * s.AccuracyCI95[1]},
		TokensPerQ: s.PerQuestion.Tokens, FLOPsPerQ: s.PerQuestion.FLOPs, FLOPsStd: run.StdDev(fl),
		SecondsPerQ: s.PerQuestion.Seconds, SecondsStd: run.StdDev(se), USDPerQ: s.PerQuestion.CostUSD,
		AccPerTFLOP: s.AccPerTFLOP, AccPerS: s.AccPerS, EfficiencyScore: s.EfficiencyScore,
	}
}

// readOnly lets run.Summarize read through a Source; a report never writes.
type readOnly struct{ Source }

var errReadOnly = errors.New("report: the store is opened read-only")

func (readOnly) EnsureRun(context.Context, store.Run) (store.Run, error) {
	return store.Run{}, errReadOnly
}
func (readOnly) AddRunWall(context.Context, string, time.Duration) error { return errReadOnly }
func (readOnly) Done(context.Context, string) (map[store.DoneKey]bool, error) {
	return nil, errReadOnly
}
func (readOnly) PutResult(context.Context, store.Result) error { return errReadOnly }
