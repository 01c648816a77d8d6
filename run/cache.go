package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
)

// GenerationCache is what the cache needs of the store.
type GenerationCache interface {
	Generation(ctx context.Context, key string) ([]pareto.Completion, bool, error)
	PutGeneration(ctx context.Context, key, model string, req pareto.Request, comps []pareto.Completion) error
}

// Cached wraps a backend with the store's generation cache and the compute
// accountant. A request seen before (same model, prompt, params and seed)
// is answered from the cache with the usage it cost the first time, so a
// re-run is free and its figures are those of the real computation.
type Cached struct {
	Inner      pareto.Generator
	Cache      GenerationCache // nil disables caching
	Model      string
	Accountant compute.Accountant
}

// Key is the cache key of a request to a model.
func Key(model string, req pareto.Request) string {
	b, _ := json.Marshal(struct {
		Model string         `json:"model"`
		Req   pareto.Request `json:"req"`
	}{model, req})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Generate answers from the cache or the backend. Requests without a seed
// at temperature > 0 are not cached: their answers are meant to differ.
func (c *Cached) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	cacheable := c.Cache != nil && (req.Seed != nil || req.Temperature == 0)
	key := Key(c.Model, req)
	var comps []pareto.Completion
	hit := false
	if cacheable {
		got, ok, err := c.Cache.Generation(ctx, key)
		if err != nil {
			return nil, err
		}
		comps, hit = got, ok
	}
	if !hit {
		var err error
		comps, err = c.Inner.Generate(ctx, req)
		if err != nil {
			return nil, err
		}
		n := max(req.N, 1)
		if len(comps) != n {
			return nil, fmt.Errorf("backend returned %d completions, asked for %d", len(comps), n)
		}
		if cacheable {
			// Cache what the backend said, before accounting, so a change of
			// price table or architecture applies to cached calls too.
			// A finished call was paid for: keep it even when the run is being
			// canceled around it, so a resume does not pay again.
			if err := c.Cache.PutGeneration(context.WithoutCancel(ctx), key, c.Model, req, comps); err != nil {
				return nil, err
			}
		}
	}
	out := make([]pareto.Completion, len(comps))
	copy(out, comps)
	// Every call of a request reads the same prompt; decode positions start
	// after it whichever completion carries the prompt's charge.
	prompt := 0
	for _, comp := range out {
		prompt = max(prompt, comp.Usage.PromptTokens)
	}
	for i := range out {
		c.Accountant.Charge(&out[i].Usage, prompt)
	}
	return out, nil
}
