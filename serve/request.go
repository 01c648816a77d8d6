package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/pareto-llm/pareto"
)

// api is which of the two OpenAI completion APIs a request came in on.
type api int

const (
	apiCompletions api = iota // legacy /v1/completions: a prompt, text back
	apiChat                   // /v1/chat/completions: messages, a message back
)

// Limits on request fields, as OpenAI's where it has them.
const (
	maxN        = 128
	maxStops    = 4
	maxLogprobs = 20
)

// request is a parsed and checked completion request of either API.
type request struct {
	api          api
	model        string
	gen          pareto.Request
	stream       bool
	includeUsage bool // stream_options.include_usage: a last chunk with usage
	promptChars  int  // completions: where text_offset of the first token is
}

// parseRequest reads and checks a request body. Every field is checked by
// name, so an error can say which field is wrong; fields this server does
// not know are refused, as OpenAI refuses them, rather than ignored.
func parseRequest(w http.ResponseWriter, r *http.Request, kind api) (*request, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
		}
		return nil, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("reading the request body: %v", err)}
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return nil, &apiError{status: http.StatusBadRequest, msg: "We could not parse the JSON body of your request: it must be a JSON object (" + jsonProblem(err) + ")"}
	}
	req := &request{api: kind}
	if ok, err := f.take("model", &req.model, "a string"); err != nil {
		return nil, err
	} else if !ok || req.model == "" {
		return nil, badField("model", "required: the name of a model from /v1/models")
	}
	if kind == apiCompletions {
		err = req.parseCompletions(f)
	} else {
		err = req.parseChat(f)
	}
	if err != nil {
		return nil, err
	}
	if err := req.parseCommon(f); err != nil {
		return nil, err
	}
	if len(f) > 0 {
		names := make([]string, 0, len(f))
		for k := range f {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, &apiError{status: http.StatusBadRequest, param: names[0], msg: "Unrecognized request argument supplied: " + names[0]}
	}
	return req, nil
}

func jsonProblem(err error) string {
	if err == nil {
		return "got null"
	}
	return err.Error()
}

// fields are the members of a JSON request object not yet looked at.
type fields map[string]json.RawMessage

// take decodes field name into dst and forgets it. Absent and null are
// the same: not given (ok false).
func (f fields) take(name string, dst any, want string) (ok bool, err error) {
	raw, present := f[name]
	delete(f, name)
	raw = bytes.TrimSpace(raw)
	if !present || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return false, badField(name, "must be %s, got %s", want, abbrev(raw))
	}
	return true, nil
}

// abbrev shows a bad JSON value in an error message, shortened.
func abbrev(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}

// parseCompletions reads the fields only /v1/completions has.
func (req *request) parseCompletions(f fields) error {
	raw, ok := f["prompt"]
	delete(f, "prompt")
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return badField("prompt", "required")
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(raw, &one) == nil:
	case json.Unmarshal(raw, &many) == nil && len(many) == 1:
		one = many[0]
	case many != nil:
		return badField("prompt", "an array must hold exactly one prompt, got %d (send one request per prompt)", len(many))
	default:
		return badField("prompt", "must be a string or an array of one string")
	}
	req.gen.Prompt = one
	req.promptChars = len([]rune(one))

	var k int
	if ok, err := f.take("logprobs", &k, "an integer"); err != nil {
		return err
	} else if ok {
		if k < 0 || k > maxLogprobs {
			return badField("logprobs", "must be between 0 and %d, got %d", maxLogprobs, k)
		}
		req.gen.Logprobs, req.gen.TopLogprobs = true, k
	}
	var echo bool
	if _, err := f.take("echo", &echo, "a boolean"); err != nil {
		return err
	} else if echo {
		return badField("echo", "echoing the prompt is not supported")
	}
	var suffix string
	if _, err := f.take("suffix", &suffix, "a string"); err != nil {
		return err
	} else if suffix != "" {
		return badField("suffix", "suffixes (insertion) are not supported")
	}
	// best_of is checked against n in parseCommon.
	return nil
}

// parseChat reads the fields only /v1/chat/completions has.
func (req *request) parseChat(f fields) error {
	var msgs []json.RawMessage
	if ok, err := f.take("messages", &msgs, "an array of messages"); err != nil {
		return err
	} else if !ok || len(msgs) == 0 {
		return badField("messages", "required: at least one message")
	}
	for i, raw := range msgs {
		m, err := parseMessage(raw, fmt.Sprintf("messages[%d]", i))
		if err != nil {
			return err
		}
		req.gen.Messages = append(req.gen.Messages, m)
	}

	var mct int
	if ok, err := f.take("max_completion_tokens", &mct, "an integer"); err != nil {
		return err
	} else if ok {
		if mct < 1 {
			return badField("max_completion_tokens", "must be at least 1, got %d", mct)
		}
		req.gen.MaxTokens = mct
	}
	var logprobs bool
	if _, err := f.take("logprobs", &logprobs, "a boolean"); err != nil {
		return err
	}
	var top int
	if ok, err := f.take("top_logprobs", &top, "an integer"); err != nil {
		return err
	} else if ok {
		if top < 0 || top > maxLogprobs {
			return badField("top_logprobs", "must be between 0 and %d, got %d", maxLogprobs, top)
		}
		if !logprobs {
			return badField("top_logprobs", "requires logprobs to be true")
		}
	}
	req.gen.Logprobs, req.gen.TopLogprobs = logprobs, top

	var format struct {
		Type string `json:"type"`
	}
	if ok, err := f.take("response_format", &format, `an object like {"type":"text"}`); err != nil {
		return err
	} else if ok && format.Type != "text" {
		return badField("response_format", "only type \"text\" is supported, got %q", format.Type)
	}
	var tools []json.RawMessage
	if _, err := f.take("tools", &tools, "an array"); err != nil {
		return err
	} else if len(tools) > 0 {
		return badField("tools", "tool calling is not supported")
	}
	var choice any
	if _, err := f.take("tool_choice", &choice, `"none" or "auto"`); err != nil {
		return err
	} else if choice != nil && choice != "none" && choice != "auto" {
		return badField("tool_choice", "tool calling is not supported")
	}
	// Accepted and without effect here: they ask nothing of the output.
	for _, name := range []string{"store", "metadata", "parallel_tool_calls", "service_tier"} {
		delete(f, name)
	}
	return nil
}

// parseMessage reads one chat message; content is a string or an array of
// text parts (joined by newlines).
func parseMessage(raw json.RawMessage, at string) (pareto.Message, error) {
	var m struct {
		Role    *string         `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return pareto.Message{}, badField(at, "must be an object with role and content")
	}
	if m.Role == nil {
		return pareto.Message{}, badField(at+".role", "required")
	}
	switch *m.Role {
	case "system", "developer", "user", "assistant":
	default:
		return pareto.Message{}, badField(at+".role", "must be system, developer, user or assistant, got %q", *m.Role)
	}
	out := pareto.Message{Role: *m.Role}
	content := bytes.TrimSpace(m.Content)
	if len(content) == 0 || string(content) == "null" {
		if out.Role != "assistant" {
			return pareto.Message{}, badField(at+".content", "required")
		}
		return out, nil
	}
	if json.Unmarshal(content, &out.Content) == nil {
		return out, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(content, &parts); err != nil {
		return pareto.Message{}, badField(at+".content", "must be a string or an array of text parts")
	}
	texts := make([]string, 0, len(parts))
	for j, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return pareto.Message{}, badField(fmt.Sprintf("%s.content[%d]", at, j), "only text parts ({\"type\":\"text\",\"text\":...}) are supported, got type %q", p.Type)
		}
		texts = append(texts, *p.Text)
	}
	out.Content = strings.Join(texts, "\n")
	return out, nil
}

// parseCommon reads the sampling fields both APIs share.
func (req *request) parseCommon(f fields) error {
	p := &req.gen.Params
	var maxTok int
	if ok, err := f.take("max_tokens", &maxTok, "an integer"); err != nil {
		return err
	} else if ok {
		if maxTok < 1 {
			return badField("max_tokens", "must be at least 1, got %d", maxTok)
		}
		if p.MaxTokens == 0 { // chat's max_completion_tokens wins
			p.MaxTokens = maxTok
		}
	}
	p.Temperature = 1 // OpenAI's default
	if ok, err := f.take("temperature", &p.Temperature, "a number"); err != nil {
		return err
	} else if ok && (p.Temperature < 0 || p.Temperature > 2) {
		return badField("temperature", "must be between 0 and 2, got %g", p.Temperature)
	}
	if ok, err := f.take("top_p", &p.TopP, "a number"); err != nil {
		return err
	} else if ok && (p.TopP <= 0 || p.TopP > 1) {
		return badField("top_p", "must be greater than 0 and at most 1, got %g", p.TopP)
	}
	p.N = 1
	if ok, err := f.take("n", &p.N, "an integer"); err != nil {
		return err
	} else if ok && (p.N < 1 || p.N > maxN) {
		return badField("n", "must be between 1 and %d, got %d", maxN, p.N)
	}
	if req.api == apiCompletions {
		var bestOf int
		if ok, err := f.take("best_of", &bestOf, "an integer"); err != nil {
			return err
		} else if ok && bestOf != p.N {
			return badField("best_of", "is not supported unless equal to n (%d), got %d", p.N, bestOf)
		}
	}
	var seed int64
	if ok, err := f.take("seed", &seed, "an integer"); err != nil {
		return err
	} else if ok {
		p.Seed = &seed
	}
	if err := takeStop(f, p); err != nil {
		return err
	}
	if _, err := f.take("stream", &req.stream, "a boolean"); err != nil {
		return err
	}
	var so struct {
		IncludeUsage       bool `json:"include_usage"`
		IncludeObfuscation bool `json:"include_obfuscation"` // no side channel to cover: ignored
	}
	if ok, err := f.take("stream_options", &so, "an object"); err != nil {
		return err
	} else if ok && !req.stream {
		return badField("stream_options", "only allowed when stream is true")
	}
	req.includeUsage = so.IncludeUsage

	for _, name := range []string{"presence_penalty", "frequency_penalty"} {
		var v float64
		if _, err := f.take(name, &v, "a number"); err != nil {
			return err
		} else if v != 0 {
			return badField(name, "is not supported (only 0), got %g", v)
		}
	}
	var bias map[string]float64
	if _, err := f.take("logit_bias", &bias, "an object of token ids to numbers"); err != nil {
		return err
	} else if len(bias) > 0 {
		return badField("logit_bias", "is not supported")
	}
	var user string
	if _, err := f.take("user", &user, "a string"); err != nil {
		return err
	}
	return nil
}

// takeStop reads stop: a string or an array of up to four.
func takeStop(f fields, p *pareto.Params) error {
	raw, ok := f["stop"]
	delete(f, "stop")
	raw = bytes.TrimSpace(raw)
	if !ok || string(raw) == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one != "" {
			p.Stop = []string{one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return badField("stop", "must be a string or an array of up to %d strings", maxStops)
	}
	if len(many) > maxStops {
		return badField("stop", "at most %d sequences, got %d", maxStops, len(many))
	}
	for _, s := range many {
		if s != "" {
			p.Stop = append(p.Stop, s)
		}
	}
	return nil
}
