package engine

import (
	"fmt"
	"testing"

	"github.com/pareto-llm/pareto/models"
)

// The speed workloads of issue 4 (pareto bench engine measures the same
// against Ollama): decoding one sequence, and a search step of 16 samples
// of 128 tokens from one 200-token prompt. They run here on the engine
// alone, every sequence for its full length (no end-of-sequence stop), on
// the shipped policy and on random models of about 5M and 100M parameters.

const (
	benchPrompt  = 200
	benchTokens  = 128
	benchSamples = 16
)

// shippedModel loads the shipped policy, failing tb when it cannot. (Not
// models/modelstest: it imports the embedded backend, which imports engine.)
func shippedModel(tb testing.TB) *Model {
	tb.Helper()
	path, err := models.Path(models.Default)
	var m *Model
	if err == nil {
		m, err = Load(path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// benchModel returns one of the models of the speed floors: the shipped
// policy, or random models shaped as enginebench.RandomConfig shapes them
// for 5e6 and 1e8 parameters (made in memory, no file).
func benchModel(b *testing.B, name string) *Model {
	b.Helper()
	var m *Model
	var err error
	switch name {
	case "shipped":
		m = shippedModel(b)
	case "rand5M": // 4.7M parameters
		m, err = newRandom(Config{Arch: ArchLlama, Vocab: 512, DModel: 256, Layers: 6, Heads: 4, KVHeads: 2, HeadDim: 64,
			FFN: 704, Context: 2048, RopeBase: 10000, RMSEps: 1e-5}, randomOptions{Seed: 1})
	case "rand100M", "rand100Mq8": // 96.7M parameters
		kind := KindF32
		if name == "rand100Mq8" {
			kind = KindQ8_0
		}
		m, err = newRandom(Config{Arch: ArchLlama, Vocab: 8000, DModel: 768, Layers: 13, Heads: 12, KVHeads: 6, HeadDim: 64,
			FFN: 2048, Context: 2048, RopeBase: 10000, RMSEps: 1e-5}, randomOptions{Seed: 1, Kind: kind})
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := m.SetContext(2048); err != nil {
		b.Fatal(err)
	}
	m.GGMLNumerics = true // as models loaded for Ollama parity run
	return m
}

var benchModelNames = []string{"shipped", "rand5M", "rand100M"}

// BenchmarkDecodeBatch1 is greedy decoding of one sequence after a
// 200-token prompt, in tokens per second (prefill not timed).
func BenchmarkDecodeBatch1(b *testing.B) {
	for _, name := range benchModelNames {
		b.Run(name, func(b *testing.B) {
			m := benchModel(b, name)
			prompt := randTokens(benchPrompt, m.Config.Vocab, 1)
			base := m.NewSeq()
			if _, err := m.Prefill(base, prompt); err != nil {
				b.Fatal(err)
			}
			seqs, toks := []*Seq{nil}, []int{0}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				s := base.Fork()
				seqs[0] = s
				b.StartTimer()
				for range benchTokens {
					toks[0] = Greedy(s.Logits())
					if _, err := m.Step(seqs, toks); err != nil {
						b.Fatal(err)
					}
				}
				s.Release()
			}
			b.ReportMetric(float64(b.N*benchTokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkSearch is a search step: prefill a 200-token prompt once, then
// 16 samples (temperature 0.8, top-k 40, top-p 0.9) of 128 tokens decoded
// together, in generated tokens per second of wall time, prefill included.
func BenchmarkSearch(b *testing.B) {
	for _, name := range append(benchModelNames, "rand100Mq8") {
		b.Run(name, func(b *testing.B) {
			m := benchModel(b, name)
			seqs := make([]*Seq, benchSamples)
			samplers := make([]*Sampler, benchSamples)
			toks := make([]int, benchSamples)
			b.ResetTimer()
			for n := range b.N {
				prompt := randTokens(benchPrompt, m.Config.Vocab, uint64(n))
				base := m.NewSeq()
				if _, err := m.Prefill(base, prompt); err != nil {
					b.Fatal(err)
				}
				for i := range seqs {
					seqs[i] = base.Fork() // the prompt's KV is shared, not copied
					samplers[i] = NewSampler(SamplerConfig{Temperature: 0.8, TopK: 40, TopP: 0.9, Seed: uint64(n*benchSamples + i)})
				}
				for range benchTokens {
					for i, s := range seqs {
						toks[i] = samplers[i].Sample(s.Logits())
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
			b.ReportMetric(float64(b.N*benchTokens*benchSamples)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill is the prefill of a 200-token prompt into a new
// sequence, in prompt tokens per second.
func BenchmarkPrefill(b *testing.B) {
	for _, name := range append(benchModelNames, "rand100Mq8") {
		b.Run(name, func(b *testing.B) {
			m := benchModel(b, name)
			prompt := randTokens(benchPrompt, m.Config.Vocab, 1)
			for b.Loop() {
				s := m.NewSeq()
				if _, err := m.Prefill(s, prompt); err != nil {
					b.Fatal(err)
				}
				s.Release()
			}
			b.ReportMetric(float64(b.N*benchPrompt)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkMatMulQ8Batch is the Q8_0 matmul of ggml numerics (activations
// quantized to Q8_0 first, quantization timed too) on the 100M random
// model's feed-forward shapes (768 -> 2048 as Gate and Up, 2048 -> 768 as
// Down), for the rows of decoding one sequence (1), of a search step (16)
// and of a prompt (200), in GFLOP/s. Kernels: vnni is the 4x8 AVX-512 (BW,
// VL, VNNI) kernel (where the CPU has it), vnni4 the 4x4 one it
// replaced, at batch 1 the 8x1 one
// (dotQ8Q8Rows), avx2 the 4x4 blocking on two 2x4 AVX2 kernels (not at
// batch 1, which has no AVX2 kernel), pair the per-pair dotQ8Q8Impl loop
// that they replaced.
func BenchmarkMatMulQ8Batch(b *testing.B) {
	for _, sh := range []struct{ rows, cols int }{{2048, 768}, {768, 2048}} {
		for _, batch := range []int{1, 16, 200} {
			for _, kernel := range []string{"vnni", "vnni4", "avx2", "pair"} {
				if (kernel == "vnni" || kernel == "vnni4") && !hasVNNI || (kernel == "avx2" || kernel == "vnni4") && batch == 1 {
					continue
				}
				b.Run(fmt.Sprintf("%dx%d/b%d/%s", sh.rows, sh.cols, batch, kernel), func(b *testing.B) {
					defer func(v, p, o bool) { hasVNNI, q8q8PerPair, q8Only4 = v, p, o }(hasVNNI, q8q8PerPair, q8Only4)
					hasVNNI = hasVNNI && (kernel == "vnni" || kernel == "vnni4")
					q8Only4 = kernel == "vnni4"
					q8q8PerPair = kernel == "pair"
					benchMatmul(b, sh.rows, sh.cols, batch, KindQ8_0)
				})
			}
		}
	}
}
