package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
)

// ggufOf writes m to a GGUF builder with matrices stored as typ; edit may
// change the builder before it is written.
func ggufOf(t *testing.T, m *Model, typ gguf.Type, edit func(b *gguf.Builder)) string {
	t.Helper()
	c := m.Config
	b := gguf.NewBuilder()
	a := c.Arch
	b.Set("general.architecture", a)
	b.SetLlama(a, gguf.Llama{Context: c.Context, DModel: c.DModel, Layers: c.Layers, FFN: c.FFN, Heads: c.Heads,
		KVHeads: c.KVHeads, RMSEps: c.RMSEps, RopeDims: c.HeadDim, RopeTheta: c.RopeBase})
	if edit != nil {
		edit(b)
	}
	full := func(x *Mat) []float32 {
		v := make([]float32, x.Rows*x.Cols)
		for r := range x.Rows {
			x.Row(r, v[r*x.Cols:])
		}
		return v
	}
	add := func(name string, x *Mat) {
		if err := b.AddTensor(name, []uint64{uint64(x.Cols), uint64(x.Rows)}, typ, full(x)); err != nil {
			t.Fatal(err)
		}
	}
	vec := func(name string, v []float32) {
		if v == nil {
			return
		}
		if err := b.AddTensor(name, []uint64{uint64(len(v))}, gguf.TypeF32, v); err != nil {
			t.Fatal(err)
		}
	}
	w := m.Weights
	add("token_embd.weight", w.Embed)
	vec("output_norm.weight", w.OutputNorm)
	if w.Output != nil {
		add("output.weight", w.Output)
	}
	for i, l := range w.Layers {
		p := "blk." + itoa(i) + "."
		vec(p+"attn_norm.weight", l.AttnNorm)
		add(p+"attn_q.weight", l.Wq)
		add(p+"attn_k.weight", l.Wk)
		add(p+"attn_v.weight", l.Wv)
		add(p+"attn_output.weight", l.Wo)
		vec(p+"attn_q.bias", l.Bq)
		vec(p+"attn_k.bias", l.Bk)
		vec(p+"attn_v.bias", l.Bv)
		vec(p+"ffn_norm.weight", l.FFNNorm)
		add(p+"ffn_gate.weight", l.Gate)
		add(p+"ffn_up.weight", l.Up)
		add(p+"ffn_down.weight", l.Down)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func TestLoadRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		opt  randomOptions
		typ  gguf.Type
	}{
		{"llama-f32-tied", tinyConfig(ArchLlama, 8, 2), randomOptions{Seed: 1, Tied: true}, gguf.TypeF32},
		{"qwen2-f16", tinyConfig(ArchQwen2, 4, 2), randomOptions{Seed: 2, Kind: KindF16}, gguf.TypeF16},
		{"llama-q8", tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 3}, gguf.TypeQ8_0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newRandom(tc.cfg, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(ggufOf(t, m, tc.typ, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != m.Config {
				t.Fatalf("config %+v, want %+v", got.Config, m.Config)
			}
			if (got.Weights.Output == nil) != tc.opt.Tied {
				t.Fatalf("tied output not preserved")
			}
			if want := map[gguf.Type]Kind{gguf.TypeF32: KindF32, gguf.TypeF16: KindF16, gguf.TypeQ8_0: KindQ8_0}[tc.typ]; got.Weights.Layers[0].Wq.Kind != want {
				t.Fatalf("Wq kind %v, want %v", got.Weights.Layers[0].Wq.Kind, want)
			}
			got.GGMLNumerics = false
			toks := randTokens(12, tc.cfg.Vocab, 4)
			s1, s2 := m.NewSeq(), got.NewSeq()
			if _, err := m.Prefill(s1, toks); err != nil {
				t.Fatal(err)
			}
			if _, err := got.Prefill(s2, toks); err != nil {
				t.Fatal(err)
			}
			ref := make([]float64, tc.cfg.Vocab)
			for i, v := range s1.Logits() {
				ref[i] = float64(v)
			}
			tol := 0.0 // F32 and F16 store the same values exactly
			if tc.typ == gguf.TypeQ8_0 {
				tol = 0.05
			}
			if e := maxRelErr(s2.Logits(), ref); e > tol {
				t.Fatalf("loaded logits differ: relative error %.3g > %g", e, tol)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 2), randomOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	missing := ggufOf(t, m, gguf.TypeF32, nil)
	// Rewrite without the epsilon by building a copy with a different arch key.
	cases := []struct {
		name string
		edit func(*gguf.Builder)
		mut  func(*Model)
		want string
	}{
		{"arch", func(b *gguf.Builder) { b.Set("general.architecture", "gpt2") }, nil, "gpt2"},
		{"heads", func(b *gguf.Builder) { b.Set("llama.attention.head_count_kv", uint32(3)) }, nil, "kv heads"},
		{"ffn", func(b *gguf.Builder) { b.Set("llama.feed_forward_length", uint32(100)) }, nil, "blk.0.ffn_gate.weight"},
		{"layers", func(b *gguf.Builder) { b.Set("llama.block_count", uint32(3)) }, nil, "blk.2.attn_norm.weight missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(ggufOf(t, m, gguf.TypeF32, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Load(missing); err != nil {
		t.Fatalf("unedited file: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.gguf")); err == nil {
		t.Fatal("missing file loaded")
	}
}
