package embedded

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
)

// request is one Generate call's share of the decode loop. The loop owns
// every field but done's closing; the caller reads err and the samples
// once done is closed.
type request struct {
	ctx    context.Context
	p      pareto.Params
	maxTok int
	first  func() // called on the loop before each sampled token (TTFT)
	emit   func(int, pareto.Completion)
	left   int   // samples still decoding
	err    error // the request's failure: its context's, or the model's
	done   chan struct{}
}

// batcher is continuous batching: one goroutine decodes the samples of all
// requests in flight together, one batched forward step for all of them at
// a time, and the samples of a request that arrives meanwhile join at the
// next step rather than waiting for the batch to drain. Concurrent
// requests (the questions of a run, the rollouts of a labelling job, the
// clients of `pareto serve`) so share each read of the weights, which is
// what a decode step costs. The goroutine runs only while there is work.
type batcher struct {
	mu      sync.Mutex
	queue   []*sample    // submitted, not yet decoding
	running bool         // the loop goroutine is alive
	steps   atomic.Int64 // batched forward steps run, for tests
}

// submit hands a request's samples to the decode loop, starting it when
// idle. r.done is closed when every sample is finished or dropped.
func (b *Backend) submit(r *request, samples []*sample) {
	r.left, r.done = len(samples), make(chan struct{})
	for _, s := range samples {
		s.req = r
	}
	b.bt.mu.Lock()
	b.bt.queue = append(b.bt.queue, samples...)
	if !b.bt.running {
		b.bt.running = true
		go b.loop()
	}
	b.bt.mu.Unlock()
}

// loop decodes until no sample is running or waiting: each pass samples a
// token for every active sample, retires the finished ones, admits waiting
// samples up to maxBatch, then runs one batched forward step.
func (b *Backend) loop() {
	ctxLen := b.m.Config.Context
	var (
		active []*sample
		seqs   []*engine.Seq
		toks   []int
	)
	for {
		b.bt.mu.Lock()
		n := min(len(b.bt.queue), b.maxBatch-len(active))
		active = append(active, b.bt.queue[:n]...)
		rest := copy(b.bt.queue, b.bt.queue[n:])
		clear(b.bt.queue[rest:]) // drop the references
		b.bt.queue = b.bt.queue[:rest]
		if len(active) == 0 {
			b.bt.running = false
			b.bt.mu.Unlock()
			return
		}
		b.bt.mu.Unlock()

		seqs, toks = seqs[:0], toks[:0]
		kept := active[:0]
		for _, s := range active {
			r := s.req
			if r.err == nil {
				r.err = r.ctx.Err()
			}
			if r.err != nil {
				b.retire(s)
				continue
			}
			logits := s.seq.Logits()
			id := s.sampler.Sample(logits)
			s.sampler.Accept(id)
			r.first()
			b.next(s, logits, id, r.p, r.maxTok, ctxLen)
			if r.emit != nil {
				s.stream(r.p.Stop, r.emit)
			}
			if s.done {
				b.retire(s)
				continue
			}
			kept = append(kept, s)
			seqs, toks = append(seqs, s.seq), append(toks, id)
		}
		clear(active[len(kept):])
		active = kept
		if len(seqs) == 0 {
			continue
		}
		for _, s := range active {
			s.flops += b.m.TokenFLOPs(s.seq.Len(), true)
		}
		b.bt.steps.Add(1)
		if _, err := b.m.Step(seqs, toks); err != nil {
			for _, s := range active {
				if s.req.err == nil {
					s.req.err = fmt.Errorf("embedded: decode: %w", err)
				}
				b.retire(s)
			}
			clear(active)
			active = active[:0]
		}
	}
}

// retire takes s out of the loop, finishing its request after its last
// sample. A finished sample's sequence goes to the prefix cache; every
// sequence is released here, the one place all of them pass, whether the
// request finished, failed or was canceled (its caller may be gone).
func (b *Backend) retire(s *sample) {
	if s.req.err == nil {
		b.cache.Add(s.seq)
	}
	s.seq.Release()
	s.req.left--
	if s.req.left == 0 {
		close(s.req.done)
	}
	s.req = nil
}
