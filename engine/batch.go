package engine

import "fmt"

// Span is new tokens for one sequence, and which of them need their logits.
type Span struct {
	Seq    *Seq
	Tokens []int
	// Logits are indexes into Tokens, ascending: the tokens after which the
	// next-token logits are wanted.
	Logits []int
}

// extendChunk bounds the rows of one forward pass of Extend: enough that
// each weight matrix, read once per pass, serves many tokens, few enough
// that the run state (its logits alone are rows x vocabulary) stays small.
const extendChunk = 128

// Extend appends each span's tokens to its sequence and computes their KV,
// forwarding the tokens of all spans together in passes of up to
// extendChunk rows, so that short extensions of many sequences (the steps
// of several candidates, each after its own prefix) cost a few large
// forward passes rather than many small ones. logits[i][j] is the logits
// after token spans[i].Logits[j]; a sequence's Logits() is then, as after
// Prefill, those of the last of its tokens whose logits were wanted (left
// as they were when none was). It returns the FLOPs computed.
//
// Each span must extend a different sequence of m, within the context
// length, and ask for logits at indexes of its tokens; input breaking these
// rules is refused before anything is forwarded. Sequences forked from one
// another may be extended together: each writes only its own positions.
func (m *Model) Extend(spans []Span) ([][][]float32, float64, error) {
	c := m.Config
	rows, nlogits := 0, 0
	seen := make(map[*Seq]int, len(spans))
	for i, sp := range spans {
		s := sp.Seq
		if s == nil {
			return nil, 0, fmt.Errorf("engine: extend: span %d has no sequence", i)
		}
		if s.m != m {
			return nil, 0, fmt.Errorf("engine: extend: span %d: sequence of another model", i)
		}
		if j, ok := seen[s]; ok {
			return nil, 0, fmt.Errorf("engine: extend: spans %d and %d extend the same sequence", j, i)
		}
		seen[s] = i
		for j, t := range sp.Tokens {
			if t < 0 || t >= c.Vocab {
				return nil, 0, fmt.Errorf("engine: extend: span %d: token %d is %d, out of vocabulary [0,%d)", i, j, t, c.Vocab)
			}
		}
		if n := s.n + len(sp.Tokens); n > c.Context {
			return nil, 0, fmt.Errorf("engine: extend: span %d: %d tokens after %d make %d, beyond context length %d", i, len(sp.Tokens), s.n, n, c.Context)
		}
		for j, k := range sp.Logits {
			if k < 0 || k >= len(sp.Tokens) {
				return nil, 0, fmt.Errorf("engine: extend: span %d: logits index %d out of range [0,%d)", i, k, len(sp.Tokens))
			}
			if j > 0 && k <= sp.Logits[j-1] {
				return nil, 0, fmt.Errorf("engine: extend: span %d: logits indexes %d then %d, want them ascending", i, sp.Logits[j-1], k)
			}
		}
		rows += len(sp.Tokens)
		nlogits += len(sp.Logits)
	}

	// One allocation holds every requested row's logits.
	V := c.Vocab
	all := make([]float32, nlogits*V)
	logits := make([][][]float32, len(spans))
	for i, sp := range spans {
		logits[i] = make([][]float32, len(sp.Logits))
		for j := range sp.Logits {
			logits[i][j], all = all[:V:V], all[V:]
		}
	}
	if rows == 0 {
		return logits, 0, nil
	}

	st := m.state(min(rows, extendChunk))
	defer m.putState(st)
	var flops float64
	// dst[j] is where the j-th logits row of the pass goes: forward lays
	// st.logits out in that order.
	var dst [][]float32
	flush := func() error {
		f, err := m.forward(st)
		flops += f
		if err != nil {
			return err
		}
		for j, d := range dst {
			copy(d, st.logits[j*V:(j+1)*V])
		}
		st.rows, dst = st.rows[:0], dst[:0]
		return nil
	}
	st.rows = st.rows[:0]
	// The spans go one after another, each's tokens in order, so a pass
	// holding a sequence's later positions comes after the one holding its
	// earlier ones, as causal attention needs; forward writes a pass's keys
	// and values before any of its rows attends.
	for i, sp := range spans {
		base := sp.Seq.n // the sequence has not been forwarded yet here
		next := 0        // the next of sp.Logits
		for j, t := range sp.Tokens {
			want := next < len(sp.Logits) && sp.Logits[next] == j
			st.rows = append(st.rows, row{seq: sp.Seq, token: t, pos: base + j, logits: want})
			if want {
				dst = append(dst, logits[i][next])
				next++
			}
			if len(st.rows) == extendChunk {
				if err := flush(); err != nil {
					return nil, flops, fmt.Errorf("engine: extend: %w", err)
				}
			}
		}
	}
	if len(st.rows) > 0 {
		if err := flush(); err != nil {
			return nil, flops, fmt.Errorf("engine: extend: %w", err)
		}
	}
	return logits, flops, nil
}
