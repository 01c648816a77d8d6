package embedded

import (
	"context"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
)

// collect runs GenerateStream and gathers each sample's deltas.
func collect(t *testing.T, b *Backend, req pareto.Request) ([]pareto.Completion, [][]pareto.Completion) {
	t.Helper()
	deltas := make([][]pareto.Completion, max(req.N, 1))
	out, err := b.GenerateStream(context.Background(), req, func(i int, d pareto.Completion) {
		if i < 0 || i >= len(deltas) {
			t.Fatalf("delta for sample %d of %d", i, len(deltas))
		}
		deltas[i] = append(deltas[i], d)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, deltas
}

func TestStreamConcatenatesToCompletion(t *testing.T) {
	b := New(testModel(t), WithTokenizer(byteTok{}), WithPrefixCache(0))
	req := pareto.Request{Prompt: "Once", Params: pareto.Params{N: 3, MaxTokens: 24, Temperature: 1, Seed: seed(3), Logprobs: true, TopLogprobs: 2}}
	out, deltas := collect(t, b, req)
	for i, c := range out {
		ds := deltas[i]
		if len(ds) < 2 {
			t.Fatalf("sample %d: %d deltas, want one per token or so", i, len(ds))
		}
		var text strings.Builder
		var lps int
		for j, d := range ds {
			text.WriteString(d.Text)
			lps += len(d.Logprobs)
			last := j == len(ds)-1
			if (d.FinishReason != "") != last {
				t.Fatalf("sample %d delta %d of %d has finish reason %q", i, j, len(ds), d.FinishReason)
			}
		}
		if text.String() != c.Text {
			t.Fatalf("sample %d: deltas give %q, completion is %q", i, text.String(), c.Text)
		}
		if lps != len(c.Logprobs) || lps != c.Usage.CompletionTokens {
			t.Fatalf("sample %d: %d streamed logprobs, completion has %d and %d tokens", i, lps, len(c.Logprobs), c.Usage.CompletionTokens)
		}
		if ds[len(ds)-1].FinishReason != c.FinishReason {
			t.Fatalf("sample %d: last delta finishes %q, completion %q", i, ds[len(ds)-1].FinishReason, c.FinishReason)
		}
	}
	// The stream is a view of the same decoding: Generate agrees.
	plain, err := b.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain {
		if plain[i].Text != out[i].Text {
			t.Fatalf("sample %d: Generate %q, GenerateStream %q", i, plain[i].Text, out[i].Text)
		}
	}
}

// A stop sequence cuts the text where it starts, so text that might begin
// one must not be streamed until the next tokens rule it out.
func TestStreamHoldsBackStopPrefix(t *testing.T) {
	b := New(testModel(t), WithTokenizer(byteTok{}), WithPrefixCache(0))
	ctx := context.Background()
	greedy := pareto.Request{Prompt: "2+2=", Params: pareto.Params{MaxTokens: 40}}
	full, err := b.Generate(ctx, greedy)
	if err != nil {
		t.Fatal(err)
	}
	text := full[0].Text
	if len(text) < 12 {
		t.Fatalf("greedy text %q too short to place a stop in", text)
	}
	stop := text[8:11]
	want := text[:strings.Index(text, stop)]
	req := greedy
	req.Stop = []string{"\x01never", stop}
	out, deltas := collect(t, b, req)
	var got strings.Builder
	for _, d := range deltas[0] {
		got.WriteString(d.Text)
		if strings.Contains(got.String(), stop) {
			t.Fatalf("streamed text %q contains the stop %q", got.String(), stop)
		}
	}
	if out[0].Text != want || got.String() != want || out[0].FinishReason != "stop" {
		t.Fatalf("stop %q: completion %q (%s), streamed %q, want %q", stop, out[0].Text, out[0].FinishReason, got.String(), want)
	}
	// The stop that matched, not merely the first requested, is reported,
	// on the completion and on the last delta only.
	ds := deltas[0]
	if out[0].Stop != stop || ds[len(ds)-1].Stop != stop {
		t.Fatalf("Stop: completion %q, last delta %q, want %q", out[0].Stop, ds[len(ds)-1].Stop, stop)
	}
	for j, d := range ds[:len(ds)-1] {
		if d.Stop != "" {
			t.Fatalf("delta %d of %d carries Stop %q before the end", j, len(ds), d.Stop)
		}
	}
}

func TestStopPrefix(t *testing.T) {
	for _, c := range []struct {
		text  string
		stops []string
		want  int
	}{
		{"abc", nil, 0},
		{"abc", []string{"cd"}, 1},
		{"abc", []string{"bcd", "cd"}, 2},
		{"abc", []string{"abc"}, 0}, // a whole stop is found, not held
		{"abc", []string{"x", ""}, 0},
		{"a", []string{"abcd"}, 1},
	} {
		if got := stopPrefix(c.text, c.stops); got != c.want {
			t.Errorf("stopPrefix(%q, %q) = %d, want %d", c.text, c.stops, got, c.want)
		}
	}
}
