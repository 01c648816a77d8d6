// Package embedded is a pareto.Generator that runs models in process with
// the pure-Go engine: no server, exact compute accounting, and prompt KV
// shared between the samples of one request and across requests.
package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/tokenizer"
)

// Tokenizer is what the backend needs from a tokenizer.
type Tokenizer interface {
	Encode(text string, addBOS bool) []int
	Decode(ids []int) string
	EOS() int
}

// Backend generates completions with an in-process model.
type Backend struct {
	m        *engine.Model
	tok      Tokenizer
	addBOS   bool
	bos      *bool        // WithBOS, overriding the tokenizer's default
	eog      map[int]bool // tokens that end generation
	cache    *engine.PrefixCache
	topK     int
	minP     float64
	maxBatch int
	defMax   int
	bt       batcher

	repeatPenalty float64
	repeatLastN   int
}

// Option configures a Backend.
type Option func(*Backend)

// WithTokenizer sets the tokenizer (Load sets the model file's own).
func WithTokenizer(t Tokenizer) Option { return func(b *Backend) { b.tok = t } }

// WithBOS sets whether prompts start with the BOS token (default: the
// tokenizer's AddBOS() when it has one, else true).
func WithBOS(add bool) Option { return func(b *Backend) { b.bos = &add } }

// WithPrefixCache keeps up to maxBytes of prompt and completion KV across
// requests (default 256 MiB; 0 disables it).
func WithPrefixCache(maxBytes int) Option {
	return func(b *Backend) {
		b.cache = nil
		if maxBytes > 0 {
			b.cache = engine.NewPrefixCache(maxBytes)
		}
	}
}

// WithSampling sets the sampler knobs pareto.Params lacks: top-k and min-p
// (default 0: off).
func WithSampling(topK int, minP float64) Option {
	return func(b *Backend) { b.topK, b.minP = topK, minP }
}

// WithNumerics chooses how closely the engine rounds like llama.cpp:
// ggml rounds the KV cache and attention weights to f16 and activations to
// the weights' type (the default for models loaded from GGUF); flash
// additionally follows ggml's flash-attention kernel. ggml false is plain
// float32, closest to exact arithmetic.
func WithNumerics(ggml, flash bool) Option {
	return func(b *Backend) { b.m.GGMLNumerics, b.m.FlashAttention = ggml, flash }
}

// WithRepeatPenalty applies llama.cpp's repeat penalty over the last lastN
// tokens of prompt and completion (default off). Ollama applies 1.1 over
// 64 tokens unless told otherwise, greedy decoding included.
func WithRepeatPenalty(penalty float64, lastN int) Option {
	return func(b *Backend) { b.repeatPenalty, b.repeatLastN = penalty, lastN }
}

// WithMaxBatch bounds how many samples, of all requests in flight, decode
// together (default 16); the others wait for a place.
func WithMaxBatch(n int) Option { return func(b *Backend) { b.maxBatch = max(n, 1) } }

// WithDefaultMaxTokens sets the completion length when a request gives none
// (default 256).
func WithDefaultMaxTokens(n int) Option { return func(b *Backend) { b.defMax = n } }

// New returns a backend running m. Without WithTokenizer it fails every
// Generate call.
func New(m *engine.Model, opts ...Option) *Backend {
	b := &Backend{m: m, maxBatch: 16, defMax: 256, cache: engine.NewPrefixCache(256 << 20)}
	for _, o := range opts {
		o(b)
	}
	if b.bos != nil {
		b.addBOS = *b.bos
	} else if t, ok := b.tok.(interface{ AddBOS() bool }); ok {
		b.addBOS = t.AddBOS()
	} else {
		b.addBOS = true
	}
	b.eog = endTokens(b.tok)
	return b
}

// endTokens are EOS and the end-of-turn control tokens llama.cpp treats as
// end of generation.
func endTokens(t Tokenizer) map[int]bool {
	eog := map[int]bool{}
	if t == nil {
		return eog
	}
	if t.EOS() >= 0 {
		eog[t.EOS()] = true
	}
	type vocab interface {
		VocabSize() int
		Token(id int) string
		IsControl(id int) bool
	}
	if v, ok := t.(vocab); ok {
		for id := range v.VocabSize() {
			if !v.IsControl(id) {
				continue
			}
			switch v.Token(id) {
			case "<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end|>", "<end_of_turn>", "<|eom_id|>", "</s>":
				eog[id] = true
			}
		}
	}
	return eog
}

// Load opens a GGUF model file with its tokenizer.
func Load(path string, opts ...Option) (*Backend, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	defer f.Close()
	m, err := engine.LoadFile(f)
	if err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", path, err)
	}
	return New(m, append([]Option{WithTokenizer(tok)}, opts...)...), nil
}

// Model is the engine model the backend runs.
func (b *Backend) Model() *engine.Model { return b.m }

// PrefixCache is the cache of prompt and completion KV the backend shares
// across requests (nil when disabled), for reading its Stats.
func (b *Backend) PrefixCache() *engine.PrefixCache { return b.cache }

// Tokenizer is the backend's tokenizer.
func (b *Backend) Tokenizer() Tokenizer { return b.tok }

// PromptText is the text a request's prompt is encoded from: the raw
// prompt, or the messages as "role: content" lines followed by
// "assistant:" to cue the reply.
func PromptText(req pareto.Request) string {
	if len(req.Messages) == 0 {
		return req.Prompt
	}
	var sb strings.Builder
	for _, m := range req.Messages {
		sb.WriteString(m.Role)
		sb.WriteString(": ")
		sb.WriteString(m.Content)
		sb.WriteString("\n")
	}
	sb.WriteString("assistant:")
	return sb.String()
}

// sample is one completion being decoded.
type sample struct {
	index   int      // position among the request's samples
	req     *request // while in the decode loop
	seq     *engine.Seq
	sampler *engine.Sampler
	ids     []int
	text    string
	done    bool
	finish  string
	stop    string // the stop string that ended it, if one did
	lps     []pareto.TokenLogprob
	flops   float64
	pending string // pieces held back while they end in a partial UTF-8 character
	sentLen int    // bytes of text already streamed
	sentLPs int    // logprobs already streamed

	textBuf strings.Builder // backs text, so it grows without a copy per token
}

// add appends one token's text the way Ollama streams it, so texts compare
// equal: pieces wait while the text ends in an incomplete UTF-8 sequence;
// when released, trailing bytes are cut until the text is valid UTF-8.
func (s *sample) add(piece string) {
	// llama.cpp hands Ollama pieces as C strings: a NUL byte token is empty.
	s.pending += strings.ReplaceAll(piece, "\x00", "")
	if incompleteUTF8(s.pending) {
		return
	}
	s.flush()
}

func (s *sample) flush() {
	for !utf8.ValidString(s.pending) {
		s.pending = s.pending[:len(s.pending)-1]
	}
	if s.pending != "" {
		if s.textBuf.Len() != len(s.text) { // text was cut at a stop sequence
			s.textBuf.Reset()
			s.textBuf.WriteString(s.text)
		}
		s.textBuf.WriteString(s.pending)
		s.text = s.textBuf.String()
	}
	s.pending = ""
}

// incompleteUTF8 reports whether text ends inside a multi-byte character.
func incompleteUTF8(text string) bool {
	for i := 1; i <= 4 && i <= len(text); i++ {
		c := text[len(text)-i]
		switch {
		case c&0xc0 == 0x80: // continuation byte: look further back
			continue
		case c&0xe0 == 0xc0:
			return i < 2
		case c&0xf0 == 0xe0:
			return i < 3
		case c&0xf8 == 0xf0:
			return i < 4
		}
		return false
	}
	return false
}

// piece is the text of one generated token in context: unlike Decode of a
// lone token, it keeps a SentencePiece leading space.
func (b *Backend) piece(id int) string {
	if t, ok := b.tok.(interface{ Piece(int) string }); ok {
		return t.Piece(id)
	}
	return b.tok.Decode([]int{id})
}

// Generate implements pareto.Generator. The prompt is prefilled once (from
// the prefix cache where possible) and its KV shared by each of the N
// samples, which then decode in one batch with the samples of every other
// request in flight (continuous batching; see batcher). Sample i uses seed
// Seed+i; without a seed, a random one.
func (b *Backend) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	return b.GenerateStream(ctx, req, nil)
}

// GenerateStream is Generate that also hands each sample's text to emit as
// it is decoded, for streaming servers. emit(i, delta) gets the text sample
// i added since its previous call and the logprobs of the tokens decoded
// meanwhile (when asked); its last call for i, once the sample is done,
// carries the FinishReason and Stop (a canceled request has no last call).
// Text that may still become the start of a stop sequence is held back
// until it cannot, so the deltas of sample i concatenate to exactly the
// Text of completion i. emit runs on the decoding goroutine: a slow emit
// slows decoding. A nil emit is Generate.
func (b *Backend) GenerateStream(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion)) ([]pareto.Completion, error) {
	start := time.Now()
	if b.tok == nil {
		return nil, fmt.Errorf("embedded: generate: no tokenizer (use WithTokenizer or Load)")
	}
	if req.Prompt != "" && len(req.Messages) > 0 {
		return nil, fmt.Errorf("embedded: generate: request has both prompt and messages")
	}
	c := b.m.Config
	prompt := b.tok.Encode(PromptText(req), b.addBOS)
	if len(prompt) == 0 {
		return nil, fmt.Errorf("embedded: generate: empty prompt")
	}
	if len(prompt) >= c.Context {
		return nil, fmt.Errorf("embedded: generate: prompt of %d tokens fills the context of %d", len(prompt), c.Context)
	}
	n := max(req.N, 1)
	maxTok := req.MaxTokens
	if maxTok <= 0 {
		maxTok = b.defMax
	}
	seed := rand.Uint64()
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}

	// Prefill: the longest cached prefix, then the rest (at least one token,
	// for the logits).
	base, cached := b.cache.Lookup(b.m, prompt, len(prompt)-1)
	prefill, err := b.m.Prefill(base, prompt[cached:])
	if err != nil {
		base.Release()
		return nil, fmt.Errorf("embedded: prefill: %w", err)
	}
	b.cache.Add(base)
	if err := ctx.Err(); err != nil {
		base.Release()
		return nil, err
	}

	// The samples share the prompt's KV blocks; each copies only the
	// prompt's last block, if partly filled, when it writes its first token.
	// From here the decode loop owns the sequences and releases them.
	samples := make([]*sample, n)
	for i := range samples {
		seq := base
		if i > 0 {
			seq = base.Fork()
		}
		samples[i] = &sample{index: i, seq: seq, sampler: engine.NewSampler(engine.SamplerConfig{
			Temperature: req.Temperature, TopK: b.topK, TopP: req.TopP, MinP: b.minP, Seed: seed + uint64(i),
			RepeatPenalty: b.repeatPenalty, RepeatLastN: b.repeatLastN,
		})}
		for _, id := range prompt {
			samples[i].sampler.Accept(id)
		}
	}
	var ttft time.Duration
	r := &request{ctx: ctx, p: req.Params, maxTok: maxTok, emit: emit, first: func() {
		if ttft == 0 {
			ttft = time.Since(start)
		}
	}}
	b.submit(r, samples)
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err() // the loop drops the samples at its next step
	}
	if r.err != nil {
		return nil, r.err
	}

	out := make([]pareto.Completion, n)
	for i, s := range samples {
		s.flush()
		out[i] = pareto.Completion{Text: s.text, FinishReason: s.finish, Stop: s.stop, Logprobs: s.lps,
			Usage: pareto.Usage{CompletionTokens: len(s.ids), DecodeFLOPs: s.flops}}
	}
	u := &out[0].Usage
	u.Calls = 1
	u.PromptTokens = len(prompt)
	u.CachedTokens = cached
	u.PrefillFLOPs = prefill
	// Saved: the cached prompt tokens, and the prompt of every sample
	// after the first, which share its KV.
	for pos := range len(prompt) {
		f := b.m.TokenFLOPs(pos, pos == len(prompt)-1)
		if pos < cached {
			u.SavedFLOPs += f
		}
		u.SavedFLOPs += float64(n-1) * f
	}
	u.Latency = time.Since(start)
	u.TTFT = ttft
	return out, nil
}

// next adds the sampled token id to s and checks the end conditions.
func (b *Backend) next(s *sample, logits []float32, id int, p pareto.Params, maxTok, ctxLen int) {
	if b.eog[id] {
		s.done, s.finish = true, "stop"
		return
	}
	if p.Logprobs {
		s.lps = append(s.lps, b.logprob(logits, id, p.TopLogprobs))
	}
	s.ids = append(s.ids, id)
	s.add(b.piece(id))
	if i, stop := engine.MatchStop(s.text, p.Stop); i >= 0 {
		s.text = s.text[:i]
		s.done, s.finish, s.stop = true, "stop", stop
		return
	}
	if len(s.ids) >= maxTok || s.seq.Len() >= ctxLen {
		s.done, s.finish = true, "length"
	}
}

// stream emits the text s added since the last call, keeping back a tail
// that could still grow into a stop sequence (a stop found later cuts the
// text there, and streamed text cannot be taken back). A finished sample
// emits everything, with its finish reason.
func (s *sample) stream(stops []string, emit func(int, pareto.Completion)) {
	end := len(s.text)
	if s.done {
		s.flush()
		end = len(s.text)
	} else {
		end -= stopPrefix(s.text, stops)
	}
	if end <= s.sentLen && !s.done {
		return // nothing new to show: logprobs wait for their text
	}
	d := pareto.Completion{Text: s.text[s.sentLen:end], Logprobs: s.lps[s.sentLPs:]}
	if s.done {
		d.FinishReason, d.Stop = s.finish, s.stop
	}
	s.sentLen, s.sentLPs = end, len(s.lps)
	emit(s.index, d)
}

// stopPrefix is the length of the longest tail of text that is a proper
// prefix of one of the stop sequences.
func stopPrefix(text string, stops []string) int {
	longest := 0
	for _, st := range stops {
		for k := min(len(st)-1, len(text)); k > longest; k-- {
			if strings.HasSuffix(text, st[:k]) {
				longest = k
				break
			}
		}
	}
	return longest
}

func (b *Backend) logprob(logits []float32, id, top int) pareto.TokenLogprob {
	lp, alts := engine.Logprobs(logits, id, top)
	t := pareto.TokenLogprob{Token: b.piece(id), Logprob: lp}
	if len(alts) > 0 {
		t.Top = make(map[string]float64, len(alts))
		for _, a := range alts {
			tok := b.piece(a.ID)
			if _, dup := t.Top[tok]; !dup {
				t.Top[tok] = a.Logprob
			}
		}
	}
	return t
}

var _ pareto.Generator = (*Backend)(nil)
