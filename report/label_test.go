package report

import (
	"testing"

	"github.com/pareto-llm/pareto/strategy"
)

// Runs of one strategy that differ only in their scorer get labels that
// say which; an oracle's run and an unfinished one stay off frontiers and
// recommendations.
func TestScorerInLabelsAndOracleOffTheFrontier(t *testing.T) {
	points := []Point{
		{RunID: "a", Strategy: "rebase", Scorer: "prm:pareto-synth-prm@62bc6dfee72b", XFLOPs: 4e9, Accuracy: 64},
		{RunID: "b", Strategy: "rebase", Scorer: "oracle", Oracle: true, XFLOPs: 2e9, Accuracy: 92},
		{RunID: "c", Strategy: "self-consistency", XFLOPs: 2.5e9, Accuracy: 69},
		{RunID: "d", Strategy: "particle-filter", Partial: true, XFLOPs: 1e9, Accuracy: 93},
	}
	opts := []strategy.Options{{N: 16}, {N: 16}, {N: 16}, {N: 4}}
	labelPoints(points, opts)
	for i, want := range []string{"rebase n=16 scorer=prm", "rebase n=16 scorer=oracle", "self-consistency n=16", "particle-filter n=4 (unfinished)"} {
		if points[i].Label != want {
			t.Errorf("point %d: label %q, want %q", i, points[i].Label, want)
		}
	}
	d := deployable(points)
	if len(d) != 2 || d[0].RunID != "a" || d[1].RunID != "c" {
		t.Fatalf("deployable: %+v", d)
	}
	f := FrontierOf(d, AxisFLOPs)
	for _, p := range f.Points {
		if p.Oracle {
			t.Fatalf("an oracle run on the frontier: %+v", f.Points)
		}
	}
	if r := Recommend(d, Budget{}); len(r.Text) == 0 {
		t.Fatal("no recommendation")
	}
	if r := Recommend(deployable(points[1:2]), Budget{}); len(r.Text) == 0 {
		t.Fatal("no recommendation text when every run is an oracle's")
	}
}
