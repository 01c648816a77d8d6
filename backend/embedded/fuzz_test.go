package embedded

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/tokenizer"
)

// FuzzLoad feeds mutated model files through everything Load does after
// reading the file — GGUF parse, engine weights, tokenizer, end tokens —
// and a tokenizer round trip: a corrupt file must give an error, never a
// panic.
func FuzzLoad(f *testing.F) {
	for _, c := range []randmodel.Config{
		{Arch: "llama", Vocab: "llama", VocabSize: 400, DModel: 32, Layers: 1, Heads: 2, KVHeads: 1, FFN: 32, Context: 64, TensorType: gguf.TypeQ8_0, Seed: 1},
		{Arch: "qwen2", Vocab: "gpt2", Pre: "qwen2", VocabSize: 300, DModel: 16, Layers: 1, Heads: 2, FFN: 16, Context: 64, TensorType: gguf.TypeF16, TiedOutput: true, Seed: 2},
	} {
		path := filepath.Join(f.TempDir(), "seed.gguf")
		if err := randmodel.Write(path, c); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		// Seeds must get through every stage, or the fuzzer would mutate
		// files that stop at the first one.
		if err := loadBytes(f, data); err != nil {
			f.Fatalf("seed %s/%s: %v", c.Arch, c.Vocab, err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = loadBytes(t, data) // errors are fine; panics are not
	})
}

// loadBytes is Load from memory, then a tokenizer round trip.
func loadBytes(t testing.TB, data []byte) error {
	g, err := gguf.Parse(data)
	if err != nil {
		return err
	}
	m, err := engine.LoadFile(g)
	if err != nil {
		return err
	}
	tok, err := tokenizer.FromGGUF(g)
	if err != nil {
		return err
	}
	b := New(m, WithTokenizer(tok))
	ids := tok.Encode("Hello, world! 12 + 30 = 42\n", true)
	for _, id := range ids {
		if id < 0 || id >= tok.VocabSize() {
			t.Fatalf("Encode gave token %d outside the vocabulary of %d", id, tok.VocabSize())
		}
		b.piece(id)
	}
	tok.Decode(ids)
	return nil
}
