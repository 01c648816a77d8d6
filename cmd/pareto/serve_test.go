package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// `pareto serve` with no model flags serves the shipped model until its
// context ends (SIGINT in main), then returns cleanly.
func TestServeDefaultModel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"serve", "--addr", addr, "--quiet"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

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
