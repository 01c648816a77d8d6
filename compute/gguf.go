package compute

import (
	"fmt"

	"github.com/pareto-llm/pareto/gguf"
)

// ArchFromGGUF reads a model's architecture from its GGUF file. Params counts
// every weight a token passes through: all tensors but the token embedding,
// which is a lookup. An untied output matrix is included (it is a real
// matmul per token); a tied one is counted once, through the embedding, as
// the output projection.
func ArchFromGGUF(path string) (Arch, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return Arch{}, err
	}
	defer f.Close()
	arch, ok := f.String("general.architecture")
	if !ok {
		return Arch{}, fmt.Errorf("%s: metadata general.architecture missing", path)
	}
	get := func(key string) (int, error) {
		v, ok := f.Uint(arch + "." + key)
		if !ok {
			return 0, fmt.Errorf("%s: metadata %s.%s missing", path, arch, key)
		}
		return int(v), nil
	}
	var a Arch
	if a.Layers, err = get("block_count"); err != nil {
		return Arch{}, err
	}
	if a.DModel, err = get("embedding_length"); err != nil {
		return Arch{}, err
	}
	a.Context, _ = get("context_length")
	_, untied := f.Tensor("output.weight")
	for _, t := range f.Tensors {
		switch {
		case t.Name == "token_embd.weight" && untied:
		default:
			a.Params += float64(t.Elements())
		}
	}
	return a, nil
}
