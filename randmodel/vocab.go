package randmodel

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
)

// vocab is a generated tokenizer vocabulary.
type vocab struct {
	tokens   []string
	scores   []float32
	types    []int32
	merges   []string // gpt2 only
	bos, eos int
	unk      int // -1 for gpt2
}

// Token types as llama.cpp reads them from tokenizer.ggml.token_type.
const (
	tokNormal  = 1
	tokUnknown = 2
	tokControl = 3
	tokByte    = 6
)

// commonWords seed the training corpus so frequent English pieces get
// tokens; the rest of the corpus is pronounceable pseudo-words.
var commonWords = strings.Fields(`the of and to in is that it for was on are as with his they at be this
from have or by one had not but what all were when we there can an your which their said if do will each
about how up out them then she many some so these would other into has more her two like him see time could
no make than first been its who now people my made over did down only way find use may water long little very
after words called just where most know get through back much before go good new write our used me man too any
day same right look think also around another came come work three word must because does part even place well
such here take why things help put years different away again off went old number great tell men say small every
found still between name should home big give air line set own under read last never us left end along while might
next sound below saw something thought both few those always looks show large often together asked house world going
want school important until form food keep children feet land side without boy once animals life enough took sometimes
four head above kind began almost live page got earth need far hand high year mother light parts country father let
night following picture being study second eyes soon times story boys since white days ever paper hard near sentence
better best across during today others however sure means knew its try told young miles sun ways thing whole hear
example heard several change answer room sea against top turned learn point city play toward five using himself usually
question answer number add subtract total each price cost pay buy sell apples books cents dollars hours minutes left
therefore solution step first second third compute result equals plus minus times divided half twice percent`)

// corpus returns word frequencies: common words with Zipf-like counts and
// pseudo-words, deterministic for a given generator.
func corpus(rng *rand.Rand, pseudo int) map[string]int {
	freq := map[string]int{}
	for i, w := range commonWords {
		freq[w] += 2000/(i+1) + 1
		freq[strings.ToUpper(w[:1])+w[1:]] += 200/(i+1) + 1
	}
	cons := strings.Split("b c d f g h j k l m n p r s t v w z st tr ch sh th pl br cr gr", " ")
	vows := strings.Split("a e i o u ea ou ai ie", " ")
	for i := 0; i < pseudo; i++ {
		var b strings.Builder
		for s := 0; s < 1+rng.IntN(3); s++ {
			b.WriteString(cons[rng.IntN(len(cons))])
			b.WriteString(vows[rng.IntN(len(vows))])
		}
		if rng.IntN(2) == 0 {
			b.WriteString(cons[rng.IntN(len(cons))])
		}
		freq[b.String()] += 1 + 50/(i+1)
	}
	for n := 0; n < 100; n++ {
		freq[fmt.Sprint(n)] += 20
	}
	return freq
}

// trainBPE learns up to n merges over words (each a sequence of symbols),
// merging the most frequent adjacent pair first (lexicographic on ties).
func trainBPE(words map[string]int, split func(string) []string, n int) [][2]string {
	type entry struct {
		syms  []string
		count int
	}
	keys := slices.Sorted(maps.Keys(words))
	entries := make([]entry, len(keys))
	for i, w := range keys {
		entries[i] = entry{split(w), words[w]}
	}
	var merges [][2]string
	counts := map[[2]string]int{}
	for len(merges) < n {
		clear(counts)
		for _, e := range entries {
			for j := 1; j < len(e.syms); j++ {
				counts[[2]string{e.syms[j-1], e.syms[j]}] += e.count
			}
		}
		var best [2]string
		bestN := 0
		for p, c := range counts {
			if c > bestN || (c == bestN && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, c
			}
		}
		if bestN == 0 {
			break
		}
		merges = append(merges, best)
		for i := range entries {
			s := entries[i].syms
			out := s[:0]
			for j := 0; j < len(s); j++ {
				if j+1 < len(s) && s[j] == best[0] && s[j+1] == best[1] {
					out = append(out, best[0]+best[1])
					j++
					continue
				}
				out = append(out, s[j])
			}
			entries[i].syms = out
		}
	}
	return merges
}

func chars(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// llamaVocab builds a SentencePiece vocabulary: <unk>, <s>, </s>, the 256
// byte tokens, "▁" and printable ASCII, then trained pieces scored by merge
// order so llama.cpp's highest-score-first merging replays training.
func llamaVocab(size int) vocab {
	v := vocab{unk: 0, bos: 1, eos: 2}
	seen := map[string]bool{}
	add := func(tok string, score float32, typ int32) {
		if seen[tok] {
			return // two merges can spell the same piece; llama.cpp rejects duplicates
		}
		seen[tok] = true
		v.tokens = append(v.tokens, tok)
		v.scores = append(v.scores, score)
		v.types = append(v.types, typ)
	}
	add("<unk>", 0, tokUnknown)
	add("<s>", 0, tokControl)
	add("</s>", 0, tokControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokByte)
	}
	base := []string{"\u2581"}
	for c := '!'; c <= '~'; c++ {
		base = append(base, string(c))
	}
	words := map[string]int{}
	for w, c := range corpus(rand.New(rand.NewPCG(1, 2)), size) {
		words["\u2581"+w] += c
	}
	merges := trainBPE(words, chars, max(0, size-len(v.tokens)-len(base)))
	for i, m := range merges {
		add(m[0]+m[1], -float32(i), tokNormal)
	}
	for i, c := range base {
		add(c, -float32(len(merges)+i), tokNormal)
	}
	return v
}

// gpt2Vocab builds a byte-level BPE vocabulary: the 256 byte symbols in
// GPT-2's byte-to-unicode mapping, trained merges, and two control tokens.
func gpt2Vocab(size int) vocab {
	var v vocab
	v.unk = -1
	seen := map[string]bool{}
	add := func(tok string, typ int32) {
		if seen[tok] {
			return
		}
		seen[tok] = true
		v.tokens = append(v.tokens, tok)
		v.scores = append(v.scores, 0)
		v.types = append(v.types, typ)
	}
	for b := 0; b < 256; b++ {
		add(string(byteRune(byte(b))), tokNormal)
	}
	words := map[string]int{}
	for w, c := range corpus(rand.New(rand.NewPCG(1, 2)), size) {
		enc := ""
		for _, b := range []byte(" " + w) {
			enc += string(byteRune(b))
		}
		words[enc] += c
		words[string([]rune(enc)[1:])] += c / 4
	}
	merges := trainBPE(words, chars, max(0, size-256-2))
	for _, m := range merges {
		v.merges = append(v.merges, m[0]+" "+m[1])
		add(m[0]+m[1], tokNormal)
	}
	v.bos = len(v.tokens)
	add("<|begin_of_text|>", tokControl)
	v.eos = len(v.tokens)
	add("<|end_of_text|>", tokControl)
	return v
}

// byteRune is GPT-2's byte -> printable rune mapping.
func byteRune(b byte) rune {
	if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE {
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		cb := byte(c)
		if !((cb >= '!' && cb <= '~') || (cb >= 0xA1 && cb <= 0xAC) || cb >= 0xAE) {
			n++
		}
	}
	return rune(256 + n)
}
