package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func tinyConfig(arch string, heads, kvHeads int) Config {
	return Config{Arch: arch, Vocab: 97, DModel: 64, Layers: 2, Heads: heads, KVHeads: kvHeads,
		HeadDim: 64 / heads, RopeDims: 64 / heads, FFN: 96, Context: 64, RopeBase: 10000, RMSEps: 1e-5}
}

type modelCase struct {
	name string
	cfg  Config
	opt  randomOptions
}

func modelCases() []modelCase {
	return []modelCase{
		{"llama-mha-untied", tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 1}},
		{"llama-gqa-tied", tinyConfig(ArchLlama, 8, 2), randomOptions{Seed: 2, Tied: true}},
		{"llama-mqa-biases", tinyConfig(ArchLlama, 4, 1), randomOptions{Seed: 3, Biases: true}},
		{"qwen2-gqa", tinyConfig(ArchQwen2, 4, 2), randomOptions{Seed: 4}},
		{"qwen2-tied-f16", tinyConfig(ArchQwen2, 8, 4), randomOptions{Seed: 5, Tied: true, Kind: KindF16}},
		{"llama-q8", tinyConfig(ArchLlama, 4, 2), randomOptions{Seed: 6, Kind: KindQ8_0}},
		{"llama-partial-rope", partialRope(tinyConfig(ArchLlama, 4, 2)), randomOptions{Seed: 7}},
		{"qwen2-partial-rope", partialRope(tinyConfig(ArchQwen2, 4, 4)), randomOptions{Seed: 8}},
	}
}

func partialRope(c Config) Config {
	c.RopeDims = c.HeadDim / 2
	return c
}

func randTokens(n, vocab int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := make([]int, n)
	for i := range t {
		t[i] = rng.IntN(vocab)
	}
	return t
}

// maxRelErr is max |got-want| over positions, relative to the largest
// reference logit magnitude at that position.
func maxRelErr(got []float32, want []float64) float64 {
	var scale, worst float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-w)/scale)
	}
	return worst
}

func TestForwardMatchesReference(t *testing.T) {
	for _, mc := range modelCases() {
		t.Run(mc.name, func(t *testing.T) {
			m, err := newRandom(mc.cfg, mc.opt)
			if err != nil {
				t.Fatal(err)
			}
			toks := randTokens(40, mc.cfg.Vocab, mc.opt.Seed)
			ref := referenceLogits(m, toks)
			// One token at a time through the cache.
			s := m.NewSeq()
			for p, tok := range toks {
				if _, err := m.Step([]*Seq{s}, []int{tok}); err != nil {
					t.Fatal(err)
				}
				if e := maxRelErr(s.Logits(), ref[p]); e > 1e-4 {
					t.Fatalf("step: position %d: relative error %.3g > 1e-4", p, e)
				}
			}
			// Chunked prefill, checking the last position of several prefixes.
			for _, n := range []int{1, 7, 32, 33, 40} {
				s := m.NewSeq()
				if _, err := m.Prefill(s, toks[:n]); err != nil {
					t.Fatal(err)
				}
				if e := maxRelErr(s.Logits(), ref[n-1]); e > 1e-4 {
					t.Fatalf("prefill %d: relative error %.3g > 1e-4", n, e)
				}
				if s.Len() != n {
					t.Fatalf("prefill %d: Len() = %d", n, s.Len())
				}
			}
		})
	}
}

// TestGGMLNumericsClose checks that llama.cpp-style rounding (f16 KV cache,
// quantized activations) stays close to the exact forward pass.
func TestGGMLNumericsClose(t *testing.T) {
	for _, mc := range modelCases() {
		t.Run(mc.name, func(t *testing.T) {
			m, err := newRandom(mc.cfg, mc.opt)
			if err != nil {
				t.Fatal(err)
			}
			m.GGMLNumerics = true
			toks := randTokens(20, mc.cfg.Vocab, 9)
			ref := referenceLogits(m, toks)
			var last []float32
			for _, fa := range []bool{false, true} {
				m.FlashAttention = fa
				s := m.NewSeq()
				if _, err := m.Prefill(s, toks); err != nil {
					t.Fatal(err)
				}
				e := maxRelErr(s.Logits(), ref[len(toks)-1])
				tol := 5e-3 // f16 rounding of the KV cache and attention weights
				if mc.opt.Kind == KindQ8_0 {
					tol = 5e-2 // activations quantized to 8 bits as well
				}
				if e > tol {
					t.Fatalf("flash attention %v: relative error %.3g > %g", fa, e, tol)
				}
				if e == 0 {
					t.Fatalf("flash attention %v: GGML numerics changed nothing", fa)
				}
				if fa && slices.Equal(last, s.Logits()) {
					t.Fatal("flash attention gave bit-identical logits to plain attention")
				}
				last = append([]float32{}, s.Logits()...)
			}
		})
	}
}

func TestBatchedStepMatchesSingle(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 8, 2), randomOptions{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	const B = 5
	prompts := make([][]int, B)
	seqs := make([]*Seq, B)
	for i := range B {
		prompts[i] = randTokens(3+4*i, m.Config.Vocab, uint64(100+i))
		seqs[i] = m.NewSeq()
		if _, err := m.Prefill(seqs[i], prompts[i]); err != nil {
			t.Fatal(err)
		}
	}
	next := randTokens(B, m.Config.Vocab, 7)
	if _, err := m.Step(seqs, next); err != nil {
		t.Fatal(err)
	}
	for i := range B {
		ref := referenceLogits(m, append(append([]int{}, prompts[i]...), next[i]))
		if e := maxRelErr(seqs[i].Logits(), ref[len(ref)-1]); e > 1e-4 {
			t.Fatalf("seq %d: relative error %.3g", i, e)
		}
	}
}

func TestForkAndTruncate(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchQwen2, 4, 2), randomOptions{Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	toks := randTokens(20, m.Config.Vocab, 3)
	ref := referenceLogits(m, toks)
	s := m.NewSeq()
	if _, err := m.Prefill(s, toks[:10]); err != nil {
		t.Fatal(err)
	}
	c := s.Fork()
	if _, err := m.Prefill(c, toks[10:]); err != nil {
		t.Fatal(err)
	}
	if e := maxRelErr(c.Logits(), ref[19]); e > 1e-4 {
		t.Fatalf("fork: relative error %.3g", e)
	}
	// The original is untouched by its fork, which shares its full blocks
	// and copied only the one it went on writing in.
	if s.Len() != 10 {
		t.Fatalf("original Len = %d after fork grew", s.Len())
	}
	for i := range 10 / BlockSize {
		if c.blocks[i] != s.blocks[i] {
			t.Fatalf("fork does not share full block %d", i)
		}
	}
	if 10%BlockSize != 0 && c.blocks[10/BlockSize] == s.blocks[10/BlockSize] {
		t.Fatal("fork wrote into the original's partial block")
	}
	if _, err := m.Step([]*Seq{s}, toks[10:11]); err != nil {
		t.Fatal(err)
	}
	if e := maxRelErr(s.Logits(), ref[10]); e > 1e-4 {
		t.Fatalf("original continued after its fork grew: relative error %.3g", e)
	}
	c.Truncate(5)
	if _, err := m.Prefill(c, toks[5:12]); err != nil {
		t.Fatal(err)
	}
	if e := maxRelErr(c.Logits(), ref[11]); e > 1e-4 {
		t.Fatalf("truncate: relative error %.3g", e)
	}
}

func TestForwardErrors(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Prefill(m.NewSeq(), []int{m.Config.Vocab}); err == nil {
		t.Fatal("token out of vocabulary accepted")
	}
	if _, err := m.Prefill(m.NewSeq(), make([]int, m.Config.Context+1)); err == nil {
		t.Fatal("sequence beyond context accepted")
	}
	s := m.NewSeq()
	if _, err := m.Step([]*Seq{s, s}, []int{1, 2}); err == nil {
		t.Fatal("the same sequence twice in one step accepted")
	}
	bad := m.Config
	bad.KVHeads = 3
	if _, err := newRandom(bad, randomOptions{}); err == nil {
		t.Fatal("heads not a multiple of kv heads accepted")
	}
	w := m.Weights
	w.Layers = append([]Layer{}, w.Layers...)
	w.Layers[1].Wk = NewMatF32(5, 64, make([]float32, 5*64))
	if _, err := NewModel(m.Config, w); err == nil || !strings.Contains(err.Error(), "blk.1.attn_k.weight") {
		t.Fatalf("bad shape error = %v, want one naming blk.1.attn_k.weight", err)
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 8, 2), randomOptions{Seed: 3, Kind: KindQ8_0})
	if err != nil {
		t.Fatal(err)
	}
	m.GGMLNumerics = true
	seqs := []*Seq{m.NewSeq(), m.NewSeq(), m.NewSeq(), m.NewSeq()}
	toks := []int{1, 2, 3, 4}
	for _, s := range seqs {
		s.reserve(m.Config.Context) // growth of the KV cache is amortised, not per step
	}
	if _, err := m.Step(seqs, toks); err != nil { // warm the state pool and logits buffers
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := m.Step(seqs, toks); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("Step allocates %v times per call", allocs)
	}
}

// TestFlashAttend checks the f16-accumulating online softmax against exact
// attention.
func TestFlashAttend(t *testing.T) {
	const hd, n = 16, 50
	q := randVec(hd, 1)
	k, v := randVec(n*hd, 2), randVec(n*hd, 3)
	out := make([]float32, hd)
	flashAttend(out, q, k, v, n, hd, 0, 0.25)
	w := make([]float64, n)
	var sum float64
	for t := range n {
		var s float64
		for d := range hd {
			s += float64(q[d]) * float64(k[t*hd+d])
		}
		w[t] = math.Exp(s * 0.25)
		sum += w[t]
	}
	for d := range hd {
		var want float64
		for t := range n {
			want += w[t] / sum * float64(v[t*hd+d])
		}
		if math.Abs(float64(out[d])-want) > 5e-3 {
			t.Fatalf("dim %d: %v, want %v", d, out[d], want)
		}
	}
}

// TestGroupedAttentionAlikeAlone checks that attention over rows taken
// four at a time (prefill's rows of one sequence; samples forked from one
// prefix, stepped together) gives every row the logits it gets alone, to
// the bit, with blocks that end inside the shared positions and rows of
// different lengths in one group.
func TestGroupedAttentionAlikeAlone(t *testing.T) {
	for _, size := range []int{3, 4, 8} {
		t.Run(fmt.Sprint("blocks of ", size), func(t *testing.T) { groupedAlikeAlone(t, size) })
	}
}

func groupedAlikeAlone(t *testing.T, size int) {
	c := Config{Arch: ArchLlama, Vocab: 11, DModel: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
		FFN: 64, Context: 64, RopeBase: 10000, RMSEps: 1e-5}
	m, err := newRandom(c, randomOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	m.blockSize = size
	if !(&attnJob{m: m}).grouped() {
		t.Skip("grouped attention needs AVX-512; this CPU has none")
	}
	prompt := randTokens(23, c.Vocab, 3)
	// The prompt at once (groups of four rows), then token by token.
	whole := m.NewSeq()
	if _, err := m.Prefill(whole, prompt); err != nil {
		t.Fatal(err)
	}
	step := m.NewSeq()
	for _, tok := range prompt {
		if _, err := m.Step([]*Seq{step}, []int{tok}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(whole.Logits(), step.Logits()) {
		t.Fatalf("prompt prefilled at once: logits %v; token by token: %v", whole.Logits(), step.Logits())
	}
	// Six samples forked from the prompt, stepped together and alone.
	together, alone := make([]*Seq, 6), make([]*Seq, 6)
	for i := range together {
		together[i], alone[i] = whole.Fork(), whole.Fork()
	}
	for s := range 9 {
		toks := make([]int, len(together))
		for i := range toks {
			toks[i] = (i*3 + s*7) % c.Vocab
		}
		if _, err := m.Step(together, toks); err != nil {
			t.Fatal(err)
		}
		for i := range alone {
			if _, err := m.Step(alone[i:i+1], toks[i:i+1]); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(together[i].Logits(), alone[i].Logits()) {
				t.Fatalf("step %d, sample %d: logits stepped with the others %v, alone %v", s, i, together[i].Logits(), alone[i].Logits())
			}
		}
	}
}
