package engine

import (
	"math"
	"math/rand/v2"
	"sort"
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
	s.idx = s.idx[:0]
	for i := range logits {
		s.idx = append(s.idx, i)
	}
	sorted := false
	byLogit := func(a, b int) bool {
		la, lb := logits[s.idx[a]], logits[s.idx[b]]
		return la > lb || (la == lb && s.idx[a] < s.idx[b])
	}
	if c.TopK > 0 && c.TopK < len(s.idx) {
		sort.Slice(s.idx, byLogit)
		sorted = true
		s.idx = s.idx[:c.TopK]
	}
	if c.TopP > 0 && c.TopP < 1 && !sorted {
		sort.Slice(s.idx, byLogit)
		sorted = true
	}
	// Softmax of logit/temperature over the candidates, in float64.
	maxl := math.Inf(-1)
	for _, id := range s.idx {
		maxl = math.Max(maxl, float64(logits[id]))
	}
	s.probs = s.probs[:0]
	var sum float64
	for _, id := range s.idx {
		p := math.Exp((float64(logits[id]) - maxl) / c.Temperature)
		s.probs = append(s.probs, p)
		sum += p
	}
	pmax := 0.0
	for i := range s.probs {
		s.probs[i] /= sum
		pmax = math.Max(pmax, s.probs[i])
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
		maxl = math.Max(maxl, float64(v))
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
	at := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}
