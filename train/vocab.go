package train

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/synth"
	"github.com/pareto-llm/pareto/think"
	"github.com/pareto-llm/pareto/tokenizer"
)

// Token types as llama.cpp reads them from tokenizer.ggml.token_type.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

// Special token ids of the synth vocabulary.
const (
	unkID = 0
	bosID = 1
	eosID = 2
)

const spaceMark = "\u2581" // SentencePiece's visible space

// SynthVocab is a SentencePiece-style ("llama") vocabulary for the synth
// task: <unk>, <s>, </s>, the 256 byte tokens, then the single characters,
// and for every word w of synth.Vocabulary() the pieces "▁"+w and w with all
// their prefixes. A piece's score is its length in characters, so
// llama.cpp's SPM merge (highest-scoring adjacent pair first, leftmost on
// ties) grows each word from its first two characters into the whole word.
// Digits get no "▁" or multi-digit pieces: " 12" is "▁", "1", "2" on every
// side, matching synth's one-token-per-digit rule.
func SynthVocab() (tokens []string, scores []float32, types []int32) {
	seen := map[string]bool{}
	add := func(tok string, score float32, typ int32) {
		if seen[tok] {
			return
		}
		seen[tok] = true
		tokens = append(tokens, tok)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, typeUnknown)
	add("<s>", 0, typeControl)
	add("</s>", 0, typeControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, typeByte)
	}
	words := synth.Vocabulary()
	// Single characters first, sorted, so ids do not depend on word order.
	chars := map[string]bool{spaceMark: true}
	for _, w := range words {
		for _, r := range w {
			chars[string(r)] = true
		}
	}
	var cs []string
	for c := range chars {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	for _, c := range cs {
		add(c, 1, typeNormal)
	}
	isDigit := func(w string) bool { return len(w) == 1 && w[0] >= '0' && w[0] <= '9' }
	for _, w := range words {
		if w == synth.Newline || isDigit(w) {
			continue
		}
		for _, full := range []string{spaceMark + w, w} {
			for i := range full {
				if i == 0 {
					continue
				}
				p := full[:i]
				add(p, float32(utf8.RuneCountInString(p)), typeNormal)
			}
			add(full, float32(utf8.RuneCountInString(full)), typeNormal)
		}
	}
	return tokens, scores, types
}

// Vocabularies a model config can name (model.vocab).
const (
	VocabSynth = "synth" // SynthVocab
	// VocabSynthThink is SynthVocab and the two thought markers after it,
	// so a model of it can start from one of VocabSynth (a thinker from
	// the policy) with the same ids for every shared token.
	VocabSynthThink = "synth-think"
)

// vocabFor is the vocabulary a config names.
func vocabFor(name string) (tokens []string, scores []float32, types []int32) {
	tokens, scores, types = SynthVocab()
	if name == VocabSynthThink {
		// The markers real thinking models (R1, Qwen3) write, as
		// user-defined tokens: llama.cpp, Ollama and pareto's tokenizer
		// match them in text as one token each and render them as their
		// text.
		for _, m := range []string{think.Default.Open, think.Default.Close} {
			tokens, scores, types = append(tokens, m), append(scores, 0), append(types, tokenizer.TypeUserDefined)
		}
	}
	return tokens, scores, types
}

// setVocab writes the tokenizer.ggml.* metadata of the named vocabulary.
func setVocab(b *gguf.Builder, name string) {
	tokens, scores, types := vocabFor(name)
	b.Set("tokenizer.ggml.model", "llama")
	b.Set("tokenizer.ggml.tokens", tokens)
	b.Set("tokenizer.ggml.scores", scores)
	b.Set("tokenizer.ggml.token_type", types)
	b.Set("tokenizer.ggml.bos_token_id", uint32(bosID))
	b.Set("tokenizer.ggml.eos_token_id", uint32(eosID))
	b.Set("tokenizer.ggml.unknown_token_id", uint32(unkID))
	b.Set("tokenizer.ggml.add_bos_token", true)
	b.Set("tokenizer.ggml.add_eos_token", false)
	if name == VocabSynthThink {
		// SentencePiece's space prefix goes before text that follows a
		// special token, so a thought generated after "<think>" as
		// "▁Mia ..." reads back as " Mia ...", and the prompt of budget
		// forcing, "<think> Mia ...", would encode to one token more than
		// the model wrote. Without the prefix, text round-trips through
		// the markers token for token (the first word of a prompt loses
		// its "▁", which training sees the same way).
		b.Set("tokenizer.ggml.add_space_prefix", false)
	}
}

// SynthTokenizer returns pareto's tokenizer for the synth vocabulary, built
// from the same GGUF metadata ExportGGUF writes, so training tokenises
// exactly as inference on the exported model will.
func SynthTokenizer() (*tokenizer.Tokenizer, error) { return vocabTokenizer(VocabSynth) }

// vocabTokenizer is SynthTokenizer for any vocabulary a config can name.
func vocabTokenizer(name string) (*tokenizer.Tokenizer, error) {
	b := gguf.NewBuilder()
	b.Set("general.architecture", "llama")
	setVocab(b, name)
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("train: synth vocabulary: %w", err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("train: synth vocabulary: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("train: synth vocabulary: %w", err)
	}
	return tok, nil
}
