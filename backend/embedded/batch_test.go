package embedded

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

// TestConcurrentRequestsShareSteps checks continuous batching: requests in
// flight together decode in shared forward steps, so four concurrent
// requests of 32 tokens take about 32 steps, not 4 x 32.
func TestConcurrentRequestsShareSteps(t *testing.T) {
	b := New(testModel(t), WithTokenizer(pieceTok{}), WithPrefixCache(0))
	const reqs, toks = 4, 32
	var wg sync.WaitGroup
	// Hold the decode loop's lock so that all four requests, prefilled,
	// queue up before any decodes: the test model is so small that a
	// request would otherwise finish before the next one arrives.
	b.bt.mu.Lock()
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Generate(context.Background(), pareto.Request{Prompt: fmt.Sprintf("prompt %d", i),
				Params: pareto.Params{MaxTokens: toks}})
			if err != nil {
				t.Error(err)
				return
			}
			if got := out[0].Usage.CompletionTokens; got != toks {
				t.Errorf("request %d: %d tokens, want %d", i, got, toks)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	b.bt.mu.Unlock()
	wg.Wait()
	steps := b.bt.steps.Load()
	t.Logf("%d requests of %d tokens took %d forward steps", reqs, toks, steps)
	if steps >= (reqs-1)*toks {
		t.Errorf("%d forward steps for %d concurrent requests of %d tokens: they did not decode together", steps, reqs, toks)
	}
}

// TestConcurrentEqualsSequential checks that a request's completions do not
// depend on what else decodes beside it: seeded samples of several
// prompts, run one at a time and all at once, are identical.
func TestConcurrentEqualsSequential(t *testing.T) {
	m := testModel(t)
	reqs := make([]pareto.Request, 6)
	for i := range reqs {
		reqs[i] = pareto.Request{Prompt: fmt.Sprintf("Question %d: what is %d + %d?", i, i*7, i+3), Params: pareto.Params{
			N: 1 + i%3, MaxTokens: 24 + 8*i, Temperature: 0.8, TopP: 0.95, Seed: seed(int64(100 + i))}}
	}
	seq := New(m, WithTokenizer(byteTok{}), WithPrefixCache(0))
	want := make([][]pareto.Completion, len(reqs))
	for i, r := range reqs {
		out, err := seq.Generate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out
	}
	con := New(m, WithTokenizer(byteTok{}), WithPrefixCache(0), WithMaxBatch(5))
	got := make([][]pareto.Completion, len(reqs))
	var wg sync.WaitGroup
	con.bt.mu.Lock() // all queue before any decodes: 12 samples, 5 at a time
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := con.Generate(context.Background(), r)
			if err != nil {
				t.Error(err)
			}
			got[i] = out
		}()
	}
	time.Sleep(50 * time.Millisecond)
	con.bt.mu.Unlock()
	wg.Wait()
	for i := range reqs {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("request %d: %d completions, want %d", i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if got[i][j].Text != want[i][j].Text || got[i][j].Usage.DecodeFLOPs != want[i][j].Usage.DecodeFLOPs {
				t.Errorf("request %d sample %d: concurrent %q (%g FLOPs), alone %q (%g FLOPs)", i, j,
					got[i][j].Text, got[i][j].Usage.DecodeFLOPs, want[i][j].Text, want[i][j].Usage.DecodeFLOPs)
			}
		}
	}
}

// TestCanceledRequestLeavesOthers checks that canceling one request in a
// shared batch ends it with its context's error and leaves the others to
// finish.
func TestCanceledRequestLeavesOthers(t *testing.T) {
	b := New(testModel(t), WithTokenizer(pieceTok{}), WithPrefixCache(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errCanceled error
	done := make(chan struct{})
	b.bt.mu.Lock() // both requests queue before either decodes
	go func() {
		defer close(done)
		_, errCanceled = b.GenerateStream(ctx, pareto.Request{Prompt: "long", Params: pareto.Params{N: 2, MaxTokens: 40}},
			func(int, pareto.Completion) { cancel() })
	}()
	var out []pareto.Completion
	var err error
	go func() {
		time.Sleep(50 * time.Millisecond)
		b.bt.mu.Unlock()
	}()
	out, err = b.Generate(context.Background(), pareto.Request{Prompt: "short", Params: pareto.Params{MaxTokens: 16}})
	if err != nil || out[0].Usage.CompletionTokens != 16 {
		t.Fatalf("request beside a canceled one: %v, %+v", err, out)
	}
	<-done
	if errCanceled != context.Canceled {
		t.Errorf("canceled request returned %v, want context.Canceled", errCanceled)
	}
	// The loop goes idle once the canceled samples are dropped.
	for i := 0; ; i++ {
		b.bt.mu.Lock()
		idle := !b.bt.running
		b.bt.mu.Unlock()
		if idle {
			break
		}
		if i > 1000 {
			t.Fatal("decode loop still running after every request ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSavedFLOPs checks the accounting of what prompt sharing spares: a
// repeated prompt saves what its cached tokens cost the first time, and
// n samples save n-1 prefills of the prompt.
func TestSavedFLOPs(t *testing.T) {
	b := New(testModel(t), WithTokenizer(pieceTok{}))
	req := pareto.Request{Prompt: "a prompt of some length", Params: pareto.Params{MaxTokens: 4}}
	gen := func(r pareto.Request) pareto.Usage {
		out, err := b.Generate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Usage
	}
	first := gen(req)
	if first.SavedFLOPs != 0 || first.CachedTokens != 0 {
		t.Fatalf("first call: %d cached tokens, %g FLOPs saved, want none", first.CachedTokens, first.SavedFLOPs)
	}
	again := gen(req)
	if again.CachedTokens == 0 {
		t.Fatal("repeated prompt found nothing in the prefix cache")
	}
	if got, want := again.PrefillFLOPs+again.SavedFLOPs, first.PrefillFLOPs; math.Abs(got-want) > 1e-9*want {
		t.Errorf("repeat: prefill %g + saved %g = %g, want the first call's prefill %g", again.PrefillFLOPs, again.SavedFLOPs, got, want)
	}
	nb := New(testModel(t), WithTokenizer(pieceTok{}), WithPrefixCache(0))
	b = nb
	req.Params.N = 3
	three := gen(req)
	if want := 2 * three.PrefillFLOPs; math.Abs(three.SavedFLOPs-want) > 1e-9*want {
		t.Errorf("3 samples: saved %g FLOPs, want two prefills, %g", three.SavedFLOPs, want)
	}
}

// TestSequencesReleased runs requests that finish, share a prompt, and are
// canceled while decoding, and checks that once the decode loop is idle no
// sequence holds a KV block: every block in use is the prefix cache's
// alone, so the cache can evict all of it.
func TestSequencesReleased(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(pieceTok{}), WithPrefixCache(1<<20))
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%3 == 2 {
				go func() { time.Sleep(time.Millisecond); cancel() }()
			}
			_, err := b.Generate(ctx, pareto.Request{Prompt: fmt.Sprintf("shared prompt, then %d", i%2),
				Params: pareto.Params{N: 1 + i%3, MaxTokens: 40, Temperature: 0.7, Seed: seed(int64(i))}})
			if err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		b.bt.mu.Lock()
		idle := !b.bt.running
		b.bt.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the decode loop did not stop")
		}
	}
	st, kv := b.cache.Stats(), m.KVStats()
	if st.Pinned != 0 || kv.Blocks != st.Blocks || st.Blocks == 0 {
		t.Fatalf("idle backend: %d blocks in use, the cache holds %d of which %d pinned; want all in the cache, none pinned",
			kv.Blocks, st.Blocks, st.Pinned)
	}
}
