package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/pareto-llm/pareto"
)

// Pooler is a model that answers vLLM's Pooling API (POST /pooling): for
// each input text, rows of numbers. For a process reward model a row is
// [P(bad), P(good)] at each step separator in the text, as vLLM's STEP
// pooling gives for Qwen2.5-Math-PRM.
type Pooler interface {
	Pool(ctx context.Context, inputs []string) (rows [][][]float64, usage pareto.Usage, err error)
}

// TagScorer scores a text at every step separator in it: the probability
// that the text up to there is right (reward.PRM's ScoreTags).
type TagScorer interface {
	ScoreTags(ctx context.Context, text string) ([]float64, pareto.Usage, error)
}

// PRM serves a process reward model: it scores on /pooling and refuses
// completions, since it is not a policy.
type PRM struct {
	Scorer TagScorer
}

var (
	_ Model  = PRM{}
	_ Pooler = PRM{}
)

// Generate refuses: a reward model does not generate.
func (PRM) Generate(context.Context, pareto.Request) ([]pareto.Completion, error) {
	return nil, &apiError{status: http.StatusBadRequest, param: "model",
		msg: "this model is a process reward model: it scores solutions' steps on /pooling and does not generate text"}
}

// Pool implements Pooler: a [1-p, p] row at each separator.
func (m PRM) Pool(ctx context.Context, inputs []string) ([][][]float64, pareto.Usage, error) {
	var total pareto.Usage
	out := make([][][]float64, len(inputs))
	for i, text := range inputs {
		ps, u, err := m.Scorer.ScoreTags(ctx, text)
		total.Add(u)
		if err != nil {
			return nil, total, inputError(i, err)
		}
		rows := make([][]float64, len(ps))
		for k, p := range ps {
			rows[k] = []float64{1 - p, p}
		}
		out[i] = rows
	}
	return out, total, nil
}

// tooLong matches reward.PRM's refusal of an input longer than its
// context, which reward gives no error type of its own; TestPoolingTooLong
// pins it to the shipped PRM's message.
var tooLong = regexp.MustCompile(`the input is (\d+) tokens, more than the model's context of (\d+)`)

// inputError is the error of scoring input i: an input longer than the
// model's context is the client's fault, a 400 as vLLM gives it, naming
// the length and the limit; any other is the server's.
func inputError(i int, err error) error {
	m := tooLong.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	return &apiError{status: http.StatusBadRequest, param: "input", msg: fmt.Sprintf(
		"This model's maximum context length is %s tokens. However, you requested %s tokens in input %d for pooling. Please reduce the length of the input.",
		m[2], m[1], i)}
}

// maxPoolInputs bounds the inputs of one /pooling request.
const maxPoolInputs = 2048

// poolingResponse is vLLM's PoolingResponse
// (vllm/entrypoints/pooling/pooling/protocol.py), its usage vLLM's
// UsageInfo with the prefix-cached prompt tokens in prompt_tokens_details.
type poolingResponse struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Data    []poolingData `json:"data"`
	Usage   poolingUsage  `json:"usage"`
}

type poolingData struct {
	Index  int         `json:"index"`
	Object string      `json:"object"`
	Data   [][]float64 `json:"data"`
}

type poolingUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	TotalTokens         int `json:"total_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// pool answers POST /pooling as vLLM does, for a model that is a Pooler.
// It reads vLLM's PoolingCompletionRequest: model (optional when one
// model pools), input (a string or a list of strings; token ids are
// refused), task (absent or token_classify) and the fields whose default
// it keeps (encoding_format "float", use_activation and
// add_special_tokens true); others are refused by name.
func (h *Handler) pool(w http.ResponseWriter, r *http.Request) {
	name, m, inputs, err := h.parsePool(w, r)
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	start := time.Now()
	rows, u, err := m.Pool(r.Context(), inputs)
	if err != nil {
		if r.Context().Err() == nil {
			ae := asAPIError(err)
			if ae.status >= http.StatusInternalServerError { // a client's error is the client's to see
				h.log.Warn("serve: pooling failed", "model", name, "err", err)
			}
			writeError(w, ae)
		}
		return
	}
	resp := poolingResponse{ID: newID("pool-"), Object: "list", Created: time.Now().Unix(), Model: name,
		Data: make([]poolingData, len(rows))}
	for i, rs := range rows {
		resp.Data[i] = poolingData{Index: i, Object: "pooling", Data: rs}
	}
	resp.Usage.PromptTokens, resp.Usage.TotalTokens = u.PromptTokens, u.PromptTokens
	resp.Usage.PromptTokensDetails.CachedTokens = u.CachedTokens
	writeJSON(w, http.StatusOK, resp)
	h.log.Debug("serve: pooled", "model", name, "inputs", len(inputs), "prompt_tokens", u.PromptTokens, "elapsed", time.Since(start))
}

func (h *Handler) parsePool(w http.ResponseWriter, r *http.Request) (string, Pooler, []string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", nil, nil, &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
		}
		return "", nil, nil, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("reading the request body: %v", err)}
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return "", nil, nil, &apiError{status: http.StatusBadRequest, msg: "We could not parse the JSON body of your request: it must be a JSON object (" + jsonProblem(err) + ")"}
	}
	var name string
	if _, err := f.take("model", &name, "a string"); err != nil {
		return "", nil, nil, err
	}
	if name == "" { // vLLM pools with its one model when none is named
		var poolers []string
		for _, n := range h.names {
			if _, ok := h.models[n].(Pooler); ok {
				poolers = append(poolers, n)
			}
		}
		if len(poolers) != 1 {
			return "", nil, nil, badField("model", "required: the name of a model from /v1/models that pools")
		}
		name = poolers[0]
	}
	model, ok := h.models[name]
	if !ok {
		return "", nil, nil, unknownModel(name)
	}
	p, ok := model.(Pooler)
	if !ok {
		return "", nil, nil, &apiError{status: http.StatusBadRequest, param: "model",
			msg: fmt.Sprintf("The model `%s` does not support the Pooling API: it is not a reward model", name)}
	}
	raw, present := f["input"]
	delete(f, "input")
	var inputs []string
	var one string
	switch {
	case !present || string(raw) == "null":
		return "", nil, nil, badField("input", "required")
	case json.Unmarshal(raw, &one) == nil:
		inputs = []string{one}
	case json.Unmarshal(raw, &inputs) == nil:
		if len(inputs) == 0 || len(inputs) > maxPoolInputs {
			return "", nil, nil, badField("input", "must hold 1 to %d texts, got %d", maxPoolInputs, len(inputs))
		}
	default:
		return "", nil, nil, badField("input", "must be a string or an array of strings (this server takes no token ids), got %s", abbrev(raw))
	}
	var task string
	if _, err := f.take("task", &task, "a string"); err != nil {
		return "", nil, nil, err
	}
	if task != "" && task != "token_classify" {
		return "", nil, nil, badField("task", "this model supports token_classify only, got %q", task)
	}
	var format string
	if _, err := f.take("encoding_format", &format, "a string"); err != nil {
		return "", nil, nil, err
	}
	if format != "" && format != "float" {
		return "", nil, nil, badField("encoding_format", "this server returns float only, got %q", format)
	}
	for _, b := range []string{"use_activation", "add_special_tokens"} {
		yes := true
		if _, err := f.take(b, &yes, "a boolean"); err != nil {
			return "", nil, nil, err
		}
		if !yes {
			return "", nil, nil, badField(b, "this server supports true only: probabilities, of the text as the model was trained on it")
		}
	}
	for _, ignored := range []string{"user", "request_id", "priority"} {
		delete(f, ignored) // bookkeeping with no effect on the result
	}
	if len(f) > 0 {
		names := make([]string, 0, len(f))
		for k := range f {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", nil, nil, &apiError{status: http.StatusBadRequest, param: names[0], msg: "Unrecognized request argument supplied: " + names[0]}
	}
	return name, p, inputs, nil
}
