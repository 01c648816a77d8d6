package reward

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
)

var _ pareto.BatchScorer = (*PRM)(nil)

// minSharedRows is the fewest rows that forwarding the prefix common to
// all candidates on its own, once rather than once per candidate, must
// save to pay for the forward pass it adds. A new question's prompt saves
// far more; the first tokens that sibling steps happen to share save a
// few rows, cheaper to forward again than to wait a pass for. (A guess at
// the break-even, not a measurement.)
const minSharedRows = 16

// ScoreBatch implements pareto.BatchScorer. Each candidate is scored as
// Score scores it, from the same remembered step scores and prefix cache,
// but the tokens all candidates need forwarded go through the engine
// together (engine.Model.Extend): a depth of a tree search, a dozen
// candidates of a new step each, costs a forward pass or two of a few
// hundred rows rather than a dozen passes of a dozen rows, each mostly
// overhead on a small model. Identical candidates are scored once. A
// prefix common to all candidates that no cache holds, such as a new
// question's prompt, is forwarded first, once; a prefix only some of them
// share (the same new parent step) is forwarded for each.
//
// The usage is what Score would charge for scoring the distinct candidates
// one after another: one call and the prompt tokens of each, the tokens
// not forwarded counted as cached, and the FLOPs of the forward passes;
// but the latency is the batch's.
func (p *PRM) ScoreBatch(ctx context.Context, question string, candidates [][]string) ([][]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if len(candidates) == 0 {
		return nil, u, fmt.Errorf("prm: no candidates to score")
	}
	// same[i] is the candidate whose scores candidate i shares.
	same := make([]int, len(candidates))
	seen := map[string]int{}
	var unique []int
	for i, steps := range candidates {
		if len(steps) == 0 {
			return nil, u, fmt.Errorf("prm: candidate %d: no steps to score", i)
		}
		key := strings.Join(steps, "\x00")
		j, ok := seen[key]
		if !ok {
			j = i
			seen[key] = i
			unique = append(unique, i)
		}
		same[i] = j
	}
	if err := ctx.Err(); err != nil { // even when every score is remembered
		return nil, u, err
	}
	prompt := Prompt(p.prompt, question)
	jobs := make([]*job, len(unique))
	for n, i := range unique {
		tokens, ends, _ := Encode(p.enc, prompt, candidates[i])
		if len(tokens) > p.m.Config.Context {
			return nil, u, fmt.Errorf("prm: candidate %d: prompt and %d steps are %d tokens, more than the model's context of %d", i, len(candidates[i]), len(tokens), p.m.Config.Context)
		}
		jobs[n] = &job{tokens: tokens, ends: ends, keys: stepKeys(tokens, ends), scores: make([]float64, len(ends))}
	}
	for _, j := range jobs {
		u.Calls++
		u.PromptTokens += len(j.tokens)
	}
	b := &batchRun{p: p, known: map[string]float64{}}
	defer b.release()
	err := b.run(ctx, jobs)
	u.PrefillFLOPs = b.flops
	if err != nil {
		return nil, u, err
	}
	u.CachedTokens = u.PromptTokens - b.forwarded
	for _, j := range jobs {
		u.SavedFLOPs += p.fullFLOPs(j.tokens, j.ends)
	}
	u.SavedFLOPs = max(u.SavedFLOPs-u.PrefillFLOPs, 0)
	u.Latency = time.Since(start)
	out := make([][]float64, len(candidates))
	for n, i := range unique {
		out[i] = jobs[n].scores
	}
	for i, j := range same {
		if j != i {
			out[i] = slices.Clone(out[j])
		}
	}
	return out, u, nil
}

// job is one distinct candidate of a batch: its tokens, the position of
// each step's last token, the steps' keys in the score memory, and their
// scores, known up to first.
type job struct {
	tokens, ends []int
	keys         []string
	scores       []float64
	first        int // the first step whose score is not known yet
}

// batchRun is the state of one ScoreBatch: the scores it computed, the
// compute it spent, and the sequences to release at its end.
type batchRun struct {
	p *PRM
	// known holds the scores computed by this batch, so that a later phase
	// finds them even if the score memory dropped them meanwhile.
	known     map[string]float64
	flops     float64
	forwarded int // tokens forwarded
	seqs      []*engine.Seq
}

func (b *batchRun) release() {
	for _, s := range b.seqs {
		s.Release()
	}
}

// run scores jobs: a prefix common to all of them first if that pays, then
// the rest of every job in one Extend.
func (b *batchRun) run(ctx context.Context, jobs []*job) error {
	var pending []*job
	for _, j := range jobs {
		if b.recall(j) {
			pending = append(pending, j)
		}
	}
	shared, err := b.share(ctx, pending)
	if err != nil {
		return err
	}
	var spans []engine.Span
	var todo []*job
	for _, j := range pending {
		if !b.recall(j) {
			continue // all its steps were in the shared prefix
		}
		// Up to the first unscored step's last token the KV may be cached;
		// that token itself must be forwarded for its logits.
		end := j.ends[j.first]
		seq, at := b.p.cache.Lookup(b.p.m, j.tokens, end)
		if shared != nil && at < shared.Len() && shared.Len() <= end {
			// The shared prefix is at hand even where the cache is not
			// (none, or its blocks evicted).
			seq.Release()
			seq, at = shared.Fork(), shared.Len()
		}
		b.seqs = append(b.seqs, seq)
		var idx []int
		for k := j.first; k < len(j.ends); k++ {
			// A step that adds no token scores as the one before.
			if k == j.first || j.ends[k] > j.ends[k-1] {
				idx = append(idx, j.ends[k]-at)
			}
		}
		spans = append(spans, engine.Span{Seq: seq, Tokens: j.tokens[at:], Logits: idx})
		todo = append(todo, j)
	}
	if len(spans) == 0 {
		return nil
	}
	logits, err := b.extend(ctx, spans)
	if err != nil {
		return err
	}
	for n, j := range todo {
		r := 0
		for k := j.first; k < len(j.ends); k++ {
			if k > j.first && j.ends[k] == j.ends[k-1] {
				j.scores[k] = j.scores[k-1]
				continue
			}
			j.scores[k] = b.p.stepScore(logits[n][r])
			r++
			b.p.scores.put(j.keys[k], j.scores[k])
		}
		b.p.cache.Add(spans[n].Seq)
	}
	return nil
}

// recall fills in the scores of j's steps known before the first that is
// not, and reports whether there is such a step.
func (b *batchRun) recall(j *job) bool {
	for k, key := range j.keys {
		s, ok := b.known[key]
		if !ok {
			s, ok = b.p.scores.get(key)
		}
		if !ok {
			j.first = k
			return true
		}
		j.scores[k] = s
	}
	j.first = len(j.keys)
	return false
}

// share forwards the prefix common to all pending jobs, beyond what the
// cache holds of it, once, when that saves at least minSharedRows: it
// scores the steps that end inside it and adds it to the cache, and
// returns the sequence holding it (released with the batch), or nil.
func (b *batchRun) share(ctx context.Context, pending []*job) (*engine.Seq, error) {
	if len(pending) < 2 {
		return nil, nil
	}
	toks := pending[0].tokens
	n, maxLen := len(toks), len(toks)
	for _, j := range pending {
		n = min(n, commonPrefix(toks, j.tokens))
		maxLen = min(maxLen, j.ends[j.first]) // as in run: an unscored end is forwarded
	}
	seq, at := b.p.cache.Lookup(b.p.m, toks[:n], min(maxLen, n))
	b.seqs = append(b.seqs, seq)
	if (len(pending)-1)*(n-at) < minSharedRows {
		return nil, nil
	}
	// Every pending step that ends inside the prefix is scored there: the
	// score depends on the tokens up to its end alone, which all share.
	var idx []int
	for _, j := range pending {
		for _, e := range j.ends[j.first:] {
			if e >= n {
				break
			}
			idx = append(idx, e-at)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	logits, err := b.extend(ctx, []engine.Span{{Seq: seq, Tokens: toks[at:n], Logits: idx}})
	if err != nil {
		return nil, err
	}
	for _, j := range pending {
		for k := j.first; k < len(j.ends) && j.ends[k] < n; k++ {
			r, _ := slices.BinarySearch(idx, j.ends[k]-at)
			s := b.p.stepScore(logits[0][r])
			b.known[j.keys[k]] = s
			b.p.scores.put(j.keys[k], s)
		}
	}
	b.p.cache.Add(seq)
	return seq, nil
}

// extend forwards spans, unless ctx is done, and counts what it spent.
func (b *batchRun) extend(ctx context.Context, spans []engine.Span) ([][][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logits, f, err := b.p.m.Extend(spans)
	b.flops += f
	if err != nil {
		return nil, fmt.Errorf("prm: %w", err)
	}
	for _, sp := range spans {
		b.forwarded += len(sp.Tokens)
	}
	return logits, nil
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
