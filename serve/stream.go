package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/pareto-llm/pareto"
)

// stream answers a request with server-sent events: a chunk per piece of
// text as the model produces it, an optional usage chunk, then [DONE]. The
// 200 and its headers go out with the first chunk, so a request that fails
// before producing anything still gets a proper error status.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, m Model, rp *reply) ([]pareto.Completion, error) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ev := &events{w: w, rc: http.NewResponseController(w), cancel: cancel}
	n := rp.req.gen.N
	opened := false
	emit := func(i int, d pareto.Completion) {
		if i < 0 || i >= n {
			return // not a choice of this request: a backend bug, not the client's concern
		}
		if !opened {
			opened = true
			for _, c := range rp.roleChunks() {
				ev.send(c)
			}
		}
		for _, c := range rp.deltaChunks(i, d) {
			ev.send(c)
		}
	}

	out, err := generate(ctx, m, rp.req, emit)
	if ev.err != nil {
		return nil, fmt.Errorf("serve: streaming to the client: %w", ev.err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // the client left: no one to tell
		}
		e := asAPIError(err)
		if !ev.started {
			writeError(w, e)
		} else {
			// Mid-stream the status is sent; OpenAI reports the error as an
			// event and ends the stream without [DONE].
			ev.send(e.body())
		}
		return nil, err
	}
	if rp.req.includeUsage {
		ev.send(rp.usageChunk(out))
	}
	ev.write([]byte("data: [DONE]\n\n"))
	if ev.err != nil {
		return nil, fmt.Errorf("serve: streaming to the client: %w", ev.err)
	}
	return out, nil
}

// generate runs req on m, handing emit (when not nil) each completion's
// text as it comes: raw on /v1/completions where m can give it
// (RawStreamer), streamed where m streams, else each completion whole, in
// one piece per choice, once they are done.
func generate(ctx context.Context, m Model, req *request, emit func(int, pareto.Completion)) ([]pareto.Completion, error) {
	var out []pareto.Completion
	var err error
	streamed := emit != nil
	if r, ok := m.(RawStreamer); ok && req.api == apiCompletions {
		out, err = r.GenerateRaw(ctx, req.gen, emit)
	} else if s, ok := m.(Streamer); ok && emit != nil {
		out, err = s.GenerateStream(ctx, req.gen, emit)
	} else {
		out, err = m.Generate(ctx, req.gen)
		streamed = false
	}
	if err == nil {
		err = checkCount(out, req.gen.N)
	}
	if err == nil && emit != nil && !streamed {
		for i, c := range out {
			emit(i, pareto.Completion{Text: c.Text, Reasoning: c.Reasoning, Logprobs: c.Logprobs, FinishReason: *finishOf(c), Stop: c.Stop})
		}
	}
	return out, err
}

// events writes server-sent events, flushing each. The first write that
// fails cancels generation: the client is gone.
type events struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	cancel  context.CancelFunc
	started bool
	err     error
}

// send writes v as one "data:" event.
func (e *events) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		e.fail(fmt.Errorf("encoding a chunk: %w", err))
		return
	}
	e.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

func (e *events) write(p []byte) {
	if e.err != nil {
		return
	}
	if !e.started {
		e.started = true
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx and the like: do not hold chunks back
		e.w.WriteHeader(http.StatusOK)
	}
	if _, err := e.w.Write(p); err != nil {
		e.fail(err)
		return
	}
	if err := e.rc.Flush(); err != nil {
		e.fail(err)
	}
}

func (e *events) fail(err error) {
	e.err = err
	e.cancel()
}
