package think

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// streamed runs text through a Stream in the given pieces and returns
// what it placed, checking that nothing is placed twice or lost.
func streamed(m Markers, prefix string, pieces []string) (reasoning, visible string) {
	s := m.Stream(prefix)
	var r, v strings.Builder
	for _, p := range pieces {
		dr, dv := s.Next(p)
		r.WriteString(dr)
		v.WriteString(dv)
	}
	dr, dv := s.End()
	r.WriteString(dr)
	v.WriteString(dv)
	return r.String(), v.String()
}

func TestStreamExamples(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		pieces       []string
	}{
		{"thought then answer, a marker per piece", "", []string{"<think>", "plan", "</think>", "\n", "step", "\n#### 4"}},
		{"markers cut across pieces", "", []string{"<th", "ink>pl", "an</", "thi", "nk>", " \n", " 4"}},
		{"prompt opened the thought", "Q <think>", []string{"a", "b</think>", "c"}},
		{"template opened the thought", "", []string{"plan", " more", "</think>", "answer"}},
		{"no markers", "", []string{"just", " an ", "answer <"}},
		{"unfinished", "", []string{"<think>", "a", "</thi"}},
		{"two thoughts", "", []string{"<think>a</think>b<think>", "</think>c"}},
		{"answer before a thought", "", []string{"Sure. ", "<think>hm</think>", " 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Join(tc.pieces, "")
			wr, wv := Default.Split(tc.prefix, text)
			if r, v := streamed(Default, tc.prefix, tc.pieces); r != wr || v != wv {
				t.Errorf("streamed %q: %q, %q; Split gives %q, %q", tc.pieces, r, v, wr, wv)
			}
		})
	}
}

// A thought opened by the text's first piece streams at once: nothing is
// held back but what may be the start of a marker.
func TestStreamDoesNotHoldAThought(t *testing.T) {
	s := Default.Stream("Q:")
	if r, v := s.Next("<think>"); r != "" || v != "" {
		t.Fatalf("after the open marker: %q, %q", r, v)
	}
	if r, v := s.Next("plan a"); r != "plan a" || v != "" {
		t.Fatalf("thought text: %q, %q; want it placed at once", r, v)
	}
	if r, v := s.Next("</"); r != "" || v != "" {
		t.Fatalf("the start of a close: %q, %q; want it held", r, v)
	}
	if r, v := s.Next("think>\n4"); r != "" || v != "4" {
		t.Fatalf("after the close: %q, %q; want the answer", r, v)
	}
	// Text before any marker, the prompt leaving no thought open, may
	// still turn out to be a thought the template opened: held.
	s = Default.Stream("Q:")
	if r, v := s.Next("maybe"); r != "" || v != "" {
		t.Fatalf("text before any marker: %q, %q; want it held", r, v)
	}
	if r, v := s.End(); r != "" || v != "maybe" {
		t.Fatalf("at the end without markers: %q, %q", r, v)
	}
}

// Any text, any markers, cut anywhere: the stream places exactly what
// Split does.
func TestStreamMatchesSplit(t *testing.T) {
	frags := []string{"<think>", "</think>", "<", "</", "<th", "ink>", "think>", "a", "b", " ", "\n", "<|e|>", "|>", "é", "x", "y", "z"}
	markers := []Markers{Default, {Close: "</think>"}, {Open: "<think>"}, {Close: "<|e|>"}, {Open: "<", Close: ">"}, {Open: "ab", Close: "b"}, {Open: "a", Close: "aa"}, {Open: "y", Close: "xyz"}}
	prefixes := []string{"", "Q:", "Q <think>", "<think>x</think>", "<"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		m := markers[i%len(markers)]
		prefix := prefixes[rng.IntN(len(prefixes))]
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(frags[rng.IntN(len(frags))])
		}
		text := sb.String()
		var pieces []string
		for rest := text; ; {
			if rest == "" {
				break
			}
			k := rng.IntN(min(len(rest), 9) + 1) // empty pieces too
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		wr, wv := m.Split(prefix, text)
		if r, v := streamed(m, prefix, pieces); r != wr || v != wv {
			t.Fatalf("markers %+v, prefix %q, pieces %q: streamed %q, %q; Split gives %q, %q", m, prefix, pieces, r, v, wr, wv)
		}
	}
}

// Markers that overlap: the first marker of the whole text may start
// before one already complete in what has arrived.
func TestStreamOverlappingMarkers(t *testing.T) {
	m := Markers{Open: "y", Close: "xyz"}
	for _, pieces := range [][]string{{"xy", "z"}, {"x", "y", "zq"}, {"xy", "q"}, {"xy"}} {
		text := strings.Join(pieces, "")
		wr, wv := m.Split("", text)
		if r, v := streamed(m, "", pieces); r != wr || v != wv {
			t.Errorf("pieces %q: streamed %q, %q; Split gives %q, %q", pieces, r, v, wr, wv)
		}
	}
}

func TestStartsInside(t *testing.T) {
	for _, tc := range []struct {
		prefix, text string
		want         bool
	}{
		{"", "a", false},
		{"<think>", "a", true},
		{"", "a</think>b", true},
		{"", "a<think>b</think>", false},
		{"<think>a</think>", "b", false},
	} {
		if got := Default.StartsInside(tc.prefix, tc.text); got != tc.want {
			t.Errorf("StartsInside(%q, %q) = %v, want %v", tc.prefix, tc.text, got, tc.want)
		}
	}
	if (Markers{Open: "<think>"}).StartsInside("<think>", "a") {
		t.Error("markers without Close: StartsInside is true, but nothing is split")
	}
}
