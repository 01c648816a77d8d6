//go:build integration

package embedded

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/randmodel"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// parityPrompts are varied English-ish prompts; random models continue them
// with whatever their weights say, which both engines must agree on.
var parityPrompts = []string{
	"Once upon a time", "The answer is", "Question: What is 12 plus 30?\nAnswer:", "In 1969, the first",
	"def main():\n    print(", "She sold 48 clips in April", "The quick brown fox", "Hello, world!",
	"A train leaves the station at 3 pm", "Let's think step by step.", "#### 72", "It was the best of times",
	"Natalia sold clips to 48 of her friends", "x = 5; y = x * 2;", "The capital of France is", "Tom has 3 apples.",
	"To be, or not to be", "1, 2, 3, 4,", "Water boils at", "Weng earns $12 an hour",
}

// TestGreedyParityWithOllama loads the same random-weight GGUF files in
// Ollama (llama.cpp) and in pareto's engine and compares 64 greedy tokens on
// 20 prompts: llama with grouped-query attention and a SentencePiece
// vocabulary, llama with a byte-level BPE vocabulary, and qwen2.
func TestGreedyParityWithOllama(t *testing.T) {
	srv := ollamatest.Shared(t)
	ctx := context.Background()
	cases := []struct {
		name string
		cfg  randmodel.Config
		// want is the number of the 20 prompts that must match exactly.
		want int
	}{
		{"llama-gqa-spm", randmodel.Config{Arch: "llama", Vocab: "llama", VocabSize: 512, DModel: 128, Layers: 2, Heads: 8, KVHeads: 2, FFN: 256, Context: 512, TensorType: gguf.TypeF32, Seed: 3}, 20},
		{"llama-mha-bpe", randmodel.Config{Arch: "llama", Vocab: "gpt2", VocabSize: 512, DModel: 128, Layers: 2, Heads: 4, KVHeads: 4, FFN: 256, Context: 512, TensorType: gguf.TypeF32, Seed: 4}, 20},
		{"qwen2-gqa-bpe", randmodel.Config{Arch: "qwen2", Vocab: "gpt2", Pre: "qwen2", VocabSize: 512, DModel: 128, Layers: 2, Heads: 4, KVHeads: 2, FFN: 256, Context: 512, TensorType: gguf.TypeF32, Seed: 5}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name+".gguf")
			if err := randmodel.Write(path, c.cfg); err != nil {
				t.Fatal(err)
			}
			if err := srv.Create(ctx, "parity-"+c.name, path); err != nil {
				t.Fatalf("%v\n%s", err, srv.Log())
			}
			b, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			for i, p := range parityPrompts {
				want, _, evalTokens, err := srv.Generate(ctx, "parity-"+c.name, p, map[string]any{"temperature": 0, "num_predict": 64, "seed": 0,
					// Ollama penalises repeats by default, even when greedy.
					"repeat_penalty": 1})
				if err != nil {
					t.Fatalf("prompt %d: ollama: %v\n%s", i, err, srv.Log())
				}
				got, err := b.Generate(ctx, pareto.Request{Prompt: p, Params: pareto.Params{MaxTokens: 64, Temperature: 0}})
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case got[0].Text == want:
					same++
				case evalTokens < 64 && got[0].Usage.CompletionTokens == 64 && strings.HasPrefix(got[0].Text, want) && want != "":
					// Ollama cuts a generation short when the model repeats one
					// token for too long; up to the cut the engines agree.
					same++
					t.Logf("prompt %d: ollama stopped its repeat guard after %d tokens; pareto agrees up to there", i, evalTokens)
				default:
					t.Logf("prompt %d %q differs:\n  ollama %q\n  pareto %q", i, p, want, got[0].Text)
				}
			}
			t.Logf("%s: %d of %d prompts identical for 64 greedy tokens", c.name, same, len(parityPrompts))
			if same < c.want {
				t.Errorf("%s: %d of %d identical, want at least %d", c.name, same, len(parityPrompts), c.want)
			}
		})
	}
}
