package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test ./report/ -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", path, len(gl), len(wl))
	}
}

// goldenNumbers is golden for JSON or CSV output, with numbers compared to
// 1e-9 relative: float rounding may differ in the last bits between
// architectures (fused multiply-add), and that is not a change.
func goldenNumbers(t *testing.T, name string, got []byte, parse func([]byte) (any, error)) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		golden(t, name, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	g, err := parse(got)
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	w, err := parse(want)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if where := sameValue(g, w, ""); where != "" {
		t.Fatalf("%s differs at %s (run go test ./report/ -update if the change is intended)", path, where)
	}
}

func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func parseCSV(b []byte) (any, error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	out := make([]any, len(recs))
	for i, r := range recs {
		row := make([]any, len(r))
		for j, f := range r {
			if _, err := strconv.ParseFloat(f, 64); err == nil {
				row[j] = json.Number(f)
			} else {
				row[j] = f
			}
		}
		out[i] = row
	}
	return out, err
}

// sameValue returns where got and want differ, or "".
func sameValue(got, want any, at string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
		for k := range w {
			if d := sameValue(g[k], w[k], at+"."+k); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
		for i := range w {
			if d := sameValue(g[i], w[i], fmt.Sprintf("%s[%d]", at, i)); d != "" {
				return d
			}
		}
	case json.Number:
		g, ok := got.(json.Number)
		gf, err1 := g.Float64()
		wf, err2 := w.Float64()
		if !ok || err1 != nil || err2 != nil || diff(gf, wf) > 1e-9*max(1, math.Abs(wf)) {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
	default:
		if got != want {
			return fmt.Sprintf("%s: got %v, want %v", at, got, want)
		}
	}
	return ""
}

func buildFixture(t *testing.T, b Budget) *Data {
	t.Helper()
	d, err := Build(context.Background(), fixtureStore(t), nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildGolden(t *testing.T) {
	d := buildFixture(t, Budget{FLOPs: 6e11})
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	goldenNumbers(t, "data.golden.json", append(js, '\n'), parseJSON)

	var md, cs bytes.Buffer
	if err := d.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", md.Bytes())
	if err := d.CSV(&cs); err != nil {
		t.Fatal(err)
	}
	goldenNumbers(t, "report.csv.golden", cs.Bytes(), parseCSV)
}

// TestBuildFacts checks what the golden file should say, independently of
// it, so a wrong golden file cannot pass unnoticed.
func TestBuildFacts(t *testing.T) {
	d := buildFixture(t, Budget{FLOPs: 6e11})
	if len(d.Groups) != 2 {
		t.Fatalf("got %d groups, want 2 (tiny/synth, small/gsm8k)", len(d.Groups))
	}
	if len(d.Table) != len(fixtureRuns) {
		t.Errorf("table has %d rows, want %d (the empty run left out)", len(d.Table), len(fixtureRuns))
	}
	if len(d.Notes) == 0 || !strings.Contains(strings.Join(d.Notes, "\n"), "no results") {
		t.Errorf("notes %q do not mention the run without results", d.Notes)
	}
	synth := d.Groups[1]
	if synth.Dataset != "synth" {
		t.Fatalf("group order: second group is %s, want synth", synth.Dataset)
	}
	// Accuracy is the fraction of questions solved over both seeds.
	want := map[string]float64{}
	for _, fr := range fixtureRuns {
		if fr.dataset != "synth" {
			continue
		}
		var s int
		for _, n := range fr.solves {
			s += n
		}
		label := fr.strategy
		if fr.opts.N > 1 {
			label += fmt.Sprintf(" n=%d", fr.opts.N)
		}
		want[label] = 100 * float64(s) / float64(len(fr.solves)*fixtureQuestions)
	}
	var labels []string
	for _, s := range synth.Series {
		for i, p := range s.Points {
			labels = append(labels, p.Label)
			w, ok := want[p.Label]
			if !ok || diff(p.Accuracy, w) > 1e-9 {
				t.Errorf("%s: accuracy %v, want %v", p.Label, p.Accuracy, w)
			}
			if p.CILo > p.Accuracy || p.CIHi < p.Accuracy {
				t.Errorf("%s: CI [%v, %v] does not hold %v", p.Label, p.CILo, p.CIHi, p.Accuracy)
			}
			if i > 0 && s.Points[i-1].XFLOPs > p.XFLOPs {
				t.Errorf("series %s not cheapest first", s.Strategy)
			}
		}
	}
	if got := strings.Join(labels, ","); got != "best-of-n n=4,greedy,self-consistency n=4,self-consistency n=8" {
		t.Errorf("labels %s", got)
	}
	var flops *Frontier
	for i := range synth.Frontiers {
		if synth.Frontiers[i].Axis == AxisFLOPs {
			flops = &synth.Frontiers[i]
		}
	}
	if flops == nil {
		t.Fatal("no FLOPs frontier for synth")
	}
	var front []string
	for _, p := range flops.Points {
		front = append(front, p.Label)
	}
	if got := strings.Join(front, ","); got != "greedy,self-consistency n=4,self-consistency n=8" {
		t.Errorf("FLOPs frontier %s", got)
	}
	if len(flops.Dominated) != 1 || flops.Dominated[0].Loser != "best-of-n n=4" || flops.Dominated[0].Winner != "self-consistency n=4" {
		t.Errorf("dominated %+v, want best-of-n n=4 beaten by self-consistency n=4 (most accurate dominator)", flops.Dominated)
	}
	// Budget 6e11 FLOPs/q: sc n=8 (8.8e11 and up) does not fit; sc n=4 is
	// the most accurate that does.
	adv := synth.Advice
	if adv.Best == nil || adv.Best.Label != "self-consistency n=4" || adv.Baseline == nil || adv.Baseline.Label != "greedy" {
		t.Fatalf("advice %+v", adv)
	}
	if diff(adv.GainPoints, adv.Best.Accuracy-adv.Baseline.Accuracy) > 1e-9 || adv.GainPoints <= 0 {
		t.Errorf("gain %v", adv.GainPoints)
	}
	if diff(adv.CostRatio, adv.Best.XFLOPs/adv.Baseline.XFLOPs) > 1e-9 {
		t.Errorf("cost ratio %v", adv.CostRatio)
	}
	if synth.Levels == nil || len(synth.Levels) != 3 || len(synth.LevelRows) != 4 {
		t.Errorf("levels %v rows %d", synth.Levels, len(synth.LevelRows))
	}
	// greedy solves questions 0..2 = all of level 1 and half of level 2.
	for _, r := range synth.LevelRows {
		if r.Label == "greedy" && (*r.Accuracy[0] != 100 || *r.Accuracy[1] != 50 || *r.Accuracy[2] != 0) {
			t.Errorf("greedy by level %v %v %v", *r.Accuracy[0], *r.Accuracy[1], *r.Accuracy[2])
		}
	}
	if len(synth.Questions) != fixtureQuestions {
		t.Fatalf("drill-down has %d questions", len(synth.Questions))
	}
	q0 := synth.Questions[0]
	if q0.ID != "q0" || q0.Solved != 4 || len(q0.Answers) != 4 {
		t.Errorf("q0 %+v", q0)
	}
	gsm := d.Groups[0]
	for _, f := range gsm.Frontiers {
		if f.Axis == AxisFLOPs {
			t.Error("gsm8k runs record no FLOPs but got a FLOPs frontier")
		}
	}
	if gsm.Advice.Axis != AxisFLOPs || gsm.Advice.Best != nil {
		// A FLOPs budget cannot be checked without FLOPs: nothing fits.
		t.Errorf("gsm8k advice %+v", gsm.Advice)
	}
	var tree []TreeNode
	for _, a := range gsm.Questions[0].Answers {
		if a.Label == "beam-search n=4" {
			tree = a.Tree
		}
	}
	var order []string
	for _, n := range tree {
		order = append(order, fmt.Sprintf("%d@%d", n.ID, n.Depth))
	}
	if got := strings.Join(order, " "); got != "0@0 1@1 3@2 4@2 2@1" {
		t.Errorf("tree order (id@depth) %s, want depth first 0@0 1@1 3@2 4@2 2@1", got)
	}
	// q0 is solved, so the chosen leaf is right and the other wrong; nodes
	// without an answer are not graded.
	if len(tree) == 5 && (tree[2].Right == nil || !*tree[2].Right || tree[3].Right == nil || *tree[3].Right || tree[1].Right != nil) {
		t.Errorf("leaf grades: chosen %v, other %v, inner %v", tree[2].Right, tree[3].Right, tree[1].Right)
	}
}

func TestBuildSelectsRuns(t *testing.T) {
	db := fixtureStore(t)
	ctx := context.Background()
	runs, err := db.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(ctx, db, []string{runs[0].ID, runs[1].ID, runs[0].ID}, Budget{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Table) != 2 || len(d.Groups) != 1 {
		t.Errorf("got %d rows in %d groups, want 2 in 1", len(d.Table), len(d.Groups))
	}
	if d.Groups[0].Advice.Best == nil || d.Groups[0].Advice.Best.Label != "self-consistency n=4" {
		t.Errorf("no budget: best %+v, want the most accurate run", d.Groups[0].Advice.Best)
	}
	if _, err := Build(ctx, db, []string{"nope"}, Budget{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown run: err %v", err)
	}
	if _, err := Build(ctx, db, nil, Budget{FLOPs: -1}); err == nil {
		t.Error("negative budget accepted")
	}
}

func TestCSVParses(t *testing.T) {
	d := buildFixture(t, Budget{})
	var b bytes.Buffer
	if err := d.CSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(d.Table) {
		t.Fatalf("%d records, want header + %d", len(recs), len(d.Table))
	}
	for _, r := range recs {
		if len(r) != len(csvHeader) {
			t.Fatalf("record %v has %d fields, want %d", r, len(r), len(csvHeader))
		}
	}
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

// BuildCombined puts a dataset's runs in one group whatever their models,
// each series naming its model where the group has several.
func TestBuildCombined(t *testing.T) {
	db := fixtureStore(t)
	ctx := context.Background()
	fr := fixtureRuns[0]
	fr.model = "other-model"
	id := putRun(t, db, fr.model, fr.dataset, fr.strategy, fr.opts, 1, time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC))
	for q := range fixtureQuestions {
		putResult(t, db, id, fr, 0, q, q%2 == 0)
	}
	apart, err := Build(ctx, db, nil, Budget{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := BuildCombined(ctx, db, nil, Budget{})
	if err != nil {
		t.Fatal(err)
	}
	datasets := map[string][]string{}
	for _, g := range apart.Groups {
		datasets[g.Dataset] = append(datasets[g.Dataset], g.Model)
	}
	if len(one.Groups) != len(datasets) {
		t.Fatalf("%d combined groups for %d datasets", len(one.Groups), len(datasets))
	}
	several := false
	for _, g := range one.Groups {
		models := datasets[g.Dataset]
		points := 0
		for _, s := range g.Series {
			points += len(s.Points)
			if len(models) > 1 && !strings.HasSuffix(s.Strategy, "]") {
				t.Errorf("%s: series %q of a group of models %v does not name its model", g.Dataset, s.Strategy, models)
			}
		}
		want := 0
		for _, ag := range apart.Groups {
			if ag.Dataset == g.Dataset {
				for _, s := range ag.Series {
					want += len(s.Points)
				}
			}
		}
		if points != want {
			t.Errorf("%s: %d points combined, %d apart", g.Dataset, points, want)
		}
		several = several || len(models) > 1
	}
	if !several {
		t.Fatal("the fixture has no dataset run on several models: the test proves nothing")
	}
}

func TestShortModel(t *testing.T) {
	for in, want := range map[string]string{
		"embedded:pareto-synth-thinker@1dc033923c04": "pareto-synth-thinker",
		"embedded:/tmp/m.gguf":                       "/tmp/m.gguf",
		"qwen2.5:0.5b":                               "qwen2.5:0.5b",
		"small":                                      "small",
	} {
		if got := shortModel(in); got != want {
			t.Errorf("shortModel(%q) = %q, want %q", in, got, want)
		}
	}
}
