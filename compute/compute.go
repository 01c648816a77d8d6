// Package compute turns token counts into FLOPs and money.
//
// The FLOP model is the one the study and Kaplan et al. (2001.08361) use for
// a dense decoder: a token costs 2 FLOPs per non-embedding parameter plus
// 2 x n_layer x n_ctx x d_model for attention, where n_ctx is the number of
// positions the token attends to. Prefill and decode are counted apart, and
// prompt tokens a backend served from its prefix cache cost no prefill.
package compute

import (
	"fmt"

	"github.com/pareto-llm/pareto"
)

// Arch is what the FLOP model needs to know about a model.
type Arch struct {
	Params  float64 `json:"params"`  // non-embedding parameters
	Layers  int     `json:"layers"`  // transformer blocks
	DModel  int     `json:"d_model"` // embedding width (attention width for the FLOP model)
	Context int     `json:"context"` // maximum context length (informational)
}

// Known reports whether the architecture is filled in enough to count FLOPs.
func (a Arch) Known() bool { return a.Params > 0 }

// Validate rejects negative or inconsistent figures.
func (a Arch) Validate() error {
	if a.Params < 0 || a.Layers < 0 || a.DModel < 0 || a.Context < 0 {
		return fmt.Errorf("model architecture: negative figure in %+v", a)
	}
	if a.Params > 0 && (a.Layers == 0) != (a.DModel == 0) {
		return fmt.Errorf("model architecture: give both --layers and --d-model, or neither")
	}
	return nil
}

// tokenFLOPs is the forward cost of one token at 0-based position pos.
func (a Arch) tokenFLOPs(pos int) float64 {
	return 2*a.Params + 2*float64(a.Layers)*float64(pos+1)*float64(a.DModel)
}

// spanFLOPs is the cost of tokens at positions [from, to).
func (a Arch) spanFLOPs(from, to int) float64 {
	if to <= from {
		return 0
	}
	n := float64(to - from)
	// sum_{p=from}^{to-1} (p+1) = n*(from+to+1)/2
	attn := 2 * float64(a.Layers) * float64(a.DModel) * n * float64(from+to+1) / 2
	return 2*a.Params*n + attn
}

// Prefill is the cost of reading a prompt of promptTokens tokens when the
// first cached of them come from a prefix cache.
func (a Arch) Prefill(promptTokens, cached int) float64 {
	if cached > promptTokens {
		cached = promptTokens
	}
	return a.spanFLOPs(cached, promptTokens)
}

// Decode is the cost of generating completion tokens after a prompt.
func (a Arch) Decode(promptTokens, completionTokens int) float64 {
	return a.spanFLOPs(promptTokens, promptTokens+completionTokens)
}

// Price is a price table in US dollars per million tokens.
type Price struct {
	InPerM  float64 `json:"in_per_m"`
	OutPerM float64 `json:"out_per_m"`
}

// Cost is the money a call's tokens cost. Its output is every generated
// token, visible and hidden (CompletionTokens + HiddenTokens, which is what
// a server reports as completion_tokens), billed once at the output price,
// as providers bill reasoning tokens.
func (p Price) Cost(u pareto.Usage) float64 {
	return (float64(u.PromptTokens)*p.InPerM + float64(u.CompletionTokens+u.HiddenTokens)*p.OutPerM) / 1e6
}

// Accountant fills in the FLOPs and cost of completions whose backend did not
// count them itself.
type Accountant struct {
	Arch  Arch
	Price Price
}

// Charge fills u's FLOPs (when the backend left them zero and the
// architecture is known) and its cost. Decode covers every generated token,
// visible and hidden, once: the hidden ones are decoded like the rest.
// Completions returned by one call carry the prompt on the first one only,
// so charging each completion separately counts the shared prompt once.
func (acc Accountant) Charge(u *pareto.Usage, promptTokensOfCall int) {
	if u.PrefillFLOPs == 0 && u.DecodeFLOPs == 0 && acc.Arch.Known() {
		u.PrefillFLOPs = acc.Arch.Prefill(u.PromptTokens, u.CachedTokens)
		u.SavedFLOPs = acc.Arch.Prefill(u.PromptTokens, 0) - u.PrefillFLOPs
		u.DecodeFLOPs = acc.Arch.Decode(promptTokensOfCall, u.CompletionTokens+u.HiddenTokens)
	}
	u.CostUSD = acc.Price.Cost(*u)
}

// Study figures, so users can set pareto's numbers beside the paper's
// (arXiv 2412.16260). Accuracy is a fraction in [0,1] in pareto, but the
// paper's figures use percent; these functions use percent too.

// AccPerTFLOP is accuracy (percent) per TFLOP spent per question.
func AccPerTFLOP(accPercent, flopsPerQuestion float64) float64 {
	if flopsPerQuestion <= 0 {
		return 0
	}
	return accPercent / (flopsPerQuestion / 1e12)
}

// AccPerSecond is accuracy (percent) per second per question.
func AccPerSecond(accPercent, secondsPerQuestion float64) float64 {
	if secondsPerQuestion <= 0 {
		return 0
	}
	return accPercent / secondsPerQuestion
}

// EfficiencyScore is the study's (acc/TFLOP x acc/s) x 100, both factors
// from accuracy in percent (REBASE width 3: 4.66 x 1.29 x 100 = 601).
func EfficiencyScore(accPerTFLOP, accPerS float64) float64 {
	return accPerTFLOP * accPerS * 100
}
