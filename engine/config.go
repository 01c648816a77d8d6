// Package engine is a small pure-Go llama inference engine: it loads llama
// and qwen2 models from GGUF files and runs their forward pass on the CPU
// with the numerics of llama.cpp, so that greedy decoding matches it.
//
// The code reads top to bottom like llama2.c's run.c: Config (this file),
// weights (model.go), KV blocks (kvblock.go), run state and forward pass
// (forward.go), kernels (kernels*.go), sampler (sampler.go), and the
// prefix cache that shares KV blocks between sequences (radix.go).
package engine

import "fmt"

// Architectures the engine runs.
const (
	ArchLlama = "llama" // rope on adjacent pairs (llama.cpp NORM mode)
	ArchQwen2 = "qwen2" // rope on halves (NEOX mode) and q/k/v biases
)

// Config is the shape of a model, as read from GGUF metadata.
type Config struct {
	Arch     string  // ArchLlama or ArchQwen2
	Vocab    int     // number of tokens
	DModel   int     // embedding width
	Layers   int     // transformer blocks
	Heads    int     // query heads
	KVHeads  int     // key/value heads (GQA when < Heads)
	HeadDim  int     // width of one head
	RopeDims int     // leading dims of a head that rope rotates; 0 means HeadDim
	FFN      int     // feed-forward hidden width
	Context  int     // maximum sequence length
	RopeBase float32 // rope frequency base (theta)
	RMSEps   float32 // epsilon of RMSNorm
}

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	switch {
	case c.Arch != ArchLlama && c.Arch != ArchQwen2:
		return fmt.Errorf("engine: config: unsupported architecture %q (want %q or %q)", c.Arch, ArchLlama, ArchQwen2)
	case c.Vocab <= 0, c.DModel <= 0, c.Layers <= 0, c.Heads <= 0, c.KVHeads <= 0, c.HeadDim <= 0, c.FFN <= 0, c.Context <= 0:
		return fmt.Errorf("engine: config: non-positive size in %+v", c)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("engine: config: heads %d not a multiple of kv heads %d", c.Heads, c.KVHeads)
	case c.rotDims()%2 != 0 || c.rotDims() > c.HeadDim:
		return fmt.Errorf("engine: config: rope dims %d must be even and at most head dim %d", c.rotDims(), c.HeadDim)
	case c.RopeBase <= 0:
		return fmt.Errorf("engine: config: rope base %v must be positive", c.RopeBase)
	}
	return nil
}

func (c Config) rotDims() int {
	if c.RopeDims == 0 {
		return c.HeadDim
	}
	return c.RopeDims
}

// QDim is the width of all query heads together.
func (c Config) QDim() int { return c.Heads * c.HeadDim }

// KVDim is the width of all key (or value) heads together.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }
