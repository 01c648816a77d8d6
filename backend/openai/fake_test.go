package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fake is a scriptable OpenAI-compatible server.
type fake struct {
	ignoreN bool          // answer one choice whatever n is, like Ollama
	noUsage bool          // omit the usage block
	perTok  bool          // attach per-choice completion token counts
	delay   time.Duration // wait before answering (aborted by the client)
	// usage, when set, is the usage block sent instead of the computed one.
	usage map[string]any
	// choiceExtra[i] are fields added to choice i; respExtra to the response.
	choiceExtra []map[string]any
	respExtra   map[string]any
	// script, when set, may answer a hit itself (returning true).
	script func(hit int, w http.ResponseWriter, r *http.Request) bool

	hits atomic.Int64
	mu   sync.Mutex
	reqs []seen
	srv  *httptest.Server
}

// seen is one request the fake received.
type seen struct {
	path   string
	auth   string
	body   map[string]any
	header http.Header
}

const (
	fakePrompt    = 11
	fakeCached    = 4
	fakeReasoning = 3
)

// fakeTokens is the completion tokens the fake reports for choice i.
func fakeTokens(i int) int { return 5 + 2*i }

func newFake(t *testing.T, f *fake) *fake {
	t.Helper()
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) url() string { return f.srv.URL + "/v1" }

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hit := int(f.hits.Add(1))
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body, header: r.Header.Clone()})
	f.mu.Unlock()
	if f.script != nil && f.script(hit, w, r) {
		return
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch r.URL.Path {
	case "/v1/models":
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": "m", "object": "model"}}})
	case "/v1/completions", "/v1/chat/completions":
		writeJSON(w, f.answer(r.URL.Path == "/v1/chat/completions", body, hit))
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

// answer builds a response whose choice texts name the seed and index, so
// tests can tell samples apart.
func (f *fake) answer(chat bool, body map[string]any, hit int) map[string]any {
	n := 1
	if v, ok := body["n"].(float64); ok && !f.ignoreN {
		n = int(v)
	}
	seed := "none"
	if v, ok := body["seed"].(float64); ok {
		seed = fmt.Sprint(int64(v))
	}
	top := 0
	switch v := body["top_logprobs"].(type) {
	case float64:
		top = int(v)
	}
	if v, ok := body["logprobs"].(float64); ok && !chat {
		top = int(v)
	}
	wantLP := body["logprobs"] != nil && body["logprobs"] != false
	choices := []any{}
	total := 0
	for i := range n {
		text := fmt.Sprintf("hit%d seed=%s i=%d", hit, seed, i)
		total += fakeTokens(i)
		c := map[string]any{"index": i, "finish_reason": "stop"}
		toks := []string{"a", "b"}
		lps := []float64{-0.5, -1.25}
		if chat {
			c["message"] = map[string]any{"role": "assistant", "content": text}
			if wantLP {
				content := []any{}
				for j, tk := range toks {
					alts := []any{}
					for k := range top {
						alts = append(alts, map[string]any{"token": fmt.Sprintf("%s%d", tk, k), "logprob": lps[j] - float64(k)})
					}
					content = append(content, map[string]any{"token": tk, "logprob": lps[j], "bytes": []int{int(tk[0])}, "top_logprobs": alts})
				}
				c["logprobs"] = map[string]any{"content": content}
			} else {
				c["logprobs"] = nil
			}
		} else {
			c["text"] = text
			if wantLP {
				tops := []any{}
				for j, tk := range toks {
					m := map[string]any{}
					for k := range top {
						m[fmt.Sprintf("%s%d", tk, k)] = lps[j] - float64(k)
					}
					tops = append(tops, m)
				}
				c["logprobs"] = map[string]any{"tokens": toks, "token_logprobs": lps, "top_logprobs": tops, "text_offset": []int{0, 1}}
			} else {
				c["logprobs"] = nil
			}
		}
		if f.perTok {
			c["usage"] = map[string]any{"completion_tokens": fakeTokens(i)}
		}
		if i < len(f.choiceExtra) {
			for k, v := range f.choiceExtra[i] {
				c[k] = v
			}
		}
		choices = append(choices, c)
	}
	resp := map[string]any{"id": "x", "object": "text_completion", "created": 1, "model": body["model"], "choices": choices}
	if chat {
		resp["object"] = "chat.completion"
	}
	switch {
	case f.usage != nil:
		resp["usage"] = f.usage
	case !f.noUsage:
		resp["usage"] = map[string]any{
			"prompt_tokens": fakePrompt, "completion_tokens": total, "total_tokens": fakePrompt + total,
			"prompt_tokens_details":     map[string]any{"cached_tokens": fakeCached},
			"completion_tokens_details": map[string]any{"reasoning_tokens": fakeReasoning},
		}
	}
	for k, v := range f.respExtra {
		resp[k] = v
	}
	return resp
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// hijackClose sends partial headers and body then drops the connection.
func hijackClose(t *testing.T, w http.ResponseWriter, partial string) {
	t.Helper()
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("response writer cannot hijack")
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if partial != "" {
		_, _ = buf.WriteString(partial)
		_ = buf.Flush()
	}
	_ = conn.Close()
}

// truncated is an HTTP response promising more body than it sends.
const truncated = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":\"x\",\"choi"

func has(s, sub string) bool { return strings.Contains(s, sub) }
