package engine

import "testing"

func TestPrefixCache(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 2), randomOptions{Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	toks := randTokens(30, m.Config.Vocab, 5)
	ref := referenceLogits(m, toks)
	c := NewPrefixCache(1 << 20)
	s, n := c.Lookup(m, toks, len(toks)-1)
	if n != 0 || s.Len() != 0 {
		t.Fatalf("empty cache hit %d tokens", n)
	}
	if _, err := m.Prefill(s, toks[:20]); err != nil {
		t.Fatal(err)
	}
	c.Add(s)
	// A different continuation of the first 12 tokens reuses 12 positions.
	other := append(append([]int{}, toks[:12]...), (toks[12]+1)%m.Config.Vocab)
	s2, n := c.Lookup(m, other, len(other)-1)
	if n != 12 {
		t.Fatalf("partial prefix hit %d tokens, want 12", n)
	}
	// The full sequence reuses 20 and finishes with correct logits.
	s3, n := c.Lookup(m, toks, len(toks)-1)
	if n != 20 {
		t.Fatalf("hit %d tokens, want 20", n)
	}
	if _, err := m.Prefill(s3, toks[n:]); err != nil {
		t.Fatal(err)
	}
	if e := maxRelErr(s3.Logits(), ref[len(toks)-1]); e > 1e-4 {
		t.Fatalf("logits after cached prefix: relative error %.3g", e)
	}
	if s2.Len() != 12 {
		t.Fatalf("partial hit sequence has %d positions", s2.Len())
	}
	// Adding the longer sequence replaces its prefix entry.
	c.Add(s3)
	if c.Len() != 1 || c.Bytes() != s3.Bytes() {
		t.Fatalf("cache has %d entries, %d bytes; want 1 and %d", c.Len(), c.Bytes(), s3.Bytes())
	}
	// Memory bound: a cache for one sequence evicts the least recently used.
	small := NewPrefixCache(s3.Bytes() + s3.Bytes()/4)
	b := m.NewSeq()
	if _, err := m.Prefill(b, other); err != nil {
		t.Fatal(err)
	}
	small.Add(s3)
	small.Add(b) // b shares only 12 tokens with s3: both cannot fit
	if small.Len() != 1 {
		t.Fatalf("bounded cache holds %d entries, want 1", small.Len())
	}
	if _, n := small.Lookup(m, toks, 30); n != 12 {
		t.Fatalf("after eviction hit %d tokens, want 12 (from the newer entry)", n)
	}
}

func TestFLOPsAccounting(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 8, 2), randomOptions{Seed: 3, Tied: true})
	if err != nil {
		t.Fatal(err)
	}
	toks := randTokens(40, m.Config.Vocab, 1)
	s := m.NewSeq()
	got, err := m.Prefill(s, toks)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for p := range toks {
		want += m.TokenFLOPs(p, p == len(toks)-1)
	}
	if got != want {
		t.Fatalf("prefill FLOPs %v, want %v", got, want)
	}
	s2 := s.Clone()
	got, err = m.Step([]*Seq{s, s2}, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * m.TokenFLOPs(40, true); got != want {
		t.Fatalf("step FLOPs %v, want %v", got, want)
	}
	// Independent check of the per-token count for this shape.
	c := m.Config
	perLayer := 2*float64(c.DModel*(c.QDim()+2*c.KVDim())+c.QDim()*c.DModel+3*c.DModel*c.FFN) + 4*float64(c.QDim()*1)
	if got := m.TokenFLOPs(0, false); got != perLayer*float64(c.Layers) {
		t.Fatalf("TokenFLOPs(0) = %v, want %v", got, perLayer*float64(c.Layers))
	}
}
