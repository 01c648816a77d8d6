package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/pareto-llm/pareto"
)

// envelope is a response or stream chunk of either API.
type envelope struct {
	ID      string     `json:"id"`
	Object  string     `json:"object"`
	Created int64      `json:"created"`
	Model   string     `json:"model"`
	Choices any        `json:"choices"` // []textChoice or []chatChoice
	Usage   usageField `json:"usage,omitzero"`
}

// usage is OpenAI's usage object. completion_tokens count every generated
// token, reasoning included; completion_tokens_details says how many of them
// were reasoning, when a model had any. prompt_tokens_details says how many
// prompt tokens the prefix cache served (always: the engine knows), as vLLM
// and OpenAI report it, so a client charges prefill only for the rest.
type usage struct {
	PromptTokens            int                `json:"prompt_tokens"`
	CompletionTokens        int                `json:"completion_tokens"`
	TotalTokens             int                `json:"total_tokens"`
	PromptTokensDetails     promptDetails      `json:"prompt_tokens_details"`
	CompletionTokensDetails *completionDetails `json:"completion_tokens_details,omitempty"`
}

type promptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type completionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// usageField is usage as OpenAI sends it: figures on a response, absent on
// stream chunks, or null on every chunk but the last when the client asked
// for usage (stream_options.include_usage).
type usageField struct {
	present bool
	u       *usage
}

// IsZero makes omitzero leave the field out when it is not present.
func (f usageField) IsZero() bool { return !f.present }

// MarshalJSON writes the figures or null.
func (f usageField) MarshalJSON() ([]byte, error) { return json.Marshal(f.u) }

// usageOf sums the completions' usage as OpenAI reports it: a completion's
// visible and hidden tokens are both completion_tokens.
func usageOf(out []pareto.Completion) *usage {
	var u usage
	hidden := 0
	for _, c := range out {
		u.PromptTokens += c.Usage.PromptTokens
		u.PromptTokensDetails.CachedTokens += c.Usage.CachedTokens
		u.CompletionTokens += c.Usage.CompletionTokens + c.Usage.HiddenTokens
		hidden += c.Usage.HiddenTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if hidden > 0 {
		u.CompletionTokensDetails = &completionDetails{ReasoningTokens: hidden}
	}
	return &u
}

// textChoice is a choice of /v1/completions.
type textChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	Logprobs     *legacyLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
	// StopReason is the stop string that ended the choice, named as vLLM
	// names it; absent when none did.
	StopReason string `json:"stop_reason,omitempty"`
}

// legacyLogprobs are the completions API's logprobs: parallel arrays.
// text_offset counts characters from the start of the prompt, as OpenAI's.
type legacyLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// legacy converts logprobs, the first token at character offset; it
// returns the offset after the last token.
func legacy(lps []pareto.TokenLogprob, top, offset int) (*legacyLogprobs, int) {
	l := &legacyLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TextOffset: []int{}}
	if top > 0 {
		l.TopLogprobs = []map[string]float64{}
	}
	for _, t := range lps {
		l.Tokens = append(l.Tokens, t.Token)
		l.TokenLogprobs = append(l.TokenLogprobs, finite(t.Logprob))
		l.TextOffset = append(l.TextOffset, offset)
		offset += utf8.RuneCountInString(t.Token)
		if top > 0 {
			m := make(map[string]float64, len(t.Top))
			for tok, lp := range t.Top {
				m[tok] = finite(lp)
			}
			l.TopLogprobs = append(l.TopLogprobs, m)
		}
	}
	return l, offset
}

// chatChoice is a choice of /v1/chat/completions: a message in a response,
// a delta in a stream chunk.
type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatMessage  `json:"message,omitempty"`
	Delta        *chatDelta    `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
	StopReason   string        `json:"stop_reason,omitempty"` // as textChoice's
}

// chatMessage is a choice's message. A thinking model's thought is in
// reasoning_content, as vLLM's reasoning parsers return it, and again in
// reasoning, as Ollama and newer vLLM name it; content is the answer.
type chatMessage struct {
	Role             string  `json:"role"`
	Content          string  `json:"content"`
	ReasoningContent string  `json:"reasoning_content,omitempty"`
	Reasoning        string  `json:"reasoning,omitempty"`
	Refusal          *string `json:"refusal"`
}

// chatDelta is a piece of a streamed message: of the answer in content,
// of a thought in reasoning_content and reasoning.
type chatDelta struct {
	Role             string  `json:"role,omitempty"`
	Content          *string `json:"content,omitempty"`
	ReasoningContent *string `json:"reasoning_content,omitempty"`
	Reasoning        *string `json:"reasoning,omitempty"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
	Refusal []chatTokenLogprob `json:"refusal"`
}

type chatTokenLogprob struct {
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []chatTopEntry `json:"top_logprobs"`
}

type chatTopEntry struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// finite keeps a logprob encodable: JSON has no -Inf, and OpenAI reports
// a probability too small to represent as -9999.
func finite(lp float64) float64 {
	if math.IsInf(lp, 0) || math.IsNaN(lp) {
		return -9999
	}
	return lp
}

// tokenBytes are a token's UTF-8 bytes as numbers: a token may be part of
// a character, which its token string cannot show.
func tokenBytes(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}

func chatLogprobsOf(lps []pareto.TokenLogprob) *chatLogprobs {
	out := &chatLogprobs{Content: make([]chatTokenLogprob, 0, len(lps))}
	for _, t := range lps {
		e := chatTokenLogprob{Token: t.Token, Logprob: finite(t.Logprob), Bytes: tokenBytes(t.Token), TopLogprobs: []chatTopEntry{}}
		for tok, lp := range t.Top {
			e.TopLogprobs = append(e.TopLogprobs, chatTopEntry{Token: tok, Logprob: finite(lp), Bytes: tokenBytes(tok)})
		}
		// The backend gives the alternatives as a map: restore their order.
		sort.Slice(e.TopLogprobs, func(i, j int) bool {
			a, b := e.TopLogprobs[i], e.TopLogprobs[j]
			if a.Logprob != b.Logprob {
				return a.Logprob > b.Logprob
			}
			return a.Token < b.Token
		})
		out.Content = append(out.Content, e)
	}
	return out
}

// reply builds the responses and chunks of one request.
type reply struct {
	req     *request
	id      string
	created int64
	offsets []int // completions: text_offset where each choice's next token starts
}

func newReply(req *request) *reply {
	prefix := "cmpl-"
	if req.api == apiChat {
		prefix = "chatcmpl-"
	}
	rp := &reply{req: req, id: newID(prefix), created: time.Now().Unix(), offsets: make([]int, req.gen.N)}
	for i := range rp.offsets {
		rp.offsets[i] = req.promptChars
	}
	return rp
}

func (rp *reply) envelope(object string, choices any) envelope {
	return envelope{ID: rp.id, Object: object, Created: rp.created, Model: rp.req.model, Choices: choices}
}

// response is the whole answer to a request that did not stream.
func (rp *reply) response(out []pareto.Completion) envelope {
	var env envelope
	if rp.req.api == apiCompletions {
		choices := make([]textChoice, len(out))
		for i, c := range out {
			choices[i] = textChoice{Text: c.Text, Index: i, FinishReason: finishOf(c), StopReason: c.Stop}
			if rp.req.gen.Logprobs {
				choices[i].Logprobs, _ = legacy(c.Logprobs, rp.req.gen.TopLogprobs, rp.req.promptChars)
			}
		}
		env = rp.envelope("text_completion", choices)
	} else {
		choices := make([]chatChoice, len(out))
		for i, c := range out {
			msg := &chatMessage{Role: "assistant", Content: c.Text, ReasoningContent: c.Reasoning, Reasoning: c.Reasoning}
			choices[i] = chatChoice{Index: i, Message: msg, FinishReason: finishOf(c), StopReason: c.Stop}
			if rp.req.gen.Logprobs {
				choices[i].Logprobs = chatLogprobsOf(c.Logprobs)
			}
		}
		env = rp.envelope("chat.completion", choices)
	}
	env.Usage = usageField{present: true, u: usageOf(out)}
	return env
}

// finishOf is a completion's finish reason; a backend that gives none is
// taken to have stopped on its own.
func finishOf(c pareto.Completion) *string {
	r := c.FinishReason
	if r == "" {
		r = "stop"
	}
	return &r
}

// chunkObject is the object name of stream chunks.
func (rp *reply) chunkObject() string {
	if rp.req.api == apiChat {
		return "chat.completion.chunk"
	}
	return "text_completion"
}

// chunk is one stream chunk with a single choice.
func (rp *reply) chunk(choice any) envelope {
	env := rp.envelope(rp.chunkObject(), []any{choice})
	env.Usage = usageField{present: rp.req.includeUsage}
	return env
}

// roleChunks open a chat stream: one chunk per choice naming the role.
func (rp *reply) roleChunks() []envelope {
	if rp.req.api != apiChat {
		return nil
	}
	empty := ""
	out := make([]envelope, rp.req.gen.N)
	for i := range out {
		out[i] = rp.chunk(chatChoice{Index: i, Delta: &chatDelta{Role: "assistant", Content: &empty}})
	}
	return out
}

// deltaChunks are the chunks of one delta of choice i: its text (with
// logprobs) if any, then its finish reason and stop string if it is the
// last. On chat a thought's text goes in the delta's reasoning_content
// (and reasoning), the answer's in its content; a completions choice has
// only text (a model answering it raw has no reasoning apart).
func (rp *reply) deltaChunks(i int, d pareto.Completion) []envelope {
	var out []envelope
	switch {
	case rp.req.api == apiChat && (d.Text != "" || d.Reasoning != "" || len(d.Logprobs) > 0):
		delta := &chatDelta{}
		if d.Reasoning != "" {
			r := d.Reasoning
			delta.ReasoningContent, delta.Reasoning = &r, &r
		}
		if d.Text != "" || d.Reasoning == "" {
			text := d.Text
			delta.Content = &text
		}
		c := chatChoice{Index: i, Delta: delta}
		if rp.req.gen.Logprobs {
			c.Logprobs = chatLogprobsOf(d.Logprobs)
		}
		out = append(out, rp.chunk(c))
	case rp.req.api == apiCompletions && (d.Text != "" || len(d.Logprobs) > 0):
		c := textChoice{Text: d.Text, Index: i}
		if rp.req.gen.Logprobs {
			c.Logprobs, rp.offsets[i] = legacy(d.Logprobs, rp.req.gen.TopLogprobs, rp.offsets[i])
		}
		out = append(out, rp.chunk(c))
	}
	if d.FinishReason != "" {
		reason := d.FinishReason
		if rp.req.api == apiChat {
			out = append(out, rp.chunk(chatChoice{Index: i, Delta: &chatDelta{}, FinishReason: &reason, StopReason: d.Stop}))
		} else {
			out = append(out, rp.chunk(textChoice{Index: i, FinishReason: &reason, StopReason: d.Stop}))
		}
	}
	return out
}

// usageChunk closes a stream whose client asked for usage: no choices.
func (rp *reply) usageChunk(out []pareto.Completion) envelope {
	env := rp.envelope(rp.chunkObject(), []any{})
	env.Usage = usageField{present: true, u: usageOf(out)}
	return env
}

// complete answers a completion request of either API.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, kind api) {
	req, err := parseRequest(w, r, kind)
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	m, ok := h.models[req.model]
	if !ok {
		writeError(w, unknownModel(req.model))
		return
	}
	rp := newReply(req)
	start := time.Now()
	var out []pareto.Completion
	if req.stream {
		out, err = h.stream(w, r, m, rp)
	} else {
		out, err = generate(r.Context(), m, req, nil)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, rp.response(out))
		case r.Context().Err() == nil:
			writeError(w, asAPIError(err))
		}
	}
	if err != nil {
		if r.Context().Err() != nil {
			h.log.Debug("serve: client left, generation canceled", "model", req.model, "id", rp.id)
		} else {
			h.log.Warn("serve: generation failed", "model", req.model, "id", rp.id, "err", err)
		}
		return
	}
	u := usageOf(out)
	h.log.Debug("serve: answered", "model", req.model, "id", rp.id, "stream", req.stream, "n", req.gen.N,
		"prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens, "elapsed", time.Since(start))
}

// checkCount holds a model to its contract: one completion per sample.
func checkCount(out []pareto.Completion, n int) error {
	if len(out) != n {
		return fmt.Errorf("serve: model returned %d completions for n=%d", len(out), n)
	}
	return nil
}
