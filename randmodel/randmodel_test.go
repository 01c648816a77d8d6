package randmodel

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/think"
	"github.com/pareto-llm/pareto/tokenizer"
)

func tiny() Config {
	c := Small()
	c.DModel, c.Layers, c.Heads, c.KVHeads, c.FFN = 64, 2, 4, 2, 96
	return c
}

func writeOpen(t *testing.T, cfg Config) *gguf.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMetadataAndTensors(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2"} {
		cfg := tiny()
		cfg.Arch = arch
		f := writeOpen(t, cfg)
		if f.Version != 3 || f.Alignment != 32 {
			t.Errorf("version %d alignment %d", f.Version, f.Alignment)
		}
		u32 := map[string]uint32{
			arch + ".context_length": 2048, arch + ".embedding_length": 64, arch + ".block_count": 2,
			arch + ".feed_forward_length": 96, arch + ".attention.head_count": 4, arch + ".attention.head_count_kv": 2,
			arch + ".rope.dimension_count": 16, "general.file_type": 0, "tokenizer.ggml.bos_token_id": 1,
			"tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.unknown_token_id": 0,
		}
		for k, v := range u32 {
			if got, ok := f.Metadata[k].(uint32); !ok || got != v {
				t.Errorf("%s: %s = %#v, want uint32 %d", arch, k, f.Metadata[k], v)
			}
		}
		for k, v := range map[string]float32{arch + ".attention.layer_norm_rms_epsilon": 1e-5, arch + ".rope.freq_base": 10000} {
			if got, ok := f.Metadata[k].(float32); !ok || got != v {
				t.Errorf("%s: %s = %#v, want float32 %v", arch, k, f.Metadata[k], v)
			}
		}
		if s, _ := f.String("general.architecture"); s != arch {
			t.Errorf("architecture %q", s)
		}
		if b, ok := f.Bool("tokenizer.ggml.add_bos_token"); !ok || !b {
			t.Error("add_bos_token not true")
		}
		toks, _ := f.Strings("tokenizer.ggml.tokens")
		n := uint64(len(toks))
		if n < 480 || n > 512 {
			t.Errorf("vocabulary of %d tokens for a 512 target", n)
		}
		dims := map[string][]uint64{
			"token_embd.weight": {64, n}, "output.weight": {64, n}, "output_norm.weight": {64},
			"blk.1.attn_q.weight": {64, 64}, "blk.1.attn_k.weight": {64, 32}, "blk.1.attn_v.weight": {64, 32},
			"blk.1.attn_output.weight": {64, 64}, "blk.1.ffn_gate.weight": {64, 96}, "blk.1.ffn_up.weight": {64, 96},
			"blk.1.ffn_down.weight": {96, 64}, "blk.1.attn_norm.weight": {64}, "blk.1.ffn_norm.weight": {64},
		}
		if arch == "qwen2" {
			dims["blk.0.attn_q.bias"] = []uint64{64}
			dims["blk.0.attn_k.bias"] = []uint64{32}
			dims["blk.0.attn_v.bias"] = []uint64{32}
		} else if _, ok := f.Tensor("blk.0.attn_q.bias"); ok {
			t.Error("llama model has attention biases")
		}
		for name, d := range dims {
			ti, ok := f.Tensor(name)
			if !ok || !reflect.DeepEqual(ti.Dims, d) {
				t.Errorf("%s: %s dims %v %v, want %v", arch, name, ti.Dims, ok, d)
			}
		}
		wantTensors := 3 + 9*2
		if arch == "qwen2" {
			wantTensors += 3 * 2
		}
		if len(f.Tensors) != wantTensors {
			t.Errorf("%s: %d tensors, want %d", arch, len(f.Tensors), wantTensors)
		}
		// Weights have the configured spread: std ≈ 1/sqrt(64) for attn_q.
		q, err := f.Float32s("blk.0.attn_q.weight")
		if err != nil {
			t.Fatal(err)
		}
		var ss float64
		for _, v := range q {
			ss += float64(v) * float64(v)
		}
		if std := math.Sqrt(ss / float64(len(q))); math.Abs(std-0.125) > 0.01 {
			t.Errorf("attn_q std %v, want ~0.125", std)
		}
	}
}

func TestQuantisedMatchesF32(t *testing.T) {
	base := tiny()
	ref := writeOpen(t, base)
	want, _ := ref.Float32s("blk.0.ffn_up.weight")
	for _, typ := range []gguf.Type{gguf.TypeF16, gguf.TypeQ8_0} {
		cfg := base
		cfg.TensorType = typ
		f := writeOpen(t, cfg)
		ti, _ := f.Tensor("blk.0.ffn_up.weight")
		if ti.Type != typ {
			t.Errorf("tensor type %s, want %s", ti.Type, typ)
		}
		if nt, _ := f.Tensor("blk.0.ffn_norm.weight"); nt.Type != gguf.TypeF32 {
			t.Errorf("norm stored as %s", nt.Type)
		}
		got, err := f.Float32s("blk.0.ffn_up.weight")
		if err != nil {
			t.Fatal(err)
		}
		var maxErr float64
		for i := range got {
			maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
		}
		// |w| rarely exceeds 5 std = 0.625; Q8_0 error ≤ amax/254, F16 ≤ |w|/2048.
		if limit := map[gguf.Type]float64{gguf.TypeF16: 0.001, gguf.TypeQ8_0: 0.004}[typ]; maxErr > limit || maxErr == 0 {
			t.Errorf("%s: max error %v (limit %v)", typ, maxErr, limit)
		}
		if ft, _ := f.Uint("general.file_type"); ft != map[gguf.Type]uint64{gguf.TypeF16: 1, gguf.TypeQ8_0: 7}[typ] {
			t.Errorf("%s: file_type %d", typ, ft)
		}
	}
}

func TestTiedAndDeterministic(t *testing.T) {
	cfg := tiny()
	cfg.TiedOutput = true
	f := writeOpen(t, cfg)
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("tied model has output.weight")
	}
	g := writeOpen(t, cfg)
	a, _ := f.Float32s("blk.1.ffn_down.weight")
	b, _ := g.Float32s("blk.1.ffn_down.weight")
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different weights")
	}
	cfg.Seed++
	h := writeOpen(t, cfg)
	c, _ := h.Float32s("blk.1.ffn_down.weight")
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same weights")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"arch":  func(c *Config) { c.Arch = "gemma" },
		"vocab": func(c *Config) { c.Vocab = "bert" },
		"heads": func(c *Config) { c.Heads = 3 },
		"kv":    func(c *Config) { c.KVHeads = 3 },
		"type":  func(c *Config) { c.TensorType = gguf.TypeQ4_0 },
		"q8":    func(c *Config) { c.TensorType = gguf.TypeQ8_0; c.FFN = 100 },
		"small": func(c *Config) { c.VocabSize = 100 },
	} {
		c := tiny()
		mod(&c)
		if err := Write(filepath.Join(t.TempDir(), "x.gguf"), c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

var texts = []string{
	"hello", "Hello, World!", "  leading and trailing  ", "digits 0123456789 and 3.14159",
	"punct: !@#$%^&*()_+-=[]{}|;':\",./<>?`~", "new\nlines\n\n\nand\ttabs\r\n",
	"unicode: héllo wörld ñ 中文 日本語 русский", "emoji 😀👍🏽 🇫🇷", "a", " ", "\n",
	"multiple     spaces", "it's they're we've I'm you'll he'd",
	"Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
}

func TestTokenizerRoundTrip(t *testing.T) {
	for _, v := range []struct{ vocab, pre string }{{"llama", ""}, {"gpt2", "default"}, {"gpt2", "llama3"}, {"gpt2", "qwen2"}} {
		cfg := tiny()
		cfg.Vocab, cfg.Pre = v.vocab, v.pre
		f := writeOpen(t, cfg)
		tk, err := tokenizer.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		total, chars := 0, 0
		for _, s := range texts {
			ids := tk.Encode(s, false)
			if got := tk.Decode(ids); got != s {
				t.Errorf("%s/%s: round trip %q -> %q", v.vocab, v.pre, s, got)
			}
			total += len(ids)
			chars += len(s)
		}
		// Trained merges must compress English: well under one token per byte.
		if total*10 > chars*8 {
			t.Errorf("%s/%s: %d tokens for %d bytes: merges are not applied", v.vocab, v.pre, total, chars)
		}
		withBOS := tk.Encode("the", true)
		if len(withBOS) < 2 || withBOS[0] != tk.BOS() || !tk.IsControl(tk.BOS()) {
			t.Errorf("%s: Encode with BOS = %v", v.vocab, withBOS)
		}
	}
}

// A thinker stand-in has <think> and </think> as single user-defined
// tokens, which its tokenizer reads out of text, and names them as its
// markers unless told not to; without ThinkTokens the file has neither.
func TestThinkTokens(t *testing.T) {
	for _, vocab := range []string{"llama", "gpt2"} {
		for _, unnamed := range []bool{false, true} {
			cfg := tiny()
			cfg.Vocab, cfg.ThinkTokens, cfg.ThinkUnnamed = vocab, true, unnamed
			f := writeOpen(t, cfg)
			toks, _ := f.Strings("tokenizer.ggml.tokens")
			types, _ := f.Int32Array("tokenizer.ggml.token_type")
			n := len(toks)
			if toks[n-2] != "<think>" || toks[n-1] != "</think>" || types[n-2] != 4 || types[n-1] != 4 {
				t.Fatalf("%s: last tokens %q (types %v), want <think> and </think>, user-defined", vocab, toks[n-2:], types[n-2:])
			}
			if ti, _ := f.Tensor("token_embd.weight"); ti.Dims[1] != uint64(n) {
				t.Fatalf("%s: token_embd has %d rows for %d tokens", vocab, ti.Dims[1], n)
			}
			start, ok1 := f.String(think.KeyStart)
			end, ok2 := f.String(think.KeyEnd)
			if unnamed == (ok1 || ok2) || (!unnamed && (start != "<think>" || end != "</think>")) {
				t.Fatalf("%s, unnamed %v: markers named %q (%v), %q (%v)", vocab, unnamed, start, ok1, end, ok2)
			}
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			ids := tok.Encode("a<think>b</think>c", false)
			if !slices.Contains(ids, n-2) || !slices.Contains(ids, n-1) {
				t.Fatalf("%s: the markers encode to %v, without ids %d and %d", vocab, ids, n-2, n-1)
			}
		}
		cfg := tiny()
		cfg.Vocab = vocab
		f := writeOpen(t, cfg)
		toks, _ := f.Strings("tokenizer.ggml.tokens")
		_, named := f.String(think.KeyStart)
		if slices.Contains(toks, "<think>") || named {
			t.Fatalf("%s: a model without ThinkTokens has thought markers", vocab)
		}
	}
}
