package openai

import (
	"context"
	"errors"
	"fmt"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/pareto-llm/pareto"
)

// downAfter is how many consecutive server-side failures take a replica out
// of rotation; one refused connection is enough since nothing listens.
const downAfter = 2

// maxCoolOffFactor caps the doubling cool-off at this multiple of CoolOff.
const maxCoolOffFactor = 16

// replica is one base URL with its own client, concurrency limit and health.
type replica struct {
	url         string
	sem         chan struct{}
	completions oai.CompletionService
	chat        oai.ChatService
	models      oai.ModelService

	// Guarded by Backend.mu.
	outstanding int       // acquired or waiting for a slot
	fails       int       // consecutive server-side failures
	downUntil   time.Time // zero when healthy
	coolOff     time.Duration
}

func newReplica(u string, cfg Config, apiKey string) *replica {
	// The services are built directly rather than through oai.NewClient so
	// that OPENAI_* environment variables (keys, org headers) never leak to
	// a third-party server.
	opts := []option.RequestOption{
		option.WithBaseURL(u + "/"),
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithAPIKey(apiKey),
		option.WithMaxRetries(0), // retries are ours, see Backend.do
	}
	return &replica{
		url:         u,
		sem:         make(chan struct{}, cfg.Concurrency),
		completions: oai.NewCompletionService(opts...),
		chat:        oai.NewChatService(opts...),
		models:      oai.NewModelService(opts...),
		coolOff:     cfg.CoolOff,
	}
}

// acquire picks the healthy replica with the least outstanding requests
// (ties rotate) — or, when all are down, the one back soonest — and waits
// for one of its slots.
func (b *Backend) acquire(ctx context.Context) (*replica, error) {
	b.mu.Lock()
	now := time.Now()
	var best *replica
	k := len(b.replicas)
	for j := range k {
		r := b.replicas[(b.next+j)%k]
		if r.downUntil.After(now) {
			continue
		}
		if best == nil || r.outstanding < best.outstanding {
			best = r
		}
	}
	if best == nil {
		for _, r := range b.replicas {
			if best == nil || r.downUntil.Before(best.downUntil) {
				best = r
			}
		}
	}
	b.next = (b.next + 1) % k
	best.outstanding++
	b.mu.Unlock()

	select {
	case best.sem <- struct{}{}:
		return best, nil
	case <-ctx.Done():
		b.mu.Lock()
		best.outstanding--
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// release frees r's slot and updates its health from the attempt's error.
func (b *Backend) release(r *replica, err error) {
	<-r.sem
	b.mu.Lock()
	defer b.mu.Unlock()
	r.outstanding--
	switch {
	case err == nil:
		r.fails, r.downUntil, r.coolOff = 0, time.Time{}, b.cfg.CoolOff
	case serverFault(err):
		r.fails++
		if r.fails >= downAfter || refused(err) {
			r.downUntil = time.Now().Add(r.coolOff)
			r.coolOff = min(2*r.coolOff, maxCoolOffFactor*b.cfg.CoolOff)
		}
	}
}

// ping checks this replica answers, without retries.
func (r *replica) ping(ctx context.Context, cfg Config) error {
	actx, cancel := context.WithTimeout(ctx, min(cfg.Timeout, 30*time.Second))
	defer cancel()
	var x exchange
	_, err := r.models.List(actx, option.WithMiddleware(x.capture))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: ping: %w", where(r.url, cfg.Model), ctx.Err())
	}
	if !x.answered() {
		return fmt.Errorf("%s: unreachable: %w", where(r.url, cfg.Model), rootCause(err))
	}
	// The server answers but has no usable /models: ask for one token.
	ping := pareto.Request{Prompt: "ping", Params: pareto.Params{MaxTokens: 1}}
	_, err = r.call(ctx, cfg, cfg.Chat, ping, 1, nil)
	if err != nil {
		var te *transportError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: unreachable: %w", where(r.url, cfg.Model), rootCause(te.err))
		}
		return err // already names the server, model and failure
	}
	return nil
}
