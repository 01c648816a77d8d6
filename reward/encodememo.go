package reward

import (
	"slices"
	"sync"
)

// encodeMemo is an Encoder that remembers what it encoded. A tree search
// scores each candidate with every step before it, and Encode encodes the
// text up to each step's end: so at every depth the PRM encoded the same
// question and leading steps again, which was 8 % of a rebase run's CPU.
// It is safe for concurrent use.
type encodeMemo struct {
	tok  Encoder
	size int // texts remembered at most; past it the memo starts over

	mu sync.Mutex
	m  map[memoKey][]int
}

type memoKey struct {
	text string
	bos  bool
}

func newEncodeMemo(tok Encoder, size int) *encodeMemo {
	return &encodeMemo{tok: tok, size: size, m: map[memoKey][]int{}}
}

// Encode returns tok's tokens of text, a copy the caller may change.
func (e *encodeMemo) Encode(text string, bos bool) []int {
	k := memoKey{text, bos}
	e.mu.Lock()
	t, ok := e.m[k]
	e.mu.Unlock()
	if ok {
		return slices.Clone(t)
	}
	t = e.tok.Encode(text, bos)
	e.mu.Lock()
	if len(e.m) >= e.size {
		clear(e.m)
	}
	e.m[k] = slices.Clone(t)
	e.mu.Unlock()
	return t
}
