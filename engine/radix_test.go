package engine

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

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
	if n != 12 || s2.Len() != 12 {
		t.Fatalf("partial prefix hit %d tokens (Len %d), want 12", n, s2.Len())
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
	// The hit shares the blocks of the first 20 positions with s, by
	// reference: nothing was copied (20 is a whole number of blocks).
	for i := range 20 / BlockSize {
		if s3.blocks[i] != s.blocks[i] || i < 12/BlockSize && s2.blocks[i] != s.blocks[i] {
			t.Fatalf("block %d is not shared", i)
		}
	}
	if got, want := m.KVStats().Blocks, s3.pool.blocksFor(30); got != want {
		t.Fatalf("%d blocks in use for sequences of 20, 12 and 30 shared tokens, want %d", got, want)
	}
	// Adding the longer sequence extends s's path in the tree.
	c.Add(s3)
	if c.Len() != 1 || c.Bytes() != s3.Bytes() {
		t.Fatalf("cache has %d sequences, %d bytes; want 1 and %d", c.Len(), c.Bytes(), s3.Bytes())
	}
	if st := c.Stats(); st.Tokens != 30 || st.Pinned != st.Blocks {
		t.Fatalf("stats %+v: want 30 tokens, every block pinned by s3", st)
	}
	for _, q := range []*Seq{s, s2} {
		q.Release()
	}

	// Memory bound: a cache of s3's bytes holds s3 and other's last block
	// while they live, and evicts least recently used blocks once they are
	// released. (Sequences of their own: blocks c holds too are pinned.)
	s3.Release()
	s3, b := m.NewSeq(), m.NewSeq()
	if _, err := m.Prefill(s3, toks); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Prefill(b, other); err != nil {
		t.Fatal(err)
	}
	bound := s3.Bytes()
	small := NewPrefixCache(bound)
	small.Add(s3)
	small.Add(b) // b shares 12 tokens with s3: the tree stores them once
	if st := small.Stats(); st.Sequences != 2 || st.Bytes <= bound || st.Pinned != st.Blocks {
		t.Fatalf("bounded cache with live sequences: %+v, want 2 sequences over the bound, all pinned", st)
	}
	s3.Release()
	b.Release()
	// The lookup makes other's path the most recently used; the eviction
	// after it takes s3's last block.
	if _, n := small.Lookup(m, other, 13); n != 13 {
		t.Fatalf("the newer sequence hit %d tokens, want 13", n)
	}
	if _, n := small.Lookup(m, toks, 30); n != (s3.pool.blocksFor(30)-1)*BlockSize {
		t.Fatalf("after eviction hit %d tokens, want all but s3's last block, the least recently used", n)
	}
	if small.Bytes() > bound {
		t.Fatalf("cache holds %d bytes unpinned, bound %d", small.Bytes(), bound)
	}
}

// TestPrefixCacheNil checks that a nil cache misses and ignores adds.
func TestPrefixCacheNil(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 2), randomOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var c *PrefixCache
	s, n := c.Lookup(m, []int{1, 2, 3}, 3)
	if n != 0 || s.Len() != 0 {
		t.Fatalf("nil cache hit %d", n)
	}
	c.Add(s)
	if c.Len() != 0 || c.Bytes() != 0 || c.Stats() != (CacheStats{}) {
		t.Fatal("nil cache holds something")
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
	s2 := s.Fork()
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

// radixWorld is a model, a cache and the live sequences of a property
// test, with the tokens each sequence should hold.
type radixWorld struct {
	m     *Model
	c     *PrefixCache
	seqs  []*Seq
	want  [][]int
	fresh map[string][]float32 // K and V of every position of a token string, computed alone
}

// radixModel is a model small enough to forward thousands of times in a
// fuzz run, with a block size of its own.
func radixModel(tb testing.TB, blockSize int) *Model {
	tb.Helper()
	c := Config{Arch: ArchLlama, Vocab: 7, DModel: 16, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 8,
		FFN: 16, Context: 40, RopeBase: 10000, RMSEps: 1e-5}
	m, err := newRandom(c, randomOptions{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	m.blockSize = blockSize
	return m
}

// kvOf returns the keys and values s holds for position p, all layers.
func kvOf(s *Seq, p int) []float32 {
	size, kvd := s.pool.size, s.pool.kvDim
	b := s.blocks[p/size]
	var out []float32
	for l := range s.pool.layers {
		off := (l*size + p%size) * kvd
		out = append(out, b.kv[off:off+kvd]...)
		out = append(out, b.kv[s.pool.half()+off:s.pool.half()+off+kvd]...)
	}
	return out
}

// check verifies the invariants of the blocks, the tree and the sequences:
// every block's reference count is the number of its holders, no block a
// holder refers to is in the free list, the tree is well formed and (when
// settled, after an Add or Lookup evicted) within its bound unless every
// leaf is pinned, and every sequence holds its tokens and the KV a lone
// prefill of them computes.
func (w *radixWorld) check(tb testing.TB, settled bool) {
	tb.Helper()
	holders := map[*kvBlock]int{}
	for i, s := range w.seqs {
		if !slices.Equal(s.Tokens(), w.want[i]) {
			tb.Fatalf("seq %d holds tokens %v, want %v", i, s.Tokens(), w.want[i])
		}
		if len(s.blocks) < s.pool.blocksFor(s.n) {
			tb.Fatalf("seq %d: %d blocks for %d positions", i, len(s.blocks), s.n)
		}
		for _, b := range s.blocks {
			holders[b]++
		}
	}
	c := w.c
	c.mu.Lock()
	nodes, leaves, unpinnedLeaves := 0, 0, 0
	for _, r := range c.roots {
		r.walk(func(n *radixNode) {
			for i, ch := range n.children {
				if ch.parent != n || ch.used > n.used && n.block != nil {
					tb.Fatalf("node links or last use wrong")
				}
				for j, o := range n.children {
					if i != j && commonPrefix(ch.tokens, o.tokens) == len(ch.tokens) {
						tb.Fatalf("sibling %v is a prefix of %v", ch.tokens, o.tokens)
					}
				}
			}
			if n.block == nil {
				return
			}
			nodes++
			holders[n.block]++
			if len(n.tokens) == 0 || len(n.tokens) > n.pool.size || len(n.tokens) < n.pool.size && len(n.children) > 0 {
				tb.Fatalf("node of %d tokens has %d children", len(n.tokens), len(n.children))
			}
			if len(n.children) == 0 {
				leaves++
				if n.block.refs.Load() == 1 {
					unpinnedLeaves++
				}
				if n.leaf < 0 || n.leaf >= len(c.leaves) || c.leaves[n.leaf] != n {
					tb.Fatalf("leaf of %v not where the leaf heap says (index %d)", n.tokens, n.leaf)
				}
			} else if n.leaf >= 0 {
				tb.Fatalf("node of %v has %d children and is in the leaf heap", n.tokens, len(n.children))
			}
		})
	}
	if len(c.leaves) != leaves {
		tb.Fatalf("leaf heap holds %d nodes, the tree %d leaves", len(c.leaves), leaves)
	}
	for i := 1; i < len(c.leaves); i++ {
		if c.leaves[(i-1)/2].used > c.leaves[i].used {
			tb.Fatalf("leaf heap out of order at %d", i)
		}
	}
	p := w.m.blocks()
	if c.bytes != nodes*p.blockBytes() {
		tb.Fatalf("cache counts %d bytes, holds %d blocks", c.bytes, nodes)
	}
	if settled && c.bytes > c.maxBytes && unpinnedLeaves > 0 {
		tb.Fatalf("cache over its bound (%d > %d) with %d evictable leaves", c.bytes, c.maxBytes, unpinnedLeaves)
	}
	c.mu.Unlock()
	p.mu.Lock()
	for b, n := range holders {
		if got := b.refs.Load(); int(got) != n {
			tb.Fatalf("block has %d references, %d holders", got, n)
		}
	}
	for _, b := range p.free {
		if holders[b] > 0 {
			tb.Fatal("a referenced block is in the free list")
		}
	}
	if p.live != len(holders) {
		tb.Fatalf("pool counts %d live blocks, %d are held", p.live, len(holders))
	}
	p.mu.Unlock()
	for i, s := range w.seqs {
		ref := w.freshKV(tb, w.want[i])
		for pos := range s.n {
			got, want := kvOf(s, pos), ref[pos]
			if !slices.Equal(got, want) {
				tb.Fatalf("seq %d position %d: KV differs from a lone prefill of its tokens", i, pos)
			}
		}
	}
}

// freshKV is the KV at every position of toks, computed one token at a
// time in a sequence of its own, as the fuzz test's steps forward them.
func (w *radixWorld) freshKV(tb testing.TB, toks []int) [][]float32 {
	out := make([][]float32, len(toks))
	s := w.m.NewSeq()
	defer s.Release()
	for p, tok := range toks {
		key := fmt.Sprint(toks[:p+1])
		if kv, ok := w.fresh[key]; ok {
			out[p] = kv
		} else {
			if s.n < p {
				if _, err := w.m.Prefill(s, toks[s.n:p]); err != nil {
					tb.Fatal(err)
				}
			}
			if _, err := w.m.Step([]*Seq{s}, []int{tok}); err != nil {
				tb.Fatal(err)
			}
			out[p] = kvOf(s, p)
			w.fresh[key] = out[p]
		}
	}
	return out
}

// FuzzRadix runs random sequences of lookups, forks, appends, truncations,
// adds and releases on a cache with a small bound (so that it evicts) and
// checks every invariant after each operation. The seed corpus runs with
// go test.
func FuzzRadix(f *testing.F) {
	f.Add([]byte{3, 0, 5, 2, 3, 4, 0, 1, 0, 2, 4, 0, 1, 3, 0})
	f.Add([]byte{0, 9, 0, 7, 4, 0, 0, 7, 2, 1, 4, 1, 3, 0, 3, 1, 0, 7, 5, 0})
	f.Add([]byte{1, 2, 0, 3, 2, 2, 1, 0, 1, 1, 2, 3, 5, 1, 4, 2, 4, 1, 3, 2, 0, 3, 3, 0})
	f.Add([]byte{2, 1, 0, 10, 0, 10, 0, 10, 4, 0, 4, 1, 4, 2, 3, 0, 3, 0, 3, 0, 0, 10, 6, 0})
	f.Add([]byte{3, 5, 0, 20, 1, 0, 1, 1, 2, 7, 2, 8, 4, 2, 4, 3, 5, 2, 2, 9, 4, 2, 3, 1, 3, 0, 0, 15, 6, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 80 {
			return
		}
		m := radixModel(t, int(data[0])%4+1)
		w := &radixWorld{m: m, fresh: map[string][]float32{}}
		bp := m.blocks().blockBytes()
		w.c = NewPrefixCache(int(data[1]%8) * bp)
		// Token strings over 2 of the 7 tokens share long prefixes.
		tokens := func(seed byte, n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = int(seed>>(i%8)) & 1
				if i%5 == 4 {
					out[i] = int(seed) % 7
				}
			}
			return out
		}
		pick := func(a byte) int { return int(a) % len(w.seqs) }
		for i := 2; i+1 < len(data); i += 2 {
			op, a := data[i]%7, data[i+1]
			if len(w.seqs) == 0 && op != 0 {
				op = 0
			}
			switch op {
			case 0: // a new sequence from the cache, finished by a prefill
				toks := tokens(a, 1+int(a)%24)
				s, n := w.c.Lookup(m, toks, len(toks)-int(a)%2)
				if n < len(toks) {
					if _, err := m.Prefill(s, toks[n:]); err != nil {
						t.Fatal(err)
					}
				}
				w.seqs, w.want = append(w.seqs, s), append(w.want, toks)
			case 1: // fork
				j := pick(a)
				w.seqs = append(w.seqs, w.seqs[j].Fork())
				w.want = append(w.want, slices.Clone(w.want[j]))
			case 2: // append a few tokens, one step each, several sequences at once
				var batch []*Seq
				var next []int
				for j := range w.seqs {
					if (int(a)>>(j%8))&1 == 1 && w.seqs[j].Len() < m.Config.Context-1 {
						batch = append(batch, w.seqs[j])
						next = append(next, (int(a)+j)%2)
						w.want[j] = append(w.want[j], next[len(next)-1])
					}
				}
				if len(batch) > 0 {
					if _, err := m.Step(batch, next); err != nil {
						t.Fatal(err)
					}
				}
			case 3: // release
				j := pick(a)
				w.seqs[j].Release()
				w.seqs = slices.Delete(w.seqs, j, j+1)
				w.want = slices.Delete(w.want, j, j+1)
			case 4: // add to the cache
				w.c.Add(w.seqs[pick(a)])
			case 5: // truncate
				j := pick(a)
				n := int(a) % (w.seqs[j].Len() + 1)
				w.seqs[j].Truncate(n)
				w.want[j] = w.want[j][:min(n, len(w.want[j]))]
			case 6: // a lookup dropped at once; one of nothing evicts all it may
				q := tokens(a, 8)
				if a%2 == 1 {
					q = nil
				}
				s, _ := w.c.Lookup(m, q, len(q))
				s.Release()
			}
			// The bound holds after an Add, or a lookup of nothing: other
			// lookups pin what they match, which may be released (or
			// copied from) only after their eviction ran.
			w.check(t, op == 4 || op == 6 && a%2 == 1)
		}
		// Once every sequence is released, the cache holds all live blocks
		// and evicts down to its bound.
		for _, s := range w.seqs {
			s.Release()
		}
		w.seqs, w.want = nil, nil
		s, _ := w.c.Lookup(m, nil, 0)
		s.Release()
		w.check(t, true)
		if st := m.KVStats(); st.Blocks != w.c.Stats().Blocks || w.c.Bytes() > w.c.maxBytes {
			t.Fatalf("after releasing everything: %d blocks live, the cache holds %d (%d bytes, bound %d)",
				st.Blocks, w.c.Stats().Blocks, w.c.Bytes(), w.c.maxBytes)
		}
	})
}

// TestPrefixCacheConcurrent runs lookups, prefills, forks, steps, adds and
// releases from several goroutines on one cache that must evict (run it
// with -race), then checks that every block went back to the pool or is
// held by the cache alone.
func TestPrefixCacheConcurrent(t *testing.T) {
	m := radixModel(t, 4)
	c := NewPrefixCache(6 * m.blocks().blockBytes())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				toks := randTokens(5+(g*7+i)%20, 2, uint64(i%5))
				s, n := c.Lookup(m, toks, len(toks)-1)
				if _, err := m.Prefill(s, toks[n:]); err != nil {
					errs <- err
					return
				}
				f := s.Fork()
				if _, err := m.Step([]*Seq{s, f}, []int{0, 1}); err != nil {
					errs <- err
					return
				}
				c.Add(s)
				c.Add(f)
				s.Release()
				if i%3 == 0 {
					f.Truncate(n / 2)
				}
				f.Release()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w := &radixWorld{m: m, c: c, fresh: map[string][]float32{}}
	w.check(t, false)
	if live, st := m.KVStats().Blocks, c.Stats(); live != st.Blocks || st.Pinned != 0 {
		t.Fatalf("%d blocks live, the cache holds %d of which %d pinned; want all held by the cache alone", live, st.Blocks, st.Pinned)
	}
}

// BenchmarkPrefixCacheAtBound is a cache full to its bound of 4,096
// blocks taking one more sequence (lookup, prefill, add, release) per
// iteration, so that every add evicts least recently used blocks: the
// state a long run's cache stays in.
func BenchmarkPrefixCacheAtBound(b *testing.B) {
	m := radixModel(b, 4)
	const blocks = 4096
	c := NewPrefixCache(blocks * m.blocks().blockBytes())
	// Distinct 8-token sequences (two blocks) over the 7-token vocabulary,
	// the digits of i in base 7: the first block, i's low four digits,
	// comes back every 2,401 sequences and is then found in the cache.
	seq := func(i int) []int {
		t := make([]int, 8)
		for k := range t {
			t[k] = i % 7
			i /= 7
		}
		return t
	}
	add := func(i int) {
		toks := seq(i)
		s, n := c.Lookup(m, toks, len(toks)-1)
		if _, err := m.Prefill(s, toks[n:]); err != nil {
			b.Fatal(err)
		}
		c.Add(s)
		s.Release()
	}
	i := 0
	for ; c.Bytes() < c.maxBytes; i++ {
		add(i)
	}
	for b.Loop() {
		add(i)
		i++
	}
}
