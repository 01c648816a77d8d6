package reward

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pareto-llm/pareto"
)

// HTTP is a generic remote step scorer: any server that answers
//
//	POST URL {"question": "...", "steps": ["...", ...]}
//
// with {"scores": [p1, ...]}, one probability in [0,1] per step, and
// optionally "usage": {"prompt_tokens": n}. One request per call; a
// call fails, never scoring zero, when the server errs, is slower than
// Timeout, or answers other than one probability per step. Its FLOPs are
// unknown to pareto and counted as zero.
type HTTP struct {
	URL     string       // the endpoint itself, posted to as is
	APIKey  string       // sent as a bearer token when set
	Client  *http.Client // nil means http.DefaultClient
	Timeout time.Duration
}

var _ pareto.Scorer = (*HTTP)(nil)

type httpRequest struct {
	Question string   `json:"question"`
	Steps    []string `json:"steps"`
}

type httpResponse struct {
	Scores []*float64 `json:"scores"`
	Usage  *struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// Score implements pareto.Scorer.
func (h *HTTP) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if len(steps) == 0 {
		return nil, u, fmt.Errorf("http scorer: no steps to score")
	}
	if err := ctx.Err(); err != nil {
		return nil, u, fmt.Errorf("http scorer: %w", err)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var resp httpResponse
	if err := postJSON(ctx, h.Client, timeout, h.URL, h.APIKey, httpRequest{question, steps}, &resp); err != nil {
		return nil, u, fmt.Errorf("http scorer: %w", err)
	}
	u.Calls = 1
	if resp.Usage != nil && resp.Usage.PromptTokens > 0 {
		u.PromptTokens = resp.Usage.PromptTokens
	} else {
		u.Unreported = 1
	}
	if len(resp.Scores) != len(steps) {
		return nil, u, fmt.Errorf("http scorer: %s returned %d scores for %d steps, want one per step", h.URL, len(resp.Scores), len(steps))
	}
	scores := make([]float64, len(steps))
	for k, v := range resp.Scores {
		if v == nil || !(*v >= 0 && *v <= 1) {
			return nil, u, fmt.Errorf("http scorer: %s: step %d's score is %s, want a probability in [0,1]", h.URL, k+1, numString(v))
		}
		scores[k] = *v
	}
	u.Latency = time.Since(start)
	return scores, u, nil
}
