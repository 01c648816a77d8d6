package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pareto-llm/pareto/models"
)

// ollama talks to an Ollama server's native API (/api/generate,
// /api/blobs, /api/create), which reports the server's own timings.
type ollama struct {
	base string // e.g. http://127.0.0.1:11434, no trailing slash
	hc   *http.Client
}

func newOllama(base string) *ollama {
	base = strings.TrimRight(base, "/")
	// An OpenAI-style URL (".../v1") names the same server.
	base = strings.TrimSuffix(base, "/v1")
	return &ollama{base: base, hc: &http.Client{}}
}

// genResult is what /api/generate reports about one non-streamed call.
type genResult struct {
	EvalCount          int           `json:"eval_count"`
	EvalDuration       time.Duration `json:"eval_duration"`
	PromptEvalCount    int           `json:"prompt_eval_count"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration"`
	TotalDuration      time.Duration `json:"total_duration"`
	DoneReason         string        `json:"done_reason"`
}

// generate runs one raw prompt (no template) with the given options
// (num_predict, temperature, seed, ...).
func (o *ollama) generate(ctx context.Context, model, prompt string, opts map[string]any) (genResult, error) {
	var out struct {
		genResult
		Error string `json:"error"`
	}
	body := map[string]any{"model": model, "prompt": prompt, "raw": true, "stream": false, "options": opts, "keep_alive": "30m"}
	if err := o.post(ctx, "/api/generate", body, &out); err != nil {
		return genResult{}, err
	}
	if out.Error != "" {
		return genResult{}, fmt.Errorf("ollama %s: /api/generate: %s", o.base, out.Error)
	}
	return out.genResult, nil
}

// unload asks the server to stop model's runner (a generate request with
// no prompt and keep_alive 0) and waits until /api/ps no longer lists the
// model. Ollama unloads asynchronously, after the runner's last request
// finishes, so the answer to the request alone does not mean it is gone.
func (o *ollama) unload(ctx context.Context, model string) error {
	var out struct {
		Error string `json:"error"`
	}
	if err := o.post(ctx, "/api/generate", map[string]any{"model": model, "keep_alive": 0, "stream": false}, &out); err != nil {
		return fmt.Errorf("unload %s: %w", model, err)
	}
	if out.Error != "" {
		return fmt.Errorf("ollama %s: unload %s: %s", o.base, model, out.Error)
	}
	deadline := time.Now().Add(unloadTimeout)
	for {
		loaded, err := o.loaded(ctx)
		if err != nil {
			return fmt.Errorf("unload %s: %w", model, err)
		}
		if !slices.ContainsFunc(loaded, func(name string) bool { return sameModel(name, model) }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ollama %s: %s still loaded %v after asking to unload it", o.base, model, unloadTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// unloadTimeout bounds the wait for a runner to stop; a runner stops in
// well under a second once idle.
const unloadTimeout = time.Minute

// loaded is the names of the models the server has loaded (/api/ps).
func (o *ollama) loaded(ctx context.Context) ([]string, error) {
	var out struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if err := o.get(ctx, "/api/ps", &out); err != nil {
		return nil, err
	}
	var names []string
	for _, m := range out.Models {
		names = append(names, m.Name, m.Model)
	}
	return names, nil
}

// sameModel says whether two of Ollama's model names are one model: /api/ps
// lists "name:latest" for the "name" a client gave.
func sameModel(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimPrefix(s, "registry.ollama.ai/")
		s = strings.TrimPrefix(s, "library/")
		if !strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") {
			s += ":latest"
		}
		return s
	}
	return a != "" && norm(a) == norm(b)
}

// create loads the GGUF file at path into the server as model name: the
// file goes up as a blob first (Ollama v0.6 creates models from blobs it
// holds, not from client paths), then /api/create names it, with a
// template that passes the prompt through.
func (o *ollama) create(ctx context.Context, name, path string) error {
	digest, err := fileDigest(path)
	if err != nil {
		return err
	}
	if err := o.upload(ctx, digest, path); err != nil {
		return err
	}
	req := map[string]any{"model": name, "files": map[string]string{"model.gguf": digest},
		"template": "{{ .Prompt }}", "stream": false}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := o.post(ctx, "/api/create", req, &out); err != nil {
		return err
	}
	if out.Error != "" {
		return fmt.Errorf("ollama %s: create %s from %s: %s", o.base, name, path, out.Error)
	}
	return nil
}

// upload sends the file as blob digest unless the server has it already.
func (o *ollama) upload(ctx context.Context, digest, path string) error {
	url := o.base + "/api/blobs/" + digest
	head, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return fmt.Errorf("ollama %s: blob %s: %w", o.base, digest, err)
	}
	if resp, err := o.hc.Do(head); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ollama: upload model: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ollama: upload model: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, f)
	if err != nil {
		return fmt.Errorf("ollama %s: blob %s: %w", o.base, digest, err)
	}
	req.ContentLength = info.Size()
	resp, err := o.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ollama %s: upload %s: %w", o.base, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("ollama %s: upload %s: %s: %s", o.base, path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

func (o *ollama) post(ctx context.Context, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("ollama %s%s: %w", o.base, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("ollama %s%s: %w", o.base, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return o.do(req, out)
}

func (o *ollama) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base+path, nil)
	if err != nil {
		return fmt.Errorf("ollama %s%s: %w", o.base, path, err)
	}
	return o.do(req, out)
}

// do sends req and decodes the JSON answer into out; a status other than
// 2xx is an error that quotes the answer.
func (o *ollama) do(req *http.Request, out any) error {
	path := req.URL.Path
	resp, err := o.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ollama %s%s: %w", o.base, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("ollama %s%s: %w", o.base, path, err)
	}
	if err := json.Unmarshal(data, out); err != nil || resp.StatusCode/100 != 2 {
		if len(data) > 500 {
			data = data[:500]
		}
		return fmt.Errorf("ollama %s%s: %s: %s", o.base, path, resp.Status, bytes.TrimSpace(data))
	}
	return nil
}

// fileDigest is Ollama's name for a blob: "sha256:<hex>" of its bytes.
func fileDigest(path string) (string, error) {
	sum, err := models.Digest(path)
	if err != nil {
		return "", fmt.Errorf("enginebench: %w", err)
	}
	return "sha256:" + sum, nil
}
