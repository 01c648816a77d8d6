package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

func TestZZPrefill(t *testing.T) {
	b, err := Load("/tmp/ob/r1e8-q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	m := b.Model()
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 6 {
		toks := make([]int, 200)
		for i := range toks {
			toks[i] = 3 + rng.IntN(m.Config.Vocab-3)
		}
		s := m.NewSeq()
		st := time.Now()
		if _, err := m.Prefill(s, toks); err != nil {
			t.Fatal(err)
		}
		d := time.Since(st)
		s.Release()
		p := fmt.Sprintf("run %d %d", run, rng.IntN(1000))
		for range 60 {
			p += fmt.Sprintf(" w%d", rng.IntN(5000))
		}
		out, err := b.Generate(context.Background(), pareto.Request{Prompt: p, Params: pareto.Params{MaxTokens: 2, Temperature: 0}})
		if err != nil {
			t.Fatal(err)
		}
		u := out[0].Usage
		fmt.Printf("engine prefill 200: %v (%.0f tok/s); backend: %d prompt tokens, %d cached, ttft %v (%.0f tok/s)\n", d, 200/d.Seconds(), u.PromptTokens, u.CachedTokens, u.TTFT, float64(u.PromptTokens-u.CachedTokens)/u.TTFT.Seconds())
	}
}
