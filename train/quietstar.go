package train

// The quiet-star stage (data.kind quiet-star) trains a thinker's thoughts
// the way Quiet-STaR does (Zelikman et al. 2024, arXiv 2403.09629), on the
// synth task: for each training problem the model samples K thoughts after
// "prompt <think>" itself, and the reference solution (GOLD: the bare steps
// and the answer, as the supervised thinker writes them after its thought)
// is read K+1 times, after each thought and after an empty one:
//
//	k < K:  <s> prompt <think> thought_k </think> \n GOLD </s>
//	k = K:  <s> prompt <think> </think> \n GOLD </s>
//
// At every GOLD position a small mixing head (an MLP on the final
// normalised hidden states of the two readings, [h_with ; h_without])
// gives a weight w in (0, 1), and the prediction is the mix w·logits_with
// + (1-w)·logits_without. The loss has three parts:
//
//   - mix: the mean cross-entropy of the mixed logits on GOLD, whose
//     gradient reaches both readings and the head;
//   - rl (REINFORCE): each thought is rewarded by the log-likelihood the
//     mixed prediction gives GOLD after it, r_k = Σ_j log p_mix(gold_j |
//     thought_k); the advantage A_k = r_k - mean_j r_j (held constant)
//     weighs the log-likelihood of the thought's own sampled tokens: the
//     loss is mean_k A_k · Σ_t -log π(t), so thoughts that help the true
//     continuation more than the others become more likely;
//   - lm: the cross-entropy of the with-thought logits alone on GOLD.
//
// The head is a training device: the exported GGUF is the llama model
// alone, and inference (the embedded engine, llama.cpp, a server) runs the
// with-thought reading only, which is why lm keeps that reading itself a
// good predictor rather than leaving the work to the mix.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/synth"
	"github.com/pareto-llm/pareto/think"
	"github.com/pareto-llm/pareto/tokenizer"
)

// QuietStarConfig is the data.quiet_star section of a quiet-star run.
// optim.batch_size counts problems there: a step reads batch_size ×
// (thoughts+1) sequences.
type QuietStarConfig struct {
	// Thoughts is K, the thoughts sampled for each problem (at least 2:
	// the advantage of a thought is its reward against the others').
	Thoughts int `yaml:"thoughts" json:"thoughts"`
	// ThoughtTokens caps a thought's tokens; a thought that reaches it
	// without </think> is closed there, as a think budget closes it.
	ThoughtTokens int `yaml:"thought_tokens" json:"thought_tokens"`
	// Temperature of thought sampling; the REINFORCE term differentiates
	// the log-probability of this same tempered distribution.
	Temperature float64 `yaml:"temperature" json:"temperature"`
	// RefreshSteps is how often (in steps) the weights thoughts are sampled
	// from are copied from the trained ones; 1 samples from the current
	// weights every step (on-policy), which costs one copy of the weights
	// since the engine runs them in memory.
	RefreshSteps int `yaml:"refresh_steps" json:"refresh_steps"`
	// RLWeight and LMWeight weigh the REINFORCE and language-model parts
	// against the mixed loss (weight 1).
	RLWeight float64 `yaml:"rl_weight" json:"rl_weight"`
	LMWeight float64 `yaml:"lm_weight" json:"lm_weight"`
	// HeadHidden is the width of the mixing head's hidden layer.
	HeadHidden int `yaml:"head_hidden" json:"head_hidden"`
}

// DefaultQuietStar is the settings a quiet-star run takes for what its
// config leaves out.
func DefaultQuietStar() QuietStarConfig {
	return QuietStarConfig{Thoughts: 4, ThoughtTokens: 64, Temperature: 1, RefreshSteps: 1,
		RLWeight: 1, LMWeight: 1, HeadHidden: 64}
}

// validateQuietStar checks the fields a quiet-star run reads.
func (c Config) validateQuietStar() error {
	d, q := c.Data, c.Data.QuietStar
	if c.Model.Vocab != VocabSynthThink {
		return fmt.Errorf("field model.vocab: a quiet-star run needs %q, whose tokens mark a thought (got %q)", VocabSynthThink, c.Model.Vocab)
	}
	if q == nil {
		return fmt.Errorf("field data.quiet_star: a quiet-star run needs its settings")
	}
	type check struct {
		bad   bool
		field string
		msg   string
	}
	for _, ch := range []check{
		{q.Thoughts < 2 || q.Thoughts > 64, "data.quiet_star.thoughts", fmt.Sprintf("%d must be in [2, 64]: a thought's advantage is its reward against the others'", q.Thoughts)},
		{q.ThoughtTokens < 1 || q.ThoughtTokens >= c.Model.SeqLen, "data.quiet_star.thought_tokens", fmt.Sprintf("%d must be in [1, seq_len)", q.ThoughtTokens)},
		{!(q.Temperature > 0 && q.Temperature <= 10), "data.quiet_star.temperature", fmt.Sprintf("%g must be in (0, 10]", q.Temperature)},
		{q.RefreshSteps < 1, "data.quiet_star.refresh_steps", fmt.Sprintf("%d must be at least 1", q.RefreshSteps)},
		{!(q.RLWeight >= 0 && q.RLWeight <= 100), "data.quiet_star.rl_weight", fmt.Sprintf("%g must be in [0, 100]", q.RLWeight)},
		{!(q.LMWeight >= 0 && q.LMWeight <= 100), "data.quiet_star.lm_weight", fmt.Sprintf("%g must be in [0, 100]", q.LMWeight)},
		{q.HeadHidden < 1 || q.HeadHidden > 4096, "data.quiet_star.head_hidden", fmt.Sprintf("%d must be in [1, 4096]", q.HeadHidden)},
		{d.Think || d.ThinkCut != 0, "data.think", "writes supervised thoughts; a quiet-star run samples its own"},
		{d.NamedSteps || d.SymbolicSteps, "data.named_steps", "a quiet-star run reads the bare steps the thinker writes; drop named_steps and symbolic_steps"},
		{d.DirectFraction != 0, "data.direct_fraction", "a quiet-star run reads worked solutions only; set 0"},
	} {
		if ch.bad {
			return fmt.Errorf("field %s: %s", ch.field, ch.msg)
		}
	}
	return nil
}

// ---------------------------------------------------------------- problems

// qsProblems is a quiet-star run's stream of training problems. Problem i
// is a pure function of (data.seed, i); the cursor is the next problem.
// It is the trainer's Source for checkpoints, but its sequences are made
// from sampled thoughts, so Next is refused.
type qsProblems struct {
	syn        *SynthSource // its draws and data config
	tok        *tokenizer.Tokenizer
	seqLen     int
	start, end int32
	cursor     uint64
}

// Cursor implements Source.
func (s *qsProblems) Cursor() uint64 { return s.cursor }

// Seek implements Source.
func (s *qsProblems) Seek(c uint64) { s.cursor = c }

// Next implements Source: a quiet-star run has no fixed sequences.
func (s *qsProblems) Next(inputs, targets []int32, mask []float32) error {
	return errors.New("train: a quiet-star run makes its sequences from sampled thoughts")
}

// problem returns problem i's prompt (<s> question ... <think>) and GOLD
// (what follows </think>: "\n", the bare steps, the answer line and </s>),
// tokenized as the supervised thinker's examples are.
func (s *qsProblems) problem(i uint64) (prompt, gold []int32, err error) {
	cfg := s.syn.cfg
	level := cfg.Levels[s.syn.draw(i, 1)%uint64(len(cfg.Levels))]
	p := synth.Generate(synth.TrainSeed(int64(s.syn.draw(i, 2)>>1)), level)
	sol := p.Solution
	if pls := synth.PlannedSolutions(p, cfg.SolutionsPerProblem, int64(s.syn.draw(i, 4)>>1)); len(pls) > 0 {
		sol = pls[s.syn.draw(i, 7)%uint64(len(pls))].Solution()
	}
	head := s.tok.Encode(synth.Prompt(p, true)+think.Default.Open, true)
	full := s.tok.Encode(synth.Prompt(p, true)+think.Default.Open+think.Default.Close+"\n"+sol, true)
	if len(full) <= len(head) || int32(head[len(head)-1]) != s.start || int32(full[len(head)]) != s.end {
		return nil, nil, fmt.Errorf("train: quiet-star problem %d: the thought markers do not tokenize as single tokens", i)
	}
	for t := range head {
		if head[t] != full[t] {
			return nil, nil, fmt.Errorf("train: quiet-star problem %d: prompt tokens are not a prefix of the example's (token %d)", i, t)
		}
	}
	prompt = make([]int32, len(head))
	for t, id := range head {
		prompt[t] = int32(id)
	}
	for _, id := range full[len(head)+1:] {
		gold = append(gold, int32(id))
	}
	return prompt, append(gold, eosID), nil
}

// next returns the next problem that leaves room for a thought of at least
// one token in a sequence, skipping those that do not.
func (s *qsProblems) next() (qsProblem, error) {
	for {
		prompt, gold, err := s.problem(s.cursor)
		s.cursor++
		if err != nil {
			return qsProblem{}, err
		}
		// prompt + thought + </think> + gold is at most seq_len+1 tokens
		// (inputs are all but the last).
		if room := s.seqLen - len(prompt) - len(gold); room >= 1 {
			return qsProblem{prompt: prompt, gold: gold, room: room}, nil
		}
	}
}

// qsProblem is one problem of a step and its sampled thoughts.
type qsProblem struct {
	prompt, gold []int32
	room         int       // most thought tokens the sequence has room for
	thoughts     [][]int32 // per thought: its sampled tokens, without </think>
	ended        []bool    // per thought: </think> was sampled (not forced)
}

// seq returns sequence k of the problem: with thought k for k < K, with an
// empty thought for k = K.
func (pb *qsProblem) seq(k int, end int32) []int32 {
	var th []int32
	if k < len(pb.thoughts) {
		th = pb.thoughts[k]
	}
	out := make([]int32, 0, len(pb.prompt)+len(th)+1+len(pb.gold))
	out = append(append(append(out, pb.prompt...), th...), end)
	return append(out, pb.gold...)
}

// ---------------------------------------------------------------- head

// qsHead is the mixing head: w = σ(w2·tanh(W1·[h_with ; h_without] + b1) +
// b2). Its tensors live in the trainer's parameter vector after the
// model's (they are trained and checkpointed with it, never exported).
type qsHead struct {
	w1, b1, w2, b2 tensor
	in, hid        int
}

func newQSHead(off, d, hid int) qsHead {
	h := qsHead{in: 2 * d, hid: hid}
	add := func(name string, rows, cols int, decay bool) tensor {
		t := tensor{name: name, rows: rows, cols: cols, off: off, decay: decay}
		off += t.size()
		return t
	}
	h.w1 = add("quiet_star.head.w1", hid, 2*d, true)
	h.b1 = add("quiet_star.head.b1", 1, hid, false)
	h.w2 = add("quiet_star.head.w2", 1, hid, true)
	h.b2 = add("quiet_star.head.b2", 1, 1, false)
	return h
}

func (h qsHead) tensors() []tensor { return []tensor{h.w1, h.b1, h.w2, h.b2} }

func (h qsHead) size() int { return h.w1.size() + h.b1.size() + h.w2.size() + h.b2.size() }

// init sets W1 to N(0, 1/(2d)) so its outputs start near unit scale, and
// the rest to zero: w starts at 1/2 everywhere, and the output layer's
// gradient (the hidden activations) is what first moves it, as Quiet-STaR
// starts its head's last layer at zero.
func (h qsHead) init(params []float32, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x71732d68656164))
	std := 1 / math.Sqrt(float64(h.in))
	for i := range h.w1.of(params) {
		h.w1.of(params)[i] = float32(std * rng.NormFloat64())
	}
	for _, t := range []tensor{h.b1, h.w2, h.b2} {
		clear(t.of(params))
	}
}

// qsScratch is one worker's buffers for the head and the mixed softmax.
type qsScratch struct {
	u, z, a, dz, du []float64
	mix, pw, pwo    []float64
	dh              []float64 // the head's gradient, laid out as its tensors
}

func (h qsHead) scratch(v int) *qsScratch {
	return &qsScratch{u: make([]float64, h.in), z: make([]float64, h.hid), a: make([]float64, h.hid),
		dz: make([]float64, h.hid), du: make([]float64, h.in),
		mix: make([]float64, v), pw: make([]float64, v), pwo: make([]float64, v), dh: make([]float64, h.size())}
}

// forward sets sc.u to the input, sc.a to the hidden activations and
// returns w.
func (h qsHead) forward(params []float32, sc *qsScratch, hw, hwo []float32) float64 {
	d := len(hw)
	for i, x := range hw {
		sc.u[i] = float64(x)
	}
	for i, x := range hwo {
		sc.u[d+i] = float64(x)
	}
	w1, b1, w2 := h.w1.of(params), h.b1.of(params), h.w2.of(params)
	s := float64(h.b2.of(params)[0])
	for r := range h.hid {
		z := float64(b1[r])
		row := w1[r*h.in : (r+1)*h.in]
		for i, x := range sc.u {
			z += float64(row[i]) * x
		}
		sc.a[r] = math.Tanh(z)
		s += float64(w2[r]) * sc.a[r]
	}
	return 1 / (1 + math.Exp(-s))
}

// backward adds the gradient of the loss to sc.dh given dw = dL/dw, and
// sets sc.du to dL/du (after forward on the same input).
func (h qsHead) backward(params []float32, sc *qsScratch, w, dw float64) {
	ds := dw * w * (1 - w)
	w1, w2 := h.w1.of(params), h.w2.of(params)
	o1 := h.w1.size()
	o2 := o1 + h.b1.size()
	o3 := o2 + h.w2.size()
	sc.dh[o3] += ds
	clear(sc.du)
	for r := range h.hid {
		sc.dh[o2+r] += ds * sc.a[r]
		dz := ds * float64(w2[r]) * (1 - sc.a[r]*sc.a[r])
		if dz == 0 {
			continue
		}
		sc.dh[o1+r] += dz
		row := w1[r*h.in : (r+1)*h.in]
		g := sc.dh[r*h.in : (r+1)*h.in]
		for i, x := range sc.u {
			g[i] += dz * x
			sc.du[i] += dz * float64(row[i])
		}
	}
}

// ---------------------------------------------------------------- loss

// QuietStarStats describe a quiet-star step (see quietstar.go).
type QuietStarStats struct {
	Mix, RL, LM float64 // the loss's parts, unweighted
	// Advantage is the mean |A_k| over the batch's thoughts (the mean A_k
	// is zero by construction).
	Advantage float64
	// Gain is the mean over thoughts of Σ_j log p_with(gold_j) − log
	// p_without(gold_j): what a thought buys the with-thought reading,
	// the one inference runs.
	Gain float64
	// ThoughtLen is the mean tokens of a thought (without </think>);
	// Ended the share of thoughts the model closed itself.
	ThoughtLen, Ended float64
	// W is the mean mixing weight over GOLD positions.
	W float64
}

// Add adds o's figures to s's.
func (s *QuietStarStats) Add(o QuietStarStats) {
	s.Mix += o.Mix
	s.RL += o.RL
	s.LM += o.LM
	s.Advantage += o.Advantage
	s.Gain += o.Gain
	s.ThoughtLen += o.ThoughtLen
	s.Ended += o.Ended
	s.W += o.W
}

// Mean is s with every figure divided by n: the mean of n steps' sums.
func (s QuietStarStats) Mean(n float64) QuietStarStats {
	return QuietStarStats{Mix: s.Mix / n, RL: s.RL / n, LM: s.LM / n, Advantage: s.Advantage / n,
		Gain: s.Gain / n, ThoughtLen: s.ThoughtLen / n, Ended: s.Ended / n, W: s.W / n}
}

// qsLayout places a step's problems in the batch: problem b's sequence k
// is sequence b·(K+1)+k, each seqLen rows of the N×V logits.
type qsLayout struct {
	k, t, v, d int
	banned     []int // never sampled in a thought, so never in its softmax
	end        int32
	temp       float64
}

// goldRows returns the rows predicting gold token j with thought k and
// without one (sequence b·(K+1)+K).
func (l qsLayout) goldRows(b int, pb *qsProblem, k, j int) (rw, ro int) {
	P := len(pb.prompt)
	s0 := b * (l.k + 1)
	return (s0+k)*l.t + P + len(pb.thoughts[k]) + j, (s0+l.k)*l.t + P + j
}

// qsLoss computes a step's loss from the model's logits and final
// normalised hidden states (N×V and N×d) and the head's parameters, and
// writes its gradient with respect to them: dlogits and dxn are set (rows
// outside GOLD and the thoughts stay zero) and the head's is added to
// hgrads. adv, if not nil, are the advantages (per problem, per thought)
// to use instead of those the rewards give, which the gradient holds
// constant anyway: tests fix them to compare with finite differences. It
// returns the total loss, its parts and the number of GOLD tokens read
// (per reading).
func (q *quietStar) qsLoss(p *pool, batch []qsProblem, logits, xn, params, hgrads, dlogits, dxn []float32, adv [][]float64) (float64, QuietStarStats, int) {
	l := q.layout
	K, B := l.k, len(batch)
	gold := 0
	for _, pb := range batch {
		gold += len(pb.gold)
	}
	c := q.cfg
	mixScale := 1 / float64(K*gold)
	lmScale := c.LMWeight / float64(K*gold)
	rlScale := c.RLWeight / float64(B*K)
	clear(dlogits)
	clear(dxn)
	type result struct {
		QuietStarStats           // the problem's sums
		dh             []float64 // its gradient of the head's parameters
	}
	res := make([]result, B)
	p.run(B, func(lo, hi int) {
		sc := q.head.scratch(l.v)
		for b := lo; b < hi; b++ {
			clear(sc.dh)
			r := &res[b]
			pb := &batch[b]
			ce := make([]float64, K)  // Σ_j of the mixed cross-entropy after thought k
			lpw := make([]float64, K) // Σ_j log p_with(gold_j) after thought k
			var woSum float64
			for j, g := range pb.gold {
				_, ro := l.goldRows(b, pb, 0, j)
				woSum += logSoftmaxAt(logits[ro*l.v:][:l.v], int(g), 1, nil, sc.pwo)
			}
			for k := range K {
				for j, g := range pb.gold {
					rw, ro := l.goldRows(b, pb, k, j)
					lw, lwo := logits[rw*l.v:][:l.v], logits[ro*l.v:][:l.v]
					w := q.head.forward(params, sc, xn[rw*l.d:][:l.d], xn[ro*l.d:][:l.d])
					r.W += w
					for v := range l.v {
						sc.mix[v] = w*float64(lw[v]) + (1-w)*float64(lwo[v])
					}
					// softmax of the mix, its cross-entropy, and dL/dmix.
					maxv := math.Inf(-1)
					for _, x := range sc.mix {
						maxv = max(maxv, x)
					}
					var sum float64
					for v, x := range sc.mix {
						sc.mix[v] = math.Exp(x - maxv)
						sum += sc.mix[v]
					}
					mixed := float64(lw[g])*w + float64(lwo[g])*(1-w)
					cekj := maxv + math.Log(sum) - mixed
					ce[k] += cekj
					// the with-thought reading alone (lm), softmax in sc.pw
					lpw[k] += logSoftmaxAt(lw, int(g), 1, nil, sc.pw)
					var dw float64
					dlw, dlwo := dlogits[rw*l.v:][:l.v], dlogits[ro*l.v:][:l.v]
					for v := range l.v {
						dz := mixScale * sc.mix[v] / sum
						if v == int(g) {
							dz -= mixScale
						}
						dw += dz * (float64(lw[v]) - float64(lwo[v]))
						dl := w*dz + lmScale*sc.pw[v]
						if v == int(g) {
							dl -= lmScale
						}
						dlw[v] += float32(dl)
						dlwo[v] += float32((1 - w) * dz)
					}
					q.head.backward(params, sc, w, dw)
					for i := range l.d {
						dxn[rw*l.d+i] += float32(sc.du[i])
						dxn[ro*l.d+i] += float32(sc.du[l.d+i])
					}
				}
			}
			for k := range K {
				r.Mix += ce[k]
				r.LM -= lpw[k]
				r.Gain += lpw[k] - woSum
			}
			// REINFORCE: r_k = -ce[k], A_k = r_k - mean r.
			mean := 0.0
			for _, x := range ce {
				mean -= x
			}
			mean /= float64(K)
			for k := range K {
				a := -ce[k] - mean
				if adv != nil {
					a = adv[b][k]
				}
				r.Advantage += math.Abs(a)
				th := pb.thoughts[k]
				r.ThoughtLen += float64(len(th))
				n := len(th)
				if pb.ended[k] {
					r.Ended++
					n++
				}
				// -log π of the thought's sampled tokens, and its gradient
				// scaled by rlScale·A_k.
				var nll float64
				s := (b*(K+1) + k) * l.t
				for i := range n {
					tgt := l.end
					if i < len(th) {
						tgt = th[i]
					}
					row := s + len(pb.prompt) - 1 + i
					nll -= logSoftmaxAt(logits[row*l.v:][:l.v], int(tgt), l.temp, l.banned, sc.pw)
					f := rlScale * a / l.temp
					dl := dlogits[row*l.v:][:l.v]
					for v, pv := range sc.pw {
						dl[v] += float32(f * pv)
					}
					dl[tgt] -= float32(f)
				}
				r.RL += a * nll
			}
			r.dh = append([]float64(nil), sc.dh...)
		}
	})
	var st QuietStarStats
	hg := make([]float64, q.head.size())
	for _, r := range res { // in problem order, whatever the workers
		st.Add(r.QuietStarStats)
		for i, g := range r.dh {
			hg[i] += g
		}
	}
	o := q.head.w1.off
	for i, g := range hg {
		hgrads[o+i] += float32(g)
	}
	n := float64(K * gold)
	st.Mix /= n
	st.LM /= n
	st.W /= n
	st.RL /= float64(B * K)
	st.Advantage /= float64(B * K)
	st.Gain /= float64(B * K)
	st.ThoughtLen /= float64(B * K)
	st.Ended /= float64(B * K)
	total := st.Mix + c.RLWeight*st.RL + c.LMWeight*st.LM
	return total, st, gold
}

// logSoftmaxAt returns log softmax(x/temp)[at] over the tokens not in
// banned (computed in float64) and leaves the probabilities in p (zero at
// the banned tokens).
func logSoftmaxAt(x []float32, at int, temp float64, banned []int, p []float64) float64 {
	maxv := math.Inf(-1)
	for _, v := range x {
		maxv = max(maxv, float64(v)/temp)
	}
	var sum float64
	for i, v := range x {
		p[i] = math.Exp(float64(v)/temp - maxv)
		sum += p[i]
	}
	for _, i := range banned {
		sum -= p[i]
		p[i] = 0
	}
	for i := range p {
		p[i] /= sum
	}
	return float64(x[at])/temp - maxv - math.Log(sum)
}

// ---------------------------------------------------------------- stage

// quietStar is a quiet-star run's state beside the model's.
type quietStar struct {
	cfg      QuietStarConfig
	layout   qsLayout
	head     qsHead
	problems *qsProblems
	// snap is the weights thoughts are sampled from, copied from the
	// trained ones every refresh_steps steps (checkpointed when that is
	// more than 1, as a resumed run must sample from the same weights);
	// em runs them.
	snap    []float32
	em      *engine.Model
	batch   []qsProblem
	dlogits []float32
	dxn     []float32
}

// newQuietStar sets up the stage for t, whose model and tokenizer exist:
// the head's tensors go after the model's in the parameter vector.
func newQuietStar(cfg Config, mdl *model, tok *tokenizer.Tokenizer) (*quietStar, error) {
	c := *cfg.Data.QuietStar
	start, end := tok.VocabSize()-2, tok.VocabSize()-1
	if tok.Token(start) != think.Default.Open || tok.Token(end) != think.Default.Close {
		return nil, fmt.Errorf("train: quiet-star: the vocabulary has no thought markers")
	}
	q := &quietStar{cfg: c, head: newQSHead(mdl.nParams, mdl.d, c.HeadHidden)}
	q.layout = qsLayout{k: c.Thoughts, t: cfg.Model.SeqLen, v: mdl.vocab, d: mdl.d,
		banned: []int{unkID, bosID, eosID, start}, end: int32(end), temp: c.Temperature}
	q.problems = &qsProblems{syn: NewSynthSource(cfg.Data, tok), tok: tok, seqLen: cfg.Model.SeqLen,
		start: int32(start), end: int32(end)}
	q.snap = make([]float32, mdl.nParams)
	var err error
	if q.em, err = engineModel(cfg.Model, mdl, q.snap); err != nil {
		return nil, err
	}
	n := cfg.Optim.BatchSize * (c.Thoughts + 1) * cfg.Model.SeqLen
	q.dlogits, q.dxn = make([]float32, n*mdl.vocab), make([]float32, n*mdl.d)
	return q, nil
}

// engineModel is the llama model of params (the trainer's layout) in
// pareto's engine, in memory: the engine reads params where they lie, in
// float32 throughout (no ggml rounding).
func engineModel(c ModelConfig, mdl *model, params []float32) (*engine.Model, error) {
	mat := func(t tensor) *engine.Mat { return engine.NewMatF32(t.rows, t.cols, t.of(params)) }
	w := engine.Weights{Embed: mat(mdl.embed), OutputNorm: mdl.outNorm.of(params), Output: mat(mdl.output)}
	for _, lp := range mdl.layers {
		w.Layers = append(w.Layers, engine.Layer{AttnNorm: lp.attnNorm.of(params), Wq: mat(lp.wq), Wk: mat(lp.wk),
			Wv: mat(lp.wv), Wo: mat(lp.wo), FFNNorm: lp.ffnNorm.of(params), Gate: mat(lp.gate), Up: mat(lp.up),
			Down: mat(lp.down)})
	}
	ec := engine.Config{Arch: engine.ArchLlama, Vocab: mdl.vocab, DModel: c.DModel, Layers: c.Layers, Heads: c.Heads,
		KVHeads: c.KVHeads, HeadDim: mdl.hd, RopeDims: mdl.hd, FFN: c.FFN, Context: c.SeqLen, RopeBase: 10000, RMSEps: rmsEps}
	m, err := engine.NewModel(ec, w)
	if err != nil {
		return nil, fmt.Errorf("train: quiet-star sampler: %w", err)
	}
	return m, nil
}

// checkpointed is the state a checkpoint keeps besides the parameters and
// the optimizer's moments: the sampling weights when they lag.
func (q *quietStar) checkpointed() []float32 {
	if q == nil || q.cfg.RefreshSteps <= 1 {
		return nil
	}
	return q.snap
}

// sampleSeed is the seed of thought k of problem b at step.
func sampleSeed(seed int64, step, b, k, K int) uint64 {
	return mix(mix(mix(uint64(seed)^0x71756965742d7374)^uint64(step)) ^ uint64(b*K+k))
}

// sample draws the K thoughts of every problem of the batch from q.em, all
// problems' thoughts decoded together; each thought's sampler is seeded
// by (seed, step, problem, thought).
func (q *quietStar) sample(seed int64, step int, batch []qsProblem) error {
	l := q.layout
	type live struct {
		seq  *engine.Seq
		smp  *engine.Sampler
		b, k int
	}
	var rows []live
	for b := range batch {
		pb := &batch[b]
		pb.thoughts, pb.ended = make([][]int32, l.k), make([]bool, l.k)
		prompt := make([]int, len(pb.prompt))
		for i, id := range pb.prompt {
			prompt[i] = int(id)
		}
		root := q.em.NewSeq()
		if _, err := q.em.Prefill(root, prompt); err != nil {
			return fmt.Errorf("train: quiet-star sampling: %w", err)
		}
		for k := range l.k {
			smp := engine.NewSampler(engine.SamplerConfig{Temperature: l.temp, Seed: sampleSeed(seed, step, b, k, l.k)})
			rows = append(rows, live{seq: root.Fork(), smp: smp, b: b, k: k})
		}
		root.Release()
	}
	buf := make([]float32, l.v)
	var seqs []*engine.Seq
	var toks []int
	for len(rows) > 0 {
		next := rows[:0]
		seqs, toks = seqs[:0], toks[:0]
		for _, r := range rows {
			copy(buf, r.seq.Logits())
			for _, id := range l.banned {
				buf[id] = float32(math.Inf(-1))
			}
			id := r.smp.Sample(buf)
			pb := &batch[r.b]
			if int32(id) == l.end {
				pb.ended[r.k] = true
				r.seq.Release()
				continue
			}
			pb.thoughts[r.k] = append(pb.thoughts[r.k], int32(id))
			if len(pb.thoughts[r.k]) >= min(q.cfg.ThoughtTokens, pb.room) {
				r.seq.Release() // closed by force
				continue
			}
			next = append(next, r)
			seqs, toks = append(seqs, r.seq), append(toks, id)
		}
		if len(seqs) > 0 {
			if _, err := q.em.Step(seqs, toks); err != nil {
				return fmt.Errorf("train: quiet-star sampling: %w", err)
			}
		}
		rows = next
	}
	return nil
}

// qsStep is Trainer.Step for a quiet-star run.
func (t *Trainer) qsStep() (Stats, error) {
	q := t.qs
	B, K, T := t.cfg.Optim.BatchSize, q.layout.k, t.cfg.Model.SeqLen
	if t.step%q.cfg.RefreshSteps == 0 {
		copy(q.snap, t.params[:t.mdl.nParams])
	}
	q.batch = q.batch[:0]
	for range B {
		pb, err := q.problems.next()
		if err != nil {
			return Stats{}, err
		}
		q.batch = append(q.batch, pb)
	}
	if err := q.sample(t.cfg.Seed, t.step, q.batch); err != nil {
		return Stats{}, err
	}
	for i := range t.inputs {
		t.inputs[i] = eosID
	}
	for b := range q.batch {
		for k := 0; k <= K; k++ {
			s := q.batch[b].seq(k, q.layout.end)
			copy(t.inputs[(b*(K+1)+k)*T:], s[:len(s)-1])
		}
	}
	clear(t.grads)
	t.mdl.forward(t.pool, t.params, t.acts, t.inputs)
	loss, qst, gold := q.qsLoss(t.pool, q.batch, t.acts.logits, t.acts.xn, t.params, t.grads, q.dlogits, q.dxn, nil)
	t.mdl.backward(t.pool, t.params, t.grads, t.acts, t.inputs, q.dlogits, q.dxn)
	st := t.update()
	st.Loss, st.Counted, st.QuietStar = loss, gold, &qst
	return st, nil
}
