// Package tokenizer turns text into token ids and back exactly as llama.cpp
// (the version vendored by Ollama v0.6.5) does for the vocabularies stored in
// GGUF files: SentencePiece-style BPE ("llama") and byte-level BPE ("gpt2").
package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pareto-llm/pareto/gguf"
)

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Model kinds, from tokenizer.ggml.model.
const (
	ModelLlama = "llama" // SentencePiece BPE with scores and <0xNN> byte fallback
	ModelGPT2  = "gpt2"  // byte-level BPE with ranked merges
)

// Tokenizer converts between text and token ids for one vocabulary.
// It is safe for concurrent use.
type Tokenizer struct {
	model string
	pre   preType

	tokens []string
	scores []float32
	types  []int32
	ids    map[string]int
	ranks  map[[2]string]int // gpt2 merges: pair -> rank

	bos, eos, unk, pad int // -1 when absent
	addBOS, addEOS     bool
	addSpacePrefix     bool
	ignoreMerges       bool
	special            []int // control, user-defined and unknown tokens, longest text first
	pieces             []string
}

// FromGGUF builds the tokenizer described by the tokenizer.ggml.* metadata of f.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return nil, fmt.Errorf("tokenizer: metadata tokenizer.ggml.model is missing")
	}
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok {
		return nil, fmt.Errorf("tokenizer: metadata tokenizer.ggml.tokens is missing or not a string array")
	}
	t := &Tokenizer{model: model, tokens: append([]string(nil), tokens...), bos: -1, eos: -1, unk: -1, pad: -1}
	n := len(tokens)
	if s, ok := f.Float32Array("tokenizer.ggml.scores"); ok {
		if len(s) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores has %d entries, tokenizer.ggml.tokens has %d", len(s), n)
		}
		t.scores = s
	} else {
		t.scores = make([]float32, n)
	}
	t.types = make([]int32, n)
	if ty, ok := f.Int32Array("tokenizer.ggml.token_type"); ok {
		if len(ty) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type has %d entries, tokenizer.ggml.tokens has %d", len(ty), n)
		}
		copy(t.types, ty)
	} else {
		for i := range t.types {
			t.types[i] = TypeNormal
		}
	}
	// Out-of-range types count as undefined, as in llama.cpp.
	for i, ty := range t.types {
		if ty < TypeUndefined || ty > TypeByte {
			t.types[i] = TypeUndefined
		}
	}

	switch model {
	case ModelLlama:
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS = true, true
	case ModelGPT2:
		t.bos, t.eos = 11, 11
		merges, ok := f.Strings("tokenizer.ggml.merges")
		if !ok {
			return nil, fmt.Errorf("tokenizer: gpt2 vocabulary needs tokenizer.ggml.merges")
		}
		t.ranks = make(map[[2]string]int, len(merges))
		for i, m := range merges {
			// Split at the first space after the first byte, so a merge
			// whose left side is a space still parses.
			var pair [2]string
			if len(m) > 1 {
				if j := strings.IndexByte(m[1:], ' '); j >= 0 {
					pair = [2]string{m[:j+1], m[j+2:]}
				}
			}
			if _, dup := t.ranks[pair]; !dup {
				t.ranks[pair] = i
			}
		}
		name, _ := f.String("tokenizer.ggml.pre")
		p, err := lookupPre(name)
		if err != nil {
			return nil, err
		}
		t.pre = p
		if p == preLlama3 && (name == "llama3" || name == "llama-v3" || name == "llama-bpe" || name == "falcon3") {
			t.ignoreMerges, t.addBOS = true, true
		}
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer.ggml.model %q (want %q or %q)", model, ModelLlama, ModelGPT2)
	}
	if v, ok := f.Bool("tokenizer.ggml.add_space_prefix"); ok {
		t.addSpacePrefix = v
	}

	t.ids = make(map[string]int, n)
	for i := range t.tokens {
		if t.tokens[i] == "" {
			t.tokens[i] = "[EMPTY_" + strconv.Itoa(i) + "]"
		}
		if j, dup := t.ids[t.tokens[i]]; dup {
			return nil, fmt.Errorf("tokenizer: token %d %q duplicates token %d", i, t.tokens[i], j)
		}
		t.ids[t.tokens[i]] = i
	}

	for key, dst := range map[string]*int{
		"tokenizer.ggml.bos_token_id":     &t.bos,
		"tokenizer.ggml.eos_token_id":     &t.eos,
		"tokenizer.ggml.unknown_token_id": &t.unk,
		"tokenizer.ggml.padding_token_id": &t.pad,
	} {
		if v, ok := f.Uint(key); ok && v < uint64(n) {
			*dst = int(v) // out-of-range ids keep the default, like llama.cpp
		}
	}
	for _, dst := range []*int{&t.bos, &t.eos, &t.unk, &t.pad} {
		if *dst >= n {
			*dst = -1
		}
	}
	if v, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		t.addBOS = v
	}
	if v, ok := f.Bool("tokenizer.ggml.add_eos_token"); ok {
		t.addEOS = v
	}
	if t.addBOS && t.bos < 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_bos_token is true but there is no bos token")
	}
	if t.addEOS && t.eos < 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_eos_token is true but there is no eos token")
	}

	for i, ty := range t.types {
		if ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown {
			t.special = append(t.special, i)
		}
	}
	sort.SliceStable(t.special, func(a, b int) bool {
		return len(t.tokens[t.special[a]]) > len(t.tokens[t.special[b]])
	})
	t.pieces = make([]string, n)
	for i := range t.pieces {
		t.pieces[i] = t.piece(i)
	}
	return t, nil
}

// piece renders one token the way llama.cpp's token_to_piece does with
// special=true (as Ollama calls it).
func (t *Tokenizer) piece(id int) string {
	text := t.tokens[id]
	switch t.types[id] {
	case TypeControl, TypeUnknown, TypeUserDefined:
		return text
	case TypeNormal:
		if t.model == ModelLlama {
			return strings.ReplaceAll(text, "\u2581", " ")
		}
		return decodeByteLevel(text)
	case TypeByte:
		if t.model == ModelLlama {
			if b, ok := parseByteToken(text); ok {
				return string([]byte{b})
			}
		}
	}
	return ""
}

// parseByteToken parses "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	return byte(v), err == nil
}

// Encode tokenizes text the way Ollama does for a prompt: special tokens
// written in the text (such as "<s>") are recognised. When addBOS is true
// the model's add_bos_token / add_eos_token settings apply, as llama.cpp's
// add_special does; when false no BOS or EOS is added.
func (t *Tokenizer) Encode(text string, addBOS bool) []int {
	return t.EncodeSpecial(text, addBOS, true)
}

// EncodeSpecial is Encode with control of special-token parsing: with
// parseSpecial false only user-defined tokens are matched in the text.
func (t *Tokenizer) EncodeSpecial(text string, addBOS, parseSpecial bool) []int {
	frags := t.partition(text, parseSpecial)
	var out []int
	if addBOS && t.addBOS {
		out = append(out, t.bos)
	}
	switch t.model {
	case ModelLlama:
		prevSpecial := true
		for _, fr := range frags {
			if fr.tok >= 0 {
				out = append(out, fr.tok)
				prevSpecial = true
				continue
			}
			s := fr.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.spm(strings.ReplaceAll(s, " ", "\u2581"), out)
			prevSpecial = false
		}
	default:
		for _, fr := range frags {
			if fr.tok >= 0 {
				out = append(out, fr.tok)
				continue
			}
			out = t.bpe(fr.text, out)
		}
	}
	if addBOS && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// fragment is either raw text (tok < 0) or one special token.
type fragment struct {
	text string
	tok  int
}

// partition splits text at occurrences of special tokens, longest first, as
// llama.cpp's tokenizer_st_partition does.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{text: text, tok: -1}}
	for _, id := range t.special {
		if !parseSpecial && t.types[id] != TypeUserDefined {
			continue
		}
		tok := t.tokens[id]
		var next []fragment
		for _, fr := range frags {
			if fr.tok >= 0 || !strings.Contains(fr.text, tok) {
				next = append(next, fr)
				continue
			}
			s := fr.text
			for {
				i := strings.Index(s, tok)
				if i < 0 {
					if s != "" {
						next = append(next, fragment{text: s, tok: -1})
					}
					break
				}
				if i > 0 {
					next = append(next, fragment{text: s[:i], tok: -1})
				}
				next = append(next, fragment{tok: id})
				s = s[i+len(tok):]
			}
		}
		frags = next
	}
	return frags
}

// Decode joins the pieces of ids. For SentencePiece vocabularies that add a
// space prefix, the one space Encode prepends to the text at the start and
// after each special token is removed again, so Decode(Encode(s, false)) == s.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	strip := t.model == ModelLlama && t.addSpacePrefix
	atStart := true
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) {
			continue
		}
		p := t.pieces[id]
		if t.isSpecial(id) {
			b.WriteString(p)
			atStart = true
			continue
		}
		if strip && atStart {
			p = strings.TrimPrefix(p, " ")
		}
		atStart = false
		b.WriteString(p)
	}
	return b.String()
}

func (t *Tokenizer) isSpecial(id int) bool {
	ty := t.types[id]
	return ty == TypeControl || ty == TypeUnknown || ty == TypeUserDefined
}

// Piece returns the text of one token: SentencePiece "▁" become spaces, byte
// tokens are their single (possibly partial UTF-8) byte, byte-level BPE
// symbols are mapped back to bytes, and control tokens are their literal text
// (as Ollama renders them). Out-of-range ids give "".
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Token returns the raw vocabulary string of id ("" when out of range).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// ID returns the id of a vocabulary string.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// Type returns the token type of id (TypeUndefined when out of range).
func (t *Tokenizer) Type(id int) int {
	if id < 0 || id >= len(t.types) {
		return TypeUndefined
	}
	return int(t.types[id])
}

// Model returns the tokenizer.ggml.model of the vocabulary.
func (t *Tokenizer) Model() string { return t.model }

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int { return t.eos }

// AddBOS reports whether the model asks for a BOS token before prompts.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// IsControl reports whether id is a control token (BOS, EOS, ...).
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.types) && t.types[id] == TypeControl
}
