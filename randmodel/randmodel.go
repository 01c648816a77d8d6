// Package randmodel writes llama- and qwen2-architecture GGUF files with
// random weights and a small generated vocabulary, for engine tests that
// compare pareto's engine with Ollama token for token and for `pareto bench
// engine --random-params`.
package randmodel

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/think"
	"github.com/pareto-llm/pareto/tokenizer"
)

// Config describes the random model to write. Zero fields take defaults.
type Config struct {
	Arch      string // "llama" (default) or "qwen2"
	Vocab     string // "llama" (SentencePiece, default) or "gpt2" (byte-level BPE)
	Pre       string // tokenizer.ggml.pre for gpt2 vocabularies: "default" (default), "llama3" or "qwen2"
	VocabSize int    // approximate target; the generated vocabulary may be a little smaller

	DModel, Layers, Heads, KVHeads, FFN, Context int

	TensorType gguf.Type // F32 (default), F16 or Q8_0 for the large matrices; norms and biases stay F32
	TiedOutput bool      // omit output.weight so token_embd doubles as the output projection
	Seed       int64
	// Scale is the weight standard deviation of the projection matrices; 0
	// means 1/sqrt(fan_in), which keeps activations O(1). Embeddings are
	// N(0,1) and the output projection 3/sqrt(DModel) so logits have spread.
	Scale float32
	// ThinkTokens makes a thinking-model stand-in, as pareto's thinker is
	// written: the vocabulary gains the user-defined tokens <think> and
	// </think> at its end, the file names them as its thought markers
	// (pareto.think.start and pareto.think.end) unless ThinkUnnamed, and a
	// SentencePiece vocabulary adds no space prefix.
	ThinkTokens, ThinkUnnamed bool
}

// Small is a ~3.5M-parameter llama with a 512-token SentencePiece vocabulary.
func Small() Config {
	return Config{Arch: "llama", Vocab: "llama", VocabSize: 512, DModel: 256, Layers: 4, Heads: 8, KVHeads: 4,
		FFN: 768, Context: 2048, TensorType: gguf.TypeF32, Seed: 1}
}

func (c *Config) defaults() error {
	if c.Arch == "" {
		c.Arch = "llama"
	}
	if c.Vocab == "" {
		c.Vocab = "llama"
	}
	if c.Pre == "" {
		c.Pre = "default"
	}
	if c.VocabSize == 0 {
		c.VocabSize = 512
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Context == 0 {
		c.Context = 2048
	}
	switch {
	case c.Arch != "llama" && c.Arch != "qwen2":
		return fmt.Errorf("randmodel: Arch %q: want llama or qwen2", c.Arch)
	case c.Vocab != "llama" && c.Vocab != "gpt2":
		return fmt.Errorf("randmodel: Vocab %q: want llama or gpt2", c.Vocab)
	case c.DModel <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.FFN <= 0:
		return fmt.Errorf("randmodel: DModel %d, Layers %d, Heads %d, FFN %d must all be positive", c.DModel, c.Layers, c.Heads, c.FFN)
	case c.DModel%c.Heads != 0 || (c.DModel/c.Heads)%2 != 0:
		return fmt.Errorf("randmodel: DModel %d must split into %d heads of even size", c.DModel, c.Heads)
	case c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("randmodel: Heads %d must be a multiple of KVHeads %d", c.Heads, c.KVHeads)
	case c.TensorType != gguf.TypeF32 && c.TensorType != gguf.TypeF16 && c.TensorType != gguf.TypeQ8_0:
		return fmt.Errorf("randmodel: TensorType %s: want F32, F16 or Q8_0", c.TensorType)
	case c.TensorType == gguf.TypeQ8_0 && (c.DModel%32 != 0 || c.FFN%32 != 0):
		return fmt.Errorf("randmodel: Q8_0 needs DModel %d and FFN %d to be multiples of 32", c.DModel, c.FFN)
	case c.VocabSize < 400 && c.Vocab == "llama":
		return fmt.Errorf("randmodel: VocabSize %d is too small for a SentencePiece vocabulary (need >= 400)", c.VocabSize)
	case c.VocabSize < 300:
		return fmt.Errorf("randmodel: VocabSize %d is too small for a byte-level vocabulary (need >= 300)", c.VocabSize)
	}
	return nil
}

// fileType is llama.cpp's general.file_type for the dominant tensor type.
func fileType(t gguf.Type) uint32 {
	switch t {
	case gguf.TypeF16:
		return 1
	case gguf.TypeQ8_0:
		return 7
	}
	return 0
}

// Build returns the Builder for cfg without writing it.
func Build(cfg Config) (*gguf.Builder, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var v vocab
	if cfg.Vocab == "llama" {
		v = llamaVocab(cfg.VocabSize)
	} else {
		v = gpt2Vocab(cfg.VocabSize)
	}
	if cfg.ThinkTokens {
		for _, m := range []string{think.Default.Open, think.Default.Close} {
			v.tokens, v.scores, v.types = append(v.tokens, m), append(v.scores, 0), append(v.types, tokenizer.TypeUserDefined)
		}
	}
	nVocab := len(v.tokens)
	headDim := cfg.DModel / cfg.Heads
	kvDim := headDim * cfg.KVHeads
	a := cfg.Arch

	b := gguf.NewBuilder()
	b.Set("general.architecture", a)
	b.Set("general.name", fmt.Sprintf("pareto-random-%s-%s-d%d-l%d", a, cfg.Vocab, cfg.DModel, cfg.Layers))
	b.Set("general.file_type", fileType(cfg.TensorType))
	b.SetLlama(a, gguf.Llama{Context: cfg.Context, DModel: cfg.DModel, Layers: cfg.Layers, FFN: cfg.FFN,
		Heads: cfg.Heads, KVHeads: cfg.KVHeads, RMSEps: 1e-5, RopeDims: headDim, RopeTheta: 10000})
	b.Set("tokenizer.ggml.model", cfg.Vocab)
	if cfg.Vocab == "gpt2" {
		b.Set("tokenizer.ggml.pre", cfg.Pre)
	}
	b.Set("tokenizer.ggml.tokens", v.tokens)
	b.Set("tokenizer.ggml.scores", v.scores)
	b.Set("tokenizer.ggml.token_type", v.types)
	if cfg.Vocab == "gpt2" {
		b.Set("tokenizer.ggml.merges", v.merges)
	}
	b.Set("tokenizer.ggml.bos_token_id", uint32(v.bos))
	b.Set("tokenizer.ggml.eos_token_id", uint32(v.eos))
	if v.unk >= 0 {
		b.Set("tokenizer.ggml.unknown_token_id", uint32(v.unk))
	}
	b.Set("tokenizer.ggml.add_bos_token", true)
	b.Set("tokenizer.ggml.add_eos_token", false)
	if cfg.ThinkTokens {
		if cfg.Vocab == "llama" {
			b.Set("tokenizer.ggml.add_space_prefix", false)
		}
		if !cfg.ThinkUnnamed {
			b.Set(think.KeyStart, think.Default.Open)
			b.Set(think.KeyEnd, think.Default.Close)
		}
	}

	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	normal := func(n int, mean, std float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(mean + std*rng.NormFloat64())
		}
		return out
	}
	std := func(fanIn int) float64 {
		if cfg.Scale > 0 {
			return float64(cfg.Scale)
		}
		return 1 / math.Sqrt(float64(fanIn))
	}
	var err error
	addMat := func(name string, in, out int, s float64) {
		if err == nil {
			err = b.AddTensor(name, []uint64{uint64(in), uint64(out)}, cfg.TensorType, normal(in*out, 0, s))
		}
	}
	addVec := func(name string, data []float32) {
		if err == nil {
			err = b.AddTensor(name, []uint64{uint64(len(data))}, gguf.TypeF32, data)
		}
	}
	// Norm weights near 1 (not exactly) so an engine that skips them fails.
	addMat("token_embd.weight", cfg.DModel, nVocab, 1)
	addVec("output_norm.weight", normal(cfg.DModel, 1, 0.1))
	if !cfg.TiedOutput {
		outStd := 3 / math.Sqrt(float64(cfg.DModel))
		if cfg.Scale > 0 {
			outStd = float64(cfg.Scale)
		}
		addMat("output.weight", cfg.DModel, nVocab, outStd)
	}
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		addVec(p+"attn_norm.weight", normal(cfg.DModel, 1, 0.1))
		addMat(p+"attn_q.weight", cfg.DModel, cfg.DModel, std(cfg.DModel))
		addMat(p+"attn_k.weight", cfg.DModel, kvDim, std(cfg.DModel))
		addMat(p+"attn_v.weight", cfg.DModel, kvDim, std(cfg.DModel))
		if a == "qwen2" {
			addVec(p+"attn_q.bias", normal(cfg.DModel, 0, 0.1))
			addVec(p+"attn_k.bias", normal(kvDim, 0, 0.1))
			addVec(p+"attn_v.bias", normal(kvDim, 0, 0.1))
		}
		addMat(p+"attn_output.weight", cfg.DModel, cfg.DModel, std(cfg.DModel))
		addVec(p+"ffn_norm.weight", normal(cfg.DModel, 1, 0.1))
		addMat(p+"ffn_gate.weight", cfg.DModel, cfg.FFN, std(cfg.DModel))
		addMat(p+"ffn_up.weight", cfg.DModel, cfg.FFN, std(cfg.DModel))
		addMat(p+"ffn_down.weight", cfg.FFN, cfg.DModel, std(cfg.FFN))
	}
	if err != nil {
		return nil, fmt.Errorf("randmodel: %w", err)
	}
	return b, nil
}

// Write generates the model described by cfg and writes it atomically to path.
func Write(path string, cfg Config) error {
	b, err := Build(cfg)
	if err != nil {
		return err
	}
	if err := b.WriteFile(path); err != nil {
		return fmt.Errorf("randmodel: %w", err)
	}
	return nil
}
