// Package serve speaks the OpenAI HTTP API (/v1/models, /v1/completions,
// /v1/chat/completions, with SSE streaming) for any pareto model: the
// embedded engine, or another backend, so pareto can stand in for an
// OpenAI-compatible server; and vLLM's Pooling API (/pooling) for a
// process reward model (PRM).
package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pareto-llm/pareto"
)

// Model is what the server serves: anything that generates completions for
// a pareto.Request (every pareto backend does).
type Model interface {
	Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error)
}

// Streamer is a Model that also reports text as it is produced: emit(i, d)
// gets the text completion i added since its previous call (of its answer
// in d.Text, of its thought in d.Reasoning), the logprobs of its tokens,
// and on its last call the finish reason and Stop. Streamed
// requests to a Model that is not a Streamer get each completion in one
// piece once it is done.
type Streamer interface {
	Model
	GenerateStream(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion)) ([]pareto.Completion, error)
}

// RawStreamer is a Streamer that can also hand back a thinking model's
// text as the model wrote it: its thoughts and their markers left in Text,
// Reasoning empty, and Usage counting the thoughts' tokens as hidden all
// the same (as the embedded backend's GenerateRaw does). /v1/completions
// answers with it, as vLLM does without a reasoning parser, so the
// continuation of a raw prompt is raw; /v1/chat/completions answers with
// the thought apart, in reasoning_content. emit may be nil.
type RawStreamer interface {
	GenerateRaw(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion)) ([]pareto.Completion, error)
}

// maxBody bounds a request body; prompts for pareto's models are small.
const maxBody = 8 << 20

// Handler is an http.Handler serving named models over the OpenAI API.
type Handler struct {
	models  map[string]Model
	names   []string
	created int64 // reported as the models' creation time
	log     *slog.Logger
}

// New returns a handler serving models by name; requests name the model in
// their "model" field.
func New(models map[string]Model) *Handler {
	h := &Handler{models: models, created: time.Now().Unix(), log: slog.Default()}
	for name := range models {
		h.names = append(h.names, name)
	}
	sort.Strings(h.names)
	return h
}

// ServeHTTP routes a request. Routing is by hand rather than with
// http.ServeMux patterns so that unknown routes and wrong methods get
// OpenAI error JSON, which clients parse, instead of plain text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/v1/models":
		if allow(w, r, http.MethodGet) {
			h.listModels(w)
		}
	case strings.HasPrefix(path, "/v1/models/"):
		if allow(w, r, http.MethodGet) {
			h.getModel(w, strings.TrimPrefix(path, "/v1/models/"))
		}
	case path == "/v1/completions":
		if allow(w, r, http.MethodPost) {
			h.complete(w, r, apiCompletions)
		}
	case path == "/v1/chat/completions":
		if allow(w, r, http.MethodPost) {
			h.complete(w, r, apiChat)
		}
	case path == "/pooling" || path == "/v1/pooling": // vLLM's is /pooling
		if allow(w, r, http.MethodPost) {
			h.pool(w, r)
		}
	default:
		writeError(w, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	}
}

// allow answers 405 unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, &apiError{status: http.StatusMethodNotAllowed,
		msg: fmt.Sprintf("Method %s not allowed for %s (use %s)", r.Method, r.URL.Path, method)})
	return false
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (h *Handler) modelObject(name string) modelObject {
	return modelObject{ID: name, Object: "model", Created: h.created, OwnedBy: "pareto"}
}

func (h *Handler) listModels(w http.ResponseWriter) {
	data := make([]modelObject, 0, len(h.names))
	for _, n := range h.names {
		data = append(data, h.modelObject(n))
	}
	writeJSON(w, http.StatusOK, struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", data})
}

func (h *Handler) getModel(w http.ResponseWriter, name string) {
	if _, ok := h.models[name]; !ok {
		writeError(w, unknownModel(name))
		return
	}
	writeJSON(w, http.StatusOK, h.modelObject(name))
}

func unknownModel(name string) *apiError {
	return &apiError{status: http.StatusNotFound, param: "model", code: "model_not_found",
		msg: fmt.Sprintf("The model `%s` does not exist", name)}
}

// apiError is an error answered as OpenAI error JSON.
type apiError struct {
	status int
	msg    string
	param  string // the request field at fault, if any
	code   string
}

func (e *apiError) Error() string { return e.msg }

// badField is a 400 naming the request field at fault.
func badField(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, param: field, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// errorBody is the OpenAI error object; absent param and code are null.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (e *apiError) body() errorBody {
	var b errorBody
	b.Error.Message = e.msg
	b.Error.Type = "invalid_request_error"
	if e.status >= 500 {
		b.Error.Type = "server_error"
	}
	if e.param != "" {
		b.Error.Param = &e.param
	}
	if e.code != "" {
		b.Error.Code = &e.code
	}
	return b
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.status, e.body()) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal((&apiError{status: status, msg: fmt.Sprintf("encoding the response: %v", err)}).body())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client left; there is no one to tell.
	_, _ = w.Write(append(b, '\n'))
}

// asAPIError turns a generation error into what the client is told: the
// backend's message as a server error.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{status: http.StatusInternalServerError, msg: err.Error()}
}

// newID is a random response id with the given prefix, as OpenAI's are.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return prefix + hex.EncodeToString(b[:])
}
