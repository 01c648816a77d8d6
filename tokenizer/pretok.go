package tokenizer

import (
	"fmt"
	"unicode"
)

// preType selects the pre-tokenizer that splits text into words before
// byte-level BPE, named by tokenizer.ggml.pre.
type preType int

const (
	preDefault preType = iota // llama.cpp's default chain of four regexes
	preGPT2                   // the GPT-2 regex
	preLlama3                 // Llama 3: digits in runs of at most 3
	preQwen2                  // Qwen 2: single digits
)

// lookupPre maps tokenizer.ggml.pre to a pre-tokenizer. Names llama.cpp does
// not know fall back to the default, as llama.cpp does; names it knows but
// this package does not implement are an error rather than a silent mismatch.
func lookupPre(name string) (preType, error) {
	switch name {
	case "", "default":
		return preDefault, nil
	case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de",
		"jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais":
		return preGPT2, nil
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe":
		return preLlama3, nil
	case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2":
		return preQwen2, nil
	case "deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "starcoder", "refact", "command-r",
		"poro-chat", "chatglm-bpe", "viking", "tekken", "smollm", "codeshell", "bloom", "gpt3-finnish",
		"exaone", "chameleon", "minerva-7b", "gpt-4o":
		return 0, fmt.Errorf("tokenizer: pre-tokenizer %q (tokenizer.ggml.pre) is not implemented", name)
	}
	return preDefault, nil
}

// Character classes as llama.cpp's unicode tables define them (Go's unicode
// package follows the same Unicode categories and White_Space property).
func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isNumber(r rune) bool { return unicode.IsNumber(r) }
func isSpace(r rune) bool  { return unicode.IsSpace(r) }

// split cuts text into pre-tokenizer words.
func (p preType) split(text string) []string {
	cpts := []rune(text) // invalid bytes become U+FFFD, as in llama.cpp
	spans := []int{len(cpts)}
	switch p {
	case preGPT2:
		spans = refine(cpts, spans, splitGPT2)
	case preLlama3:
		spans = refine(cpts, spans, func(c []rune) []int { return splitLlama3(c, 3) })
	case preQwen2:
		spans = refine(cpts, spans, func(c []rune) []int { return splitLlama3(c, 1) })
	default:
		spans = refine(cpts, spans, splitDefaultPunct)
		spans = refine(cpts, spans, splitGPT2)
		spans = refine(cpts, spans, splitNumbers)
		spans = refine(cpts, spans, splitDigits3)
	}
	words := make([]string, 0, len(spans))
	start := 0
	for _, n := range spans {
		words = append(words, string(cpts[start:start+n]))
		start += n
	}
	return words
}

// refine applies one splitter within every existing span; each splitter
// returns the lengths of consecutive pieces covering its input.
func refine(cpts []rune, spans []int, f func([]rune) []int) []int {
	var out []int
	start := 0
	for _, n := range spans {
		out = append(out, f(cpts[start:start+n])...)
		start += n
	}
	return out
}

// matchRuns splits c into maximal runs matched by run(c, i) (which returns
// the match length at i, 0 for none) and the unmatched text between them,
// like a regex find-all that keeps the gaps.
func matchRuns(c []rune, run func(c []rune, i int) int) []int {
	var out []int
	gap := 0
	for i := 0; i < len(c); {
		if n := run(c, i); n > 0 {
			if gap > 0 {
				out = append(out, gap)
				gap = 0
			}
			out = append(out, n)
			i += n
			continue
		}
		gap++
		i++
	}
	if gap > 0 {
		out = append(out, gap)
	}
	return out
}

// isDefaultPunct is the class [\p{P}\$\+<=>\^~\|] as llama.cpp evaluates it:
// in ASCII that is every punctuation character except the backtick.
func isDefaultPunct(r rune) bool {
	if r < 128 {
		return r != '`' && r > ' ' && r < 127 && !('0' <= r && r <= '9') && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z')
	}
	return unicode.IsPunct(r)
}

// runOf matches the longest run of runes that satisfy in.
func runOf(in func(rune) bool) func(c []rune, i int) int {
	return func(c []rune, i int) int {
		n := 0
		for i+n < len(c) && in(c[i+n]) {
			n++
		}
		return n
	}
}

// splitDefaultPunct: [\p{P}\$\+<=>\^~\|]+
func splitDefaultPunct(c []rune) []int {
	return matchRuns(c, runOf(isDefaultPunct))
}

// splitNumbers: \p{N}+
func splitNumbers(c []rune) []int {
	return matchRuns(c, runOf(isNumber))
}

// splitDigits3: [0-9][0-9][0-9]
func splitDigits3(c []rune) []int {
	return matchRuns(c, func(c []rune, i int) int {
		if i+3 <= len(c) && isASCIIDigit(c[i]) && isASCIIDigit(c[i+1]) && isASCIIDigit(c[i+2]) {
			return 3
		}
		return 0
	})
}

func isASCIIDigit(r rune) bool { return '0' <= r && r <= '9' }

func lower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d at i (0 if none),
// optionally ASCII case-insensitive.
func contraction(c []rune, i int, fold bool) int {
	if c[i] != '\'' || i+1 >= len(c) {
		return 0
	}
	f := func(r rune) rune {
		if fold {
			return lower(r)
		}
		return r
	}
	switch f(c[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < len(c) {
		a, b := f(c[i+1]), f(c[i+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// splitGPT2 hand-codes 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (Go's regexp has no lookahead).
func splitGPT2(c []rune) []int {
	var out []int
	at := func(i int) (rune, bool) {
		if i < len(c) {
			return c[i], true
		}
		return 0, false
	}
	other := func(r rune) bool { return !isSpace(r) && !isLetter(r) && !isNumber(r) }
	for pos := 0; pos < len(c); {
		if n := contraction(c, pos, false); n > 0 {
			out = append(out, n)
			pos += n
			continue
		}
		// An optional leading space joins the run of the class that follows.
		q := pos
		if c[pos] == ' ' {
			if _, ok := at(pos + 1); ok {
				q = pos + 1
			}
		}
		var class func(rune) bool
		switch r := c[q]; {
		case isLetter(r):
			class = isLetter
		case isNumber(r):
			class = isNumber
		case other(r):
			class = other
		}
		if class != nil {
			end := q + 1
			for end < len(c) && class(c[end]) {
				end++
			}
			out = append(out, end-pos)
			pos = end
			continue
		}
		ws := 0
		for pos+ws < len(c) && isSpace(c[pos+ws]) {
			ws++
		}
		n := spaceRun(c, pos, ws)
		out = append(out, n)
		pos += n
	}
	return out
}

// spaceRun is the length of the piece at pos, where ws spaces start:
// \s+(?!\S)|\s+ leaves the last of several spaces to the word after them,
// and a rune no other rule took stands alone.
func spaceRun(c []rune, pos, ws int) int {
	switch {
	case ws > 1 && pos+ws < len(c):
		return ws - 1
	case ws > 0:
		return ws
	}
	return 1
}

// splitLlama3 hand-codes the Llama 3 / Qwen 2 regex
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(c []rune, maxDigits int) []int {
	var out []int
	isNL := func(r rune) bool { return r == '\r' || r == '\n' }
	letterAt := func(i int) bool { return i < len(c) && isLetter(c[i]) }
	for pos := 0; pos < len(c); {
		r := c[pos]
		if n := contraction(c, pos, true); n > 0 {
			out = append(out, n)
			pos += n
			continue
		}
		if !isNL(r) && !isNumber(r) && (isLetter(r) || letterAt(pos+1)) {
			end := pos + 1
			for letterAt(end) {
				end++
			}
			out = append(out, end-pos)
			pos = end
			continue
		}
		if isNumber(r) {
			end := pos
			for end < len(c) && isNumber(c[end]) && end-pos < maxDigits {
				end++
			}
			out = append(out, end-pos)
			pos = end
			continue
		}
		q := pos
		if r == ' ' && pos+1 < len(c) {
			q = pos + 1
		}
		if o := c[q]; !isSpace(o) && !isLetter(o) && !isNumber(o) {
			end := q + 1
			for end < len(c) && !isSpace(c[end]) && !isLetter(c[end]) && !isNumber(c[end]) {
				end++
			}
			for end < len(c) && isNL(c[end]) {
				end++
			}
			out = append(out, end-pos)
			pos = end
			continue
		}
		ws, lastNL := 0, 0
		for pos+ws < len(c) && isSpace(c[pos+ws]) {
			if isNL(c[pos+ws]) {
				lastNL = ws + 1
			}
			ws++
		}
		n := lastNL // \s*[\r\n]+
		if n == 0 {
			n = spaceRun(c, pos, ws)
		}
		out = append(out, n)
		pos += n
	}
	return out
}
