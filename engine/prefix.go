package engine

import "sync"

// PrefixCache keeps KV caches of token sequences seen before, so a request
// whose tokens start like a cached sequence skips that part of the prefill.
// Any shared leading run counts, not just whole entries: the keys and values
// at position p depend only on tokens 0..p. Entries are evicted least
// recently used first when their memory passes the bound. It is safe for
// concurrent use.
type PrefixCache struct {
	mu       sync.Mutex
	maxBytes int
	used     int
	clock    uint64
	entries  []*prefixEntry
}

type prefixEntry struct {
	seq  *Seq
	used uint64 // clock at last use
}

// NewPrefixCache returns a cache holding at most maxBytes of KV.
func NewPrefixCache(maxBytes int) *PrefixCache {
	return &PrefixCache{maxBytes: maxBytes}
}

// Lookup returns a new sequence of model m holding the longest cached
// prefix of tokens, at most maxLen tokens long, and that length. It returns
// an empty sequence and 0 on a miss.
func (c *PrefixCache) Lookup(m *Model, tokens []int, maxLen int) (*Seq, int) {
	s := m.NewSeq()
	if c == nil {
		return s, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *prefixEntry
	bestN := 0
	for _, e := range c.entries {
		if e.seq.m != m {
			continue
		}
		if n := min(commonPrefix(e.seq.Tokens(), tokens), maxLen); n > bestN {
			best, bestN = e, n
		}
	}
	if best == nil {
		return s, 0
	}
	c.clock++
	best.used = c.clock
	s.CopyFrom(best.seq, bestN)
	return s, bestN
}

// Add stores a copy of s. An entry that is a prefix of s is replaced; s is
// not stored when an entry already covers it.
func (c *PrefixCache) Add(s *Seq) {
	if c == nil || s.Len() == 0 || s.Bytes() > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	toks := s.Tokens()
	kept := c.entries[:0]
	for _, e := range c.entries {
		et := e.seq.Tokens()
		if e.seq.m == s.m && commonPrefix(et, toks) == len(toks) {
			e.used = c.clock // already covered
			return
		}
		if e.seq.m == s.m && commonPrefix(et, toks) == len(et) {
			c.used -= e.seq.Bytes()
			continue
		}
		kept = append(kept, e)
	}
	c.entries = kept
	cp := s.m.NewSeq()
	cp.CopyFrom(s, s.Len())
	cp.logits = nil
	c.entries = append(c.entries, &prefixEntry{seq: cp, used: c.clock})
	c.used += cp.Bytes()
	for c.used > c.maxBytes {
		oldest := 0
		for i, e := range c.entries {
			if e.used < c.entries[oldest].used {
				oldest = i
			}
		}
		c.used -= c.entries[oldest].seq.Bytes()
		c.entries = append(c.entries[:oldest], c.entries[oldest+1:]...)
	}
}

// Len is the number of cached sequences.
func (c *PrefixCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Bytes is the KV memory the cache holds.
func (c *PrefixCache) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
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
