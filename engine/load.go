package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/pareto-llm/pareto/gguf"
)

// Load reads a llama or qwen2 model from the GGUF file at path. The file is
// closed on return: weights are copied into memory (Q8_0 stays quantized).
// Loaded models use GGMLNumerics, to match llama.cpp.
func Load(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("engine: load: %w", err)
	}
	defer f.Close()
	m, err := LoadFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ConfigFromGGUF reads a model's shape from the <arch>.* metadata of f.
// The vocabulary size comes from token_embd.weight.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return Config{}, fmt.Errorf("engine: metadata general.architecture missing")
	}
	if arch != ArchLlama && arch != ArchQwen2 {
		return Config{}, fmt.Errorf("engine: architecture %q not supported (want %q or %q)", arch, ArchLlama, ArchQwen2)
	}
	var err error
	req := func(key string) int {
		v, ok := f.Uint(arch + "." + key)
		if !ok && err == nil {
			err = fmt.Errorf("engine: metadata %s.%s missing", arch, key)
		}
		return int(v)
	}
	opt := func(key string, def int) int {
		if v, ok := f.Uint(arch + "." + key); ok {
			return int(v)
		}
		return def
	}
	c := Config{
		Arch:    arch,
		DModel:  req("embedding_length"),
		Layers:  req("block_count"),
		FFN:     req("feed_forward_length"),
		Heads:   req("attention.head_count"),
		Context: req("context_length"),
	}
	eps, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon")
	if !ok && err == nil {
		err = fmt.Errorf("engine: metadata %s.attention.layer_norm_rms_epsilon missing", arch)
	}
	if err != nil {
		return Config{}, err
	}
	c.RMSEps = float32(eps)
	c.KVHeads = opt("attention.head_count_kv", c.Heads)
	if c.Heads > 0 {
		c.HeadDim = opt("attention.key_length", c.DModel/c.Heads)
	}
	if v := opt("attention.value_length", c.HeadDim); v != c.HeadDim {
		return Config{}, fmt.Errorf("engine: metadata %s.attention.value_length %d differs from key_length %d", arch, v, c.HeadDim)
	}
	c.RopeDims = opt("rope.dimension_count", c.HeadDim)
	c.RopeBase = 10000
	if b, ok := f.Float(arch + ".rope.freq_base"); ok {
		c.RopeBase = float32(b)
	}
	ti, ok := f.Tensor("token_embd.weight")
	if !ok {
		return Config{}, fmt.Errorf("engine: tensor token_embd.weight missing")
	}
	if len(ti.Dims) != 2 {
		return Config{}, fmt.Errorf("engine: tensor token_embd.weight has dims %v, want 2 dims", ti.Dims)
	}
	c.Vocab = int(ti.Dims[1])
	if v, ok := f.Uint(arch + ".vocab_size"); ok && int(v) != c.Vocab {
		return Config{}, fmt.Errorf("engine: metadata %s.vocab_size %d but token_embd.weight has %d rows", arch, v, c.Vocab)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadFile builds a model from an open GGUF file. The weights are copied,
// so f may be closed afterwards.
func LoadFile(f *gguf.File) (*Model, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	var firstErr error
	fail := func(e error) {
		if firstErr == nil {
			firstErr = e
		}
	}
	mat := func(name string, rows, cols int, optional bool) *Mat {
		ti, ok := f.Tensor(name)
		if !ok {
			if !optional {
				fail(fmt.Errorf("engine: tensor %s missing", name))
			}
			return nil
		}
		if len(ti.Dims) != 2 || ti.Dims[0] != uint64(cols) || ti.Dims[1] != uint64(rows) {
			fail(fmt.Errorf("engine: tensor %s has dims %v, metadata wants [%d %d]", name, ti.Dims, cols, rows))
			return nil
		}
		m, err := readMat(f, ti, rows, cols)
		if err != nil {
			fail(fmt.Errorf("engine: tensor %s: %w", name, err))
		}
		return m
	}
	vec := func(name string, n int, optional bool) []float32 {
		ti, ok := f.Tensor(name)
		if !ok {
			if !optional {
				fail(fmt.Errorf("engine: tensor %s missing", name))
			}
			return nil
		}
		if len(ti.Dims) != 1 || ti.Dims[0] != uint64(n) {
			fail(fmt.Errorf("engine: tensor %s has dims %v, metadata wants [%d]", name, ti.Dims, n))
			return nil
		}
		v, err := f.Float32s(name)
		if err != nil {
			fail(fmt.Errorf("engine: tensor %s: %w", name, err))
		}
		return v
	}
	w := Weights{
		Embed:      mat("token_embd.weight", c.Vocab, c.DModel, false),
		OutputNorm: vec("output_norm.weight", c.DModel, false),
		Output:     mat("output.weight", c.Vocab, c.DModel, true),
	}
	for i := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		w.Layers = append(w.Layers, Layer{
			AttnNorm: vec(p+"attn_norm.weight", c.DModel, false),
			Wq:       mat(p+"attn_q.weight", c.QDim(), c.DModel, false),
			Wk:       mat(p+"attn_k.weight", c.KVDim(), c.DModel, false),
			Wv:       mat(p+"attn_v.weight", c.KVDim(), c.DModel, false),
			Wo:       mat(p+"attn_output.weight", c.DModel, c.QDim(), false),
			Bq:       vec(p+"attn_q.bias", c.QDim(), true),
			Bk:       vec(p+"attn_k.bias", c.KVDim(), true),
			Bv:       vec(p+"attn_v.bias", c.KVDim(), true),
			FFNNorm:  vec(p+"ffn_norm.weight", c.DModel, false),
			Gate:     mat(p+"ffn_gate.weight", c.FFN, c.DModel, false),
			Up:       mat(p+"ffn_up.weight", c.FFN, c.DModel, false),
			Down:     mat(p+"ffn_down.weight", c.DModel, c.FFN, false),
		})
		if firstErr != nil {
			return nil, firstErr
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	m, err := NewModel(c, w)
	if err != nil {
		return nil, err
	}
	m.GGMLNumerics = true
	m.Meta = map[string]string{}
	for _, k := range f.Keys {
		if s, ok := f.String(k); ok {
			m.Meta[k] = s
		}
	}
	return m, nil
}

// readMat copies one weight matrix out of the file, keeping Q8_0 quantized.
func readMat(f *gguf.File, ti gguf.TensorInfo, rows, cols int) (*Mat, error) {
	switch ti.Type {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16:
		v, err := f.Float32s(ti.Name)
		if err != nil {
			return nil, err
		}
		k := KindF32
		if ti.Type == gguf.TypeF16 {
			k = KindF16
		}
		return &Mat{Rows: rows, Cols: cols, Kind: k, F: v}, nil
	case gguf.TypeQ8_0:
		raw, err := f.TensorBytes(ti.Name)
		if err != nil {
			return nil, err
		}
		n := rows * cols
		if cols%q8Block != 0 || len(raw) != n/q8Block*34 {
			return nil, fmt.Errorf("Q8_0 data of %d bytes does not fit %d x %d", len(raw), rows, cols)
		}
		m := &Mat{Rows: rows, Cols: cols, Kind: KindQ8_0, Q: make([]int8, n), D: make([]float32, n/q8Block)}
		for b := range m.D {
			blk := raw[b*34 : (b+1)*34]
			m.D[b] = f16ToF32(binary.LittleEndian.Uint16(blk))
			for i, q := range blk[2:] {
				m.Q[b*q8Block+i] = int8(q)
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("type %s not supported (want F32, F16, BF16 or Q8_0)", ti.Type)
}
