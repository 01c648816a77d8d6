package gguf

// Llama is the shape of a llama-family model (llama, qwen2) as llama.cpp
// reads it from the ARCH.* metadata keys.
type Llama struct {
	Context   int     // context_length
	DModel    int     // embedding_length
	Layers    int     // block_count
	FFN       int     // feed_forward_length
	Heads     int     // attention.head_count
	KVHeads   int     // attention.head_count_kv
	RMSEps    float32 // attention.layer_norm_rms_epsilon
	RopeDims  int     // rope.dimension_count: the head dimension
	RopeTheta float32 // rope.freq_base
}

// SetLlama sets the metadata keys of l under arch, the model's
// general.architecture, with the types llama.cpp expects.
func (b *Builder) SetLlama(arch string, l Llama) {
	b.Set(arch+".context_length", uint32(l.Context))
	b.Set(arch+".embedding_length", uint32(l.DModel))
	b.Set(arch+".block_count", uint32(l.Layers))
	b.Set(arch+".feed_forward_length", uint32(l.FFN))
	b.Set(arch+".attention.head_count", uint32(l.Heads))
	b.Set(arch+".attention.head_count_kv", uint32(l.KVHeads))
	b.Set(arch+".attention.layer_norm_rms_epsilon", l.RMSEps)
	b.Set(arch+".rope.dimension_count", uint32(l.RopeDims))
	b.Set(arch+".rope.freq_base", l.RopeTheta)
}
