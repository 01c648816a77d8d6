package openai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/compute"
)

// quick returns a Config with test-sized backoff for the given URLs.
func quick(urls ...string) Config {
	return Config{URLs: urls, Model: "m", BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
}

func mustNew(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func seed(s int64) *int64 { return &s }

func sumUsage(cs []pareto.Completion) pareto.Usage {
	var u pareto.Usage
	for _, c := range cs {
		u.Add(c.Usage)
	}
	return u
}

func TestCompletionRequestAndUsage(t *testing.T) {
	f := newFake(t, &fake{})
	cfg := quick(f.url())
	cfg.APIKey = "sk-test"
	b := mustNew(t, cfg)
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "2+2=", Params: pareto.Params{
		MaxTokens: 16, Temperature: 0, TopP: 0.9, Seed: seed(7), Stop: []string{"\n\n"},
	}})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d completions, want 1", len(got))
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/v1/completions" {
		t.Errorf("path = %q, want /v1/completions", r.path)
	}
	if r.auth != "Bearer sk-test" {
		t.Errorf("Authorization = %q", r.auth)
	}
	want := map[string]any{"model": "m", "prompt": "2+2=", "max_tokens": 16.0, "temperature": 0.0, "top_p": 0.9, "seed": 7.0}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, r.body[k], v)
		}
	}
	if stop, _ := r.body["stop"].([]any); len(stop) != 1 || stop[0] != "\n\n" {
		t.Errorf("stop = %v", r.body["stop"])
	}
	for _, k := range []string{"n", "logprobs"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("body has %q = %v; want it omitted", k, r.body[k])
		}
	}
	if got[0].Text != "hit1 seed=7 i=0" || got[0].FinishReason != "stop" {
		t.Errorf("completion = %+v", got[0])
	}
	u := got[0].Usage
	// The server's completion_tokens include its reasoning_tokens.
	if u.Calls != 1 || u.PromptTokens != fakePrompt || u.CompletionTokens != fakeTokens(0)-fakeReasoning ||
		u.HiddenTokens != fakeReasoning || u.CachedTokens != fakeCached || u.Unreported != 0 {
		t.Errorf("usage = %+v", u)
	}
	if got[0].Stop != "" {
		t.Errorf("Stop = %q from a server that names no stop", got[0].Stop)
	}
	if u.Latency <= 0 {
		t.Errorf("latency = %v, want > 0", u.Latency)
	}
}

func TestAPIKeyFromEnv(t *testing.T) {
	t.Setenv("PARETO_API_KEY", "env-key")
	t.Setenv("OPENAI_API_KEY", "must-not-leak")
	f := newFake(t, &fake{})
	b := mustNew(t, quick(f.url()))
	if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
		t.Fatal(err)
	}
	if a := f.requests()[0].auth; a != "Bearer env-key" {
		t.Errorf("Authorization = %q, want Bearer env-key", a)
	}
}

func TestChat(t *testing.T) {
	f := newFake(t, &fake{})
	b := mustNew(t, quick(f.url()))
	msgs := []pareto.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}
	got, err := b.Generate(t.Context(), pareto.Request{Messages: msgs, Params: pareto.Params{MaxTokens: 8, Temperature: 0.7}})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	r := f.requests()[0]
	if r.path != "/v1/chat/completions" {
		t.Fatalf("path = %q", r.path)
	}
	ms, _ := r.body["messages"].([]any)
	if len(ms) != 2 {
		t.Fatalf("messages = %v", r.body["messages"])
	}
	for i, m := range ms {
		mm, _ := m.(map[string]any)
		if mm["role"] != msgs[i].Role || mm["content"] != msgs[i].Content {
			t.Errorf("messages[%d] = %v, want %+v", i, mm, msgs[i])
		}
	}
	if r.body["temperature"] != 0.7 || r.body["max_tokens"] != 8.0 {
		t.Errorf("body = %v", r.body)
	}
	if got[0].Text != "hit1 seed=none i=0" || got[0].Usage.PromptTokens != fakePrompt {
		t.Errorf("completion = %+v", got[0])
	}

	// Config.Chat sends a bare prompt as one user message.
	cfg := quick(f.url())
	cfg.Chat = true
	b2 := mustNew(t, cfg)
	if _, err := b2.Generate(t.Context(), pareto.Request{Prompt: "solo"}); err != nil {
		t.Fatal(err)
	}
	r = f.requests()[1]
	ms, _ = r.body["messages"].([]any)
	if r.path != "/v1/chat/completions" || len(ms) != 1 || ms[0].(map[string]any)["content"] != "solo" || ms[0].(map[string]any)["role"] != "user" {
		t.Errorf("chat prompt request = %s %v", r.path, r.body)
	}

	_, err = b.Generate(t.Context(), pareto.Request{Messages: []pareto.Message{{Role: "wizard", Content: "x"}}})
	if err == nil || !has(err.Error(), `Messages[0].Role "wizard"`) {
		t.Errorf("bad role error = %v", err)
	}
}

func TestUsageAbsentIsUnreported(t *testing.T) {
	f := newFake(t, &fake{noUsage: true})
	b := mustNew(t, quick(f.url()))
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{N: 3, Temperature: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d completions", len(got))
	}
	for i, c := range got {
		u := c.Usage
		if u.Unreported != boolInt(i == 0) || u.PromptTokens != 0 || u.CompletionTokens != 0 || u.HiddenTokens != 0 || u.CachedTokens != 0 {
			t.Errorf("completion %d usage = %+v, want unreported with zero tokens", i, u)
		}
	}
	if s := sumUsage(got); s.Calls != 1 || s.Unreported != 1 {
		t.Errorf("calls = %d, unreported = %d, want 1 and 1", s.Calls, s.Unreported)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sampleN asks a backend on the fake f for n samples at temperature 1 with
// seed s and returns the backend and its completions.
func sampleN(t *testing.T, f *fake, n int, s int64) (*Backend, []pareto.Completion) {
	t.Helper()
	b := mustNew(t, quick(f.url()))
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{N: n, Temperature: 1, Seed: seed(s)}})
	if err != nil {
		t.Fatal(err)
	}
	return b, got
}

func TestNHonouredSplitsUsage(t *testing.T) {
	for _, perTok := range []bool{false, true} {
		t.Run(fmt.Sprintf("perChoice=%v", perTok), func(t *testing.T) {
			f := newFake(t, &fake{perTok: perTok})
			const n = 4
			_, got := sampleN(t, f, n, 5)
			if len(got) != n || f.hits.Load() != 1 {
				t.Fatalf("got %d completions from %d requests, want %d from 1", len(got), f.hits.Load(), n)
			}
			if f.requests()[0].body["n"] != float64(n) {
				t.Errorf("n sent = %v", f.requests()[0].body["n"])
			}
			total := 0
			for i := range n {
				total += fakeTokens(i)
				if got[i].Text != fmt.Sprintf("hit1 seed=5 i=%d", i) {
					t.Errorf("completion %d text = %q", i, got[i].Text)
				}
			}
			s := sumUsage(got)
			if s.Calls != 1 || s.PromptTokens != fakePrompt || s.CachedTokens != fakeCached ||
				s.CompletionTokens+s.HiddenTokens != total || s.HiddenTokens != fakeReasoning {
				t.Errorf("summed usage = %+v, want prompt %d, visible+hidden %d of which hidden %d", s, fakePrompt, total, fakeReasoning)
			}
			for i := 1; i < n; i++ {
				if u := got[i].Usage; u.PromptTokens != 0 || u.CachedTokens != 0 || u.Calls != 0 {
					t.Errorf("completion %d carries call-level usage %+v", i, u)
				}
			}
			for i := range n {
				want := total / n
				if i == 0 {
					want += total % n
				}
				if perTok {
					want = fakeTokens(i)
				}
				if u := got[i].Usage; u.CompletionTokens+u.HiddenTokens != want || u.CompletionTokens < 0 || u.HiddenTokens < 0 {
					t.Errorf("completion %d: %d visible + %d hidden tokens, want %d in all", i, u.CompletionTokens, u.HiddenTokens, want)
				}
			}
		})
	}
}

func TestNIgnoredFansOut(t *testing.T) {
	f := newFake(t, &fake{ignoreN: true})
	const n = 4
	b, got := sampleN(t, f, n, 100)
	if len(got) != n {
		t.Fatalf("got %d completions, want %d", len(got), n)
	}
	if !b.Stats().IgnoresN {
		t.Error("backend did not remember that the server ignores n")
	}
	seeds := map[float64]bool{}
	texts := map[string]bool{}
	for _, r := range f.requests() {
		seeds[r.body["seed"].(float64)] = true
	}
	for _, c := range got {
		texts[c.Text] = true
	}
	for i := range n {
		if !seeds[float64(100+i)] {
			t.Errorf("no request with seed %d; seeds %v", 100+i, seeds)
		}
	}
	if len(texts) != n {
		t.Errorf("completions not distinct: %v", texts)
	}
	if s := sumUsage(got); s.Calls != int(f.hits.Load()) || s.PromptTokens != fakePrompt*int(f.hits.Load()) {
		t.Errorf("usage %+v over %d requests", s, f.hits.Load())
	}

	// Next time it fans out from the start: exactly n requests, none with n.
	before := f.hits.Load()
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "y", Params: pareto.Params{N: n, Temperature: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || f.hits.Load()-before != n {
		t.Errorf("second call: %d completions from %d requests, want %d from %d", len(got), f.hits.Load()-before, n, n)
	}
	for _, r := range f.requests()[before:] {
		if _, ok := r.body["n"]; ok {
			t.Errorf("fan-out request sent n = %v", r.body["n"])
		}
		if _, ok := r.body["seed"]; ok {
			t.Errorf("unseeded fan-out sent seed %v", r.body["seed"])
		}
	}
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		if hit == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
			return true
		}
		return false
	}})
	b := mustNew(t, quick(f.url()))
	start := time.Now()
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
		t.Errorf("took %v, want about the 1s Retry-After", el)
	}
	if f.hits.Load() != 2 || b.Stats().Retries != 1 || b.Stats().Attempts != 2 {
		t.Errorf("hits %d stats %+v, want 2 hits 1 retry", f.hits.Load(), b.Stats())
	}
	if got[0].Usage.Calls != 1 {
		t.Errorf("calls = %d, want 1 (only the successful call)", got[0].Usage.Calls)
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"object":"error","message":"engine dead"}`)
		return true
	}})
	cfg := quick(f.url())
	cfg.MaxRetries = 3
	b := mustNew(t, cfg)
	_, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
	if err == nil {
		t.Fatal("no error")
	}
	if f.hits.Load() != 4 {
		t.Errorf("hits = %d, want 1 + 3 retries", f.hits.Load())
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 || se.Message != "engine dead" {
		t.Errorf("error %v is not a 500 StatusError with the server message", err)
	}
	want := fmt.Sprintf(`openai: %s: model "m": 500 Internal Server Error: engine dead (gave up after 4 attempts)`, f.url())
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		msg  string
	}{
		{400, `{"error":{"message":"bad temperature","type":"invalid_request_error"}}`, "bad temperature"},
		{401, `{"error":"no key"}`, "no key"},
		{404, "404 page not found\n", "404 page not found"},
		{422, `{"detail":"field required"}`, "field required"},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(tc.code)
				fmt.Fprint(w, tc.body)
				return true
			}})
			b := mustNew(t, quick(f.url()))
			_, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
			want := fmt.Sprintf(`openai: %s: model "m": %d %s: %s`, f.url(), tc.code, http.StatusText(tc.code), tc.msg)
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
			if f.hits.Load() != 1 {
				t.Errorf("hits = %d, want 1 (no retry)", f.hits.Load())
			}
		})
	}
}

func TestConnectionDropsAreRetried(t *testing.T) {
	for name, partial := range map[string]string{"beforeResponse": "", "midBody": truncated} {
		t.Run(name, func(t *testing.T) {
			var f *fake
			f = newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
				if hit <= 2 {
					hijackClose(t, w, partial)
					return true
				}
				return false
			}})
			succeedsOnHit(t, mustNew(t, quick(f.url())), f, 3)
		})
	}
}

// succeedsOnHit generates once on b and wants the fake's answer to its
// hit-th request: the ones before it failed and were retried.
func succeedsOnHit(t *testing.T, b *Backend, f *fake, hit int64) {
	t.Helper()
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := fmt.Sprintf("hit%d seed=none i=0", hit); f.hits.Load() != hit || got[0].Text != want {
		t.Errorf("hits %d, text %q; want success on hit %d", f.hits.Load(), got[0].Text, hit)
	}
}

func TestContextTimeoutReturnsPromptly(t *testing.T) {
	f := newFake(t, &fake{delay: 10 * time.Second})
	b := mustNew(t, quick(f.url()))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Generate(ctx, pareto.Request{Prompt: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned after %v", el)
	}
	if f.hits.Load() != 1 {
		t.Errorf("hits = %d; a cancelled call must not be retried", f.hits.Load())
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		if hit == 1 {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return true
		}
		return false
	}})
	cfg := quick(f.url())
	cfg.Timeout = 100 * time.Millisecond
	succeedsOnHit(t, mustNew(t, cfg), f, 2)
}

func TestCancelWhileWaitingForSlot(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	}})
	cfg := quick(f.url())
	cfg.Concurrency = 1
	b := mustNew(t, cfg)
	done := make(chan error, 1)
	go func() {
		_, err := b.Generate(t.Context(), pareto.Request{Prompt: "holder"})
		done <- err
	}()
	for f.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := b.Generate(ctx, pareto.Request{Prompt: "waiter"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("waiting call error = %v, want context.Canceled", err)
	}
	if f.hits.Load() != 1 {
		t.Errorf("hits = %d; the waiting call must not have reached the server", f.hits.Load())
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("holder: %v", err)
	}
}

func TestMalformedResponses(t *testing.T) {
	for name, body := range map[string]string{
		"html":      "<html>oops</html>",
		"truncJSON": `{"id":"x","choices":[`,
		"noChoices": `{"id":"x","object":"text_completion"}`,
		"array":     `[1,2,3]`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
				return true
			}})
			b := mustNew(t, quick(f.url()))
			_, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "openai: "+f.url()+`: model "m": malformed response: `) {
				t.Errorf("error = %v, want a malformed response error naming the URL", err)
			}
			if f.hits.Load() != 1 {
				t.Errorf("hits = %d, want 1", f.hits.Load())
			}
		})
	}
}

func TestReplicaDownFailsOver(t *testing.T) {
	// The live replica takes its port first, so the dead one's freed port
	// cannot be handed to it.
	f := newFake(t, &fake{})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/v1"
	dead.Close() // now refuses connections
	b := mustNew(t, quick(deadURL, f.url()))
	const calls = 20
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range calls {
		wg.Go(func() {
			if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
				failed.Add(1)
				t.Errorf("Generate: %v", err)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || f.hits.Load() != calls {
		t.Errorf("%d failures, live replica served %d of %d", failed.Load(), f.hits.Load(), calls)
	}
	// The dead replica is out of rotation: later calls make no extra attempts.
	before := b.Stats().Attempts
	for range 5 {
		if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if d := b.Stats().Attempts - before; d != 5 {
		t.Errorf("5 calls took %d attempts; the dead replica should be skipped", d)
	}
}

func TestLeastOutstandingSpreadsLoad(t *testing.T) {
	a := newFake(t, &fake{delay: 30 * time.Millisecond})
	c := newFake(t, &fake{delay: 30 * time.Millisecond})
	b := mustNew(t, quick(a.url(), c.url()))
	const calls = 24
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
				t.Errorf("Generate: %v", err)
			}
		})
	}
	wg.Wait()
	ha, hc := a.hits.Load(), c.hits.Load()
	if ha+hc != calls || ha < calls/4 || hc < calls/4 {
		t.Errorf("load split %d/%d, want both near %d", ha, hc, calls/2)
	}
	// Sequential calls rotate between idle replicas.
	ha0, hc0 := ha, hc
	for range 4 {
		if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load()-ha0 != 2 || c.hits.Load()-hc0 != 2 {
		t.Errorf("sequential split %d/%d, want 2/2", a.hits.Load()-ha0, c.hits.Load()-hc0)
	}
}

func TestLogprobs(t *testing.T) {
	f := newFake(t, &fake{})
	b := mustNew(t, quick(f.url()))
	for _, chat := range []bool{false, true} {
		t.Run(fmt.Sprintf("chat=%v", chat), func(t *testing.T) {
			req := pareto.Request{Prompt: "x", Params: pareto.Params{Logprobs: true, TopLogprobs: 2}}
			if chat {
				req = pareto.Request{Messages: []pareto.Message{{Role: "user", Content: "x"}}, Params: req.Params}
			}
			got, err := b.Generate(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			body := reqs[len(reqs)-1].body
			if chat && (body["logprobs"] != true || body["top_logprobs"] != 2.0) {
				t.Errorf("chat logprobs request = %v/%v", body["logprobs"], body["top_logprobs"])
			}
			if !chat && body["logprobs"] != 2.0 {
				t.Errorf("completion logprobs request = %v", body["logprobs"])
			}
			lp := got[0].Logprobs
			if len(lp) != 2 || lp[0].Token != "a" || lp[0].Logprob != -0.5 || lp[1].Token != "b" || lp[1].Logprob != -1.25 {
				t.Fatalf("logprobs = %+v", lp)
			}
			if len(lp[1].Top) != 2 || lp[1].Top["b0"] != -1.25 || lp[1].Top["b1"] != -2.25 {
				t.Errorf("top logprobs = %v", lp[1].Top)
			}
		})
	}
	// Logprobs without TopLogprobs asks for 1 and fills no Top.
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{Logprobs: true}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if reqs[len(reqs)-1].body["logprobs"] != 1.0 || len(got[0].Logprobs) != 2 || got[0].Logprobs[0].Top != nil {
		t.Errorf("logprobs=1 request %v gave %+v", reqs[len(reqs)-1].body["logprobs"], got[0].Logprobs)
	}
}

func TestPing(t *testing.T) {
	f := newFake(t, &fake{})
	if err := mustNew(t, quick(f.url())).Ping(t.Context()); err != nil {
		t.Errorf("Ping live: %v", err)
	}

	// No /models: falls back to a one-token completion.
	nm := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v1/models" {
			http.NotFound(w, r)
			return true
		}
		return false
	}})
	if err := mustNew(t, quick(nm.url())).Ping(t.Context()); err != nil {
		t.Errorf("Ping without /models: %v", err)
	}
	if r := nm.requests(); len(r) != 2 || r[1].path != "/v1/completions" || r[1].body["max_tokens"] != 1.0 {
		t.Errorf("fallback requests = %+v", r)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/v1"
	dead.Close()
	err := mustNew(t, quick(deadURL)).Ping(t.Context())
	want := "openai: " + deadURL + `: model "m": unreachable: connection refused`
	if err == nil || err.Error() != want {
		t.Errorf("Ping dead = %v, want %q", err, want)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"noURLs":  {Model: "m"},
		"noModel": {URLs: []string{"http://h/v1"}},
		"scheme":  {URLs: []string{"ftp://h/v1"}, Model: "m"},
		"noHost":  {URLs: []string{"http:///v1"}, Model: "m"},
		"dup":     {URLs: []string{"http://h/v1", "http://h/v1/"}, Model: "m"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	b := mustNew(t, Config{URLs: []string{"http://h:1", "http://h:2/", "https://h:3/api/v1/"}, Model: "m"})
	want := []string{"http://h:1/v1", "http://h:2/v1", "https://h:3/api/v1"}
	for i, r := range b.replicas {
		if r.url != want[i] {
			t.Errorf("URL %d = %q, want %q", i, r.url, want[i])
		}
	}
	if b.Model() != "m" || b.cfg.Concurrency != DefaultConcurrency || b.cfg.MaxRetries != DefaultMaxRetries || b.cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults not applied: %+v", b.cfg)
	}
}

func TestGenerateRejectsBadRequests(t *testing.T) {
	b := mustNew(t, quick("http://127.0.0.1:9/v1"))
	for name, req := range map[string]pareto.Request{
		"empty": {},
		"both":  {Prompt: "x", Messages: []pareto.Message{{Role: "user", Content: "y"}}},
		"negN":  {Prompt: "x", Params: pareto.Params{N: -1}},
	} {
		if _, err := b.Generate(t.Context(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if b.Stats().Attempts != 0 {
		t.Errorf("invalid requests made %d attempts", b.Stats().Attempts)
	}
}

func TestAllReplicasDown(t *testing.T) {
	var urls []string
	for range 2 {
		dead := httptest.NewServer(http.NotFoundHandler())
		urls = append(urls, dead.URL+"/v1")
		dead.Close()
	}
	cfg := quick(urls...)
	cfg.MaxRetries = 3
	b := mustNew(t, cfg)
	_, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"})
	if !errors.Is(err, syscall.ECONNREFUSED) || !has(err.Error(), "gave up after 4 attempts") {
		t.Errorf("error = %v, want connection refused after 4 attempts", err)
	}
	if a := b.Stats().Attempts; a != 4 {
		t.Errorf("attempts = %d, want 4", a)
	}
}

func TestReplicaComesBackAfterCoolOff(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	flaky := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		if broken.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		}
		return false
	}})
	good := newFake(t, &fake{})
	cfg := quick(flaky.url(), good.url())
	cfg.CoolOff = 100 * time.Millisecond
	b := mustNew(t, cfg)
	for range 10 {
		if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if h := flaky.hits.Load(); h != downAfter {
		t.Errorf("flaky replica got %d hits, want %d before it is marked down", h, downAfter)
	}
	broken.Store(false)
	time.Sleep(150 * time.Millisecond)
	before := flaky.hits.Load()
	for range 4 {
		if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if flaky.hits.Load()-before != 2 {
		t.Errorf("recovered replica served %d of 4 calls, want 2", flaky.hits.Load()-before)
	}
}

// A server's completion_tokens include its reasoning_tokens (OpenAI's
// definition): the completions must carry them as visible plus hidden
// tokens adding up to the server's figure, call for call, so that FLOPs
// and money charge every generated token once.
func TestReasoningTokensCountedOnce(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		n                     int
		perTok                bool
		completion, reasoning int
		wantHidden            int
	}{
		{"one", 1, false, 10, 4, 4},
		{"nSplit", 3, false, 10, 7, 7},
		{"nPerChoice", 3, true, 21, 20, 20}, // fakeTokens 5+7+9 = 21
		{"nPerChoiceDisagrees", 3, true, 12, 5, 5},
		{"noReasoning", 2, false, 9, 0, 0},
		// A buggy server reporting more reasoning than completion tokens:
		// all of the completion tokens are hidden, none negative.
		{"reasoningExceeds", 2, false, 10, 15, 10},
	} {
		for _, chat := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chat=%v", tc.name, chat), func(t *testing.T) {
				usage := map[string]any{
					"prompt_tokens": fakePrompt, "completion_tokens": tc.completion, "total_tokens": fakePrompt + tc.completion,
				}
				if tc.reasoning > 0 {
					usage["completion_tokens_details"] = map[string]any{"reasoning_tokens": tc.reasoning}
				}
				f := newFake(t, &fake{usage: usage, perTok: tc.perTok})
				cfg := quick(f.url())
				cfg.Chat = chat
				b := mustNew(t, cfg)
				got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{N: tc.n, Temperature: 1}})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.n {
					t.Fatalf("%d completions, want %d", len(got), tc.n)
				}
				for i, c := range got {
					if c.Usage.CompletionTokens < 0 || c.Usage.HiddenTokens < 0 {
						t.Errorf("completion %d: negative share %+v", i, c.Usage)
					}
				}
				s := sumUsage(got)
				if s.CompletionTokens+s.HiddenTokens != tc.completion || s.HiddenTokens != tc.wantHidden {
					t.Errorf("%d visible + %d hidden, want %d of which %d hidden", s.CompletionTokens, s.HiddenTokens, tc.completion, tc.wantHidden)
				}
				if tc.perTok && tc.completion == 21 {
					for i, c := range got {
						if c.Usage.CompletionTokens+c.Usage.HiddenTokens != fakeTokens(i) {
							t.Errorf("completion %d: %+v, want %d generated as the server says", i, c.Usage, fakeTokens(i))
						}
					}
				}

				// Charged as the run charges them: decode FLOPs (linear here,
				// without attention) and money for the server's completion
				// tokens exactly once.
				acc := compute.Accountant{Arch: compute.Arch{Params: 1000}, Price: compute.Price{InPerM: 1, OutPerM: 4}}
				var flops, cost float64
				for _, c := range got {
					u := c.Usage
					acc.Charge(&u, fakePrompt)
					flops += u.DecodeFLOPs
					cost += u.CostUSD
				}
				if want := 2 * 1000 * float64(tc.completion); flops != want {
					t.Errorf("decode FLOPs = %g, want %g", flops, want)
				}
				if want := (fakePrompt*1 + float64(tc.completion)*4) / 1e6; math.Abs(cost-want) > 1e-15 {
					t.Errorf("cost = %g USD, want %g", cost, want)
				}
			})
		}
	}
}

// The stop string that ended a choice is read from the fields servers name
// it in; stop token ids, unrequested strings and silence leave Stop empty.
func TestStopFromServer(t *testing.T) {
	stops := []string{"\n\n", "Q:"}
	verbose := func(word string) map[string]any {
		return map[string]any{"__verbose": map[string]any{"stop_type": "word", "stopping_word": word}}
	}
	for _, tc := range []struct {
		name   string
		n      int
		stops  []string
		choice []map[string]any
		resp   map[string]any
		want   []string // per choice
	}{
		{name: "vllmString", choice: []map[string]any{{"stop_reason": "Q:"}}, want: []string{"Q:"}},
		{name: "vllmTokenID", choice: []map[string]any{{"stop_reason": 151643}}, want: []string{""}},
		{name: "vllmNull", choice: []map[string]any{{"stop_reason": nil}}, want: []string{""}},
		{name: "sglangString", choice: []map[string]any{{"matched_stop": "\n\n"}}, want: []string{"\n\n"}},
		{name: "sglangTokenID", choice: []map[string]any{{"matched_stop": 2}}, want: []string{""}},
		{name: "stoppingWord", choice: []map[string]any{{"stopping_word": "Q:"}}, want: []string{"Q:"}},
		{name: "llamacppVerbose", resp: verbose("Q:"), want: []string{"Q:"}},
		{name: "llamacppVerboseEmpty", resp: verbose(""), want: []string{""}},
		{name: "notRequested", choice: []map[string]any{{"stop_reason": "###"}}, want: []string{""}},
		{name: "noStopsAsked", stops: []string{}, choice: []map[string]any{{"stop_reason": "Q:"}}, want: []string{""}},
		{name: "silent", want: []string{""}},
		{name: "perChoice", n: 2, choice: []map[string]any{{"stop_reason": "Q:"}, {"stop_reason": nil}}, want: []string{"Q:", ""}},
		{name: "perChoiceSGLang", n: 2, choice: []map[string]any{{"matched_stop": 7}, {"matched_stop": "\n\n"}}, want: []string{"", "\n\n"}},
		// __verbose describes one completion: with two it says nothing of either.
		{name: "verboseWithTwo", n: 2, resp: verbose("Q:"), want: []string{"", ""}},
	} {
		for _, chat := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chat=%v", tc.name, chat), func(t *testing.T) {
				f := newFake(t, &fake{choiceExtra: tc.choice, respExtra: tc.resp})
				cfg := quick(f.url())
				cfg.Chat = chat
				b := mustNew(t, cfg)
				req := pareto.Request{Prompt: "x", Params: pareto.Params{N: max(tc.n, 1), Stop: stops}}
				if tc.stops != nil {
					req.Stop = tc.stops
				}
				got, err := b.Generate(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range got {
					if c.Stop != tc.want[i] {
						t.Errorf("completion %d: Stop = %q, want %q", i, c.Stop, tc.want[i])
					}
				}
			})
		}
	}
}

// Every error the package returns starts alike, and those about a server
// name it and the model.
func TestErrorsShareOnePrefix(t *testing.T) {
	status := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "no", http.StatusBadRequest)
		return true
	}})
	html := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		fmt.Fprint(w, "<html>")
		return true
	}})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/v1"
	dead.Close()
	slow := newFake(t, &fake{delay: 10 * time.Second})

	type result struct {
		err error
		url string // the server the error must name, if any
	}
	var results []result
	_, err := New(Config{Model: "m"})
	results = append(results, result{err, ""})
	_, err = New(Config{URLs: []string{"ftp://h"}, Model: "m"})
	results = append(results, result{err, ""})
	_, err = mustNew(t, quick(status.url())).Generate(t.Context(), pareto.Request{})
	results = append(results, result{err, ""})
	_, err = mustNew(t, quick(status.url())).Generate(t.Context(), pareto.Request{Messages: []pareto.Message{{Role: "wizard"}}})
	results = append(results, result{err, status.url()})
	_, err = mustNew(t, quick(status.url())).Generate(t.Context(), pareto.Request{Prompt: "x"})
	results = append(results, result{err, status.url()})
	_, err = mustNew(t, quick(html.url())).Generate(t.Context(), pareto.Request{Prompt: "x"})
	results = append(results, result{err, html.url()})
	cfg := quick(deadURL)
	cfg.MaxRetries = 1
	_, err = mustNew(t, cfg).Generate(t.Context(), pareto.Request{Prompt: "x"})
	results = append(results, result{err, deadURL})
	results = append(results, result{mustNew(t, quick(deadURL)).Ping(t.Context()), deadURL})
	results = append(results, result{mustNew(t, quick(status.url())).Ping(t.Context()), status.url()})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = mustNew(t, quick(slow.url())).Generate(ctx, pareto.Request{Prompt: "x"})
	results = append(results, result{err, slow.url()})

	for i, r := range results {
		if r.err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		want := "openai: "
		if r.url != "" {
			want += r.url + `: model "m": `
		}
		if !strings.HasPrefix(r.err.Error(), want) {
			t.Errorf("case %d: error %q does not start with %q", i, r.err, want)
		}
	}
}

// A server that says nothing of its prefix cache has its prompt charged in
// full, and the call says so; one that reports zero cached tokens does not.
func TestCacheUnreported(t *testing.T) {
	for _, c := range []struct {
		name    string
		details map[string]any
		want    int
	}{
		{"no details", nil, 1},
		{"details without cached tokens", map[string]any{"audio_tokens": 0}, 1},
		{"zero cached", map[string]any{"cached_tokens": 0}, 0},
		{"some cached", map[string]any{"cached_tokens": 5}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			usage := map[string]any{"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
			if c.details != nil {
				usage["prompt_tokens_details"] = c.details
			}
			f := newFake(t, &fake{usage: usage})
			got, err := mustNew(t, quick(f.url())).Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{MaxTokens: 4}})
			if err != nil {
				t.Fatal(err)
			}
			if u := got[0].Usage; u.CacheUnreported != c.want || u.PromptTokens != 9 {
				t.Errorf("usage %+v: CacheUnreported %d, want %d", u, u.CacheUnreported, c.want)
			}
		})
	}
}
