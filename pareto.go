// Package pareto holds the domain types shared by every part of pareto:
// questions, generation requests and completions, and the compute a call
// spends. Packages below it (backend, strategy, run, store, ...) speak these
// types; none of them depends on another's internals.
package pareto

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Answer formats understood by the grader.
const (
	FormatGSM8K  = "gsm8k"  // reference is a worked solution ending in "#### n"
	FormatMath   = "math"   // reference is a bare LaTeX answer
	FormatNumber = "number" // reference is a bare number
	FormatText   = "text"   // reference is compared as normalised text
)

// Question is one benchmark item.
type Question struct {
	ID        string `json:"id"`        // stable within its dataset (row number or id field)
	Dataset   string `json:"dataset"`   // dataset name, e.g. "gsm8k"
	Text      string `json:"question"`  // the problem statement
	Reference string `json:"reference"` // gold answer as stored (full GSM8K solution or bare answer)
	Format    string `json:"format"`    // one of the Format constants
	Level     int    `json:"level,omitempty"`
	Subject   string `json:"subject,omitempty"`
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Params are the sampling knobs of one generation request.
type Params struct {
	N           int      `json:"n,omitempty"` // completions wanted; 0 means 1
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature float64  `json:"temperature"`
	TopP        float64  `json:"top_p,omitempty"` // 0 means the server default
	Seed        *int64   `json:"seed,omitempty"`
	Stop        []string `json:"stop,omitempty"`
	// Logprobs asks for the log-probability of each chosen token and of the
	// TopLogprobs most likely alternatives, where the backend supports it.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
	// ReasoningEffort asks a reasoning model to think less or more (low,
	// medium or high) on servers that take it: the chat API's
	// reasoning_effort. Empty leaves the server's default.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// Request is one generation call: a raw prompt (completions API) or a list of
// messages (chat API), never both.
type Request struct {
	Prompt   string    `json:"prompt,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	Params
	// CacheScope, when set, keeps the request's cached answer to callers
	// of the same scope; backends ignore it. A tree search sets its
	// strategy's name: its later calls continue from the KV its earlier
	// calls left in the backend, so an earlier call answered from another
	// strategy's cache entry would leave that KV cold and charge the
	// continuations a full prefill that a run of its own never pays.
	CacheScope string `json:"cache_scope,omitempty"`
}

// TokenLogprob is the log-probability of one generated token and, when asked,
// of its most likely alternatives.
type TokenLogprob struct {
	Token   string             `json:"token"`
	Logprob float64            `json:"logprob"`
	Top     map[string]float64 `json:"top,omitempty"`
}

// Completion is one generated continuation.
type Completion struct {
	// Text is the visible part of the completion, the answer that is
	// graded; it never holds the Reasoning.
	Text string `json:"text"`
	// Reasoning is the hidden thought the model wrote before its answer,
	// where the backend sees one: text between thinking markers
	// (<think>...</think>, see package think) or a server's reasoning
	// field. Its tokens are Usage.HiddenTokens.
	Reasoning    string `json:"reasoning,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	// Stop is the requested stop string (one of Params.Stop) that ended the
	// completion; it is cut from Text. It is empty when the completion ended
	// at end-of-sequence, at the token cap, or when the backend cannot tell,
	// so that a step cut at its delimiter and a finished solution, both
	// FinishReason "stop", can be told apart.
	Stop     string         `json:"stop,omitempty"`
	Logprobs []TokenLogprob `json:"logprobs,omitempty"`
	// Usage is this completion's share of the call's usage. When a backend
	// returns several completions for one prompt, the prompt tokens are
	// charged to the first completion only, so sums stay exact.
	Usage Usage `json:"usage"`
}

// Usage is the compute one call (or an aggregate of calls) spent.
type Usage struct {
	Calls        int `json:"calls"`
	PromptTokens int `json:"prompt_tokens"`
	// CompletionTokens are the generated tokens that are visible: the text
	// of the completion. They exclude HiddenTokens.
	CompletionTokens int `json:"completion_tokens"`
	// HiddenTokens are generated but not shown (reasoning or thought
	// tokens). CompletionTokens + HiddenTokens is everything generated: what
	// an OpenAI-compatible server reports as completion_tokens, of which it
	// reports these as completion_tokens_details.reasoning_tokens.
	HiddenTokens int `json:"hidden_tokens"`
	// CachedTokens are prompt tokens the backend served from a prefix cache;
	// they are part of PromptTokens but cost no prefill compute.
	CachedTokens int `json:"cached_tokens"`
	// Unreported counts calls whose server returned no token usage; their
	// token figures are zero rather than guessed.
	Unreported int `json:"unreported,omitempty"`
	// CacheUnreported counts calls whose server reported token usage but
	// not how many prompt tokens a prefix cache served: their prompt is
	// charged in full, which overstates prefill where the server did cache.
	CacheUnreported int `json:"cache_unreported,omitempty"`
	// PrefillFLOPs and DecodeFLOPs are filled by the compute accounting.
	PrefillFLOPs float64 `json:"prefill_flops"`
	DecodeFLOPs  float64 `json:"decode_flops"`
	// SavedFLOPs is prefill compute not spent: the cached prompt tokens'
	// and, where a call's samples share one prefill, the other samples'.
	SavedFLOPs float64 `json:"saved_flops,omitempty"`
	CostUSD    float64 `json:"cost_usd"`
	// Latency is wall time from request to last byte; TTFT to first token.
	Latency time.Duration `json:"latency_ns"`
	TTFT    time.Duration `json:"ttft_ns,omitempty"`
}

// Check reports what makes u impossible: a negative or NaN figure, cached
// prompt tokens beyond the prompt tokens, or more calls without usage than
// calls.
func (u Usage) Check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"Calls", float64(u.Calls)}, {"PromptTokens", float64(u.PromptTokens)},
		{"CompletionTokens", float64(u.CompletionTokens)}, {"HiddenTokens", float64(u.HiddenTokens)},
		{"CachedTokens", float64(u.CachedTokens)}, {"Unreported", float64(u.Unreported)},
		{"CacheUnreported", float64(u.CacheUnreported)},
		{"PrefillFLOPs", u.PrefillFLOPs}, {"DecodeFLOPs", u.DecodeFLOPs}, {"SavedFLOPs", u.SavedFLOPs},
		{"CostUSD", u.CostUSD}, {"Latency", float64(u.Latency)}, {"TTFT", float64(u.TTFT)},
	} {
		if f.v < 0 || math.IsNaN(f.v) {
			return fmt.Errorf("%s is %v, want a non-negative figure", f.name, f.v)
		}
	}
	if u.CachedTokens > u.PromptTokens {
		return fmt.Errorf("%d cached tokens of %d prompt tokens; cached tokens are part of the prompt", u.CachedTokens, u.PromptTokens)
	}
	if u.Unreported > u.Calls {
		return fmt.Errorf("%d calls are counted as Unreported but only %d calls are counted", u.Unreported, u.Calls)
	}
	return nil
}

// FLOPs is the total forward compute.
func (u Usage) FLOPs() float64 { return u.PrefillFLOPs + u.DecodeFLOPs }

// Add accumulates v into u. Latencies add up: for calls made concurrently the
// caller measures wall time itself.
func (u *Usage) Add(v Usage) {
	u.Calls += v.Calls
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.HiddenTokens += v.HiddenTokens
	u.CachedTokens += v.CachedTokens
	u.Unreported += v.Unreported
	u.CacheUnreported += v.CacheUnreported
	u.PrefillFLOPs += v.PrefillFLOPs
	u.DecodeFLOPs += v.DecodeFLOPs
	u.SavedFLOPs += v.SavedFLOPs
	u.CostUSD += v.CostUSD
	u.Latency += v.Latency
	u.TTFT += v.TTFT
}

// Generator produces completions. It is the one method every backend
// (OpenAI-compatible server, embedded engine, cache) implements. It returns
// exactly max(N,1) completions or an error.
type Generator interface {
	Generate(ctx context.Context, req Request) ([]Completion, error)
}

// Scorer rates a candidate solution to a question, step by step. Scores are
// probabilities in [0,1] that each step (and so the solution so far) is
// correct. Used by best-of-n, weighted voting and tree search.
type Scorer interface {
	Score(ctx context.Context, question string, steps []string) (stepScores []float64, usage Usage, err error)
}
