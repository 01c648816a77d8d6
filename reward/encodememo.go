package reward

import "slices"

// encodeMemo is an Encoder that remembers what it encoded. A tree search
// scores each candidate with every step before it, and Encode encodes the
// text up to each step's end: so at every depth the PRM encoded the same
// question and leading steps again, which was 8 % of a rebase run's CPU.
// It is safe for concurrent use.
type encodeMemo struct {
	tok   Encoder
	texts *memo[[]int] // by text, "1" or "0" (bos) first
}

// newEncodeMemo remembers up to 2*size texts (two generations of size).
func newEncodeMemo(tok Encoder, size int) *encodeMemo {
	return &encodeMemo{tok: tok, texts: newMemo[[]int](size)}
}

// Encode returns tok's tokens of text, a copy the caller may change.
func (e *encodeMemo) Encode(text string, bos bool) []int {
	key := "0" + text
	if bos {
		key = "1" + text
	}
	if t, ok := e.texts.get(key); ok {
		return slices.Clone(t)
	}
	t := e.tok.Encode(text, bos)
	e.texts.put(key, slices.Clone(t))
	return t
}
