package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randLogits(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(rng.NormFloat64() * 3)
	}
	return l
}

func TestGreedyTiesLowestID(t *testing.T) {
	l := []float32{0, 2, 5, 1, 5, 5}
	if got := Greedy(l); got != 2 {
		t.Fatalf("Greedy = %d, want 2", got)
	}
	s := NewSampler(SamplerConfig{Temperature: 0})
	if got := s.Sample(l); got != 2 {
		t.Fatalf("Sample at temperature 0 = %d, want 2", got)
	}
}

func TestSamplerDeterministic(t *testing.T) {
	l := randLogits(500, 1)
	cfg := SamplerConfig{Temperature: 1, TopP: 0.9, Seed: 42}
	a, b := NewSampler(cfg), NewSampler(cfg)
	cfg.Seed = 43
	c := NewSampler(cfg)
	differ := false
	for range 50 {
		x, y, z := a.Sample(l), b.Sample(l), c.Sample(l)
		if x != y {
			t.Fatalf("same seed gave %d and %d", x, y)
		}
		differ = differ || x != z
	}
	if !differ {
		t.Fatal("different seeds gave identical 50 samples")
	}
}

func TestTopKTopPMinP(t *testing.T) {
	l := randLogits(200, 3)
	order := make([]int, 0, len(l))
	for i := range l {
		order = append(order, i)
	}
	// Rank tokens by logit.
	rank := map[int]int{}
	for r := range l {
		best := -1
		for _, id := range order {
			if _, done := rank[id]; !done && (best < 0 || better(l[id], id, l[best], best)) {
				best = id
			}
		}
		rank[best] = r
	}
	s := NewSampler(SamplerConfig{Temperature: 2, TopK: 5, Seed: 1})
	for range 300 {
		if id := s.Sample(l); rank[id] >= 5 {
			t.Fatalf("top-k 5 sampled token of rank %d", rank[id])
		}
	}
	// Top-p: the allowed set is the smallest prefix with mass >= p.
	probs := softmax64(l, 1)
	var cum float64
	allowed := 0
	for r := 0; r < len(l); r++ {
		for id, rr := range rank {
			if rr == r {
				cum += probs[id]
			}
		}
		allowed = r + 1
		if cum >= 0.5 {
			break
		}
	}
	s = NewSampler(SamplerConfig{Temperature: 1, TopP: 0.5, Seed: 2})
	for range 300 {
		if id := s.Sample(l); rank[id] >= allowed {
			t.Fatalf("top-p 0.5 sampled rank %d, allowed %d", rank[id], allowed)
		}
	}
	pmax := 0.0
	for _, p := range probs {
		pmax = math.Max(pmax, p)
	}
	s = NewSampler(SamplerConfig{Temperature: 1, MinP: 0.2, Seed: 3})
	for range 300 {
		if id := s.Sample(l); probs[id] < 0.2*pmax {
			t.Fatalf("min-p sampled p=%.3g < 0.2*%.3g", probs[id], pmax)
		}
	}
}

func softmax64(l []float32, temp float64) []float64 {
	p := make([]float64, len(l))
	var sum, mx float64 = 0, math.Inf(-1)
	for _, v := range l {
		mx = math.Max(mx, float64(v))
	}
	for i, v := range l {
		p[i] = math.Exp((float64(v) - mx) / temp)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// TestSamplerFrequencies checks that plain temperature sampling follows the
// softmax distribution.
func TestSamplerFrequencies(t *testing.T) {
	l := []float32{1, 2, 0.5, 2.5}
	want := softmax64(l, 0.7)
	s := NewSampler(SamplerConfig{Temperature: 0.7, Seed: 9})
	const n = 40000
	count := make([]float64, len(l))
	for range n {
		count[s.Sample(l)]++
	}
	for i := range l {
		got := count[i] / n
		if math.Abs(got-want[i]) > 0.01 {
			t.Fatalf("token %d: frequency %.4f, want %.4f", i, got, want[i])
		}
	}
}

func TestLogprobs(t *testing.T) {
	l := randLogits(50, 5)
	p := softmax64(l, 1)
	lp, top := Logprobs(l, 7, 3)
	if math.Abs(lp-math.Log(p[7])) > 1e-9 {
		t.Fatalf("logprob %v, want %v", lp, math.Log(p[7]))
	}
	if len(top) != 3 {
		t.Fatalf("%d top entries, want 3", len(top))
	}
	for i, tp := range top {
		if math.Abs(tp.Logprob-math.Log(p[tp.ID])) > 1e-9 {
			t.Fatalf("top %d logprob wrong", i)
		}
		if i > 0 && tp.Logprob > top[i-1].Logprob {
			t.Fatal("top not sorted")
		}
	}
	if top[0].ID != Greedy(l) {
		t.Fatalf("top[0] = %d, greedy %d", top[0].ID, Greedy(l))
	}
}

func TestFindStop(t *testing.T) {
	cases := []struct {
		text  string
		stops []string
		want  int
		stop  string // MatchStop's string
	}{
		{"hello world\n\nQ:", []string{"Q:", "\n\n"}, 11, "\n\n"},
		{"abc", []string{"x", ""}, -1, ""},
		{"abc", nil, -1, ""},
		{"a</s>b", []string{"</s>"}, 1, "</s>"},
		{"x\n\ny", []string{"\n\n", "\n"}, 1, "\n\n"}, // same index: the first listed
		{"x\n\ny", []string{"\n", "\n\n"}, 1, "\n"},
	}
	for _, c := range cases {
		if got := FindStop(c.text, c.stops); got != c.want {
			t.Errorf("FindStop(%q, %q) = %d, want %d", c.text, c.stops, got, c.want)
		}
		if at, stop := MatchStop(c.text, c.stops); at != c.want || stop != c.stop {
			t.Errorf("MatchStop(%q, %q) = %d, %q, want %d, %q", c.text, c.stops, at, stop, c.want, c.stop)
		}
	}
}

func TestRepeatPenalty(t *testing.T) {
	l := []float32{3, 2.8, -1, -1.05, 0.5}
	s := NewSampler(SamplerConfig{RepeatPenalty: 1.1, RepeatLastN: 2})
	if got := s.Sample(l); got != 0 {
		t.Fatalf("no history: greedy %d, want 0", got)
	}
	s.Accept(0) // 3/1.1 = 2.73 < 2.8
	if got := s.Sample(l); got != 1 {
		t.Fatalf("after penalising 0: %d, want 1", got)
	}
	if l[0] != 3 {
		t.Fatal("Sample modified the caller's logits")
	}
	s.Accept(1)
	s.Accept(4) // window of 2 forgets token 0: holds 1 and 4
	if got := s.Sample(l); got != 0 {
		t.Fatalf("after the window moved on: %d, want 0", got)
	}
	// Negative logits are multiplied: -1 becomes -1.1, below -1.05.
	neg := []float32{-1, -1.05}
	s = NewSampler(SamplerConfig{RepeatPenalty: 1.1, RepeatLastN: 64})
	s.Accept(0)
	if got := s.Sample(neg); got != 1 {
		t.Fatalf("negative logit penalty: %d, want 1", got)
	}
	off := NewSampler(SamplerConfig{RepeatPenalty: 1, RepeatLastN: 64})
	off.Accept(0)
	if got := off.Sample(l); got != 0 {
		t.Fatalf("penalty 1 changed the choice to %d", got)
	}
}

// TestTopKSelection checks the heap selection against a full sort, with
// ties among the logits (lowest id first) and k from 1 to the vocabulary.
func TestTopKSelection(t *testing.T) {
	l := randLogits(300, 11)
	for i := range l {
		l[i] = float32(math.Round(float64(l[i]))) // many ties
	}
	ref := make([]int, len(l))
	for i := range ref {
		ref[i] = i
	}
	s := NewSampler(SamplerConfig{})
	s.idx = append(s.idx[:0], ref...)
	s.sortIdx(l)
	copy(ref, s.idx)
	for i := 1; i < len(ref); i++ {
		if !better(l[ref[i-1]], ref[i-1], l[ref[i]], ref[i]) {
			t.Fatalf("sortIdx: %d before %d out of order", ref[i-1], ref[i])
		}
	}
	for _, k := range []int{1, 2, 5, 40, 299, 300} {
		s.topK(l, k)
		if len(s.idx) != k {
			t.Fatalf("k=%d: %d candidates", k, len(s.idx))
		}
		for i, id := range s.idx {
			if id != ref[i] {
				t.Fatalf("k=%d: candidate %d is %d, want %d", k, i, id, ref[i])
			}
		}
	}
}

// TestSampleDoesNotAllocate: once its buffers have grown, the sampler
// draws tokens without allocating, with every filter on.
func TestSampleDoesNotAllocate(t *testing.T) {
	l := randLogits(8000, 5)
	for _, cfg := range []SamplerConfig{
		{Temperature: 0.8, TopK: 40, TopP: 0.9, Seed: 1},
		{Temperature: 0.8, TopP: 0.9, MinP: 0.05, Seed: 2},
		{Temperature: 1, Seed: 3, RepeatPenalty: 1.1, RepeatLastN: 64},
	} {
		s := NewSampler(cfg)
		for i := range 100 { // fill the repeat window
			s.Accept(i)
		}
		s.Sample(l)
		allocs := testing.AllocsPerRun(50, func() {
			s.Accept(s.Sample(l))
		})
		if allocs > 0 {
			t.Errorf("%+v: Sample+Accept allocates %v times per token", cfg, allocs)
		}
	}
}

// BenchmarkSample is one token drawn at temperature 0.7 with no other
// filter, as the tree searches and self-consistency sample on the shipped
// policy (930 tokens), and over a 32,000-token vocabulary.
func BenchmarkSample(b *testing.B) {
	for _, vocab := range []int{930, 32000} {
		b.Run(fmt.Sprint("vocab", vocab), func(b *testing.B) {
			l := randLogits(vocab, 5)
			s := NewSampler(SamplerConfig{Temperature: 0.7, Seed: 1})
			for b.Loop() {
				s.Sample(l)
			}
		})
	}
}
