package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// SamplerConfig are the knobs of token sampling. Temperature <= 0 means
// greedy; the filters apply in llama.cpp's order: top-k, then temperature,
// then top-p and min-p on the resulting probabilities.
type SamplerConfig struct {
	Temperature float64
	TopK        int     // keep the k most likely tokens; 0 keeps all
	TopP        float64 // keep the smallest set with this much mass; 0 or 1 keeps all
	MinP        float64 // drop tokens below MinP times the top probability; 0 keeps all
	Seed        uint64  // same seed, same logits: same choices
	// RepeatPenalty (> 1 to penalise; 0 or 1 is off) divides positive and
	// multiplies negative logits of tokens among the last RepeatLastN
	// accepted ones, before any other step (greedy included), as
	// llama.cpp's penalties sampler does. Ollama's defaults are 1.1 and 64.
	RepeatPenalty float64
	RepeatLastN   int
}

// Sampler draws tokens from logits. It reuses its buffers, so Sample does
// not allocate after the first call.
type Sampler struct {
	cfg     SamplerConfig
	rng     *rand.Rand
	idx     []int
	probs   []float64
	recent  []int // ring of the last RepeatLastN accepted tokens
	next    int   // where the ring writes next
	counts  map[int]int
	penalty []float32 // logits after the repeat penalty
}

// Accept records a token of the context (prompt or generated) for the
// repeat penalty.
func (s *Sampler) Accept(id int) {
	n := s.cfg.RepeatLastN
	if !s.penalising() || n <= 0 {
		return
	}
	if s.counts == nil {
		s.counts = map[int]int{}
	}
	if len(s.recent) < n {
		s.recent = append(s.recent, id)
	} else {
		old := s.recent[s.next]
		if s.counts[old]--; s.counts[old] == 0 {
			delete(s.counts, old)
		}
		s.recent[s.next] = id
		s.next = (s.next + 1) % n
	}
	s.counts[id]++
}

func (s *Sampler) penalising() bool { return s.cfg.RepeatPenalty > 0 && s.cfg.RepeatPenalty != 1 }

// penalise returns logits with the repeat penalty applied (a copy; the
// caller's slice is left alone).
func (s *Sampler) penalise(logits []float32) []float32 {
	if !s.penalising() || len(s.counts) == 0 {
		return logits
	}
	s.penalty = append(s.penalty[:0], logits...)
	p := float32(s.cfg.RepeatPenalty)
	for id := range s.counts {
		if id < 0 || id >= len(s.penalty) {
			continue
		}
		if s.penalty[id] <= 0 {
			s.penalty[id] *= p
		} else {
			s.penalty[id] /= p
		}
	}
	return s.penalty
}

// NewSampler returns a sampler seeded by cfg.Seed.
func NewSampler(cfg SamplerConfig) *Sampler {
	return &Sampler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5851f42d4c957f2d))}
}

// Greedy returns the index of the largest logit, the lowest on ties (as
// llama.cpp's greedy sampler does).
func Greedy(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// Sample picks the next token. It does not Accept it.
func (s *Sampler) Sample(logits []float32) int {
	logits = s.penalise(logits)
	c := s.cfg
	if c.Temperature <= 0 || c.TopK == 1 {
		return Greedy(logits)
	}
	if c.TopK > 0 && c.TopK < len(logits) {
		s.topK(logits, c.TopK)
	} else {
		s.idx = slices.Grow(s.idx[:0], len(logits))[:len(logits)]
		for i := range s.idx {
			s.idx[i] = i
		}
		if c.TopP > 0 && c.TopP < 1 {
			s.sortIdx(logits)
		}
	}
	// Softmax of logit/temperature over the candidates, in float64. (The
	// maxima use > rather than the builtin max, which also orders NaNs and
	// signed zeros: 2x on these loops, and no value changes, as a NaN
	// logit makes every probability NaN either way.)
	maxl := math.Inf(-1)
	for _, id := range s.idx {
		if l := float64(logits[id]); l > maxl {
			maxl = l
		}
	}
	s.probs = slices.Grow(s.probs[:0], len(s.idx))[:len(s.idx)]
	var sum float64
	for i, id := range s.idx {
		p := math.Exp((float64(logits[id]) - maxl) / c.Temperature)
		s.probs[i] = p
		sum += p
	}
	pmax := 0.0
	for i := range s.probs {
		s.probs[i] /= sum
		if s.probs[i] > pmax {
			pmax = s.probs[i]
		}
	}
	n := len(s.probs)
	if c.TopP > 0 && c.TopP < 1 { // candidates are sorted: cut after mass TopP
		var cum float64
		for i, p := range s.probs {
			cum += p
			if cum >= c.TopP {
				n = i + 1
				break
			}
		}
	}
	var total float64
	for i := range n {
		if c.MinP > 0 && s.probs[i] < c.MinP*pmax {
			s.probs[i] = 0
		}
		total += s.probs[i]
	}
	u := s.rng.Float64() * total
	for i := range n {
		u -= s.probs[i]
		if u < 0 && s.probs[i] > 0 {
			return s.idx[i]
		}
	}
	// Rounding left u >= 0: the last kept candidate.
	for i := n - 1; i >= 0; i-- {
		if s.probs[i] > 0 {
			return s.idx[i]
		}
	}
	return s.idx[0]
}

// topK sets s.idx to the k best tokens (highest logit, lowest id on
// ties), best first: a bounded min-heap over the vocabulary, so a top-k of
// 40 over 32,000 tokens costs a pass, not a sort.
func (s *Sampler) topK(logits []float32, k int) {
	h := s.idx[:0]
	// worse reports whether candidate a ranks below b.
	worse := func(a, b int) bool { return better(logits[b], b, logits[a], a) }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && worse(h[r], h[l]) {
				l = r
			}
			if !worse(h[l], h[i]) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for id := range logits {
		switch {
		case len(h) < k:
			h = append(h, id)
			for i := len(h) - 1; i > 0 && worse(h[i], h[(i-1)/2]); i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
		case worse(h[0], id):
			h[0] = id
			down(0)
		}
	}
	s.idx = h
	s.sortIdx(logits)
}

// sortIdx orders s.idx best first (highest logit, lowest id on ties).
func (s *Sampler) sortIdx(logits []float32) {
	slices.SortFunc(s.idx, func(a, b int) int {
		switch {
		case better(logits[a], a, logits[b], b):
			return -1
		case better(logits[b], b, logits[a], a):
			return 1
		}
		return 0
	})
}

// TokenProb is a token and its log-probability.
type TokenProb struct {
	ID      int
	Logprob float64
}

// Logprobs returns the log-softmax of the raw logits at chosen and the top
// k tokens by probability (highest first, lowest id on ties).
func Logprobs(logits []float32, chosen, k int) (float64, []TokenProb) {
	maxl := math.Inf(-1)
	for _, v := range logits {
		maxl = max(maxl, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - maxl)
	}
	lse := maxl + math.Log(sum)
	lp := float64(logits[chosen]) - lse
	if k <= 0 {
		return lp, nil
	}
	k = min(k, len(logits))
	top := make([]TokenProb, 0, k+1)
	for id, v := range logits {
		if len(top) == k && !better(v, id, logits[top[k-1].ID], top[k-1].ID) {
			continue
		}
		// Insert keeping top sorted; k is small.
		i := len(top)
		if len(top) < k {
			top = append(top, TokenProb{})
		} else {
			i = k - 1
		}
		for i > 0 && better(v, id, logits[top[i-1].ID], top[i-1].ID) {
			top[i] = top[i-1]
			i--
		}
		top[i] = TokenProb{ID: id}
	}
	for i := range top {
		top[i].Logprob = float64(logits[top[i].ID]) - lse
	}
	return lp, top
}

func better(v float32, id int, w float32, wid int) bool { return v > w || (v == w && id < wid) }

// FindStop returns the earliest index in text where one of stops begins,
// or -1. Empty stop strings are ignored.
func FindStop(text string, stops []string) int {
	at, _ := MatchStop(text, stops)
	return at
}

// MatchStop is FindStop that also returns the stop string found there.
// When several begin at the same index the first in stops wins, so the
// answer depends only on the text and the request.
func MatchStop(text string, stops []string) (at int, stop string) {
	at = -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at, stop = i, s
		}
	}
	return at, stop
}
