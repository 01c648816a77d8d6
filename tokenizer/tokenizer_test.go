package tokenizer

import (
	"reflect"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
)

// load builds a tokenizer from metadata via a real GGUF encoding.
func load(t *testing.T, set func(b *gguf.Builder)) *Tokenizer {
	t.Helper()
	b := gguf.NewBuilder()
	set(b)
	f := parse(t, b)
	tk, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func parse(t *testing.T, b *gguf.Builder) *gguf.File {
	t.Helper()
	var buf bytesBuffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// spmVocab: ids 0 <unk>, 1 <s>, 2 </s>, 3 ▁, 4 a, 5 b, 6 c, 7 ab, 8 bc, 9 ▁a, 10 <0x21>.
func spmVocab(t *testing.T) *Tokenizer {
	return load(t, func(b *gguf.Builder) {
		b.Set("tokenizer.ggml.model", "llama")
		b.Set("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "ab", "bc", "\u2581a", "<0x21>"})
		b.Set("tokenizer.ggml.scores", []float32{0, 0, 0, -10, -10, -10, -10, -1, -0.5, -2, 0})
		b.Set("tokenizer.ggml.token_type", []int32{2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6})
	})
}

func TestSPMHandChecked(t *testing.T) {
	tk := spmVocab(t)
	cases := []struct {
		text         string
		bos, special bool
		want         []int
	}{
		// "▁abc": bc (-0.5) beats ab (-1), then ▁a (-2): [▁a, bc].
		{"abc", false, true, []int{9, 8}},
		{"abc!", true, true, []int{1, 9, 8, 10}},
		{"abc !", false, true, []int{9, 8, 3, 10}},
		{"a<s>b", false, true, []int{9, 1, 3, 5}},
		// Without special parsing "<", "s", ">" have no tokens and no byte
		// tokens, so they fall back to <unk>.
		{"a<s>b", false, false, []int{9, 0, 0, 0, 5}},
		{"", true, true, []int{1}},
		{"", false, true, nil},
		// "▁ab": ab (-1) beats ▁a (-2) and "▁ab" is no token.
		{"ab", false, true, []int{3, 7}},
	}
	for _, c := range cases {
		if got := tk.EncodeSpecial(c.text, c.bos, c.special); !reflect.DeepEqual(got, c.want) {
			t.Errorf("EncodeSpecial(%q, %v, %v) = %v, want %v", c.text, c.bos, c.special, got, c.want)
		}
	}
	if got := tk.Decode([]int{9, 8, 3, 10}); got != "abc !" {
		t.Errorf("Decode = %q", got)
	}
	if tk.Piece(9) != " a" || tk.Piece(10) != "!" || tk.Piece(1) != "<s>" || tk.Piece(99) != "" {
		t.Errorf("pieces %q %q %q", tk.Piece(9), tk.Piece(10), tk.Piece(1))
	}
	if tk.BOS() != 1 || tk.EOS() != 2 || tk.VocabSize() != 11 || !tk.IsControl(2) || tk.IsControl(4) {
		t.Errorf("bos %d eos %d size %d", tk.BOS(), tk.EOS(), tk.VocabSize())
	}
}

// bpeVocab: the 256 byte symbols, then merges Ġ t, h e, Ġt he, t he.
func bpeVocab(t *testing.T, pre string) *Tokenizer {
	return load(t, func(b *gguf.Builder) {
		var toks []string
		var types []int32
		for i := 0; i < 256; i++ {
			toks = append(toks, string(byteToRune[i]))
			types = append(types, 1)
		}
		toks = append(toks, "Ġt", "he", "Ġthe", "the", "<|eot|>")
		types = append(types, 1, 1, 1, 1, 3)
		b.Set("tokenizer.ggml.model", "gpt2")
		b.Set("tokenizer.ggml.pre", pre)
		b.Set("tokenizer.ggml.tokens", toks)
		b.Set("tokenizer.ggml.token_type", types)
		b.Set("tokenizer.ggml.merges", []string{"Ġ t", "h e", "Ġt he", "t he"})
		b.Set("tokenizer.ggml.bos_token_id", uint32(260))
		b.Set("tokenizer.ggml.eos_token_id", uint32(260))
		b.Set("tokenizer.ggml.add_bos_token", false)
	})
}

func TestBPEHandChecked(t *testing.T) {
	for _, pre := range []string{"default", "gpt-2", "llama3", "qwen2"} {
		tk := bpeVocab(t, pre)
		// "the" merges h+e (rank 1) then t+he (rank 3); " the" merges Ġ+t
		// (rank 0), h+e, then Ġt+he (rank 2).
		want := []int{259, 258, '!', 260, 't'}
		if got := tk.Encode("the the!<|eot|>t", true); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Encode = %v, want %v", pre, got, want)
		}
		if got := tk.Decode(want); got != "the the!<|eot|>t" {
			t.Errorf("%s: Decode = %q", pre, got)
		}
		if got := tk.Piece(' '); got != " " {
			t.Errorf("%s: Piece(space) = %q", pre, got)
		}
	}
	if _, err := lookupPre("tekken"); err == nil {
		t.Error("unimplemented pre-tokenizer accepted")
	}
}

func TestPreTokenizers(t *testing.T) {
	cases := []struct {
		pre  preType
		text string
		want []string
	}{
		{preGPT2, "Hello world's  12345 !!x\n\n  y ", []string{"Hello", " world", "'s", " ", " 12345", " !!", "x", "\n\n ", " y", " "}},
		{preDefault, "don't stop... 12345 a`b", []string{"don", "'", "t", " stop", "...", " ", "123", "45", " a", "`", "b"}},
		{preLlama3, "Hello WORLD'S 12345\n\n  x  \ty", []string{"Hello", " WORLD", "'S", " ", "123", "45", "\n\n", " ", " x", "  ", "\ty"}},
		{preQwen2, "ab 123 (x)!\n", []string{"ab", " ", "1", "2", "3", " (", "x", ")!\n"}},
		{preLlama3, "é😀 ñ", []string{"é", "😀", " ñ"}},
	}
	for _, c := range cases {
		if got := c.pre.split(c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("pre %d split(%q) = %q, want %q", c.pre, c.text, got, c.want)
		}
	}
}

func TestByteLevelMapping(t *testing.T) {
	for b := 0; b < 256; b++ {
		s := string([]byte{byte(b)})
		if got := decodeByteLevel(encodeByteLevel(s)); got != s {
			t.Fatalf("byte %d round trip gave %q", b, got)
		}
	}
	if encodeByteLevel(" \n") != "ĠĊ" {
		t.Errorf("space/newline map to %q", encodeByteLevel(" \n"))
	}
}

var roundTripCorpus = []string{
	"hello", "Hello, World!", "  leading and trailing  ", "digits 0123456789 and 3.14159",
	"punct: !@#$%^&*()_+-=[]{}|;':\",./<>?`~", "new\nlines\n\n\nand\ttabs\r\n",
	"unicode: héllo wörld ñ 中文 日本語 русский", "emoji 😀👍🏽 🇫🇷", "a", " ", "\n",
	"multiple     spaces", "it's they're we've I'm you'll he'd",
}

func TestRoundTripHandVocabs(t *testing.T) {
	bpe := bpeVocab(t, "llama3")
	for _, s := range roundTripCorpus {
		if got := bpe.Decode(bpe.Encode(s, false)); got != s {
			t.Errorf("bpe round trip %q -> %q", s, got)
		}
	}
}

func TestFromGGUFErrors(t *testing.T) {
	for name, set := range map[string]func(b *gguf.Builder){
		"no model": func(b *gguf.Builder) { b.Set("tokenizer.ggml.tokens", []string{"a"}) },
		"bad model": func(b *gguf.Builder) {
			b.Set("tokenizer.ggml.model", "t5")
			b.Set("tokenizer.ggml.tokens", []string{"a"})
		},
		"no merges": func(b *gguf.Builder) {
			b.Set("tokenizer.ggml.model", "gpt2")
			b.Set("tokenizer.ggml.tokens", []string{"a"})
		},
		"scores len": func(b *gguf.Builder) {
			b.Set("tokenizer.ggml.model", "llama")
			b.Set("tokenizer.ggml.tokens", []string{"a", "b", "c"})
			b.Set("tokenizer.ggml.scores", []float32{1})
		},
		"duplicate": func(b *gguf.Builder) {
			b.Set("tokenizer.ggml.model", "llama")
			b.Set("tokenizer.ggml.tokens", []string{"a", "b", "a"})
		},
	} {
		b := gguf.NewBuilder()
		set(b)
		if _, err := FromGGUF(parse(t, b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
