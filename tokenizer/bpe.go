package tokenizer

import (
	"container/heap"
	"strings"
)

// byteToRune is GPT-2's reversible byte -> printable rune mapping: printable
// Latin-1 bytes map to themselves, the rest to U+0100 onwards in byte order.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = next
			next++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// encodeByteLevel maps each byte of s to its GPT-2 rune.
func encodeByteLevel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// decodeByteLevel maps a byte-level token back to bytes; runes outside the
// mapping are rendered the way llama.cpp does, as [UNK_BYTE_0x..] markers.
func decodeByteLevel(s string) string {
	var b strings.Builder
	for _, r := range s {
		if c, ok := runeToByte[r]; ok {
			b.WriteByte(c)
			continue
		}
		b.WriteString("[UNK_BYTE_0x")
		for _, c := range []byte(string(r)) {
			const hex = "0123456789abcdef"
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		b.WriteString(s + "]")
	}
	return b.String()
}

// bpe tokenizes one raw text fragment with byte-level BPE: pre-tokenize into
// words, map bytes to GPT-2 runes, then apply merges by rank within a word.
func (t *Tokenizer) bpe(text string, out []int) []int {
	for _, word := range t.pre.split(text) {
		word = encodeByteLevel(word)
		var syms []symbol
		if id, ok := t.ids[word]; ok && t.ignoreMerges {
			out = append(out, id)
			continue
		}
		syms = splitChars(word)
		var q mergeQueue
		add := func(l, r int) {
			if l < 0 || r < 0 {
				return
			}
			ls := word[syms[l].start : syms[l].start+syms[l].n]
			rs := word[syms[r].start : syms[r].start+syms[r].n]
			rank, ok := t.ranks[[2]string{ls, rs}]
			if !ok {
				return
			}
			heap.Push(&q, bigram{left: l, right: r, cost: float64(rank), text: ls + rs})
		}
		for i := 1; i < len(syms); i++ {
			add(i-1, i)
		}
		for q.Len() > 0 {
			bg := heap.Pop(&q).(bigram)
			l, r := &syms[bg.left], &syms[bg.right]
			if l.n == 0 || r.n == 0 || word[l.start:l.start+l.n]+word[r.start:r.start+r.n] != bg.text {
				continue // outdated
			}
			mergeSymbols(syms, bg.left, bg.right)
			add(l.prev, bg.left)
			add(bg.left, l.next)
		}
		for _, s := range syms {
			if s.n == 0 {
				continue
			}
			piece := word[s.start : s.start+s.n]
			if id, ok := t.ids[piece]; ok {
				out = append(out, id)
				continue
			}
			// llama.cpp falls back to single raw bytes, dropping misses.
			for j := 0; j < len(piece); j++ {
				if id, ok := t.ids[piece[j:j+1]]; ok {
					out = append(out, id)
				}
			}
		}
	}
	return out
}
