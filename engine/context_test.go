package engine

import (
	"slices"
	"strings"
	"testing"
)

// TestSetContext raises a model's context after it has decoded (its idle
// run states were sized for the old length) and checks decoding past the
// old limit gives the same logits as a model built with the long context.
func TestSetContext(t *testing.T) {
	short, long := tinyConfig(ArchLlama, 4, 2), tinyConfig(ArchLlama, 4, 2)
	long.Context = 3 * short.Context
	a, err := newRandom(short, randomOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	b, err := newRandom(long, randomOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	toks := randTokens(long.Context, short.Vocab, 9)
	sa, sb := a.NewSeq(), b.NewSeq()
	if _, err := a.Prefill(sa, toks[:short.Context]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step([]*Seq{sa}, toks[short.Context:short.Context+1]); err == nil || !strings.Contains(err.Error(), "beyond context length") {
		t.Fatalf("step past the context: err = %v", err)
	}
	if err := a.SetContext(long.Context); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prefill(sb, toks[:short.Context]); err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks[short.Context:] {
		if _, err := a.Step([]*Seq{sa}, []int{tok}); err != nil {
			t.Fatalf("position %d: %v", sa.Len(), err)
		}
		if _, err := b.Step([]*Seq{sb}, []int{tok}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sa.Logits(), sb.Logits()) {
			t.Fatalf("position %d: logits differ from a model made with context %d", sa.Len(), long.Context)
		}
	}
	if sa.Len() != long.Context {
		t.Errorf("decoded %d positions, want %d", sa.Len(), long.Context)
	}
	if err := a.SetContext(-1); err == nil {
		t.Error("SetContext(-1) accepted")
	}
}
