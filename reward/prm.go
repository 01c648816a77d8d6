package reward

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/tokenizer"
)

// PRM is a process reward model run in-process by the embedded engine: a
// llama GGUF trained (see configs/prm.yaml) to predict a good or a bad
// token after the newline that ends each step. A step's score is
// P(good) / (P(good) + P(bad)) there. One forward pass over the prompt and
// the steps scores every step; prompts seen before come from a prefix
// cache, so the N candidates of one question pay for its prompt once.
type PRM struct {
	m         *engine.Model
	tok       *tokenizer.Tokenizer
	prompt    string
	good, bad int
	cache     *engine.PrefixCache
}

// LoadPRM opens a PRM GGUF file. The file says how it reads steps in its
// pareto.prm.* metadata; a model without it is not a PRM and is refused.
func LoadPRM(path string) (*PRM, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prm: %w", err)
	}
	defer f.Close()
	prompt, ok := f.String("pareto.prm.prompt")
	if !ok {
		return nil, fmt.Errorf("prm: %s has no pareto.prm.prompt metadata: not a process reward model", path)
	}
	for key, want := range map[string]string{"pareto.prm.good_token": shepherd.Good, "pareto.prm.bad_token": shepherd.Bad, "pareto.prm.step_separator": "\n"} {
		if v, _ := f.String(key); v != want {
			return nil, fmt.Errorf("prm: %s: metadata %s = %q, this reader knows %q", path, key, v, want)
		}
	}
	m, err := engine.LoadFile(f)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	good, bad, err := shepherd.LabelIDs(tok)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	return &PRM{m: m, tok: tok, prompt: prompt, good: good, bad: bad, cache: engine.NewPrefixCache(64 << 20)}, nil
}

// Params is the model's parameter count.
func (p *PRM) Params() int { return p.m.Params() }

var _ pareto.Scorer = (*PRM)(nil)

// Score implements pareto.Scorer. The usage it returns is the PRM's own
// forward compute, so strategies that score count it.
func (p *PRM) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if len(steps) == 0 {
		return nil, u, fmt.Errorf("prm: no steps to score")
	}
	prompt := shepherd.Prompt(p.prompt, question)
	tokens, ends, head := shepherd.Encode(p.tok, prompt, steps)
	if n := len(tokens); n > p.m.Config.Context {
		return nil, u, fmt.Errorf("prm: prompt and %d steps are %d tokens, more than the model's context of %d", len(steps), n, p.m.Config.Context)
	}
	seq, cached := p.cache.Lookup(p.m, tokens[:head], head-1)
	u.Calls, u.PromptTokens, u.CachedTokens = 1, len(tokens), cached
	f, err := p.m.Prefill(seq, tokens[cached:head])
	u.PrefillFLOPs += f
	if err != nil {
		return nil, u, fmt.Errorf("prm: %w", err)
	}
	p.cache.Add(seq)
	scores := make([]float64, len(steps))
	at := head
	for k, end := range ends {
		if err := ctx.Err(); err != nil {
			return nil, u, err
		}
		if end < at { // a step that adds no token scores as the one before
			scores[k] = scores[max(k-1, 0)]
			continue
		}
		f, err := p.m.Prefill(seq, tokens[at:end+1])
		u.PrefillFLOPs += f
		if err != nil {
			return nil, u, fmt.Errorf("prm: step %d: %w", k+1, err)
		}
		at = end + 1
		lg := seq.Logits()
		g, b := float64(lg[p.good]), float64(lg[p.bad])
		scores[k] = 1 / (1 + math.Exp(b-g))
	}
	u.Latency = time.Since(start)
	return scores, u, nil
}
