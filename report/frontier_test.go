package report

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func pt(label string, flops, acc float64) Point {
	return Point{RunID: label, Label: label, Strategy: strings.Fields(label)[0], XFLOPs: flops, XLatency: flops / 1e12, Accuracy: acc, CILo: acc - 5, CIHi: acc + 5}
}

func labels(ps []Point) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Label)
	}
	return strings.Join(s, ",")
}

func TestFrontierHandMade(t *testing.T) {
	points := []Point{
		pt("sc n=8", 8e12, 70),
		pt("greedy", 1e12, 40),
		pt("bon n=4", 5e12, 55),  // beaten by sc n=4: cheaper and better
		pt("sc n=4", 4e12, 60),   // on the frontier
		pt("sc n=16", 16e12, 70), // same accuracy as sc n=8 at twice the cost
		pt("cot", 1e12, 35),      // same cost as greedy, worse
		pt("twin", 4e12, 60),     // ties sc n=4 exactly: neither dominates
		pt("nofl", 0, 99),        // FLOPs unknown: off this axis
	}
	f := FrontierOf(points, AxisFLOPs)
	if got := labels(f.Points); got != "greedy,sc n=4,twin,sc n=8" {
		t.Errorf("frontier %s", got)
	}
	if f.Missing != 1 {
		t.Errorf("missing %d, want 1", f.Missing)
	}
	want := map[string]string{
		"bon n=4": "sc n=4:lower accuracy (55.0% vs 60.0%) at higher cost",
		"sc n=16": "sc n=8:equal accuracy (70.0% vs 70.0%) at higher cost",
		"cot":     "greedy:lower accuracy (35.0% vs 40.0%) at equal cost",
	}
	if len(f.Dominated) != len(want) {
		t.Errorf("dominated %+v", f.Dominated)
	}
	for _, d := range f.Dominated {
		w := want[d.Loser]
		if !strings.HasPrefix(d.Winner+":"+d.Why, w) || w == "" {
			t.Errorf("%s: beaten by %s: %s; want %s", d.Loser, d.Winner, d.Why, w)
		}
	}
}

// TestFrontierProperties checks the definition on random clouds: no
// frontier point is dominated, every other point is, and the frontier rises
// with cost.
func TestFrontierProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var ps []Point
		for i := range 1 + rng.IntN(12) {
			// Coarse grids make ties common.
			ps = append(ps, pt(string(rune('a'+i)), float64(1+rng.IntN(6))*1e11, float64(rng.IntN(6)*10)))
		}
		f := FrontierOf(ps, AxisFLOPs)
		on := map[string]bool{}
		for i, p := range f.Points {
			on[p.Label] = true
			if i > 0 {
				prev := f.Points[i-1]
				if prev.XFLOPs > p.XFLOPs || (prev.XFLOPs < p.XFLOPs && prev.Accuracy >= p.Accuracy) {
					t.Fatalf("round %d: frontier not rising: %+v then %+v", round, prev, p)
				}
			}
		}
		if len(f.Points)+len(f.Dominated) != len(ps) {
			t.Fatalf("round %d: %d on + %d off != %d points", round, len(f.Points), len(f.Dominated), len(ps))
		}
		for _, p := range ps {
			dominated := false
			for _, q := range ps {
				if dominates(q, p, AxisFLOPs) {
					dominated = true
				}
			}
			if dominated == on[p.Label] {
				t.Fatalf("round %d: %s dominated=%v but on frontier=%v", round, p.Label, dominated, on[p.Label])
			}
		}
	}
}

func TestRecommend(t *testing.T) {
	points := []Point{pt("greedy", 1e12, 40), pt("sc n=4", 4e12, 60), pt("bon n=4", 5e12, 55), pt("sc n=8", 8e12, 70)}
	cases := []struct {
		name       string
		b          Budget
		best       string
		gain, cost float64
		text       string
	}{
		{"no budget", Budget{}, "sc n=8", 30, 8, "No budget given"},
		{"between budgets", Budget{FLOPs: 6e12}, "sc n=4", 20, 4, "Best within budget: sc n=4"},
		{"exact budget", Budget{FLOPs: 4e12}, "sc n=4", 20, 4, "+20.0 points for 4× the FLOPs"},
		{"baseline only", Budget{FLOPs: 2e12}, "greedy", 0, 1, "also the cheapest"},
		{"too small", Budget{FLOPs: 1e11}, "", 0, 0, "No run fits"},
		{"latency", Budget{LatencyS: 5}, "sc n=4", 20, 4, "≤ 5 s"},
		{"two caps", Budget{FLOPs: 1e13, LatencyS: 4.5}, "sc n=4", 20, 4, "≤ 10 TFLOPs, ≤ 4.5 s"},
		{"usd unknown", Budget{USD: 1}, "", 0, 0, "No run records its cost in USD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Recommend(points, c.b)
			got := ""
			if r.Best != nil {
				got = r.Best.Label
			}
			if got != c.best {
				t.Fatalf("best %q, want %q", got, c.best)
			}
			if diff(r.GainPoints, c.gain) > 1e-9 || diff(r.CostRatio, c.cost) > 1e-9 {
				t.Errorf("gain %v ratio %v, want %v %v", r.GainPoints, r.CostRatio, c.gain, c.cost)
			}
			if text := strings.Join(r.Text, " "); !strings.Contains(text, c.text) {
				t.Errorf("text %q lacks %q", text, c.text)
			}
		})
	}
	r := Recommend(points, Budget{FLOPs: 6e12})
	if diff(r.ROI, 20.0/3) > 1e-9 || r.ROIUnit != "TFLOP" {
		t.Errorf("ROI %v per %s, want 6.67 points per extra TFLOP", r.ROI, r.ROIUnit)
	}
	if len(r.Dominated) != 1 || r.Dominated[0].Loser != "bon n=4" || r.Dominated[0].Winner != "sc n=4" {
		t.Errorf("dominated %+v", r.Dominated)
	}
	// Non-overlapping intervals: no warning about noise.
	if strings.Contains(strings.Join(r.Text, " "), "noise") {
		t.Errorf("warned about noise for disjoint intervals: %q", r.Text)
	}
	r = Recommend([]Point{pt("greedy", 1e12, 40), pt("sc n=4", 4e12, 45)}, Budget{})
	if !strings.Contains(strings.Join(r.Text, " "), "noise") {
		t.Errorf("no warning for overlapping intervals: %q", r.Text)
	}
}

func TestFormatCost(t *testing.T) {
	for _, c := range []struct {
		a    Axis
		v    float64
		want string
	}{
		{AxisFLOPs, 1.5e12, "1.5 TFLOPs"}, {AxisFLOPs, 2e9, "2 GFLOPs"}, {AxisFLOPs, 3e15, "3 PFLOPs"}, {AxisFLOPs, 12, "12 FLOPs"},
		{AxisLatency, 0.25, "0.25 s"}, {AxisUSD, 0.0012, "$0.0012"},
	} {
		if got := formatCost(c.a, c.v); got != c.want {
			t.Errorf("formatCost(%s, %g) = %q, want %q", c.a, c.v, got, c.want)
		}
	}
	if got := decadeLabel(AxisFLOPs, 12); got != "10¹²" {
		t.Errorf("decade label %q", got)
	}
	if got := decadeLabel(AxisLatency, -1); got != "0.1" {
		t.Errorf("decade label %q", got)
	}
	if got := decadeLabel(AxisUSD, -5); got != "10⁻⁵" {
		t.Errorf("decade label %q", got)
	}
}
