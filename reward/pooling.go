package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/internal/httperr"
)

// DefaultTimeout bounds one request to a remote scorer when none is set.
const DefaultTimeout = 60 * time.Second

// PoolingFormat is how a process reward model served by a Pooling API reads
// a question and its steps: the text it was trained on, with Separator
// after every step. The server answers with a row of class probabilities
// at every occurrence of Separator in the text (its step tag), and
// Positive is the index of the class "this step is right" in a row.
type PoolingFormat struct {
	Name string
	// Template is the whole input: {question} is replaced by the question
	// and {steps} by the steps, each followed by Separator.
	Template  string
	Separator string
	Positive  int
}

// QwenMathPRM is the input of Qwen2.5-Math-PRM-7B and -72B, as their model
// card builds it: a chat (system, user, assistant) rendered by Qwen2.5's
// chat template without a generation prompt, the steps joined by the
// special token <extra_0> and ended by it. Its classifier has two labels
// and the card reads the second as the step's reward. vLLM scores it with
// STEP pooling at <extra_0> (step_tag_id 151651, set by vLLM itself for
// Qwen2ForProcessRewardModel) and a softmax. What follows the last
// separator cannot move a causal model's scores, so the exact ending of
// the rendered chat does not matter.
var QwenMathPRM = PoolingFormat{
	Name: "qwen2.5-math-prm",
	Template: "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n" +
		"<|im_start|>user\n{question}<|im_end|>\n" +
		"<|im_start|>assistant\n{steps}<|im_end|>\n",
	Separator: "<extra_0>",
	Positive:  1,
}

// ParetoPRM is the input of pareto's own PRMs (PromptTemplate, one step a
// line; see Encode) as `pareto serve` scores them on /pooling: a row
// [P(bad), P(good)] at every line break, the prompt's included.
var ParetoPRM = PoolingFormat{
	Name:      "pareto",
	Template:  PromptTemplate + "{steps}",
	Separator: StepSeparator,
	Positive:  1,
}

var poolingFormats = []PoolingFormat{QwenMathPRM, ParetoPRM}

// LookupPoolingFormat returns the PoolingFormat called name.
func LookupPoolingFormat(name string) (PoolingFormat, error) {
	for _, f := range poolingFormats {
		if f.Name == name {
			return f, nil
		}
	}
	known := make([]string, len(poolingFormats))
	for i, f := range poolingFormats {
		known[i] = f.Name
	}
	return PoolingFormat{}, fmt.Errorf("unknown PRM input format %q (known: %s)", name, strings.Join(known, ", "))
}

func (f PoolingFormat) check() error {
	switch {
	case f.Separator == "":
		return fmt.Errorf("format %q has no step separator", f.Name)
	case strings.Count(f.Template, "{steps}") != 1:
		return fmt.Errorf("format %q: its template must hold {steps} exactly once", f.Name)
	case f.Positive < 0:
		return fmt.Errorf("format %q: positive class index %d is negative", f.Name, f.Positive)
	}
	return nil
}

// input is one candidate's text and where its steps' rows are among the
// rows the server returns: a row for every separator in the text, of which
// the first skip are the template's and question's own.
type input struct {
	text string
	skip int // separators before the first step's
	tags int // separators in the whole text
}

// build fills the template. A separator inside a step becomes a space, as
// Encode does with line breaks, so that every step has exactly one.
func (f PoolingFormat) build(question string, steps []string) (input, error) {
	head, tail, _ := strings.Cut(f.Template, "{steps}")
	head = Prompt(head, question)
	tail = Prompt(tail, question)
	var b strings.Builder
	b.WriteString(head)
	for _, s := range steps {
		b.WriteString(strings.ReplaceAll(s, f.Separator, " "))
		b.WriteString(f.Separator)
	}
	b.WriteString(tail)
	in := input{text: b.String(), skip: strings.Count(head, f.Separator)}
	in.tags = strings.Count(in.text, f.Separator)
	if want := in.skip + len(steps) + strings.Count(tail, f.Separator); in.tags != want {
		// A step's end and the separator can together spell one more.
		return input{}, fmt.Errorf("the input has %d step separators %q where %d were put: a step's text runs into one", in.tags, f.Separator, want)
	}
	return in, nil
}

// Pooling scores steps with a process reward model served by vLLM's
// Pooling API (or `pareto serve` with a PRM, which speaks it too): one
// POST /pooling per call, of the candidates' texts built by Format, each
// step's score read from the row the server returns at the step's
// separator. A call fails, never scoring zero, when the server errs, is
// slower than Timeout, or returns other than one row per separator.
//
// The request and response follow vLLM's
// vllm/entrypoints/pooling/pooling/protocol.py (PoolingCompletionRequest:
// {"model", "input": a string or a list of strings, "task"};
// PoolingResponse: {"data": [{"index", "object": "pooling", "data": rows}],
// "usage": {"prompt_tokens", ...}}) and its docs, "Pooling Models" and
// "Reward Usages" (docs/models/pooling_models/): a process reward model is
// a token_classify task, and STEP pooling returns the rows at the tokens
// equal to step_tag_id only (StepPool in
// vllm/model_executor/layers/pooler/tokwise/methods.py), each the
// classifier's softmax.
//
// The usage of a call is its prompt tokens as the server reports them.
// Its FLOPs are counted only when Arch gives the model's architecture (as
// compute.Accountant does for a backend); otherwise they are zero, and the
// run's FLOPs leave the scorer out.
type Pooling struct {
	URL    string // the server's base URL, with or without /v1: /pooling is appended
	Model  string // the served model's name
	Format PoolingFormat
	APIKey string       // sent as a bearer token when set
	Arch   compute.Arch // the PRM's architecture for FLOPs, if known
	Client *http.Client // nil means http.DefaultClient
	Task   string       // the pooling task; "" means token_classify
	// Timeout bounds one request; 0 means DefaultTimeout.
	Timeout time.Duration
}

var (
	_ pareto.Scorer      = (*Pooling)(nil)
	_ pareto.BatchScorer = (*Pooling)(nil)
)

// Endpoint is the URL the requests go to. vLLM serves /pooling beside
// /v1, not under it, so a base URL ending in /v1 loses it; a URL that
// names /pooling itself is kept.
func (p *Pooling) Endpoint() string {
	base := strings.TrimRight(p.URL, "/")
	if strings.HasSuffix(base, "/pooling") {
		return base
	}
	return strings.TrimSuffix(base, "/v1") + "/pooling"
}

// Score implements pareto.Scorer.
func (p *Pooling) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	out, u, err := p.ScoreBatch(ctx, question, [][]string{steps})
	if err != nil {
		return nil, u, err
	}
	return out[0], u, nil
}

// ScoreBatch implements pareto.BatchScorer: every candidate in one request, as
// vLLM's Pooling API takes a list of inputs.
func (p *Pooling) ScoreBatch(ctx context.Context, question string, candidates [][]string) ([][]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if err := p.Format.check(); err != nil {
		return nil, u, fmt.Errorf("pooling: %w", err)
	}
	if len(candidates) == 0 {
		return nil, u, fmt.Errorf("pooling: no candidates to score")
	}
	ins := make([]input, len(candidates))
	texts := make([]string, len(candidates))
	for i, steps := range candidates {
		if len(steps) == 0 {
			return nil, u, fmt.Errorf("pooling: candidate %d: no steps to score", i)
		}
		in, err := p.Format.build(question, steps)
		if err != nil {
			return nil, u, fmt.Errorf("pooling: candidate %d: %w", i, err)
		}
		ins[i], texts[i] = in, in.text
	}
	if err := ctx.Err(); err != nil {
		return nil, u, fmt.Errorf("pooling: %w", err)
	}
	task := p.Task
	if task == "" {
		task = "token_classify"
	}
	req := poolingRequest{Model: p.Model, Input: texts, Task: task}
	var resp poolingResponse
	if err := postJSON(ctx, p.Client, p.timeout(), p.Endpoint(), p.APIKey, req, &resp); err != nil {
		return nil, u, fmt.Errorf("pooling: %w", err)
	}
	u.Calls = 1
	if resp.Usage != nil && resp.Usage.PromptTokens > 0 {
		u.PromptTokens = resp.Usage.PromptTokens
		if d := resp.Usage.PromptTokensDetails; d != nil {
			u.CachedTokens = min(max(d.CachedTokens, 0), u.PromptTokens)
		}
		if p.Arch.Known() {
			compute.Accountant{Arch: p.Arch}.Charge(&u, u.PromptTokens)
		}
	} else {
		u.Unreported = 1
	}
	if len(resp.Data) != len(candidates) {
		return nil, u, fmt.Errorf("pooling: %s returned %d outputs for %d inputs", p.Endpoint(), len(resp.Data), len(candidates))
	}
	out := make([][]float64, len(candidates))
	for _, d := range resp.Data {
		i := d.Index
		if i < 0 || i >= len(candidates) || out[i] != nil {
			return nil, u, fmt.Errorf("pooling: output index %d is out of range or repeated for %d inputs", i, len(candidates))
		}
		scores, err := p.stepScores(d.Data, ins[i], len(candidates[i]))
		if err != nil {
			return nil, u, fmt.Errorf("pooling: candidate %d: %w", i, err)
		}
		out[i] = scores
	}
	u.Latency = time.Since(start)
	return out, u, nil
}

func (p *Pooling) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// stepScores reads the steps' scores from one input's rows.
func (p *Pooling) stepScores(raw json.RawMessage, in input, steps int) ([]float64, error) {
	var rows [][]*float64
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("output data is %s, want one row of class probabilities per step separator (a token-wise task such as token_classify, with STEP pooling)", httperr.Snippet(raw))
	}
	sep := p.Format.Separator
	switch {
	case len(rows) == 0:
		return nil, fmt.Errorf("the server found none of the input's %d step separators %q: is it one token of %s's vocabulary and its pooler's step_tag_id (vLLM --pooler-config)?", in.tags, sep, p.Model)
	case len(rows) != in.tags:
		return nil, fmt.Errorf("%d rows for the input's %d step separators %q (%d steps): the server pools other tokens than the separator (ALL pooling, or another step_tag_id)", len(rows), in.tags, sep, steps)
	}
	scores := make([]float64, steps)
	for k := range scores {
		v, err := p.positive(rows[in.skip+k])
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", k+1, err)
		}
		scores[k] = v
	}
	return scores, nil
}

// positive is the probability of the positive class in a row: its entry
// Positive when the row is a distribution over classes, or a row's one
// value when the head has a single (sigmoid) output.
func (p *Pooling) positive(row []*float64) (float64, error) {
	vs := make([]float64, len(row))
	sum := 0.0
	for i, v := range row {
		if v == nil || !(*v >= 0 && *v <= 1) {
			return 0, fmt.Errorf("row %s is not class probabilities in [0,1] (is the pooler's activation off?)", rowString(row))
		}
		vs[i] = *v
		sum += *v
	}
	switch {
	case len(vs) == 1:
		return vs[0], nil
	case p.Format.Positive >= len(vs):
		return 0, fmt.Errorf("row %s has no class %d, the positive one", rowString(row), p.Format.Positive)
	case math.Abs(sum-1) > 1e-3:
		return 0, fmt.Errorf("row %s sums to %g, not 1: not a softmax over classes", rowString(row), sum)
	}
	return vs[p.Format.Positive], nil
}

func rowString(row []*float64) string {
	parts := make([]string, len(row))
	for i, v := range row {
		parts[i] = numString(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// numString shows a number from JSON, null as null.
func numString(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// poolingRequest is vLLM's PoolingCompletionRequest, the fields pareto sets.
type poolingRequest struct {
	Model string   `json:"model,omitempty"`
	Input []string `json:"input"`
	Task  string   `json:"task,omitempty"`
}

// poolingResponse is vLLM's PoolingResponse.
type poolingResponse struct {
	Model string `json:"model"`
	Data  []struct {
		Index  int             `json:"index"`
		Object string          `json:"object"`
		Data   json.RawMessage `json:"data"`
	} `json:"data"`
	Usage *struct {
		PromptTokens        int `json:"prompt_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

// maxResponse bounds a scorer's answer: a row per step, or a score.
const maxResponse = 16 << 20

// postJSON posts req as JSON to endpoint and decodes the answer into
// resp. Its errors name the endpoint and what went wrong: the HTTP status
// with the server's own message, no answer within timeout, or an answer
// that is not the JSON expected. A canceled ctx gives an error wrapping
// ctx's.
func postJSON(ctx context.Context, client *http.Client, timeout time.Duration, endpoint, apiKey string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, errScorerTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(tctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", endpoint, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+apiKey)
	}
	// timedOut tells a deadline of our own from the caller's.
	timedOut := func(err error) error {
		if ctx.Err() == nil && errors.Is(context.Cause(tctx), errScorerTimeout) {
			return fmt.Errorf("POST %s: no answer within %v (the scorer timeout): %w", endpoint, timeout, context.DeadlineExceeded)
		}
		return fmt.Errorf("POST %s: %w", endpoint, err)
	}
	hresp, err := client.Do(hreq)
	if err != nil {
		return timedOut(err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponse+1))
	if err != nil {
		return timedOut(err)
	}
	if len(data) > maxResponse {
		return fmt.Errorf("POST %s: answer longer than %d bytes", endpoint, maxResponse)
	}
	if hresp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", endpoint, hresp.Status, serverMessage(data))
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("POST %s: answer is not the JSON expected (%v): %s", endpoint, err, httperr.Snippet(data))
	}
	return nil
}

var errScorerTimeout = errors.New("scorer timeout")

// serverMessage is the message of an error answer (see httperr.Message),
// or "(empty body)" so that an empty answer is named.
func serverMessage(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "(empty body)"
	}
	return httperr.Message(body)
}

// hostOf is the host of a URL for a scorer's name, or the URL if it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// validURL refuses a scorer URL that cannot be posted to.
func validURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if !slices.Contains([]string{"http", "https"}, u.Scheme) || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL with a host", raw)
	}
	return nil
}
