//go:build integration

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/run"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// buildPareto builds the command once per test binary, into a directory
// that outlives the tests that use it.
var buildPareto = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pareto-bin-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "pareto")
	if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return path, nil
})

// paretoBin is the command's binary.
func paretoBin(t *testing.T) string {
	t.Helper()
	path, err := buildPareto()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

const tinyModel = "pareto-tiny"

// tiny loads a small random-weight llama model into the shared server.
func tiny(t *testing.T) *ollamatest.Server {
	t.Helper()
	srv := ollamatest.Shared(t)
	srv.CreateOnce(t, tinyModel, func() (string, error) {
		cfg := randmodel.Small()
		cfg.DModel, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.FFN, cfg.Context = 64, 2, 4, 2, 192, 1024
		// Ollama keeps its own copy: the file need not outlive this test.
		path := filepath.Join(t.TempDir(), "tiny.gguf")
		return path, randmodel.Write(path, cfg)
	})
	return srv
}

func writeQuestions(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "{\"q\": \"What is %d plus %d?\", \"a\": %d}\n", i, i+2, 2*i+2)
	}
	p := filepath.Join(t.TempDir(), "questions.jsonl")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// usageProxy forwards to a server and sums the usage it reports, so the
// test can compare pareto's totals with the server's own figures; it also
// keeps each call's completion tokens by the request (callKey), to compare
// them call for call.
type usageProxy struct {
	mu                       sync.Mutex
	calls, prompt, completed int
	byCall                   map[string][]int
}

// callKey names a completions request by what makes it a call of its own
// in a run: its prompt, seed, max_tokens and stop strings.
func callKey(prompt string, seed *int64, maxTokens int, stop []string) string {
	s := "none"
	if seed != nil {
		s = fmt.Sprint(*seed)
	}
	return fmt.Sprintf("%q seed=%s max=%d stop=%q", prompt, s, maxTokens, stop)
}

// sentBody is the context key of a request's body, for ModifyResponse.
type sentBody struct{}

func (u *usageProxy) start(t *testing.T, host string) string {
	u.byCall = map[string][]int{}
	target, _ := url.Parse("http://" + host)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var r struct {
			Usage *struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal(body, &r) == nil && r.Usage != nil {
			var req struct {
				Prompt    string   `json:"prompt"`
				Seed      *int64   `json:"seed"`
				MaxTokens int      `json:"max_tokens"`
				Stop      []string `json:"stop"`
			}
			sent, _ := resp.Request.Context().Value(sentBody{}).([]byte)
			_ = json.Unmarshal(sent, &req)
			k := callKey(req.Prompt, req.Seed, req.MaxTokens, req.Stop)
			u.mu.Lock()
			u.calls++
			u.prompt += r.Usage.Prompt
			u.completed += r.Usage.Completion
			u.byCall[k] = append(u.byCall[k], r.Usage.Completion)
			u.mu.Unlock()
		}
		return nil
	}
	// Keep each request's body for ModifyResponse, which sees the response.
	keep := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sentBody{}, body)))
	})
	srv := httptest.NewServer(keep)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func paretoJSON(t *testing.T, args ...string) run.Summary {
	t.Helper()
	cmd := exec.Command(paretoBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pareto %v: %v\n%s", args, err, stderr.String())
	}
	var s run.Summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("pareto output is not one JSON summary: %v\n%s", err, out)
	}
	return s
}

func TestRunCountsTokensLikeTheServer(t *testing.T) {
	srv := tiny(t)
	var proxy usageProxy
	base := proxy.start(t, srv.Host)
	db := filepath.Join(t.TempDir(), "runs.db")
	s := paretoJSON(t, "run", "--backend-url", base, "--model", tinyModel, "--dataset", writeQuestions(t, 5),
		"--question-field", "q", "--answer-field", "a", "--format", "number",
		"--strategy", "self-consistency", "--n", "3", "--max-tokens", "12", "--seeds", "2", "--concurrency", "4",
		"--params", "1e5", "--layers", "2", "--d-model", "64",
		"--store", db, "--json")
	if s.Answered != 10 || s.Questions != 5 || s.Seeds != 2 {
		t.Fatalf("answered %d of %d x %d", s.Answered, s.Questions, s.Seeds)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	// Ollama ignores n, so pareto fans out: 3 calls per question and seed.
	if proxy.calls != 30 || s.Calls != proxy.calls {
		t.Errorf("calls: pareto %d, server %d, want 30", s.Calls, proxy.calls)
	}
	// The server's completion tokens are pareto's visible plus hidden ones.
	if s.Tokens.Prompt != proxy.prompt || s.Tokens.Completion+s.Tokens.Hidden != proxy.completed {
		t.Errorf("tokens: pareto prompt %d completion %d, server prompt %d completion %d",
			s.Tokens.Prompt, s.Tokens.Completion, proxy.prompt, proxy.completed)
	}
	if s.Tokens.Completion == 0 || s.FLOPs <= 0 || s.UsageUnreported != 0 {
		t.Errorf("summary without compute: %+v", s)
	}
	// The same command again is served from the store: no new server calls.
	before := proxy.calls
	proxy.mu.Unlock()
	again := paretoJSON(t, "run", "--backend-url", base, "--model", tinyModel, "--dataset", writeQuestions(t, 5),
		"--question-field", "q", "--answer-field", "a", "--format", "number",
		"--strategy", "self-consistency", "--n", "3", "--max-tokens", "12", "--seeds", "2", "--concurrency", "4",
		"--params", "1e5", "--layers", "2", "--d-model", "64", "--store", db, "--json")
	proxy.mu.Lock()
	if proxy.calls != before || again.Tokens != s.Tokens || again.Accuracy != s.Accuracy {
		t.Errorf("re-run made %d new calls; summaries %+v vs %+v", proxy.calls-before, again.Tokens, s.Tokens)
	}
}

func countResults(t *testing.T, path string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM results`).Scan(&n); err != nil {
		return 0
	}
	return n
}

// A run killed midway resumes to the same results as an uninterrupted
// one, paying for nothing twice: a sampling strategy, and a tree search
// whose every node the model itself judges.
func TestKilledRunResumesWithSameResults(t *testing.T) {
	srv := tiny(t)
	questions := writeQuestions(t, 16)
	for _, strategy := range [][]string{
		{"--strategy", "self-consistency"},
		{"--strategy", "rebase", "--scorer", "judge", "--step-tokens", "8"},
	} {
		t.Run(strategy[1], func(t *testing.T) {
			args := func(db string) []string {
				return append([]string{"run", "--backend-url", srv.URL(), "--model", tinyModel, "--dataset", questions,
					"--question-field", "q", "--answer-field", "a", "--format", "number",
					"--n", "2", "--max-tokens", "24", "--seeds", "2", "--concurrency", "1",
					"--params", "1e5", "--layers", "2", "--d-model", "64", "--store", db, "--json"}, strategy...)
			}
			killedAndResumed(t, args)
		})
	}
}

func killedAndResumed(t *testing.T, args func(db string) []string) {
	whole := paretoJSON(t, args(filepath.Join(t.TempDir(), "whole.db"))...)

	db := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(paretoBin(t), args(db)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill as soon as a few results are in: early enough to be midway on a
	// fast machine, patient enough for a loaded one.
	deadline := time.Now().Add(10 * time.Minute)
	for countResults(t, db) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killedAt := countResults(t, db)
	if killedAt < 3 || killedAt >= 32 {
		t.Fatalf("killed run had %d of 32 results; the test needs a run stopped midway", killedAt)
	}
	resumed := paretoJSON(t, args(db)...)
	if n := countResults(t, db); n != 32 || resumed.Answered != 32 {
		t.Fatalf("after resume: %d rows, %d answered, want 32", n, resumed.Answered)
	}
	if resumed.Accuracy != whole.Accuracy || resumed.Tokens != whole.Tokens || resumed.Calls != whole.Calls || resumed.FLOPs != whole.FLOPs {
		t.Fatalf("killed+resumed differs from uninterrupted:\nresumed %+v\nwhole   %+v", resumed, whole)
	}
	t.Logf("killed at %d/32 results; resumed run equals the uninterrupted one (accuracy %.3f, %d calls, %d completion tokens)", killedAt, whole.Accuracy, whole.Calls, whole.Tokens.Completion)
}
