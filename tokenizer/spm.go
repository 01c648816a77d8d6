package tokenizer

import (
	"container/heap"
	"fmt"
)

// symbol is a span of the text being merged, linked to its neighbours.
type symbol struct {
	prev, next int
	start, n   int // byte span in the text
}

// utf8Len is the sequence length announced by a UTF-8 lead byte; invalid
// lead bytes count as one byte, as in llama.cpp.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// splitChars cuts text into UTF-8 character symbols.
func splitChars(text string) []symbol {
	var syms []symbol
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		syms = append(syms, symbol{prev: len(syms) - 1, next: len(syms) + 1, start: off, n: n})
		off += n
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// bigram is a candidate merge of the adjacent symbols left and right.
type bigram struct {
	left, right int
	// cost orders the merges: BPE's merge rank, or minus SentencePiece's
	// score (the highest score merges first). float64 holds both exactly.
	cost float64
	text string // BPE: the merged text, which tells when the entry went stale
	size int    // SentencePiece: the merged length, likewise
}

// mergeQueue is a heap of candidate merges that pops the lowest cost first,
// the leftmost on ties.
type mergeQueue []bigram

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].cost != q[j].cost {
		return q[i].cost < q[j].cost
	}
	return q[i].left < q[j].left
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(bigram)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// mergeSymbols joins syms[r] into its left neighbour syms[l] and unlinks it.
func mergeSymbols(syms []symbol, l, r int) {
	ls, rs := &syms[l], &syms[r]
	ls.n += rs.n
	rs.n = 0
	ls.next = rs.next
	if rs.next >= 0 {
		syms[rs.next].prev = l
	}
}

// spm tokenizes one escaped text fragment (spaces already turned into U+2581)
// with SentencePiece BPE: repeatedly merge the adjacent pair whose joined
// text is a vocabulary token of highest score, then map what cannot be a
// token to byte tokens.
func (t *Tokenizer) spm(text string, out []int) []int {
	syms := splitChars(text)
	if len(syms) == 0 {
		return out
	}
	var q mergeQueue
	revMerge := map[string][2]int{}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.ids[s]
		if !ok {
			return
		}
		heap.Push(&q, bigram{left: l, right: r, cost: -float64(t.scores[id]), size: len(s)})
		revMerge[s] = [2]int{l, r}
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		bg := heap.Pop(&q).(bigram)
		l, r := &syms[bg.left], &syms[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue // stale: one side has been merged since
		}
		mergeSymbols(syms, bg.left, bg.right)
		tryAdd(l.prev, bg.left)
		tryAdd(bg.left, l.next)
	}
	var reseg func(i int)
	reseg = func(i int) {
		s := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := t.ids[s]; ok {
			out = append(out, id)
			return
		}
		if p, ok := revMerge[s]; ok {
			reseg(p[0])
			reseg(p[1])
			return
		}
		for j := 0; j < len(s); j++ {
			if id := t.byteToken(s[j]); id >= 0 {
				out = append(out, id)
			}
		}
	}
	for i := 0; i != -1; i = syms[i].next {
		reseg(i)
	}
	return out
}

// byteToken finds the <0xNN> token of b, falling back to the one-byte token
// and then to <unk> (llama.cpp would abort there).
func (t *Tokenizer) byteToken(b byte) int {
	if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
		return id
	}
	if id, ok := t.ids[string([]byte{b})]; ok {
		return id
	}
	return t.unk
}
