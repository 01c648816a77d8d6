package embedded

import (
	"context"
	"testing"

	"github.com/pareto-llm/pareto"
)

// pieceTok is byteTok with static ASCII pieces and no end-of-sequence
// token, so a generation always runs to its token budget and no piece
// waits for the rest of a UTF-8 character.
type pieceTok struct{ byteTok }

var bytePieces = func() (p [258]string) {
	for i := range p {
		p[i] = string(rune('a' + i%26))
	}
	return p
}()

func (pieceTok) Piece(id int) string { return bytePieces[id] }
func (pieceTok) EOS() int            { return -1 }

// TestDecodeLoopAllocations checks that decoding does not allocate per
// token: 64 more tokens of 4 samples may cost only the amortised growth of
// their buffers (text, ids, token list, KV cache: a few doublings each,
// about 17 per sample here), where one allocation per token would cost 256.
func TestDecodeLoopAllocations(t *testing.T) {
	b := New(testModel(t), WithTokenizer(pieceTok{}), WithSampling(40, 0.05), WithPrefixCache(0))
	ctx := context.Background()
	allocs := func(maxTok int) float64 {
		return testing.AllocsPerRun(5, func() {
			out, err := b.Generate(ctx, pareto.Request{Prompt: "Hello, world", Params: pareto.Params{
				N: 4, MaxTokens: maxTok, Temperature: 0.8, TopP: 0.9, Seed: seed(1)}})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range out {
				if c.Usage.CompletionTokens != maxTok {
					t.Fatalf("%d tokens, want %d", c.Usage.CompletionTokens, maxTok)
				}
			}
		})
	}
	short, long := allocs(16), allocs(80)
	t.Logf("allocations per request: %v for 16 tokens, %v for 80", short, long)
	if extra := long - short; extra > 4*24 {
		t.Errorf("64 more tokens of 4 samples cost %v more allocations, want at most %d", extra, 4*24)
	}
}
