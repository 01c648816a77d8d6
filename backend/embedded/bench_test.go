package embedded_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
)

// The speed workloads of issue 4 through the backend, as `pareto bench
// engine` runs them on the shipped policy: one greedy sequence, and a
// search step of 16 samples of 128 tokens from one 200-token prompt at
// Ollama's default sampling. Sequences stop at end-of-sequence as they
// would in use; tokens/s counts what was generated.

func shippedBackend(b *testing.B) *embedded.Backend {
	b.Helper()
	be := modelstest.Load(b, models.Default, embedded.WithSampling(40, 0), embedded.WithPrefixCache(0))
	if err := be.Model().SetContext(2048); err != nil {
		b.Fatal(err)
	}
	return be
}

// benchPromptText is about 200 tokens of the shipped policy's vocabulary.
func benchPromptText(i int) string {
	var sb strings.Builder
	for k := 0; sb.Len() < 900; k++ {
		fmt.Fprintf(&sb, "Question %d: Mia has %d apples. Tom has %d more apples than Mia. How many apples does Tom have? ", i, k+3, 2*k+i)
	}
	return sb.String()
}

func benchGenerate(b *testing.B, n int, temp float64) {
	be := shippedBackend(b)
	ctx := context.Background()
	tokens := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		seed := int64(i)
		out, err := be.Generate(ctx, pareto.Request{Prompt: benchPromptText(i), Params: pareto.Params{
			N: n, MaxTokens: 128, Temperature: temp, TopP: 0.9, Seed: &seed}})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range out {
			tokens += c.Usage.CompletionTokens
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
}

// BenchmarkGenerateDecode is one greedy sequence, prefill included.
func BenchmarkGenerateDecode(b *testing.B) { benchGenerate(b, 1, 0) }

// BenchmarkGenerateSearch is 16 samples of one prompt.
func BenchmarkGenerateSearch(b *testing.B) { benchGenerate(b, 16, 0.8) }
