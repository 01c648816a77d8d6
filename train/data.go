package train

import (
	"fmt"
	"strings"

	"github.com/pareto-llm/pareto/synth"
	"github.com/pareto-llm/pareto/think"
	"github.com/pareto-llm/pareto/tokenizer"
)

// Source yields training sequences. Its position is one number, the cursor,
// so a checkpoint can store it and a resumed run continues the same stream.
type Source interface {
	// Next fills one sequence of seq_len positions: the input tokens, the
	// target at each position (for a language model the next token) and
	// mask, the weight of each position's loss.
	Next(inputs, targets []int32, mask []float32) error
	// Cursor is the position of the next sequence.
	Cursor() uint64
	// Seek moves to a position Cursor returned.
	Seek(cursor uint64)
}

// SynthSource packs synth problems into sequences: each example is
// <s> prompt completion </s>, examples follow each other until the next one
// does not fit, and the rest is padded with </s> that count for nothing.
// Example i is a pure function of (seed, i), so seeking is free.
type SynthSource struct {
	cfg    DataConfig
	tok    *tokenizer.Tokenizer
	cursor uint64 // next example index

	pending    []int32 // example cursor, tokenized, when it did not fit
	pendStart  int
	pendCursor uint64
	hasPending bool
	seq        []int32 // scratch: seq_len+1 tokens
}

// NewSynthSource returns the synth stream described by cfg.
func NewSynthSource(cfg DataConfig, tok *tokenizer.Tokenizer) *SynthSource {
	return &SynthSource{cfg: cfg, tok: tok}
}

// Cursor implements Source.
func (s *SynthSource) Cursor() uint64 { return s.cursor }

// Seek implements Source.
func (s *SynthSource) Seek(c uint64) { s.cursor, s.hasPending = c, false }

var mix = synth.Mix

func (s *SynthSource) draw(i uint64, purpose uint64) uint64 {
	return mix(mix(uint64(s.cfg.Seed)^purpose*0x632BE59BD9B4E019) ^ i)
}

// uniform is draw as a float64 in [0, 1), of its top 53 bits.
func (s *SynthSource) uniform(i uint64, purpose uint64) float64 {
	return float64(s.draw(i, purpose)>>11) / (1 << 53)
}

// Example returns the tokens of example i and the index of its first
// completion token.
func (s *SynthSource) Example(i uint64) ([]int32, int, error) {
	k := uint64(s.cfg.SolutionsPerProblem)
	pi, j := i/k, i%k
	levels := s.cfg.Levels
	level := levels[s.draw(pi, 1)%uint64(len(levels))]
	p := synth.Generate(synth.TrainSeed(int64(s.draw(pi, 2)>>1)), level)
	direct := s.uniform(i, 3) < s.cfg.DirectFraction
	prompt := synth.Prompt(p, !direct)
	var completion string
	switch {
	case direct:
		completion = synth.Direct(p)
	case s.cfg.Think:
		completion = s.thought(p, i, pi, k, j)
	case k == 1 && !s.cfg.NamedSteps && !s.cfg.SymbolicSteps:
		completion = p.Solution
	default:
		solve := synth.Solutions
		switch {
		case s.cfg.NamedSteps:
			solve = synth.NamedSolutions
		case s.cfg.SymbolicSteps:
			solve = synth.SymbolicSolutions
		}
		sols := solve(p, int(k), int64(s.draw(pi, 4)>>1))
		if len(sols) == 0 {
			completion = p.Solution
		} else {
			completion = sols[int(j)%len(sols)]
		}
	}
	full := s.tok.Encode(prompt+completion, true)
	head := s.tok.Encode(prompt, true)
	if len(head) > len(full) {
		return nil, 0, fmt.Errorf("train: example %d: prompt tokenizes longer than prompt+completion", i)
	}
	for t := range head {
		if head[t] != full[t] {
			return nil, 0, fmt.Errorf("train: example %d: prompt tokens are not a prefix of the example's tokens (token %d)", i, t)
		}
	}
	out := make([]int32, len(full)+1)
	for t, id := range full {
		out[t] = int32(id)
	}
	out[len(full)] = eosID
	return out, len(head), nil
}

// thought is solution j of problem p (example i, problem index pi, k
// solutions a problem) written after its plan as a thought (see
// DataConfig.Think), cut short for a ThinkCut share of examples.
func (s *SynthSource) thought(p synth.Problem, i, pi, k, j uint64) string {
	if s.cfg.ThinkStyle == ThinkArithmetic {
		return s.working(p, i, pi, k, j)
	}
	pls := synth.PlannedSolutions(p, int(k), int64(s.draw(pi, 4)>>1))
	if len(pls) == 0 {
		return think.Default.Open + think.Default.Close + "\n" + p.Solution
	}
	pl := pls[int(j)%len(pls)]
	plan := strings.Join(pl.Plan, "\n")
	if s.uniform(i, 5) < s.cfg.ThinkCut {
		// Cut at a uniform point, back to the end of a word: a budget
		// stops a thought between tokens, and a word is about one token.
		cut := int(s.draw(i, 6) % uint64(len(plan)+1))
		for cut > 0 && cut < len(plan) && plan[cut] != ' ' && plan[cut] != '\n' {
			cut--
		}
		plan = strings.TrimRight(plan[:cut], " \n")
	}
	return think.Default.Open + plan + think.Default.Close + "\n" + pl.Solution()
}

// Next implements Source: the targets are the inputs shifted by one.
func (s *SynthSource) Next(inputs, targets []int32, mask []float32) error {
	n := len(inputs)
	if len(targets) != n || len(mask) != n {
		return fmt.Errorf("train: Next: %d inputs, %d targets, %d mask entries", n, len(targets), len(mask))
	}
	if cap(s.seq) < n+1 {
		s.seq = make([]int32, n+1)
	}
	seq := s.seq[:n+1]
	if err := s.pack(seq, mask); err != nil {
		return err
	}
	copy(inputs, seq[:n])
	copy(targets, seq[1:])
	return nil
}

// pack fills tokens (seq_len+1 ids) and mask (seq_len weights): mask[t]
// weighs the loss of predicting tokens[t+1] from tokens[:t+1].
func (s *SynthSource) pack(tokens []int32, mask []float32) error {
	n := len(tokens)
	if len(mask) != n-1 {
		return fmt.Errorf("train: Next: mask has %d entries, want %d", len(mask), n-1)
	}
	fill := 0
	for {
		var ex []int32
		var start int
		if s.hasPending && s.pendCursor == s.cursor {
			ex, start = s.pending, s.pendStart
		} else {
			var err error
			if ex, start, err = s.Example(s.cursor); err != nil {
				return err
			}
		}
		s.hasPending = false
		if len(ex) > n {
			s.cursor++ // longer than a sequence: skip it rather than cut its answer
			continue
		}
		if fill+len(ex) > n {
			s.pending, s.pendStart, s.pendCursor, s.hasPending = ex, start, s.cursor, true
			break
		}
		copy(tokens[fill:], ex)
		for t := 0; t+1 < len(ex); t++ {
			// mask[fill+t] predicts ex[t+1].
			w := float32(1)
			if s.cfg.MaskPrompt && t+1 < start {
				w = 0
			}
			mask[fill+t] = w
		}
		fill += len(ex)
		s.cursor++
		if fill < n {
			mask[fill-1] = 0 // </s> -> next <s> is not a prediction to learn
		}
		if fill >= n {
			break
		}
	}
	for t := fill; t < n; t++ {
		tokens[t] = eosID
	}
	if fill < n {
		for t := max(fill-1, 0); t < n-1; t++ {
			mask[t] = 0 // padding predicts nothing
		}
	}
	return nil
}

// Thought styles (DataConfig.ThinkStyle).
const (
	ThinkPlan       = "plan"
	ThinkArithmetic = "arithmetic"
)

// working is solution j of problem p with each step's working written as a
// thought before its result (DataConfig.ThinkStyle "arithmetic"). For a
// ThinkCut share of examples the working stops at a random column, as a
// budget stops it: the column in progress and every later step's working
// are left out, each thought closed as soon as it opens, so the model
// learns to write a result with the working it has.
func (s *SynthSource) working(p synth.Problem, i, pi, k, j uint64) string {
	sols := synth.Solutions(p, int(k), int64(s.draw(pi, 4)>>1))
	sol := p.Solution
	if len(sols) > 0 {
		sol = sols[int(j)%len(sols)]
	}
	open, close := think.Default.Open, think.Default.Close
	lines := strings.Split(sol, "\n")
	for n, l := range lines {
		lines[n] = synth.ScratchStep(l, open, close)
	}
	out := strings.Join(lines, "\n")
	if s.uniform(i, 5) >= s.cfg.ThinkCut {
		return out
	}
	// Columns are separated by "," inside thoughts; keep the first cut of
	// them in all, counting across the steps' thoughts.
	cols := strings.Count(out, ",") + strings.Count(out, open)
	keep := int(s.draw(i, 6) % uint64(cols+1))
	var b strings.Builder
	for {
		o := strings.Index(out, open)
		if o < 0 {
			b.WriteString(out)
			return b.String()
		}
		c := strings.Index(out[o:], close) + o
		b.WriteString(out[:o+len(open)])
		w := strings.Split(out[o+len(open):c], ",")
		n := min(keep, len(w))
		keep -= n
		b.WriteString(strings.Join(w[:n], ","))
		b.WriteString(close)
		out = out[c+len(close):]
	}
}
