package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestHTMLSelfContained(t *testing.T) {
	d := buildFixture(t, Budget{FLOPs: 6e11})
	var b bytes.Buffer
	if err := d.HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"src=", "http://", "https://", "url(", "@import", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("page refers to something outside itself: %q", bad)
		}
	}
	// Plots: synth has FLOPs and latency, gsm8k latency and USD; plus the
	// level plot for synth.
	svgs := regexp.MustCompile(`(?s)<svg class="plot".*?</svg>`).FindAllString(page, -1)
	if len(svgs) != 5 {
		t.Fatalf("got %d SVG plots, want 5", len(svgs))
	}
	for i, s := range svgs {
		// Each plot is well-formed XML, so a browser draws all of it.
		dec := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("plot %d is not well-formed: %v", i, err)
			}
		}
	}
	// The first plot is synth against FLOPs: 4 points with a hover title,
	// a dashed frontier through 3 of them, and 4 error bars.
	first := svgs[2]
	if !strings.Contains(first, "Accuracy against FLOPs: tiny on synth") {
		t.Fatalf("third plot is not synth vs FLOPs: %.200s", first)
	}
	if n := strings.Count(first, `<g class="point"><title>`); n != 4 {
		t.Errorf("%d points, want 4", n)
	}
	if n := strings.Count(first, `class="errorbar"`); n != 4 {
		t.Errorf("%d error bars, want 4", n)
	}
	fr := regexp.MustCompile(`class="frontier" points="([^"]*)"`).FindStringSubmatch(first)
	if fr == nil || len(strings.Fields(fr[1])) != 3 {
		t.Errorf("frontier polyline %v, want 3 vertices", fr)
	}
	for _, want := range []string{"10¹¹", "10¹²", "Pareto frontier", "self-consistency", "best-of-n"} {
		if !strings.Contains(first, want) {
			t.Errorf("FLOPs plot lacks %q", want)
		}
	}
	for _, want := range []string{"Best within budget: self-consistency n=4", "is dominated by", "level 3", "search tree (5 nodes)", `class="sortable"`, "q5"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	d := buildFixture(t, Budget{})
	d.Groups[0].Model = `<script>alert(1)</script>`
	d.Groups[0].Series[0].Strategy = `a&b<i>`
	d.Groups[0].Questions[0].Answers[0].Output = `</pre><script>x()</script>`
	var b bytes.Buffer
	if err := d.HTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") || strings.Contains(b.String(), "<script>x()") || strings.Contains(b.String(), "a&b<i>") {
		t.Error("user text reached the page unescaped")
	}
}
