package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Layer holds the weights of one transformer block. Bias fields are nil
// for llama; qwen2 has q/k/v biases.
type Layer struct {
	AttnNorm       []float32 // DModel
	Wq, Wk, Wv, Wo *Mat      // QDim x DModel, KVDim x DModel, KVDim x DModel, DModel x QDim
	Bq, Bk, Bv     []float32
	FFNNorm        []float32 // DModel
	Gate, Up, Down *Mat      // FFN x DModel, FFN x DModel, DModel x FFN
}

// Weights are all the parameters of a model.
type Weights struct {
	Embed      *Mat // Vocab x DModel (ggml token_embd)
	Layers     []Layer
	OutputNorm []float32 // DModel
	Output     *Mat      // Vocab x DModel; nil means tied to Embed
}

// Model is a loaded model ready to run. It is safe for concurrent use by
// several sequences: run state lives in Seq values and a pool of buffers.
type Model struct {
	Config  Config
	Weights Weights
	// GGMLNumerics makes the forward pass round like llama.cpp's CPU backend
	// with an f16 KV cache: keys, values, queries and attention weights are
	// rounded to f16, activations to f16 before products with F16 matrices
	// and to Q8_0 before products with Q8_0 matrices. Off, everything stays
	// float32 (closest to the float64 reference).
	GGMLNumerics bool
	// FlashAttention, with GGMLNumerics, computes attention as ggml's CPU
	// flash-attention kernel does (online softmax, f16 accumulator for the
	// values) instead of softmax then a product with f16 weights. Which
	// one llama.cpp uses depends on its flash-attention setting.
	FlashAttention bool
	// Meta keeps the GGUF file's string metadata the engine does not use
	// itself (e.g. general.name), for callers.
	Meta map[string]string

	mu        sync.Mutex
	states    []*runState // idle run states, reused so decoding does not allocate
	kv        atomic.Pointer[blockPool]
	blockSize int // positions per KV block; 0 is BlockSize (tests vary it)
}

// output is the matrix that maps the final hidden state to logits.
func (m *Model) output() *Mat {
	if m.Weights.Output != nil {
		return m.Weights.Output
	}
	return m.Weights.Embed
}

// Params counts all weights, embedding and output included (tied output is
// counted once).
func (m *Model) Params() int {
	n := m.Weights.Embed.Params() + len(m.Weights.OutputNorm)
	if m.Weights.Output != nil {
		n += m.Weights.Output.Params()
	}
	for _, l := range m.Weights.Layers {
		n += len(l.AttnNorm) + len(l.FFNNorm) + len(l.Bq) + len(l.Bk) + len(l.Bv)
		for _, w := range []*Mat{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down} {
			n += w.Params()
		}
	}
	return n
}

// check verifies every tensor's shape against the config.
func (m *Model) check() error {
	c := m.Config
	if err := c.Validate(); err != nil {
		return err
	}
	w := m.Weights
	mat := func(name string, x *Mat, rows, cols int) error {
		if x == nil {
			return fmt.Errorf("engine: tensor %s missing", name)
		}
		if x.Rows != rows || x.Cols != cols {
			return fmt.Errorf("engine: tensor %s has dims [%d %d], config wants [%d %d]", name, x.Cols, x.Rows, cols, rows)
		}
		return nil
	}
	vec := func(name string, x []float32, n int, optional bool) error {
		if optional && x == nil {
			return nil
		}
		if len(x) != n {
			return fmt.Errorf("engine: tensor %s has %d elements, config wants %d", name, len(x), n)
		}
		return nil
	}
	errs := []error{
		mat("token_embd.weight", w.Embed, c.Vocab, c.DModel),
		vec("output_norm.weight", w.OutputNorm, c.DModel, false),
	}
	if w.Output != nil {
		errs = append(errs, mat("output.weight", w.Output, c.Vocab, c.DModel))
	}
	if len(w.Layers) != c.Layers {
		return fmt.Errorf("engine: %d layers of weights, config wants %d", len(w.Layers), c.Layers)
	}
	for i, l := range w.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		errs = append(errs,
			vec(p+"attn_norm.weight", l.AttnNorm, c.DModel, false),
			mat(p+"attn_q.weight", l.Wq, c.QDim(), c.DModel),
			mat(p+"attn_k.weight", l.Wk, c.KVDim(), c.DModel),
			mat(p+"attn_v.weight", l.Wv, c.KVDim(), c.DModel),
			mat(p+"attn_output.weight", l.Wo, c.DModel, c.QDim()),
			vec(p+"attn_q.bias", l.Bq, c.QDim(), true),
			vec(p+"attn_k.bias", l.Bk, c.KVDim(), true),
			vec(p+"attn_v.bias", l.Bv, c.KVDim(), true),
			vec(p+"ffn_norm.weight", l.FFNNorm, c.DModel, false),
			mat(p+"ffn_gate.weight", l.Gate, c.FFN, c.DModel),
			mat(p+"ffn_up.weight", l.Up, c.FFN, c.DModel),
			mat(p+"ffn_down.weight", l.Down, c.DModel, c.FFN),
		)
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	for _, x := range m.allMats() {
		if x.Kind == KindQ8_0 && x.Cols%q8Block != 0 {
			return fmt.Errorf("engine: Q8_0 matrix with %d columns, not a multiple of %d", x.Cols, q8Block)
		}
	}
	return nil
}

func (m *Model) allMats() []*Mat {
	ms := []*Mat{m.Weights.Embed}
	if m.Weights.Output != nil {
		ms = append(ms, m.Weights.Output)
	}
	for _, l := range m.Weights.Layers {
		ms = append(ms, l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down)
	}
	return ms
}

// NewModel checks w against c and returns a model.
func NewModel(c Config, w Weights) (*Model, error) {
	m := &Model{Config: c, Weights: w}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}
