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
	"github.com/pareto-llm/pareto/think"
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

	// A thinker's thought markers (nil: none), found in New from
	// markers (WithThinkMarkers) or the vocabulary; thinkErr is why the
	// markers named cannot be used, failing every call.
	think    *thinking
	markers  *think.Markers
	thinkErr error
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

// WithThinkMarkers names the thought markers of a thinking model; each
// must be a single token of its vocabulary (Load takes them from the
// file's pareto.think.start and pareto.think.end metadata). The zero
// Markers turn thoughts off. Without this option, a vocabulary that has
// <think> and </think> as single tokens has think.Default.
//
// With markers, every completion is split as think.Markers.Split reads
// it after the prompt text: Text is the visible answer, Reasoning the
// thought, and the tokens generated inside a thought, the markers
// included, are Usage.HiddenTokens rather than CompletionTokens.
func WithThinkMarkers(m think.Markers) Option { return func(b *Backend) { b.markers = &m } }

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
	b.think, b.thinkErr = b.thoughts()
	return b
}

// thinking is how a thinker's thoughts are found in what it generates:
// its markers, and their token ids (open is -1 when m.Open is empty).
type thinking struct {
	m           think.Markers
	open, close int
}

// thoughts resolves the backend's thought markers to token ids: those
// WithThinkMarkers named, which must be single tokens, or else
// think.Default where the vocabulary has both as single tokens.
func (b *Backend) thoughts() (*thinking, error) {
	if b.tok == nil {
		return nil, nil
	}
	if b.markers == nil {
		op, ok1 := b.tokenID(think.Default.Open)
		cl, ok2 := b.tokenID(think.Default.Close)
		if !ok1 || !ok2 {
			return nil, nil
		}
		return &thinking{m: think.Default, open: op, close: cl}, nil
	}
	m := *b.markers
	if m == (think.Markers{}) {
		return nil, nil
	}
	if m.Close == "" {
		return nil, fmt.Errorf("embedded: thought markers %q, %q: the end-of-thought marker is empty", m.Open, m.Close)
	}
	th := &thinking{m: m, open: -1}
	var ok bool
	if th.close, ok = b.tokenID(m.Close); !ok {
		return nil, fmt.Errorf("embedded: end-of-thought marker %q is not a token of the model's vocabulary (a thinker's markers must be single tokens)", m.Close)
	}
	if m.Open != "" {
		if th.open, ok = b.tokenID(m.Open); !ok {
			return nil, fmt.Errorf("embedded: start-of-thought marker %q is not a token of the model's vocabulary (a thinker's markers must be single tokens)", m.Open)
		}
	}
	return th, nil
}

// tokenID is the id of the single token whose text is text, if the
// tokenizer can say.
func (b *Backend) tokenID(text string) (int, bool) {
	if text == "" {
		return -1, false
	}
	if t, ok := b.tok.(interface{ ID(string) (int, bool) }); ok {
		id, ok := t.ID(text)
		return id, ok && b.piece(id) == text
	}
	if v, ok := b.tok.(interface {
		VocabSize() int
		Token(id int) string
	}); ok {
		for id := range v.VocabSize() {
			if v.Token(id) == text && b.piece(id) == text {
				return id, true
			}
		}
	}
	return -1, false
}

// hiddenTokens counts the ids generated inside thoughts: all of them
// from the start when the text starts inside one (inside), and from each
// open id to the next close id, both included. An open id inside a
// thought is thought, a close id outside one is answer, as Split reads
// the markers' text.
func hiddenTokens(ids []int, open, close int, inside bool) int {
	n := 0
	for _, id := range ids {
		switch {
		case inside:
			n++
			inside = id != close
		case id == open:
			n++
			inside = true
		}
	}
	return n
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
	first := []Option{WithTokenizer(tok)}
	start, hasStart := f.String(think.KeyStart)
	end, hasEnd := f.String(think.KeyEnd)
	if hasStart || hasEnd {
		if end == "" {
			return nil, fmt.Errorf("embedded: %s names a start-of-thought marker %q (%s) but no end-of-thought marker (%s)", path, start, think.KeyStart, think.KeyEnd)
		}
		first = append(first, WithThinkMarkers(think.Markers{Open: start, Close: end}))
	}
	b := New(m, append(first, opts...)...)
	if b.thinkErr != nil {
		return nil, fmt.Errorf("%w (%s)", b.thinkErr, path)
	}
	return b, nil
}

// Thinks reports whether the model writes thoughts between markers, and
// which: Generate splits them out of its completions.
func (b *Backend) Thinks() (think.Markers, bool) {
	if b.think == nil {
		return think.Markers{}, false
	}
	return b.think.m, true
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
	pending string        // pieces held back while they end in a partial UTF-8 character
	sentLen int           // bytes of text already streamed
	sentLPs int           // logprobs already streamed
	split   *think.Stream // a thinker's streamed text into thought and answer

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
	return b.generate(ctx, req, nil, false)
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
//
// A thinker's deltas carry the thought in Reasoning and the answer in
// Text, concatenating to the completion's Reasoning and Text; where the
// text could still turn out to be either (the start of a marker, text
// before any marker when the prompt leaves no thought open), it is held
// back until it cannot.
func (b *Backend) GenerateStream(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion)) ([]pareto.Completion, error) {
	return b.generate(ctx, req, emit, false)
}

// GenerateRaw is GenerateStream with a thinker's text as the model wrote
// it: its thoughts and their markers stay in Text and Reasoning is empty,
// while Usage counts the thoughts' tokens as HiddenTokens all the same.
// For a model without thought markers it is GenerateStream. pareto serve
// answers /v1/completions with it, as vLLM does without a reasoning
// parser. emit may be nil.
func (b *Backend) GenerateRaw(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion)) ([]pareto.Completion, error) {
	return b.generate(ctx, req, emit, true)
}

// generate is GenerateStream, with a thinker's thoughts split out of the
// text unless raw.
func (b *Backend) generate(ctx context.Context, req pareto.Request, emit func(index int, delta pareto.Completion), raw bool) ([]pareto.Completion, error) {
	start := time.Now()
	if b.tok == nil {
		return nil, fmt.Errorf("embedded: generate: no tokenizer (use WithTokenizer or Load)")
	}
	if b.thinkErr != nil {
		return nil, b.thinkErr
	}
	if req.Prompt != "" && len(req.Messages) > 0 {
		return nil, fmt.Errorf("embedded: generate: request has both prompt and messages")
	}
	c := b.m.Config
	promptText := PromptText(req)
	prompt := b.tok.Encode(promptText, b.addBOS)
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
		if b.think != nil && !raw && emit != nil {
			samples[i].split = b.think.m.Stream(promptText)
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
		if th := b.think; th != nil {
			// Counted by token, read by text: a marker is one token and
			// its text, and a stop string cut from the text (the end of
			// a thought, as budget forcing asks) keeps its tokens.
			hidden := hiddenTokens(s.ids, th.open, th.close, th.m.StartsInside(promptText, s.text))
			u := &out[i].Usage
			u.CompletionTokens, u.HiddenTokens = len(s.ids)-hidden, hidden
			if !raw {
				out[i].Reasoning, out[i].Text = th.m.Split(promptText, s.text)
			}
		}
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
	b.write(s, id)
	if i, stop := engine.MatchStop(s.text, p.Stop); i >= 0 {
		s.text = s.text[:i]
		s.done, s.finish, s.stop = true, "stop", stop
		return
	}
	if len(s.ids) >= maxTok || s.seq.Len() >= ctxLen {
		s.done, s.finish = true, "length"
	}
}

// write adds the text of token id to s's.
func (b *Backend) write(s *sample, id int) {
	if th := b.think; th != nil && (id == th.open || id == th.close) {
		// A marker's text is whole, as its id counts: a broken character
		// before it is cut now, not with the marker that completes it.
		s.flush()
	}
	s.add(b.piece(id))
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
	d := pareto.Completion{Text: s.text[s.sentLen:end]}
	s.sentLen = end
	if s.split != nil {
		d.Reasoning, d.Text = s.split.Next(d.Text)
		if s.done {
			r, v := s.split.End()
			d.Reasoning += r
			d.Text += v
		}
		if d.Reasoning == "" && d.Text == "" && !s.done {
			return // held back until it is known to be thought or answer
		}
	}
	d.Logprobs = s.lps[s.sentLPs:]
	if s.done {
		d.FinishReason, d.Stop = s.finish, s.stop
	}
	s.sentLPs = len(s.lps)
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
