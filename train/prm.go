package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/tokenizer"
)

// prmExample is one labelled solution, tokenized: at each step's end the
// target is the good or the bad token.
type prmExample struct {
	tokens []int32
	ends   []int
	labels []bool
	weight float32 // of each label's loss
	from   int     // first position after the prompt
	right  bool    // the solution reaches the answer (for lm_weight)
}

// PRMSource feeds a process reward model: labelled solutions (see package
// shepherd) packed into sequences in the PRM's input format (see
// reward.Encode), with the loss only at each step's last token, whose
// target is reward.Good or reward.Bad. Examples are
// visited in a fresh seeded order each epoch; the cursor counts examples.
type PRMSource struct {
	ex        []prmExample
	lmWeight  float32
	dense     float32
	seed      uint64
	good, bad int32
	cursor    uint64
	epoch     int64 // epoch whose order is in perm
	perm      []int
}

// NewPRMSource tokenizes the records of a labels file. Records whose
// tokens do not fit in seqLen are dropped. weights, if not nil, weigh each
// record's labels (see shepherd.Balance); otherwise every label weighs 1.
// lmWeight > 0 also trains the next-token prediction of right solutions
// at that weight (see DataConfig.LMWeight); dense > 0 puts each step's
// label on all its tokens at that weight (see DataConfig.Dense). They
// exclude each other: a position has one target.
func NewPRMSource(recs []shepherd.Record, weights []float64, lmWeight, dense float64, tok *tokenizer.Tokenizer, seqLen int, seed int64) (*PRMSource, error) {
	if weights != nil && len(weights) != len(recs) {
		return nil, fmt.Errorf("train: prm: %d weights for %d records", len(weights), len(recs))
	}
	if lmWeight > 0 && dense > 0 {
		return nil, fmt.Errorf("train: prm: lm_weight and dense both want the steps' tokens")
	}
	s := &PRMSource{seed: uint64(seed), epoch: -1, lmWeight: float32(lmWeight), dense: float32(dense)}
	g, b, err := reward.LabelIDs(tok)
	if err != nil {
		return nil, fmt.Errorf("train: prm: %w", err)
	}
	s.good, s.bad = int32(g), int32(b)
	for i, r := range recs {
		if len(r.Steps) == 0 {
			continue
		}
		ids, ends, head := reward.Encode(tok, reward.Prompt(reward.PromptTemplate, r.Question), r.Steps)
		if len(ids) > seqLen {
			continue
		}
		e := prmExample{tokens: make([]int32, len(ids)), ends: ends, labels: r.Labels, weight: 1,
			from: head, right: r.Correct}
		if weights != nil {
			e.weight = float32(weights[i])
		}
		for i, id := range ids {
			e.tokens[i] = int32(id)
		}
		s.ex = append(s.ex, e)
	}
	if len(s.ex) == 0 {
		return nil, fmt.Errorf("train: prm: no labelled solution fits in seq_len %d", seqLen)
	}
	return s, nil
}

// Cursor implements Source.
func (s *PRMSource) Cursor() uint64 { return s.cursor }

// Seek implements Source.
func (s *PRMSource) Seek(c uint64) { s.cursor = c }

func (s *PRMSource) at(c uint64) *prmExample {
	n := uint64(len(s.ex))
	if e := int64(c / n); e != s.epoch {
		s.perm = rand.New(rand.NewPCG(s.seed, uint64(e))).Perm(len(s.ex))
		s.epoch = e
	}
	return &s.ex[s.perm[c%n]]
}

func (s *PRMSource) label(good bool) int32 {
	if good {
		return s.good
	}
	return s.bad
}

// Next implements Source.
func (s *PRMSource) Next(inputs, targets []int32, mask []float32) error {
	n := len(inputs)
	if len(targets) != n || len(mask) != n {
		return fmt.Errorf("train: Next: %d inputs, %d targets, %d mask entries", n, len(targets), len(mask))
	}
	for t := range n {
		inputs[t], targets[t], mask[t] = eosID, eosID, 0
	}
	fill := 0
	for {
		e := s.at(s.cursor)
		if fill+len(e.tokens) > n {
			if fill == 0 {
				return fmt.Errorf("train: prm: example of %d tokens is longer than seq_len %d", len(e.tokens), n)
			}
			return nil
		}
		copy(inputs[fill:], e.tokens)
		if s.lmWeight > 0 && e.right { // from the prompt's last token on
			for p := e.from - 1; p < len(e.tokens)-1; p++ {
				targets[fill+p], mask[fill+p] = e.tokens[p+1], s.lmWeight
			}
		}
		if s.dense > 0 {
			at := e.from
			for k, end := range e.ends {
				for p := at; p < end; p++ {
					targets[fill+p], mask[fill+p] = s.label(e.labels[k]), s.dense*e.weight
				}
				at = max(at, end+1)
			}
		}
		// Labels last: a step's end predicts its label, not the next line.
		for k, p := range e.ends {
			targets[fill+p], mask[fill+p] = s.label(e.labels[k]), e.weight
		}
		fill += len(e.tokens)
		s.cursor++
	}
}
