package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/run"
)

// freeAddr is a loopback host:port free a moment ago, for a server to
// listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveInProcess runs `pareto serve --quiet` with args on a free loopback
// port in this process until ctx ends. It returns the port's host:port and
// the channel that gets what the command returned.
func serveInProcess(ctx context.Context, t *testing.T, args ...string) (addr string, done <-chan error) {
	t.Helper()
	addr = freeAddr(t)
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{"serve", "--addr", addr, "--quiet"}, args...))
	ch := make(chan error, 1)
	go func() { ch <- root.ExecuteContext(ctx) }()
	return addr, ch
}

// `pareto serve` with no model flags serves the shipped model until its
// context ends (SIGINT in main), then returns cleanly.
func TestServeDefaultModel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := serveInProcess(ctx, t)

	var body []byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post("http://"+addr+"/v1/completions", "application/json",
			strings.NewReader(`{"model":"pareto-synth-policy","prompt":"Question: Mia had 8 candies and lost 2. How many candies does Mia have now?\nAnswer (step by step):\n","temperature":0,"max_tokens":20}`))
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before answering: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not answering on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !bytes.Contains(body, []byte(`"model":"pareto-synth-policy"`)) || !bytes.Contains(body, []byte(`"text":"8 - 2 = 6\n#### 6"`)) {
		t.Fatalf("answer %s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after its context ended: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve still running 15 s after its context ended")
	}
}

// `pareto serve --model pareto-synth-prm` serves the PRM on vLLM's Pooling
// API, refuses completions, and a run scores with it through --scorer
// pooling as it would in process; a run whose scorer's server is gone
// fails, naming it.
func TestServePRMForPoolingScorer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := serveInProcess(ctx, t, "--model", "pareto-synth-prm")
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	post := func(path, body string) (int, string) {
		resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := post("/pooling", `{"model":"pareto-synth-prm","input":"Question: 1 + 1?\nAnswer (step by step):\n1 + 1 = 2\n"}`)
		if status == http.StatusOK {
			if !strings.Contains(body, `"object":"pooling"`) {
				t.Fatalf("pooling answer %s", body)
			}
			break
		}
		if status != 0 || time.Now().After(deadline) {
			t.Fatalf("serve: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, body := post("/v1/completions", `{"model":"pareto-synth-prm","prompt":"Question: 1 + 1?\n"}`); status != http.StatusBadRequest || !strings.Contains(body, "process reward model") {
		t.Errorf("completions from the PRM: %d %s", status, body)
	}

	dir := t.TempDir()
	out, err := execute(t, "run", "--dataset", "synth", "--limit", "2", "--strategy", "best-of-n", "--n", "2", "--max-tokens", "160",
		"--scorer", "pooling", "--scorer-url", "http://"+addr, "--scorer-model", "pareto-synth-prm", "--store", filepath.Join(dir, "r.db"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s run.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if s.Answered != 2 || s.StepsLabelled == 0 || s.Calls < 2+2 || s.UsageUnreported != 0 {
		t.Errorf("best-of-n through pareto serve: %+v", s)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--scorer", "pooling", "--scorer-model", "m"}, "--scorer pooling needs --scorer-url"},
		{[]string{"--scorer", "pooling", "--scorer-url", "http://" + addr}, "--scorer pooling needs --scorer-model"},
		{[]string{"--scorer", "prm", "--scorer-url", "http://" + addr}, `are for --scorer pooling or http, not "prm"`},
		{[]string{"--scorer", "pooling", "--scorer-url", "http://127.0.0.1:9", "--scorer-model", "m"}, "pooling: POST http://127.0.0.1:9/pooling"},
		{[]string{"--scorer", "pooling", "--scorer-url", "http://" + addr, "--scorer-model", "m", "--scorer-timeout", "0s"}, "--scorer-timeout must be positive"},
	} {
		args := append([]string{"run", "--dataset", "synth", "--limit", "1", "--strategy", "best-of-n", "--n", "2", "--max-tokens", "160",
			"--store", filepath.Join(dir, "bad.db")}, c.args...)
		if _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one saying %q", c.args, err, c.want)
		}
	}
}
