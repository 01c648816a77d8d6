package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pareto-llm/pareto/run"
)

var axisName = map[Axis]string{AxisFLOPs: "FLOPs", AxisLatency: "latency", AxisUSD: "cost in USD"}

// FrontierOf returns the Pareto frontier of points on axis a, cheapest
// first: the points that no other point matches or beats on both cost and
// accuracy while beating it on one. Points whose cost on a is unknown (not
// positive) are left out and counted in Missing. For each point off the
// frontier it names the most accurate point that dominates it.
func FrontierOf(points []Point, a Axis) Frontier {
	f := Frontier{Axis: a}
	var known []Point
	for _, p := range points {
		if c := p.Cost(a); c > 0 && !math.IsInf(c, 0) && !math.IsNaN(c) {
			known = append(known, p)
		} else {
			f.Missing++
		}
	}
	slices.SortStableFunc(known, func(x, y Point) int {
		return cmp.Or(cmp.Compare(x.Cost(a), y.Cost(a)), cmp.Compare(y.Accuracy, x.Accuracy), cmp.Compare(x.Label, y.Label))
	})
	for _, p := range known {
		// Name the most accurate dominator (the cheapest among equals): it
		// is what to run instead.
		var winner *Point
		for i := range known {
			q := &known[i]
			if dominates(*q, p, a) && (winner == nil || q.Accuracy > winner.Accuracy) {
				winner = q
			}
		}
		if winner == nil {
			f.Points = append(f.Points, p)
			continue
		}
		f.Dominated = append(f.Dominated, Dominance{Loser: p.Label, Winner: winner.Label, Why: why(p, *winner, a)})
	}
	return f
}

// dominates reports whether q is at least as cheap and as accurate as p on
// axis a, and strictly better on one of the two.
func dominates(q, p Point, a Axis) bool {
	qc, pc := q.Cost(a), p.Cost(a)
	return qc <= pc && q.Accuracy >= p.Accuracy && (qc < pc || q.Accuracy > p.Accuracy)
}

func why(loser, winner Point, a Axis) string {
	acc, cost := "lower accuracy", "higher cost"
	if loser.Accuracy == winner.Accuracy {
		acc = "equal accuracy"
	}
	if loser.Cost(a) == winner.Cost(a) {
		cost = "equal cost"
	}
	return fmt.Sprintf("%s (%.1f%% vs %.1f%%) at %s (%s vs %s)", acc, loser.Accuracy, winner.Accuracy,
		cost, formatCost(a, loser.Cost(a)), formatCost(a, winner.Cost(a)))
}

// Recommendation is the advice for one group under the user's budget.
type Recommendation struct {
	// Axis is the cost the advice is phrased in: the first budgeted axis,
	// else FLOPs when known, else latency.
	Axis Axis `json:"axis"`
	// Best is the most accurate point within every budget given (cheapest
	// among equals); nil when none fits.
	Best *Point `json:"best,omitempty"`
	// Baseline is the cheapest point on Axis, the thing to beat.
	Baseline *Point `json:"baseline,omitempty"`
	// GainPoints is Best's accuracy minus Baseline's, in percentage points.
	GainPoints float64 `json:"gain_points"`
	// CostRatio is Best's cost over Baseline's on Axis.
	CostRatio float64 `json:"cost_ratio"`
	// ROI is the gain per extra unit of cost per question (points per TFLOP,
	// per second or per dollar); 0 when Best costs no more than Baseline.
	ROI     float64 `json:"roi"`
	ROIUnit string  `json:"roi_unit"`
	// Dominated lists the runs not worth running on Axis.
	Dominated []Dominance `json:"dominated,omitempty"`
	// Text is the advice in sentences.
	Text []string `json:"text"`
}

var roiUnit = map[Axis]struct {
	name  string
	scale float64
}{AxisFLOPs: {"TFLOP", 1e12}, AxisLatency: {"second", 1}, AxisUSD: {"dollar", 1}}

// Recommend picks, among points that fit every cap in b, the most accurate,
// and compares it with the cheapest point.
func Recommend(points []Point, b Budget) Recommendation {
	r := Recommendation{Axis: primaryAxis(points, b)}
	r.ROIUnit = roiUnit[r.Axis].name
	a := r.Axis
	caps := []struct {
		axis Axis
		max  float64
	}{{AxisFLOPs, b.FLOPs}, {AxisLatency, b.LatencyS}, {AxisUSD, b.USD}}
	var limits []string
	for _, c := range caps {
		if c.max > 0 {
			limits = append(limits, "≤ "+formatCost(c.axis, c.max))
		}
	}
	if len(limits) > 0 {
		r.Text = append(r.Text, "Budget per question: "+strings.Join(limits, ", ")+".")
	} else {
		r.Text = append(r.Text, "No budget given: the most accurate run overall.")
	}
	for i := range points {
		p := &points[i]
		if p.Cost(a) <= 0 {
			continue
		}
		if r.Baseline == nil || p.Cost(a) < r.Baseline.Cost(a) || p.Cost(a) == r.Baseline.Cost(a) && p.Accuracy > r.Baseline.Accuracy {
			r.Baseline = p
		}
		fits := true
		for _, c := range caps {
			if c.max > 0 && (p.Cost(c.axis) <= 0 || p.Cost(c.axis) > c.max) {
				fits = false
			}
		}
		if fits && (r.Best == nil || p.Accuracy > r.Best.Accuracy || p.Accuracy == r.Best.Accuracy && p.Cost(a) < r.Best.Cost(a)) {
			r.Best = p
		}
	}
	r.Dominated = FrontierOf(points, a).Dominated
	if r.Baseline == nil {
		r.Text = append(r.Text, fmt.Sprintf("No run records its %s, so there is nothing to recommend.", axisName[a]))
		return r
	}
	base := *r.Baseline
	r.Baseline = &base
	if r.Best == nil {
		r.Text = append(r.Text, fmt.Sprintf("No run fits this budget; the cheapest is %s at %s per question (%.1f%%).",
			base.Label, formatCost(a, base.Cost(a)), base.Accuracy))
		return r
	}
	best := *r.Best
	r.Best = &best
	r.Text = append(r.Text, fmt.Sprintf("Best within budget: %s, %.1f%% (CI95 %.1f–%.1f) at %s per question.",
		best.Label, best.Accuracy, best.CILo, best.CIHi, formatCost(a, best.Cost(a))))
	r.GainPoints = best.Accuracy - base.Accuracy
	r.CostRatio = best.Cost(a) / base.Cost(a)
	if best.RunID == base.RunID {
		r.Text = append(r.Text, "It is also the cheapest run: spending more buys nothing here.")
		return r
	}
	if extra := best.Cost(a) - base.Cost(a); extra > 0 {
		r.ROI = r.GainPoints / (extra / roiUnit[a].scale)
	}
	s := fmt.Sprintf("Gain over the cheapest baseline (%s, %.1f%% at %s): %+.1f points for %.2g× the %s",
		base.Label, base.Accuracy, formatCost(a, base.Cost(a)), r.GainPoints, r.CostRatio, axisName[a])
	if r.ROI != 0 {
		s += fmt.Sprintf(", %+.3g points per extra %s per question", r.ROI, r.ROIUnit)
	}
	r.Text = append(r.Text, s+".")
	if best.CILo <= base.CIHi {
		r.Text = append(r.Text, "The two confidence intervals overlap, so the gain may be noise; more questions or seeds would tell.")
	}
	return r
}

// primaryAxis is the axis the advice is phrased in.
func primaryAxis(points []Point, b Budget) Axis {
	switch {
	case b.FLOPs > 0:
		return AxisFLOPs
	case b.LatencyS > 0:
		return AxisLatency
	case b.USD > 0:
		return AxisUSD
	}
	for _, p := range points {
		if p.XFLOPs > 0 {
			return AxisFLOPs
		}
	}
	return AxisLatency
}

// formatCost writes a per-question cost with its unit.
func formatCost(a Axis, v float64) string {
	switch a {
	case AxisFLOPs:
		return formatFLOPs(v)
	case AxisLatency:
		return fmt.Sprintf("%.3g s", v)
	case AxisUSD:
		return fmt.Sprintf("$%.3g", v)
	}
	return fmt.Sprint(v)
}

func formatFLOPs(v float64) string {
	units := []struct {
		name  string
		scale float64
	}{{"EFLOPs", 1e18}, {"PFLOPs", 1e15}, {"TFLOPs", 1e12}, {"GFLOPs", 1e9}, {"MFLOPs", 1e6}}
	for _, u := range units {
		if v >= u.scale {
			return fmt.Sprintf("%.3g %s", v/u.scale, u.name)
		}
	}
	return fmt.Sprintf("%.3g FLOPs", v)
}

// levelRows lays out accuracy by level for the points in series order.
func levelRows(series []Series, sums map[string]run.Summary) ([]int, []LevelRow) {
	seen := map[int]bool{}
	for _, s := range sums {
		for l := range s.ByLevel {
			seen[l] = true
		}
	}
	if len(seen) == 0 {
		return nil, nil
	}
	var levels []int
	for l := range seen {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	var rows []LevelRow
	for _, s := range series {
		for _, p := range s.Points {
			row := LevelRow{Label: p.Label, Accuracy: make([]*float64, len(levels))}
			for i, l := range levels {
				if v, ok := sums[p.RunID].ByLevel[l]; ok {
					pct := 100 * v
					row.Accuracy[i] = &pct
				}
			}
			rows = append(rows, row)
		}
	}
	return levels, rows
}

type style struct{ color, marker string }

// palette is the Okabe–Ito set: distinct for colour-blind readers and, with
// a marker shape per series, still legible in greyscale print.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"}

var markers = []string{"circle", "square", "triangle", "diamond", "down"}

// styleByStrategy gives each strategy the same colour and marker on every
// plot of the page.
func styleByStrategy(strategies []string) map[string]style {
	names := slices.Clone(strategies)
	slices.Sort(names)
	names = slices.Compact(names)
	out := map[string]style{}
	for i, n := range names {
		out[n] = style{palette[i%len(palette)], markers[i%len(markers)]}
	}
	return out
}
