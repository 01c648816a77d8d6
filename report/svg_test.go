package report

import (
	"strings"
	"testing"
)

func TestPlaceLabels(t *testing.T) {
	area := box{0, 0, 400, 300}
	// Two points at one spot: the second label moves below the first.
	got := placeLabels([][2]float64{{100, 100}, {100, 100}}, []string{"n=4", "n=16"}, 12, area)
	if !got[0].ok || !got[1].ok {
		t.Fatalf("labels not placed: %+v", got)
	}
	if got[0].box.overlaps(got[1].box) {
		t.Errorf("labels of coincident points overlap: %+v %+v", got[0].box, got[1].box)
	}
	if got[0].anchor != "start" || got[0].y >= 100 {
		t.Errorf("first label not above right of its point: %+v", got[0])
	}
	// At the right edge the label goes to the left of its point.
	got = placeLabels([][2]float64{{395, 100}}, []string{"n=16"}, 12, area)
	if !got[0].ok || got[0].anchor != "end" || !got[0].box.inside(area) {
		t.Errorf("label at the right edge: %+v", got[0])
	}
	// A crowd: every placed label stays inside, clear of the others and of
	// every point; the ones with no room are left out.
	var pts [][2]float64
	var texts []string
	for i := range 12 {
		pts = append(pts, [2]float64{200 + float64(i%3), 150 + float64(i%4)})
		texts = append(texts, "n=64 T=0.7")
	}
	got = placeLabels(pts, texts, 12, area)
	placed := 0
	for i, l := range got {
		if !l.ok {
			continue
		}
		placed++
		if !l.box.inside(area) {
			t.Errorf("label %d outside the plot: %+v", i, l.box)
		}
		for j, m := range got[:i] {
			if m.ok && l.box.overlaps(m.box) {
				t.Errorf("labels %d and %d overlap", j, i)
			}
		}
		for j, p := range pts {
			if l.box.overlaps(box{p[0] - markerSize, p[1] - markerSize, p[0] + markerSize, p[1] + markerSize}) {
				t.Errorf("label %d covers point %d", i, j)
			}
		}
	}
	if placed == 0 || placed == len(pts) {
		t.Errorf("%d of %d crowded labels placed; want some but not all", placed, len(pts))
	}
	if got := placeLabels([][2]float64{{10, 10}}, []string{""}, 12, area); got[0].ok {
		t.Error("an empty label was placed")
	}
}

func TestFitText(t *testing.T) {
	if s, size := fitText("short", 14, 200, true); s != "short" || size != 14 {
		t.Errorf("short text changed: %q at %v", s, size)
	}
	long := strings.Repeat("qwen2.5-math-7b-instruct ", 6)
	s, size := fitText(long, 14, 300, true)
	if w := textWidth(s, size, true); w > 300 {
		t.Errorf("fitted text is %v wide, want at most 300", w)
	}
	if size < minFontSize || !strings.HasSuffix(s, "…") || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
		t.Errorf("fitted %q at %v", s, size)
	}
	// Just too long: shrinking is enough, nothing is cut.
	s, size = fitText("abcdefghij", 14, 80, false)
	if s != "abcdefghij" || size >= 14 || size < minFontSize || textWidth(s, size, false) > 80+1e-9 {
		t.Errorf("slightly long text: %q at %v", s, size)
	}
}
