package engine

import (
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/randmodel"
)

func writeRand(tb testing.TB, cfg randmodel.Config) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "rand.gguf")
	if err := randmodel.Write(path, cfg); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestLoadRandmodel loads the random GGUF files that are compared with
// Ollama and checks the fast forward pass against the reference on them.
func TestLoadRandmodel(t *testing.T) {
	base := randmodel.Config{VocabSize: 600, DModel: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 128, Context: 256, Seed: 3}
	cases := []struct {
		name string
		edit func(*randmodel.Config)
	}{
		{"llama-f32", func(c *randmodel.Config) {}},
		{"llama-f16-tied", func(c *randmodel.Config) { c.TensorType, c.TiedOutput = gguf.TypeF16, true }},
		{"qwen2-q8", func(c *randmodel.Config) { c.Arch, c.Vocab, c.TensorType = "qwen2", "gpt2", gguf.TypeQ8_0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			m, err := Load(writeRand(t, cfg))
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			wantArch := cfg.Arch
			if wantArch == "" {
				wantArch = ArchLlama
			}
			if c.Arch != wantArch || c.DModel != 64 || c.Layers != 2 || c.KVHeads != 2 || c.FFN != 128 {
				t.Fatalf("config %+v does not match the file's %+v", c, cfg)
			}
			if (m.Weights.Output == nil) != cfg.TiedOutput {
				t.Fatal("tied output not detected")
			}
			if c.Arch == ArchQwen2 && m.Weights.Layers[0].Bq == nil {
				t.Fatal("qwen2 biases not loaded")
			}
			toks := randTokens(24, c.Vocab, 2)
			ref := referenceLogits(m, toks)
			for _, ggml := range []bool{false, true} {
				m.GGMLNumerics = ggml
				s := m.NewSeq()
				if _, err := m.Prefill(s, toks[:20]); err != nil {
					t.Fatal(err)
				}
				for p := 20; p < len(toks); p++ {
					if _, err := m.Step([]*Seq{s}, []int{toks[p]}); err != nil {
						t.Fatal(err)
					}
				}
				tol := 1e-4
				if ggml {
					tol = 2e-2
				}
				if e := maxRelErr(s.Logits(), ref[len(toks)-1]); e > tol {
					t.Fatalf("GGMLNumerics=%v: relative error %.3g > %g", ggml, e, tol)
				}
			}
		})
	}
}

// BenchmarkDecodeSmall is single-sequence greedy decoding on
// randmodel.Small(), in tokens per second.
func BenchmarkDecodeSmall(b *testing.B) {
	m, err := Load(writeRand(b, randmodel.Small()))
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, m, 1)
}

// BenchmarkDecodeSmallBatch16 decodes 16 sequences at once, in total
// tokens per second.
func BenchmarkDecodeSmallBatch16(b *testing.B) {
	m, err := Load(writeRand(b, randmodel.Small()))
	if err != nil {
		b.Fatal(err)
	}
	benchDecode(b, m, 16)
}

func benchDecode(b *testing.B, m *Model, batch int) {
	const steps = 64
	prompt := randTokens(16, m.Config.Vocab, 1)
	b.ResetTimer()
	for range b.N {
		base := m.NewSeq()
		if _, err := m.Prefill(base, prompt); err != nil {
			b.Fatal(err)
		}
		seqs := make([]*Seq, batch)
		toks := make([]int, batch)
		for i := range seqs {
			seqs[i] = base.Fork()
		}
		for range steps {
			for i, s := range seqs {
				toks[i] = Greedy(s.Logits())
			}
			if _, err := m.Step(seqs, toks); err != nil {
				b.Fatal(err)
			}
		}
		base.Release()
		for _, s := range seqs {
			s.Release()
		}
	}
	b.ReportMetric(float64(b.N*steps*batch)/b.Elapsed().Seconds(), "tokens/s")
}
