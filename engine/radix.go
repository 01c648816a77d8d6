package engine

import (
	"container/heap"
	"slices"
	"sync"
)

// PrefixCache keeps the KV of token sequences seen before, so that a
// sequence starting like a cached one shares that part of the cache
// instead of computing it again. Any shared leading run counts, not just
// whole sequences: the keys and values at position p depend only on tokens
// 0..p.
//
// It is a radix tree over KV blocks, as SGLang's RadixAttention over
// vLLM's pages: each node is one block of a cached sequence (BlockSize
// tokens, fewer at a sequence's end), its children the different blocks
// that follow it, so a prefix common to many sequences is stored once.
// Nodes hold their blocks by reference, as sequences do: Lookup shares
// them with the sequence it returns and Add shares a sequence's blocks
// with the tree; nothing is copied either way. When the tree's blocks
// pass the byte bound, at the end of a Lookup or Add, leaves no live
// sequence holds are evicted, least recently used first; a block a
// sequence holds is never evicted, so the bound may be passed while such
// sequences live. It is safe for concurrent use.
type PrefixCache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int // memory of the blocks the tree holds
	clock    uint64
	roots    map[*Model]*radixNode
	// leaves are the nodes without children, least recently used first:
	// eviction's candidates, kept as the tree changes, so that a cache at
	// its bound does not walk its whole tree at every call to find them
	// (a quarter of a rebase run's CPU when it did).
	leaves nodeHeap
}

// radixNode is one block of cached sequences: the tokens at its positions
// and their KV. A node with fewer than a block's tokens ends a sequence
// and has no children. No node's tokens are a prefix of a sibling's: a
// sequence that continues a shorter end takes its place.
type radixNode struct {
	parent   *radixNode
	children []*radixNode
	tokens   []int
	block    *kvBlock   // nil at a root
	pool     *blockPool // of the model the tree under this root caches
	m        *Model     // at a root: whose tree it is
	used     uint64     // clock at its last use, or a descendant's
	leaf     int        // index in the cache's leaves, or -1
}

// NewPrefixCache returns a cache holding at most maxBytes of KV blocks that
// no live sequence holds.
func NewPrefixCache(maxBytes int) *PrefixCache {
	return &PrefixCache{maxBytes: maxBytes, roots: map[*Model]*radixNode{}}
}

// Lookup returns a new sequence of model m holding the longest cached
// prefix of tokens, at most maxLen tokens long, and that length. It
// returns an empty sequence and 0 on a miss. The sequence shares the
// cache's blocks; release it when done.
func (c *PrefixCache) Lookup(m *Model, tokens []int, maxLen int) (*Seq, int) {
	s := m.NewSeq()
	if c == nil {
		return s, 0
	}
	maxLen = min(maxLen, len(tokens))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	size := s.pool.size
	for node := c.roots[m]; node != nil && s.n < maxLen; {
		want := tokens[s.n:min(s.n+size, maxLen)]
		var best *radixNode
		k := 0
		for _, ch := range node.children {
			if n := commonPrefix(ch.tokens, want); n > k {
				best, k = ch, n
			}
		}
		if best == nil {
			break
		}
		// A match that ends inside a block shares the whole block; the
		// sequence copies it before writing its next position there.
		s.pool.ref(best.block)
		s.blocks = append(s.blocks, best.block)
		s.n += k
		c.touch(best)
		if k < size {
			break
		}
		node = best
	}
	s.tokens = append(s.tokens, tokens[:s.n]...)
	c.evict() // blocks released since the last call may now go
	return s, s.n
}

// Add shares s's blocks with the cache, so that later sequences starting
// with s's tokens find them. Blocks the cache holds for the same tokens
// already are kept and s's are not taken. s stays the caller's.
func (c *PrefixCache) Add(s *Seq) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.evict()
	if s.n == 0 {
		return
	}
	c.clock++
	node := c.roots[s.m]
	if node == nil {
		node = &radixNode{pool: s.pool, m: s.m, leaf: -1}
		c.roots[s.m] = node
	}
	size := s.pool.size
	for i := 0; i*size < s.n; i++ {
		node = c.child(node, s.tokens[i*size:min((i+1)*size, s.n)], s.blocks[i])
	}
}

// child returns node's child holding toks, one block's tokens (fewer at the
// end of a sequence), making it with block b if there is none.
func (c *PrefixCache) child(node *radixNode, toks []int, b *kvBlock) *radixNode {
	for _, ch := range node.children {
		switch k := commonPrefix(ch.tokens, toks); {
		case k == len(toks): // cached already, maybe with more tokens after
			c.touch(ch)
			return ch
		case k == len(ch.tokens): // a shorter end of a sequence, which b extends
			ch.pool.ref(b)
			ch.pool.unref(ch.block)
			ch.block = b
			ch.tokens = append(ch.tokens[:0], toks...)
			c.touch(ch)
			return ch
		}
	}
	ch := &radixNode{parent: node, tokens: slices.Clone(toks), block: b, pool: node.pool, used: c.clock, leaf: -1}
	node.pool.ref(b)
	if node.leaf >= 0 {
		heap.Remove(&c.leaves, node.leaf)
	}
	node.children = append(node.children, ch)
	heap.Push(&c.leaves, ch)
	c.bytes += node.pool.blockBytes()
	return ch
}

// touch marks n used now, moving it to the back of the leaves if it is one.
func (c *PrefixCache) touch(n *radixNode) {
	n.used = c.clock
	if n.leaf >= 0 {
		heap.Fix(&c.leaves, n.leaf)
	}
}

// evict drops least recently used leaves that no sequence holds until the
// tree is within its bound or no such leaf is left. A node's last use is
// never older than its children's, so parents left bare are taken in
// their turn.
func (c *PrefixCache) evict() {
	var held []*radixNode
	for c.bytes > c.maxBytes && c.leaves.Len() > 0 {
		n := heap.Pop(&c.leaves).(*radixNode)
		// The tree's own reference is the only one unless a sequence holds
		// the block; and none can take one meanwhile but through the tree.
		if n.block.refs.Load() > 1 {
			held = append(held, n)
			continue
		}
		p := n.parent
		i := slices.Index(p.children, n)
		p.children = slices.Delete(p.children, i, i+1)
		n.pool.unref(n.block)
		c.bytes -= n.pool.blockBytes()
		n.parent, n.block = nil, nil
		switch {
		case p.block != nil && len(p.children) == 0:
			heap.Push(&c.leaves, p)
		case p.block == nil && len(p.children) == 0:
			delete(c.roots, p.m) // so the cache does not keep the model alive
		}
	}
	for _, n := range held {
		heap.Push(&c.leaves, n)
	}
}

// walk calls f on n and every node below it.
func (n *radixNode) walk(f func(*radixNode)) {
	f(n)
	for _, ch := range n.children {
		ch.walk(f)
	}
}

// nodeHeap orders nodes least recently used first. Each node keeps its
// index in leaf, -1 once out.
type nodeHeap []*radixNode

func (h nodeHeap) Len() int           { return len(h) }
func (h nodeHeap) Less(i, j int) bool { return h[i].used < h[j].used }
func (h nodeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].leaf, h[j].leaf = i, j
}
func (h *nodeHeap) Push(x any) {
	n := x.(*radixNode)
	n.leaf = len(*h)
	*h = append(*h, n)
}
func (h *nodeHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	n.leaf = -1
	return n
}

// CacheStats describe what a PrefixCache holds, to set the memory of its
// blocks beside the tokens they hold.
type CacheStats struct {
	Sequences  int // cached sequences that no other cached one extends (leaves)
	Blocks     int // KV blocks held
	Bytes      int // their memory
	Pinned     int // blocks that live sequences hold too, which eviction leaves
	Tokens     int // distinct tokens held: a prefix common to sequences counts once
	TokenBytes int // the KV memory of Tokens, one position each: Bytes less block padding
}

// Stats reports what the cache holds now.
func (c *PrefixCache) Stats() CacheStats {
	var st CacheStats
	if c == nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.roots {
		perToken := r.pool.blockBytes() / r.pool.size
		r.walk(func(n *radixNode) {
			if n.block != nil {
				st.Blocks++
				st.Bytes += n.pool.blockBytes()
				if n.block.refs.Load() > 1 {
					st.Pinned++
				}
				if len(n.children) == 0 {
					st.Sequences++
				}
			}
			d := distinctTokens(n.children)
			st.Tokens += d
			st.TokenBytes += d * perToken
		})
	}
	return st
}

// distinctTokens counts the positions that sibling blocks hold, a leading
// run of tokens common to several counted once: the size of the trie of
// their token strings, which sorted is the sum of their lengths less each
// one's common prefix with the one before.
func distinctTokens(sibs []*radixNode) int {
	toks := make([][]int, len(sibs))
	for i, s := range sibs {
		toks[i] = s.tokens
	}
	slices.SortFunc(toks, slices.Compare)
	n := 0
	for i, t := range toks {
		n += len(t)
		if i > 0 {
			n -= commonPrefix(toks[i-1], t)
		}
	}
	return n
}

// Len is the number of cached sequences that no other cached one extends.
func (c *PrefixCache) Len() int { return c.Stats().Sequences }

// Bytes is the memory of the KV blocks the cache holds.
func (c *PrefixCache) Bytes() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
