package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/respjson"
	"github.com/openai/openai-go/v3/shared"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/internal/httperr"
	"github.com/pareto-llm/pareto/think"
)

// Sentinels the capture middleware returns so call can classify the answer
// from what it saw on the wire.
var (
	errStatus  = errors.New("non-2xx status")
	errNotJSON = errors.New("body is not JSON")
)

// exchange records one HTTP attempt as seen on the wire. Status codes,
// headers and bodies are judged here rather than by the client library so
// that non-JSON error pages and truncated bodies are classified exactly.
type exchange struct {
	status  int
	header  http.Header
	body    []byte
	latency time.Duration
}

// answered reports whether the server sent a complete response.
func (x *exchange) answered() bool { return x.status != 0 }

// capture is an openai-go middleware that reads the whole body itself.
func (x *exchange) capture(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	start := time.Now()
	res, err := next(req)
	if err != nil {
		return nil, &transportError{err: err}
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	x.latency = time.Since(start)
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("reading response body: %w", err)}
	}
	x.status, x.header, x.body = res.StatusCode, res.Header, body
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, errStatus
	}
	if !json.Valid(body) {
		return nil, errNotJSON
	}
	// Some servers label JSON as text/plain; the library would refuse it.
	res.Header.Set("Content-Type", "application/json")
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	return res, nil
}

// choice is one decoded choice of a response.
type choice struct {
	index     int64
	text      string // the visible part
	reasoning string // the thought, from a reasoning field or markers in the text
	// hiddenChars and visibleChars are the characters generated in the
	// thought (markers included) and in the visible part: the weights of
	// a split of the choice's tokens when the server does not count its
	// reasoning tokens (see completions).
	hiddenChars, visibleChars int
	finish                    string
	stop                      string // the requested stop string that ended it, when the server says
	logprobs                  []pareto.TokenLogprob
	tokens                    int  // completion tokens of this choice, when the server says
	hasTokens                 bool // whether tokens was reported
}

// answer is one decoded response, independent of the API flavour.
type answer struct {
	choices  []choice
	reported bool // usage present
	prompt   int
	complete int // the server's completion_tokens: visible and reasoning
	hidden   int // of which reasoning, never more than complete
	cached   int
	// cacheUnknown: the server gave no prompt_tokens_details.cached_tokens,
	// so whether a prefix cache served part of the prompt is unknown.
	cacheUnknown bool
}

// call makes one HTTP attempt on r asking for n choices.
func (r *replica) call(ctx context.Context, cfg Config, chat bool, req pareto.Request, n int, seed *int64) ([]pareto.Completion, error) {
	actx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var x exchange
	mw := option.WithMiddleware(x.capture)
	var ans *answer
	var err error
	if chat {
		p, perr := chatParams(cfg.Model, req, n, seed)
		if perr != nil {
			return nil, fmt.Errorf("%s: %w", where(r.url, cfg.Model), perr)
		}
		var resp *oai.ChatCompletion
		if resp, err = r.chat.Completions.New(actx, p, mw); err == nil {
			ans, err = fromChat(resp, req, cfg.Markers)
		}
	} else {
		var resp *oai.Completion
		if resp, err = r.completions.New(actx, completionParams(cfg.Model, req, n, seed), mw); err == nil {
			ans, err = fromCompletion(resp, req, cfg.Markers)
		}
	}
	if err != nil {
		return nil, r.classify(ctx, actx, cfg, &x, err)
	}
	return ans.completions(n, x.latency), nil
}

// classify turns an attempt's failure into a StatusError, a malformed
// response error, a transportError (retryable) or the context's error.
func (r *replica) classify(ctx, actx context.Context, cfg Config, x *exchange, err error) error {
	at := where(r.url, cfg.Model)
	var te *transportError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", at, ctx.Err())
	case errors.Is(err, errStatus):
		return &StatusError{
			URL: r.url, Model: cfg.Model, StatusCode: x.status,
			Message:    httperr.Message(x.body),
			RetryAfter: retryAfter(x.header, time.Now()),
		}
	case errors.Is(err, errNotJSON):
		return fmt.Errorf("%s: %w: not JSON: %q", at, ErrMalformed, httperr.Snippet(x.body))
	case errors.Is(err, ErrMalformed):
		return fmt.Errorf("%s: %w", at, err)
	case actx.Err() != nil:
		return fmt.Errorf("%s: %w", at, &transportError{err: fmt.Errorf("attempt timed out after %v", cfg.Timeout), timeout: true})
	case errors.As(err, &te):
		return fmt.Errorf("%s: %w", at, te)
	case x.answered():
		// A 2xx JSON body the library could not decode.
		return fmt.Errorf("%s: %w: %v", at, ErrMalformed, err)
	default:
		return fmt.Errorf("%s: %w", at, err)
	}
}

// samplingOpts are the options /completions and /chat/completions take
// alike; a zero Opt is left out of the request.
func samplingOpts(req pareto.Request, n int, seed *int64) (nOpt, maxTokens, seedOpt param.Opt[int64], topP param.Opt[float64]) {
	if n > 1 {
		nOpt = param.NewOpt(int64(n))
	}
	if req.MaxTokens > 0 {
		maxTokens = param.NewOpt(int64(req.MaxTokens))
	}
	if seed != nil {
		seedOpt = param.NewOpt(*seed)
	}
	if req.TopP > 0 {
		topP = param.NewOpt(req.TopP)
	}
	return nOpt, maxTokens, seedOpt, topP
}

// completionParams builds a /completions request.
func completionParams(model string, req pareto.Request, n int, seed *int64) oai.CompletionNewParams {
	p := oai.CompletionNewParams{
		Model:       oai.CompletionNewParamsModel(model),
		Prompt:      oai.CompletionNewParamsPromptUnion{OfString: param.NewOpt(req.Prompt)},
		Temperature: param.NewOpt(req.Temperature),
	}
	p.N, p.MaxTokens, p.Seed, p.TopP = samplingOpts(req, n, seed)
	if len(req.Stop) > 0 {
		p.Stop = oai.CompletionNewParamsStopUnion{OfStringArray: req.Stop}
	}
	if req.Logprobs {
		p.Logprobs = param.NewOpt(int64(max(req.TopLogprobs, 1)))
	}
	return p
}

// chatParams builds a /chat/completions request; a bare Prompt becomes one
// user message. A final assistant message is continued, as vLLM's
// continue_final_message does it (Backend.checkReasoning let it through
// only to a server declared able to).
func chatParams(model string, req pareto.Request, n int, seed *int64) (oai.ChatCompletionNewParams, error) {
	p := oai.ChatCompletionNewParams{
		Model:       model,
		Temperature: param.NewOpt(req.Temperature),
	}
	if len(req.Messages) == 0 {
		p.Messages = []oai.ChatCompletionMessageParamUnion{oai.UserMessage(req.Prompt)}
	}
	for i, m := range req.Messages {
		switch m.Role {
		case "system":
			p.Messages = append(p.Messages, oai.SystemMessage(m.Content))
		case "developer":
			p.Messages = append(p.Messages, oai.DeveloperMessage(m.Content))
		case "user":
			p.Messages = append(p.Messages, oai.UserMessage(m.Content))
		case "assistant":
			p.Messages = append(p.Messages, oai.AssistantMessage(m.Content))
		default:
			return p, fmt.Errorf("Messages[%d].Role %q: want system, developer, user or assistant", i, m.Role)
		}
	}
	p.N, p.MaxTokens, p.Seed, p.TopP = samplingOpts(req, n, seed)
	if len(req.Stop) > 0 {
		p.Stop = oai.ChatCompletionNewParamsStopUnion{OfStringArray: req.Stop}
	}
	if req.Logprobs {
		p.Logprobs = param.NewOpt(true)
		if req.TopLogprobs > 0 {
			p.TopLogprobs = param.NewOpt(int64(req.TopLogprobs))
		}
	}
	p.ReasoningEffort = shared.ReasoningEffort(req.ReasoningEffort)
	if continues(req) {
		p.SetExtraFields(map[string]any{"continue_final_message": true, "add_generation_prompt": false})
	}
	return p, nil
}

// fromCompletion decodes a /completions response to req. A thought in a
// choice's text, between m's markers or begun in the prompt, is its
// reasoning.
func fromCompletion(resp *oai.Completion, req pareto.Request, m think.Markers) (*answer, error) {
	if resp == nil || len(resp.Choices) == 0 {
		return nil, fmt.Errorf("%w: no choices in %q", ErrMalformed, httperr.Snippet([]byte(rawOf(resp))))
	}
	wantTop := req.Logprobs && req.TopLogprobs > 0
	a := usageOf(resp.JSON.Usage, resp.Usage)
	for _, c := range resp.Choices {
		ch := choice{index: c.Index, finish: string(c.FinishReason)}
		ch.split(m, req.Prompt, "", c.Text)
		ch.tokens, ch.hasTokens = choiceTokens(c.JSON.ExtraFields)
		ch.stop = stopOf(c.JSON.ExtraFields, resp.JSON.ExtraFields, len(resp.Choices), req.Stop)
		lp := c.Logprobs
		for i, tok := range lp.Tokens {
			t := pareto.TokenLogprob{Token: tok}
			if i < len(lp.TokenLogprobs) {
				t.Logprob = lp.TokenLogprobs[i]
			}
			if wantTop && i < len(lp.TopLogprobs) && len(lp.TopLogprobs[i]) > 0 {
				t.Top = make(map[string]float64, len(lp.TopLogprobs[i]))
				for k, v := range lp.TopLogprobs[i] {
					t.Top[k] = v
				}
			}
			ch.logprobs = append(ch.logprobs, t)
		}
		a.choices = append(a.choices, ch)
	}
	return a, nil
}

// fromChat decodes a /chat/completions response to req. A message's
// reasoning is its reasoning_content (vLLM, SGLang, DeepSeek) or reasoning
// (Ollama, newer vLLM) field, and a thought between m's markers in its
// content, where a server without a reasoning parser leaves it.
func fromChat(resp *oai.ChatCompletion, req pareto.Request, m think.Markers) (*answer, error) {
	if resp == nil || len(resp.Choices) == 0 {
		raw := ""
		if resp != nil {
			raw = resp.RawJSON()
		}
		return nil, fmt.Errorf("%w: no choices in %q", ErrMalformed, httperr.Snippet([]byte(raw)))
	}
	wantTop := req.Logprobs && req.TopLogprobs > 0
	prefix := "" // the assistant message being continued
	if continues(req) {
		prefix = req.Messages[len(req.Messages)-1].Content
	}
	a := usageOf(resp.JSON.Usage, resp.Usage)
	for _, c := range resp.Choices {
		ch := choice{index: c.Index, finish: c.FinishReason}
		ch.split(m, prefix, reasoningField(c.Message.JSON.ExtraFields), c.Message.Content)
		ch.tokens, ch.hasTokens = choiceTokens(c.JSON.ExtraFields)
		ch.stop = stopOf(c.JSON.ExtraFields, resp.JSON.ExtraFields, len(resp.Choices), req.Stop)
		for _, tl := range c.Logprobs.Content {
			t := pareto.TokenLogprob{Token: tl.Token, Logprob: tl.Logprob}
			if wantTop && len(tl.TopLogprobs) > 0 {
				t.Top = make(map[string]float64, len(tl.TopLogprobs))
				for _, alt := range tl.TopLogprobs {
					t.Top[alt.Token] = alt.Logprob
				}
			}
			ch.logprobs = append(ch.logprobs, t)
		}
		a.choices = append(a.choices, ch)
	}
	return a, nil
}

// split sets the choice's visible text and reasoning from what the server
// sent: field, a reasoning field, and text, which may hold a thought
// between m's markers (or begun in prefix, the text it continues).
func (ch *choice) split(m think.Markers, prefix, field, text string) {
	thought, visible := m.Split(prefix, text)
	ch.text = visible
	ch.reasoning = field
	if thought != "" {
		if ch.reasoning != "" {
			ch.reasoning += "\n"
		}
		ch.reasoning += thought
	}
	ch.visibleChars = utf8.RuneCountInString(visible)
	ch.hiddenChars = utf8.RuneCountInString(field) + utf8.RuneCountInString(text) - ch.visibleChars
}

// reasoningFields are the message fields in which servers return the
// reasoning they parsed out of the output: reasoning_content (vLLM,
// SGLang, DeepSeek) and reasoning (Ollama, vLLM since it renamed the
// field, OpenRouter). A server sending both sends the same text twice.
var reasoningFields = []string{"reasoning_content", "reasoning"}

// reasoningField is the first non-empty reasoning field of a message.
func reasoningField(extra map[string]respjson.Field) string {
	for _, name := range reasoningFields {
		var s string
		// Unknown keys decode as "invalid" fields, so test Raw, not Valid.
		if f, ok := extra[name]; ok && json.Unmarshal([]byte(f.Raw()), &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

func rawOf(resp *oai.Completion) string {
	if resp == nil {
		return ""
	}
	return resp.RawJSON()
}

// usageOf reads the usage block; absent or null usage stays unreported.
func usageOf(field respjson.Field, u oai.CompletionUsage) *answer {
	a := &answer{}
	if !field.Valid() || (!u.JSON.PromptTokens.Valid() && !u.JSON.CompletionTokens.Valid()) {
		return a
	}
	a.reported = true
	a.prompt = int(u.PromptTokens)
	a.complete = max(0, int(u.CompletionTokens))
	// By OpenAI's definition completion_tokens already include the
	// reasoning_tokens. A server reporting more reasoning than completion
	// tokens contradicts itself; completion_tokens is the figure it bills,
	// so the reasoning is capped at it (every generated token hidden)
	// rather than leaving a negative count of visible tokens.
	a.hidden = min(max(0, int(u.CompletionTokensDetails.ReasoningTokens)), a.complete)
	a.cached = int(u.PromptTokensDetails.CachedTokens)
	a.cacheUnknown = !u.PromptTokensDetails.JSON.CachedTokens.Valid()
	return a
}

// stopFields are the choice fields in which servers name the stop string
// that ended a choice: vLLM's stop_reason, SGLang's matched_stop and
// llama.cpp's stopping_word. vLLM and SGLang put a stop token's id (a
// number) in the same field; that is no stop string.
var stopFields = []string{"stop_reason", "matched_stop", "stopping_word"}

// stopOf reads which of the requested stops ended a choice from the
// choice's extra fields or, for a response of one choice, from llama.cpp's
// "__verbose" copy of its native answer (sent when the server runs with
// --verbose). A string that is not one of stops is not taken: Stop names a
// requested stop, and nothing is guessed.
func stopOf(choiceExtra, respExtra map[string]respjson.Field, choices int, stops []string) string {
	if len(stops) == 0 {
		return ""
	}
	for _, name := range stopFields {
		if s := stopString(choiceExtra[name].Raw(), stops); s != "" {
			return s
		}
	}
	if choices != 1 {
		return ""
	}
	var v struct {
		StoppingWord json.RawMessage `json:"stopping_word"`
	}
	if f, ok := respExtra["__verbose"]; ok && json.Unmarshal([]byte(f.Raw()), &v) == nil {
		return stopString(string(v.StoppingWord), stops)
	}
	return ""
}

// stopString is raw when it is a JSON string equal to one of stops.
func stopString(raw string, stops []string) string {
	var s string
	if raw == "" || json.Unmarshal([]byte(raw), &s) != nil || s == "" || !slices.Contains(stops, s) {
		return ""
	}
	return s
}

// choiceTokens reads a per-choice completion token count, which some
// servers attach to each choice as "usage": {"completion_tokens": k} or as
// "completion_tokens": k.
func choiceTokens(extra map[string]respjson.Field) (int, bool) {
	// Unknown keys decode as "invalid" fields, so test Raw, not Valid.
	if f, ok := extra["usage"]; ok && f.Raw() != "" && f.Raw() != "null" {
		var u struct {
			CompletionTokens *int `json:"completion_tokens"`
		}
		if json.Unmarshal([]byte(f.Raw()), &u) == nil && u.CompletionTokens != nil && *u.CompletionTokens >= 0 {
			return *u.CompletionTokens, true
		}
	}
	if f, ok := extra["completion_tokens"]; ok && f.Raw() != "" && f.Raw() != "null" {
		var k int
		if json.Unmarshal([]byte(f.Raw()), &k) == nil && k >= 0 {
			return k, true
		}
	}
	return 0, false
}

// completions turns the answer into at most n completions carrying the
// call's usage: prompt and cached tokens, the call and its latency go to the
// first completion. The server's completion tokens are shared among the
// choices in proportion to the per-choice counts when the server gives
// them, otherwise evenly (see split); the reasoning tokens the server
// counts among them in proportion to those shares, or, when it counts
// none, each share by the characters of the choice's thought (see
// byChars). Each completion's
// CompletionTokens are its visible tokens, its share less its hidden ones,
// so visible plus hidden over the call is the server's completion_tokens
// exactly and no share is negative. Choices beyond n (a server returning
// too many) are dropped but their tokens are charged to the first
// completion so sums stay exact.
func (a *answer) completions(n int, latency time.Duration) []pareto.Completion {
	cs := a.choices
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].index < cs[j].index })
	k := len(cs)
	out := make([]pareto.Completion, k)
	for i, c := range cs {
		out[i] = pareto.Completion{Text: c.text, Reasoning: c.reasoning, FinishReason: c.finish, Stop: c.stop, Logprobs: c.logprobs}
	}
	first := &out[0].Usage
	first.Calls = 1
	first.Latency = latency
	if !a.reported {
		first.Unreported = 1 // counts calls, like Calls
		return out[:min(k, n)]
	}
	first.PromptTokens = a.prompt
	first.CachedTokens = a.cached
	if a.cacheUnknown {
		first.CacheUnreported = 1
	}
	gen := split(a.complete, k)
	if weights, ok := choiceWeights(cs); ok {
		gen = apportion(a.complete, weights)
	}
	hid := apportion(a.hidden, gen)
	if a.hidden == 0 {
		// The server sent no count of reasoning tokens (vLLM, Ollama,
		// SGLang do not) or a zero beside reasoning text: each choice's
		// tokens are split by the characters of its thought and of its
		// visible text, markers counted in the thought. An estimate, as
		// tokens are not characters, but the two parts sum to the
		// server's count exactly and nothing generated goes uncounted.
		for i, c := range cs {
			hid[i] = byChars(gen[i], c.hiddenChars, c.visibleChars)
		}
	}
	for i := range out {
		out[i].Usage.CompletionTokens = gen[i] - hid[i]
		out[i].Usage.HiddenTokens = hid[i]
	}
	if k > n {
		for _, c := range out[n:] {
			first.CompletionTokens += c.Usage.CompletionTokens
			first.HiddenTokens += c.Usage.HiddenTokens
		}
		out = out[:n]
	}
	return out
}

// byChars is the part of tokens that hidden characters of hidden+visible
// stand for, rounded to the nearest token; where there are tokens for
// both, each part that has characters gets at least one.
func byChars(tokens, hidden, visible int) int {
	if hidden <= 0 {
		return 0
	}
	if visible <= 0 {
		return tokens
	}
	all := hidden + visible
	h := (tokens*hidden + all/2) / all
	if tokens >= 2 {
		h = min(max(h, 1), tokens-1)
	}
	return h
}

// choiceWeights are the per-choice completion token counts, when the server
// gave one for every choice.
func choiceWeights(cs []choice) ([]int, bool) {
	w := make([]int, len(cs))
	for i, c := range cs {
		if !c.hasTokens {
			return nil, false
		}
		w[i] = c.tokens
	}
	return w, true
}

// split divides total into k shares summing to total that differ by at
// most one, the larger ones first. No share exceeds the longest choice, so
// none exceeds max_tokens.
func split(total, k int) []int {
	s := make([]int, k)
	for i := range s {
		s[i] = total / k
		if i < total%k {
			s[i]++
		}
	}
	return s
}

// apportion divides total >= 0 into shares proportional to the weights
// (>= 0) that sum to total exactly: each share is rounded down, and the
// units left go to the largest remainders, earlier shares first on ties.
// A share never exceeds its weight while total is at most the weights'
// sum, since only a share with a remainder, so below its exact quotient,
// gets a unit. Weights summing to zero split total evenly.
func apportion(total int, weights []int) []int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		return split(total, len(weights))
	}
	s := make([]int, len(weights))
	rem := make([]int, len(weights))
	order := make([]int, len(weights))
	left := total
	for i, w := range weights {
		s[i], rem[i] = total*w/sum, total*w%sum
		left -= s[i]
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return rem[order[i]] > rem[order[j]] })
	for _, i := range order[:left] {
		s[i]++
	}
	return s
}
