package embedded

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/think"
)

func TestHiddenTokens(t *testing.T) {
	const o, c = 100, 101 // the open and close ids
	for _, tc := range []struct {
		name   string
		ids    []int
		inside bool
		want   int
	}{
		{"nothing generated", nil, false, 0},
		{"nothing generated inside", nil, true, 0},
		{"no markers", []int{1, 2, 3}, false, 0},
		{"no markers inside: an unfinished thought", []int{1, 2, 3}, true, 3},
		{"thought then answer", []int{o, 1, 2, c, 3, 4}, false, 4},
		{"answer, thought, answer", []int{5, o, 1, c, 3}, false, 3},
		{"opened, never closed", []int{5, o, 1, 2}, false, 3},
		{"inside, closed", []int{1, 2, c, 3}, true, 3},
		{"inside, closed at once", []int{c, 3, 4}, true, 1},
		{"inside, closed last", []int{1, c}, true, 2},
		{"two thoughts", []int{o, 1, c, 2, o, 3, 4, c, 5}, false, 7},
		{"inside, then another thought", []int{1, c, 2, o, 3}, true, 4},
		{"an open inside a thought is thought", []int{o, 1, o, 2, c, 3}, false, 5},
		{"a close outside a thought is answer", []int{1, c, 2}, false, 0},
		{"a close after a thought is answer", []int{o, c, c, 2}, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hiddenTokens(tc.ids, o, c, tc.inside); got != tc.want {
				t.Errorf("hiddenTokens(%v, inside %v) = %d, want %d", tc.ids, tc.inside, got, tc.want)
			}
		})
	}
	// Markers without an open one (a template opens the thought): -1
	// matches no id.
	if got := hiddenTokens([]int{0, 1, c, 2}, -1, c, false); got != 0 {
		t.Errorf("no open id: %d hidden, want 0", got)
	}
}

// markerTok is byteTok with two byte ids read as the thought markers: the
// model and the ids it generates are the same, only their text differs,
// so the test can make markers of ids a random model is known to write.
type markerTok struct{ open, close int }

func (t markerTok) Encode(text string, addBOS bool) []int {
	var ids []int
	if addBOS {
		ids = append(ids, 256)
	}
	for text != "" {
		switch {
		case strings.HasPrefix(text, think.Default.Open):
			ids, text = append(ids, t.open), text[len(think.Default.Open):]
		case strings.HasPrefix(text, think.Default.Close):
			ids, text = append(ids, t.close), text[len(think.Default.Close):]
		default:
			ids, text = append(ids, int(text[0])), text[1:]
		}
	}
	return ids
}

func (t markerTok) Piece(id int) string {
	switch {
	case id == t.open:
		return think.Default.Open
	case id == t.close:
		return think.Default.Close
	case id >= 0 && id < 256:
		return string([]byte{byte(id)})
	}
	return ""
}

func (t markerTok) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(t.Piece(id))
	}
	return sb.String()
}

func (markerTok) EOS() int { return 257 }

func (t markerTok) ID(s string) (int, bool) {
	switch s {
	case think.Default.Open:
		return t.open, true
	case think.Default.Close:
		return t.close, true
	}
	return -1, false
}

// once reports whether v occurs exactly once in ids.
func once(ids []int, v int) bool {
	n := 0
	for _, id := range ids {
		if id == v {
			n++
		}
	}
	return n == 1
}

// A thought opened and closed in the middle of a generation: the ids
// from the open to the close are hidden, the rest visible, and the text
// splits as think.Split reads it; GenerateRaw keeps the text whole with
// the same usage, and the stream keeps the thought out of the answer.
func TestThoughtInGeneration(t *testing.T) {
	m := testModel(t)
	const prompt = "2+2="
	eos := func(id int) bool { return id == 257 }
	ids := greedyByHand(t, m, byteTok{}.Encode(prompt, true), 48, eos)
	// Markers of ids written once each, an open before a close with
	// thought between them and answer after: the hidden ids are known.
	a, c := -1, -1
	for i := 0; i < len(ids) && a < 0; i++ {
		for j := i + 2; j < len(ids)-3; j++ {
			if once(ids, ids[i]) && once(ids, ids[j]) && !strings.ContainsRune(prompt, rune(ids[i])) && !strings.ContainsRune(prompt, rune(ids[j])) {
				a, c = i, j
				break
			}
		}
	}
	if a < 0 {
		t.Fatalf("greedy ids %v: no two ids written once each to make markers of", ids)
	}
	tok := markerTok{open: ids[a], close: ids[c]}
	b := New(m, WithTokenizer(tok), WithPrefixCache(0))
	if mk, ok := b.Thinks(); !ok || mk != think.Default {
		t.Fatalf("Thinks() = %+v, %v: the vocabulary has <think> and </think>", mk, ok)
	}
	req := pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: len(ids)}}
	got, err := b.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	g := got[0]
	text := render(b, ids)
	wantR, wantV := think.Default.Split(prompt, text)
	if g.Reasoning != wantR || g.Text != wantV || g.Reasoning == "" || g.Text == "" {
		t.Fatalf("reasoning %q, text %q; want %q, %q (from %q)", g.Reasoning, g.Text, wantR, wantV, text)
	}
	if strings.Contains(g.Text, "think>") {
		t.Fatalf("visible text %q holds a marker", g.Text)
	}
	if u := g.Usage; u.HiddenTokens != c-a+1 || u.CompletionTokens != len(ids)-(c-a+1) {
		t.Fatalf("usage %d visible + %d hidden tokens; want %d + %d (ids %d to %d of %d are the thought)",
			u.CompletionTokens, u.HiddenTokens, len(ids)-(c-a+1), c-a+1, a, c, len(ids))
	}

	// Raw: the text as written, the same accounting.
	raw, err := b.GenerateRaw(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := raw[0]; r.Text != text || r.Reasoning != "" || r.Usage.HiddenTokens != g.Usage.HiddenTokens || r.Usage.CompletionTokens != g.Usage.CompletionTokens || r.Usage.DecodeFLOPs != g.Usage.DecodeFLOPs {
		t.Fatalf("raw: text %q, reasoning %q, usage %+v; want %q and the usage %+v", r.Text, r.Reasoning, r.Usage, text, g.Usage)
	}

	// Streamed: thought and answer apart, adding up to the completion.
	out, deltas := collect(t, b, req)
	var r, v strings.Builder
	for _, d := range deltas[0] {
		r.WriteString(d.Reasoning)
		v.WriteString(d.Text)
	}
	if r.String() != g.Reasoning || v.String() != g.Text || out[0].Text != g.Text || out[0].Reasoning != g.Reasoning {
		t.Fatalf("streamed reasoning %q, text %q; completion %q, %q; want %q, %q", r.String(), v.String(), out[0].Reasoning, out[0].Text, g.Reasoning, g.Text)
	}
	if len(deltas[0]) < 4 {
		t.Fatalf("%d deltas: the thought and answer did not stream", len(deltas[0]))
	}
	// The raw stream is the text as written.
	var rs strings.Builder
	if _, err := b.GenerateRaw(context.Background(), req, func(_ int, d pareto.Completion) {
		rs.WriteString(d.Text)
		if d.Reasoning != "" {
			t.Errorf("raw delta with reasoning %q", d.Reasoning)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if rs.String() != text {
		t.Fatalf("raw stream %q, want %q", rs.String(), text)
	}
}

// A prompt that leaves a thought open, as budget forcing writes it: the
// generation starts inside the thought, and the end-of-thinking marker as
// a stop string ends it there, its token counted hidden and its text cut.
func TestPromptOpensThought(t *testing.T) {
	m := testModel(t)
	const open = 1 // \x01, in no prompt
	prompt := "2+2=" + think.Default.Open
	eos := func(id int) bool { return id == 257 }
	ids := greedyByHand(t, m, markerTok{open: open, close: -1}.Encode(prompt, true), 48, eos)
	c := -1
	for j := 3; j < len(ids)-3; j++ {
		if once(ids, ids[j]) && ids[j] != open && !strings.ContainsRune(prompt, rune(ids[j])) {
			c = j
			break
		}
	}
	if c < 0 || slices.Contains(ids, open) {
		t.Fatalf("greedy ids %v: no id written once to make the close marker of, or the open id %d written", ids, open)
	}
	tok := markerTok{open: open, close: ids[c]}
	b := New(m, WithTokenizer(tok), WithPrefixCache(0))
	ctx := context.Background()

	// Ended by the stop at the close: all thought, all hidden.
	req := pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 48, Stop: []string{think.Default.Close}}}
	got, err := b.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	g := got[0]
	if want := render(b, ids[:c]); g.Text != "" || g.Reasoning != want || g.Stop != think.Default.Close || g.FinishReason != "stop" {
		t.Fatalf("stopped at the close: text %q, reasoning %q, stop %q (%s); want no text, reasoning %q", g.Text, g.Reasoning, g.Stop, g.FinishReason, want)
	}
	if u := g.Usage; u.HiddenTokens != c+1 || u.CompletionTokens != 0 {
		t.Fatalf("stopped at the close: %d visible + %d hidden tokens, want 0 + %d", u.CompletionTokens, u.HiddenTokens, c+1)
	}

	// Without the stop the answer follows, visible.
	req.Stop = nil
	got, err = b.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	g = got[0]
	wantR, wantV := think.Default.Split(prompt, render(b, ids))
	if g.Reasoning != wantR || g.Text != wantV || g.Text == "" {
		t.Fatalf("reasoning %q, text %q; want %q, %q", g.Reasoning, g.Text, wantR, wantV)
	}
	if u := g.Usage; u.HiddenTokens != c+1 || u.CompletionTokens != len(ids)-c-1 {
		t.Fatalf("%d visible + %d hidden tokens, want %d + %d", u.CompletionTokens, u.HiddenTokens, len(ids)-c-1, c+1)
	}

	// Budget forcing over the backend: the thought's tokens are exactly
	// what the backend generated inside it.
	f := &think.Forcer{Inner: b, Budget: 5, Cue: "\n"}
	fc, err := f.Generate(ctx, pareto.Request{Prompt: "2+2=", Params: pareto.Params{MaxTokens: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if u := fc[0].Usage; u.HiddenTokens != 5 || u.CompletionTokens > 8 || strings.Contains(fc[0].Text, "think>") {
		t.Fatalf("forced: %d hidden, %d visible tokens, text %q; want 5 hidden", u.HiddenTokens, u.CompletionTokens, fc[0].Text)
	}
}

// A random GGUF thinker stand-in (randmodel's ThinkTokens): its markers
// come from the file, or from its vocabulary when the file does not name
// them. After a prompt ending in <think> a random model, which almost
// never writes </think>, thinks to the end: everything hidden.
func TestLoadThinker(t *testing.T) {
	for _, unnamed := range []bool{false, true} {
		cfg := randmodel.Small()
		cfg.Layers, cfg.Context, cfg.ThinkTokens, cfg.ThinkUnnamed = 2, 256, true, unnamed
		path := filepath.Join(t.TempDir(), "thinker.gguf")
		if err := randmodel.Write(path, cfg); err != nil {
			t.Fatal(err)
		}
		b, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if mk, ok := b.Thinks(); !ok || mk != think.Default {
			t.Fatalf("unnamed %v: Thinks() = %+v, %v", unnamed, mk, ok)
		}
		prompt := "The answer is " + think.Default.Open
		pids := b.Tokenizer().Encode(prompt, b.addBOS)
		if pids[len(pids)-1] != b.think.open {
			t.Fatalf("prompt %q encodes to %v: does not end in the open marker %d", prompt, pids, b.think.open)
		}
		ids := greedyByHand(t, b.Model(), pids, 24, func(id int) bool { return b.eog[id] })
		if slices.Contains(ids, b.think.close) || len(ids) == 0 {
			t.Fatalf("the random model wrote %v, with the close marker %d: the test proves little", ids, b.think.close)
		}
		got, err := b.Generate(context.Background(), pareto.Request{Prompt: prompt, Params: pareto.Params{N: 2, MaxTokens: 24}})
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if g.Text != "" || g.Reasoning != render(b, ids) || g.Reasoning == "" {
				t.Fatalf("unnamed %v, sample %d: text %q, reasoning %q; want no text, reasoning %q", unnamed, i, g.Text, g.Reasoning, render(b, ids))
			}
			if g.Usage.HiddenTokens != len(ids) || g.Usage.CompletionTokens != 0 {
				t.Fatalf("unnamed %v, sample %d: %d visible + %d hidden tokens, want 0 + %d", unnamed, i, g.Usage.CompletionTokens, g.Usage.HiddenTokens, len(ids))
			}
		}
	}
}

// A file naming markers it cannot be a thinker with fails to load, saying
// why; so does WithThinkMarkers naming markers that are no single token.
func TestThinkerMarkersMissing(t *testing.T) {
	for _, tc := range []struct {
		name, start, end, want string
	}{
		{"end not a token", "<think>", "</thought>", `end-of-thought marker "</thought>" is not a token`},
		{"start not a token", "<thought>", "</think>", `start-of-thought marker "<thought>" is not a token`},
		{"no end", "<think>", "", "no end-of-thought marker (pareto.think.end)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := randmodel.Small()
			cfg.DModel, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.FFN, cfg.Context, cfg.ThinkTokens = 64, 1, 4, 2, 96, 64, true
			bld, err := randmodel.Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			bld.Set(think.KeyStart, tc.start)
			bld.Set(think.KeyEnd, tc.end)
			path := filepath.Join(t.TempDir(), "bad.gguf")
			if err := bld.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load: %v; want an error naming the file and %q", err, tc.want)
			}
		})
	}
	b := New(testModel(t), WithTokenizer(byteTok{}), WithThinkMarkers(think.Default))
	if _, err := b.Generate(context.Background(), pareto.Request{Prompt: "x", Params: pareto.Params{MaxTokens: 2}}); err == nil || !strings.Contains(err.Error(), "not a token") {
		t.Fatalf("markers a byte tokenizer has no token for: %v", err)
	}
	// The zero Markers turn a thinker's splitting off.
	off := New(testModel(t), WithTokenizer(markerTok{open: 1, close: 2}), WithThinkMarkers(think.Markers{}))
	if _, ok := off.Thinks(); ok {
		t.Fatal("WithThinkMarkers(zero) left thoughts on")
	}
}

// A model without markers reads <think> as any other text: the output is
// what the engine generates, whole, and every token is visible.
func TestNoMarkersUnchanged(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}), WithPrefixCache(0))
	if _, ok := b.Thinks(); ok {
		t.Fatal("a byte tokenizer has thought markers")
	}
	prompt := "2+2=" + think.Default.Open
	ids := greedyByHand(t, m, byteTok{}.Encode(prompt, true), 30, func(id int) bool { return id == 257 })
	for _, raw := range []bool{false, true} {
		gen := b.Generate
		if raw {
			gen = func(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
				return b.GenerateRaw(ctx, req, nil)
			}
		}
		got, err := gen(context.Background(), pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 30}})
		if err != nil {
			t.Fatal(err)
		}
		g := got[0]
		if g.Text != render(b, ids) || g.Reasoning != "" || g.Usage.HiddenTokens != 0 || g.Usage.CompletionTokens != len(ids) {
			t.Fatalf("raw %v: text %q, reasoning %q, %d visible + %d hidden tokens; want %q, all %d visible",
				raw, g.Text, g.Reasoning, g.Usage.CompletionTokens, g.Usage.HiddenTokens, render(b, ids), len(ids))
		}
	}
}
