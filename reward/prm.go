package reward

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/tokenizer"
)

// PRM is a process reward model run in-process by the embedded engine: a
// llama GGUF trained (see configs/prm.yaml) to predict a good or a bad
// token after the separator that ends each step (see Encode). A step's
// score is P(good) / (P(good) + P(bad)) there. One forward pass over the
// prompt and the steps scores every step. Nothing is computed twice: the
// KV of a sequence scored before is shared from a prefix cache, so the N
// candidates of one question pay for its prompt once, and the scores of
// steps scored before are remembered, so a tree search that scores a
// question's steps[:1], then steps[:2], ... forwards each step once.
type PRM struct {
	m         *engine.Model
	tok       *tokenizer.Tokenizer
	enc       *encodeMemo // tok, remembering texts encoded before
	prompt    string
	good, bad int
	cache     *engine.PrefixCache
	scores    *memo[float64]
}

// LoadPRM opens a PRM GGUF file. The file says how it reads steps in its
// pareto.prm.* metadata (KeyPrompt and the others); a model without it is
// not a PRM and is refused.
func LoadPRM(path string) (*PRM, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prm: %w", err)
	}
	defer f.Close()
	prompt, ok := f.String(KeyPrompt)
	if !ok {
		return nil, fmt.Errorf("prm: %s has no %s metadata: not a process reward model", path, KeyPrompt)
	}
	for _, kv := range [][2]string{{KeyGoodToken, Good}, {KeyBadToken, Bad}, {KeyStepSeparator, StepSeparator}} {
		if v, _ := f.String(kv[0]); v != kv[1] {
			return nil, fmt.Errorf("prm: %s: metadata %s = %q, this reader knows %q", path, kv[0], v, kv[1])
		}
	}
	m, err := engine.LoadFile(f)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	good, bad, err := LabelIDs(tok)
	if err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	// Scores are read at the separator's token: one that is not a token of
	// the vocabulary would put them at the wrong positions.
	if _, err := SeparatorID(tok, StepSeparator); err != nil {
		return nil, fmt.Errorf("prm: %s: %w", path, err)
	}
	return (&PRM{m: m, tok: tok, enc: newEncodeMemo(tok, 1<<12), prompt: prompt, good: good, bad: bad}).fresh(), nil
}

// Fresh returns a PRM on the same weights that remembers nothing p
// scored: a run gives each seed its own (run.Remembering), so no seed is
// charged less for steps another seed scored.
func (p *PRM) Fresh() pareto.Scorer { return p.fresh() }

// fresh is p's model with an empty memory.
func (p *PRM) fresh() *PRM {
	return &PRM{m: p.m, tok: p.tok, enc: p.enc, prompt: p.prompt, good: p.good, bad: p.bad,
		cache: engine.NewPrefixCache(64 << 20), scores: newMemo[float64](1 << 14)}
}

// Params is the model's parameter count.
func (p *PRM) Params() int { return p.m.Params() }

var _ pareto.Scorer = (*PRM)(nil)

// Score implements pareto.Scorer. The usage it returns is the PRM's own
// forward compute, so strategies that score count it: the tokens it
// prefilled, the rest (a cached prefix, steps scored before) counted as
// CachedTokens. It is safe for concurrent use.
func (p *PRM) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if len(steps) == 0 {
		return nil, u, fmt.Errorf("prm: no steps to score")
	}
	if err := ctx.Err(); err != nil { // even when every score is remembered
		return nil, u, err
	}
	tokens, ends, _ := Encode(p.enc, Prompt(p.prompt, question), steps)
	if n := len(tokens); n > p.m.Config.Context {
		return nil, u, fmt.Errorf("prm: prompt and %d steps are %d tokens, more than the model's context of %d", len(steps), n, p.m.Config.Context)
	}
	u.Calls, u.PromptTokens = 1, len(tokens)
	scores, err := p.scoreEnds(ctx, start, tokens, ends, "step", &u)
	return scores, u, err
}

// scoreEnds scores tokens at each position of ends (ascending: the last
// token of each step), adding the compute it spends to u and, when it
// succeeds, the latency since start; unit names an end in errors. It is
// all of Score and ScoreTags but how they find tokens and ends.
func (p *PRM) scoreEnds(ctx context.Context, start time.Time, tokens, ends []int, unit string, u *pareto.Usage) ([]float64, error) {
	if len(ends) == 0 {
		u.Latency = time.Since(start)
		return []float64{}, nil
	}
	keys := stepKeys(tokens, ends)
	scores := make([]float64, len(ends))
	// The steps scored before need no forward pass; the prefill starts
	// with the first one that was not.
	first := len(ends)
	for k, key := range keys {
		s, ok := p.scores.get(key)
		if !ok {
			first = k
			break
		}
		scores[k] = s
	}
	if first == len(ends) {
		u.CachedTokens, u.Latency = len(tokens), time.Since(start)
		u.SavedFLOPs += p.fullFLOPs(tokens, ends)
		return scores, nil
	}
	// Up to that step's last token the KV may be cached; that token itself
	// must be forwarded for its logits.
	seq, at := p.cache.Lookup(p.m, tokens, ends[first])
	defer seq.Release() // its blocks stay in the cache once added
	u.CachedTokens = at
	spent := u.PrefillFLOPs
	for k := first; k < len(ends); k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := ends[k]
		if end < at { // a step that adds no token scores as the one before
			scores[k] = scores[max(k-1, 0)]
			continue
		}
		f, err := p.m.Prefill(seq, tokens[at:end+1])
		u.PrefillFLOPs += f
		if err != nil {
			return nil, fmt.Errorf("prm: %s %d: %w", unit, k+1, err)
		}
		at = end + 1
		scores[k] = p.stepScore(seq.Logits())
		p.scores.put(keys[k], scores[k])
	}
	p.cache.Add(seq)
	u.SavedFLOPs += max(p.fullFLOPs(tokens, ends)-(u.PrefillFLOPs-spent), 0)
	u.Latency = time.Since(start)
	return scores, nil
}

// stepScore is the score of a step from the logits after its last token:
// P(good) / (P(good) + P(bad)), the softmax over the two labels alone.
func (p *PRM) stepScore(logits []float32) float64 {
	g, b := float64(logits[p.good]), float64(logits[p.bad])
	return 1 / (1 + math.Exp(b-g))
}

// fullFLOPs is what scoring tokens would cost with nothing reused: a
// forward pass over every token, with logits at each step's end. Usage's
// SavedFLOPs is this less what was spent, so the prefix sharing of the
// PRM shows beside the policy's.
func (p *PRM) fullFLOPs(tokens, ends []int) float64 {
	var f float64
	e := 0
	for pos := range tokens {
		end := e < len(ends) && ends[e] == pos
		if end {
			e++
		}
		f += p.m.TokenFLOPs(pos, end)
	}
	return f
}

// stepKeys names each step's score by the tokens up to and including the
// step's end, all the score depends on: by their SHA-256, so that a key
// is small however long the solution.
func stepKeys(tokens, ends []int) []string {
	h := sha256.New()
	var buf []byte
	keys := make([]string, len(ends))
	at := 0
	for k, end := range ends {
		for ; at <= end && at < len(tokens); at++ {
			buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(tokens[at]))
			h.Write(buf)
		}
		keys[k] = string(h.Sum(nil)) // Sum leaves the hash running
	}
	return keys
}

// memo remembers values by key (step scores, encoded texts), safe for
// concurrent use. It holds two generations of at most size entries: when
// the newer fills up, the older is dropped and a new one started, so an
// entry read since the last turn survives it (an LRU's effect without its
// bookkeeping).
type memo[V any] struct {
	mu       sync.Mutex
	size     int
	cur, old map[string]V
}

func newMemo[V any](size int) *memo[V] {
	return &memo[V]{size: size, cur: map[string]V{}}
}

func (c *memo[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[key]; ok {
		return v, true
	}
	v, ok := c.old[key]
	if ok {
		c.putLocked(key, v)
	}
	return v, ok
}

func (c *memo[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, v)
}

func (c *memo[V]) putLocked(key string, v V) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, map[string]V{}
	}
	c.cur[key] = v
}
