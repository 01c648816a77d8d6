// Package openai is the pareto.Generator for any OpenAI-compatible server
// (vLLM, SGLang, llama.cpp server, Ollama, OpenAI) over one or more replica
// URLs. It owns retries, replica choice and usage accounting; the official
// openai-go client only builds requests and decodes answers.
package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/think"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 5 * time.Minute
	DefaultMaxRetries  = 4
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 10 * time.Second
	DefaultCoolOff     = 30 * time.Second
)

// Config describes an OpenAI-compatible backend.
type Config struct {
	// URLs are base URLs of replicas serving one model, e.g.
	// http://127.0.0.1:11434/v1. A URL without a path gets /v1 appended.
	URLs  []string
	Model string
	// APIKey falls back to the environment variable PARETO_API_KEY.
	APIKey string
	// Chat selects /chat/completions; a Request with Messages implies it.
	Chat bool
	// ContinueFinalMessage declares that the server continues a chat
	// request's final assistant message when asked with vLLM's
	// continue_final_message (vLLM, SGLang). Without it a chat request
	// ending with an assistant message is refused: OpenAI's API and
	// Ollama's would start a new message instead.
	ContinueFinalMessage bool
	// Markers delimit the thoughts read out of generated text into
	// Completion.Reasoning (the zero Markers mean think.Default).
	Markers think.Markers
	// Concurrency bounds in-flight HTTP requests per replica (default 8).
	Concurrency int
	// Timeout bounds one HTTP attempt (default 5m).
	Timeout time.Duration
	// MaxRetries bounds retries of 429, 5xx, connection errors and
	// timeouts (default 4). Negative means no retries.
	MaxRetries int
	// BackoffBase and BackoffMax shape the exponential backoff between
	// retries (default 200ms and 10s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// CoolOff is how long a failing replica is skipped at first; it doubles
	// on each further failure (default 30s).
	CoolOff    time.Duration
	HTTPClient *http.Client
}

// Backend is a pareto.Generator speaking the OpenAI HTTP API. It is safe for
// concurrent use.
type Backend struct {
	cfg      Config
	apiKey   string
	replicas []*replica

	mu   sync.Mutex // guards replica selection state
	next int        // rotates ties between equally loaded replicas

	// ignoresN remembers that the server answers n>1 with one choice, so
	// later requests fan out from the start.
	ignoresN atomic.Bool
	attempts atomic.Int64
	retries  atomic.Int64
}

var _ pareto.Generator = (*Backend)(nil)

// errPrefix starts every error the package returns (through errorf or
// where), so that messages read alike whichever path they come from; one
// that concerns a server goes on with its URL and the model, and a
// StatusError then with the HTTP status.
const errPrefix = "openai: "

// errorf is fmt.Errorf with the package's prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf(errPrefix+format, args...)
}

// where names a server and model at the start of an error message:
// `openai: http://host/v1: model "m"`.
func where(url, model string) string {
	return fmt.Sprintf("%s%s: model %q", errPrefix, url, model)
}

// New checks cfg, fills defaults and prepares one client per replica. It
// does no network I/O; call Ping to fail fast on a dead server.
func New(cfg Config) (*Backend, error) {
	if len(cfg.URLs) == 0 {
		return nil, errorf("Config.URLs is empty")
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, errorf("Config.Model is empty")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.CoolOff <= 0 {
		cfg.CoolOff = DefaultCoolOff
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient(cfg.Concurrency)
	}
	cfg.Markers = cfg.Markers.OrDefault()
	b := &Backend{cfg: cfg, apiKey: cfg.APIKey}
	if b.apiKey == "" {
		b.apiKey = os.Getenv("PARETO_API_KEY")
	}
	seen := map[string]bool{}
	for i, raw := range cfg.URLs {
		u, err := normalizeURL(raw)
		if err != nil {
			return nil, errorf("Config.URLs[%d]: %w", i, err)
		}
		if seen[u] {
			return nil, errorf("Config.URLs[%d]: %q listed twice", i, u)
		}
		seen[u] = true
		b.replicas = append(b.replicas, newReplica(u, cfg, b.apiKey))
	}
	return b, nil
}

// normalizeURL trims a trailing slash and appends /v1 to a bare host URL.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q: no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	u.RawPath = ""
	return u.String(), nil
}

// defaultHTTPClient keeps enough idle connections per host for the
// concurrency limit, where net/http's default of 2 would churn sockets.
func defaultHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = concurrency
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t}
}

// Model returns the model name sent with every request.
func (b *Backend) Model() string { return b.cfg.Model }

// Stats are counters of a Backend's HTTP traffic.
type Stats struct {
	Attempts int64 // HTTP attempts made, including retries
	Retries  int64 // attempts that were retries
	// IgnoresN reports that the server was seen ignoring n>1.
	IgnoresN bool
}

// Stats returns the traffic counters so far.
func (b *Backend) Stats() Stats {
	return Stats{Attempts: b.attempts.Load(), Retries: b.retries.Load(), IgnoresN: b.ignoresN.Load()}
}

// Generate returns exactly max(req.N,1) completions. When the server ignores
// n it fans out single-sample requests (seeds seed+i when a seed is set).
func (b *Backend) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	if req.Prompt != "" && len(req.Messages) > 0 {
		return nil, errorf("model %q: request has both Prompt and Messages", b.cfg.Model)
	}
	if req.Prompt == "" && len(req.Messages) == 0 {
		return nil, errorf("model %q: request has neither Prompt nor Messages", b.cfg.Model)
	}
	if req.N < 0 || req.MaxTokens < 0 || req.TopLogprobs < 0 {
		return nil, errorf("model %q: negative N, MaxTokens or TopLogprobs", b.cfg.Model)
	}
	if err := b.checkReasoning(req); err != nil {
		return nil, err
	}
	n := max(req.N, 1)
	out := make([]pareto.Completion, 0, n)
	if n == 1 || !b.ignoresN.Load() {
		got, err := b.do(ctx, req, n, req.Seed)
		if err != nil {
			return nil, err
		}
		if len(got) == 1 && n > 1 {
			b.ignoresN.Store(true)
		}
		out = append(out, got...)
	}
	if len(out) == n {
		return out, nil
	}
	rest := make([][]pareto.Completion, n-len(out))
	g, gctx := errgroup.WithContext(ctx)
	for j := range rest {
		i := len(out) + j
		var seed *int64
		if req.Seed != nil {
			s := *req.Seed + int64(i)
			seed = &s
		}
		g.Go(func() error {
			got, err := b.do(gctx, req, 1, seed)
			rest[j] = got
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range rest {
		out = append(out, r...)
	}
	return out, nil
}

// chat reports whether req goes to /chat/completions.
func (b *Backend) chat(req pareto.Request) bool { return b.cfg.Chat || len(req.Messages) > 0 }

// checkReasoning refuses what the API chosen for req cannot carry: a
// reasoning effort on /completions, and an assistant message to continue
// on a server not declared able to (Config.ContinueFinalMessage).
func (b *Backend) checkReasoning(req pareto.Request) error {
	if err := think.CheckEffort(req.ReasoningEffort); err != nil {
		return errorf("model %q: %w", b.cfg.Model, err)
	}
	if !b.chat(req) {
		if req.ReasoningEffort != "" {
			return errorf("model %q: a reasoning effort is a chat parameter (reasoning_effort) that /completions does not take: use the chat API (--chat)", b.cfg.Model)
		}
		return nil
	}
	if continues(req) && !b.cfg.ContinueFinalMessage {
		return errorf("%s: model %q: the request ends with an assistant message to continue, and this backend is not declared able to continue one on /chat/completions: "+
			"a vLLM or SGLang server does with continue_final_message (--continue-final-message); Ollama's and OpenAI's chat APIs cannot, "+
			"so use the completions API (--chat=false), which continues the raw text",
			strings.Join(b.cfg.URLs, ", "), b.cfg.Model)
	}
	return nil
}

// continues reports whether a chat request asks for its final message, the
// assistant's, to be continued.
func continues(req pareto.Request) bool {
	return len(req.Messages) > 0 && req.Messages[len(req.Messages)-1].Role == "assistant"
}

// do makes one logical call asking for n choices, retrying across replicas,
// and returns at most n completions carrying the call's usage.
func (b *Backend) do(ctx context.Context, req pareto.Request, n int, seed *int64) ([]pareto.Completion, error) {
	chat := b.chat(req)
	for attempt := 0; ; attempt++ {
		rep, err := b.acquire(ctx)
		if err != nil {
			return nil, errorf("model %q: waiting for a free slot: %w", b.cfg.Model, err)
		}
		b.attempts.Add(1)
		if attempt > 0 {
			b.retries.Add(1)
		}
		got, err := rep.call(ctx, b.cfg, chat, req, n, seed)
		b.release(rep, err)
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", where(rep.url, b.cfg.Model), ctx.Err())
		}
		if !retryable(err) {
			return nil, err
		}
		if attempt >= b.cfg.MaxRetries {
			// err starts with where: the suffix keeps the prefix first.
			return nil, fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
		}
		if err := sleep(ctx, b.backoff(attempt, err)); err != nil {
			return nil, fmt.Errorf("%s: backing off: %w", where(rep.url, b.cfg.Model), err)
		}
	}
}

// Ping checks that every replica answers: GET /models, or a one-token
// completion when /models is not served. It makes no retries.
func (b *Backend) Ping(ctx context.Context) error {
	errs := make([]error, len(b.replicas))
	var wg sync.WaitGroup
	for i, rep := range b.replicas {
		wg.Go(func() { errs[i] = rep.ping(ctx, b.cfg) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
