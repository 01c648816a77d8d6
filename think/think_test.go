package think

import "testing"

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, text string
		reasoning, visible string
	}{
		{"no markers", "Q: 2+2?\nA:", " 4", "", " 4"},
		{"R1 thought then answer", "", "<think>\n2 and 2 make 4.\n</think>\n\nThe answer is 4.", "\n2 and 2 make 4.\n", "The answer is 4."},
		{"template opened the thought", "", "2 and 2 make 4.</think>\n\n#### 4", "2 and 2 make 4.", "#### 4"},
		{"prompt opened the thought", "Q: 2+2?\n<think>\n", "2 and 2 make 4.</think> 4", "2 and 2 make 4.", "4"},
		{"unfinished thought", "", "<think>2 and 2 make", "2 and 2 make", ""},
		{"unfinished thought opened by the prompt", "Q <think>", "2 and 2 make", "2 and 2 make", ""},
		{"prompt closed its thought", "<think>x</think> answer:", " 4", "", " 4"},
		{"text before the thought stays visible", "", "Sure. <think>hm</think> 4", "hm", "Sure. 4"},
		{"two thoughts", "", "<think>a</think>b<think>c</think>d", "a\nc", "bd"},
		{"empty thought", "", "<think></think>\n4", "", "4"},
		{"empty text inside a thought", "<think>", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, v := Default.Split(tc.prefix, tc.text)
			if r != tc.reasoning || v != tc.visible {
				t.Errorf("Split(%q, %q) = %q, %q; want %q, %q", tc.prefix, tc.text, r, v, tc.reasoning, tc.visible)
			}
		})
	}
}

func TestSplitOtherMarkers(t *testing.T) {
	// A template that opens the thought itself: no open marker is ever
	// generated, only the close.
	m := Markers{Close: "<|end_of_thought|>"}
	if r, v := m.Split("", "plan<|end_of_thought|>answer"); r != "plan" || v != "answer" {
		t.Errorf("close-only markers: %q, %q", r, v)
	}
	if r, v := m.Split("", "just an answer"); r != "" || v != "just an answer" {
		t.Errorf("close-only markers, no close: %q, %q", r, v)
	}
	// Without a close marker nothing can be told apart.
	if r, v := (Markers{Open: "<think>"}).Split("", "<think>x"); r != "" || v != "<think>x" {
		t.Errorf("no close marker: %q, %q", r, v)
	}
}

func TestInside(t *testing.T) {
	for text, want := range map[string]bool{
		"":                         false,
		"<think>":                  true,
		"<think>a</think>":         false,
		"<think>a</think><think>b": true,
		"a</think>":                false,
	} {
		if got := Default.Inside(text); got != want {
			t.Errorf("Inside(%q) = %v, want %v", text, got, want)
		}
	}
	if (Markers{Close: "</think>"}).Inside("<think>") {
		t.Error("markers without Open: Inside is true")
	}
}

func TestCanonical(t *testing.T) {
	if (Settings{}).Canonical() != nil {
		t.Error("zero settings are not nil")
	}
	d := Default
	if (Settings{Markers: &d, Show: true, Wait: "Wait", Cue: "x"}).Canonical() != nil {
		t.Error("default markers, show and unused Wait/Cue change the identity")
	}
	a := Settings{Budget: 64}.Canonical()
	b := Settings{Budget: 64, Wait: DefaultWait}.Canonical()
	if a == nil || b == nil || *a != *b {
		t.Errorf("the default Wait given or not: %+v vs %+v", a, b)
	}
	if c := (Settings{Budget: 16}).Canonical(); *c == *a {
		t.Error("budgets 16 and 64 are the same settings")
	}
	other := Markers{Open: "", Close: "</think>"}
	if c := (Settings{Markers: &other}).Canonical(); c == nil || *c.Markers != other {
		t.Errorf("non-default markers lost: %+v", c)
	}
}
