package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/synth"
	"github.com/pareto-llm/pareto/think"
)

// qsFixture is a quiet-star loss on made-up model outputs: two problems,
// K = 3 thoughts each (closed by the model or by force, one empty), a
// vocabulary of 14 with tokens 0, 1, 2 and 12 banned from thoughts and 13
// the closing marker.
type qsFixture struct {
	q                     *quietStar
	batch                 []qsProblem
	logits, xn, head      []float32
	hgrads, dlogits, dxn  []float32
	n                     int // rows
	goldRows, thoughtRows map[int]bool
	p                     *pool
}

func newQSFixture(t *testing.T, temp, rlWeight, lmWeight float64) *qsFixture {
	const V, d, hid, K, T = 14, 5, 4, 3, 16
	q := &quietStar{cfg: QuietStarConfig{Thoughts: K, ThoughtTokens: 8, Temperature: temp, RefreshSteps: 1,
		RLWeight: rlWeight, LMWeight: lmWeight, HeadHidden: hid}}
	q.layout = qsLayout{k: K, t: T, v: V, d: d, banned: []int{0, 1, 2, 12}, end: 13, temp: temp}
	q.head = newQSHead(0, d, hid)
	f := &qsFixture{q: q, p: newPool(2), goldRows: map[int]bool{}, thoughtRows: map[int]bool{}}
	t.Cleanup(f.p.close)
	f.batch = []qsProblem{
		{prompt: []int32{1, 5, 6, 12}, gold: []int32{7, 8, 2},
			thoughts: [][]int32{{3, 4}, {}, {9, 10, 11}}, ended: []bool{true, true, false}},
		{prompt: []int32{1, 6, 12}, gold: []int32{5, 9, 10, 2},
			thoughts: [][]int32{{4}, {8, 8}, {3, 5, 7, 9}}, ended: []bool{false, true, true}},
	}
	f.n = len(f.batch) * (K + 1) * T
	r := rand.New(rand.NewPCG(11, 12))
	f.logits, f.xn = randVec(r, f.n*V, 1.5), randVec(r, f.n*d, 1)
	f.head = randVec(r, q.head.size(), 0.5) // not the zero init: every path of the head matters
	f.hgrads, f.dlogits, f.dxn = make([]float32, len(f.head)), make([]float32, f.n*V), make([]float32, f.n*d)
	for b := range f.batch {
		pb := &f.batch[b]
		for k := range K {
			for j := range pb.gold {
				rw, ro := q.layout.goldRows(b, pb, k, j)
				f.goldRows[rw], f.goldRows[ro] = true, true
			}
			n := len(pb.thoughts[k])
			if pb.ended[k] {
				n++
			}
			for i := range n {
				f.thoughtRows[(b*(K+1)+k)*T+len(pb.prompt)-1+i] = true
			}
		}
	}
	return f
}

// loss is the fixture's total loss with the advantages adv (nil: from the
// rewards); it sets the gradients.
func (f *qsFixture) loss(adv [][]float64) float64 {
	clear(f.hgrads)
	l, _, _ := f.q.qsLoss(f.p, f.batch, f.logits, f.xn, f.head, f.hgrads, f.dlogits, f.dxn, adv)
	return l
}

// advantages recomputes the advantages from scratch: r_k is Σ_j log of
// the mixed softmax at gold_j after thought k, A_k = r_k − mean r.
func (f *qsFixture) advantages() [][]float64 {
	l := f.q.layout
	out := make([][]float64, len(f.batch))
	for b := range f.batch {
		pb := &f.batch[b]
		r := make([]float64, l.k)
		sc := f.q.head.scratch(l.v)
		for k := range l.k {
			for j, g := range pb.gold {
				rw, ro := l.goldRows(b, pb, k, j)
				w := f.q.head.forward(f.head, sc, f.xn[rw*l.d:][:l.d], f.xn[ro*l.d:][:l.d])
				var sum float64
				for v := range l.v {
					sum += math.Exp(w*float64(f.logits[rw*l.v+v]) + (1-w)*float64(f.logits[ro*l.v+v]))
				}
				r[k] += w*float64(f.logits[rw*l.v+int(g)]) + (1-w)*float64(f.logits[ro*l.v+int(g)]) - math.Log(sum)
			}
		}
		mean := (r[0] + r[1] + r[2]) / 3
		for k := range r {
			out[b] = append(out[b], r[k]-mean)
		}
	}
	return out
}

// fdCheck compares grad[i] with a central difference of loss in x[i] for
// every i in idx; the loss is float64 throughout, so the tolerance is
// tight.
func fdCheck(t *testing.T, name string, x []float32, grad func() []float32, loss func() float64, idx []int) {
	t.Helper()
	const h = 1e-3
	g := append([]float32(nil), grad()...)
	worst := 0.0
	for _, i := range idx {
		old := x[i]
		x[i] = old + h
		up, lp := x[i], loss()
		x[i] = old - h
		dn, lm := x[i], loss()
		x[i] = old
		num := (lp - lm) / float64(up-dn)
		diff := math.Abs(num - float64(g[i]))
		worst = max(worst, diff/(1e-6+math.Abs(num)))
		if diff > 1e-6+1e-3*math.Abs(num) {
			t.Errorf("%s[%d]: analytic %.8g, numeric %.8g", name, i, g[i], num)
		}
	}
	loss() // leave the gradients of the unperturbed point
	t.Logf("%s: %d coordinates, worst relative error %.3g", name, len(idx), worst)
}

// TestQuietStarLossGrad checks the quiet-star loss's gradient with respect
// to the mixing head's parameters and to the logits and hidden states of
// both readings against finite differences (the advantages held fixed, as
// the gradient holds them), that the advantages are the rewards' centred
// values, and that nothing outside GOLD and the thoughts gets a gradient
// or changes the loss, banned tokens included.
func TestQuietStarLossGrad(t *testing.T) {
	for _, c := range []struct{ temp, rl, lm float64 }{{1, 0.7, 0.6}, {0.7, 2, 0}, {1.3, 0, 1}} {
		t.Run(fmt.Sprintf("temp%g-rl%g-lm%g", c.temp, c.rl, c.lm), func(t *testing.T) {
			f := newQSFixture(t, c.temp, c.rl, c.lm)
			l := f.q.layout
			adv := f.advantages()
			free := f.loss(nil)
			if fixed := f.loss(adv); math.Abs(free-fixed) > 1e-12*math.Abs(free) {
				t.Fatalf("loss %.15g with its own advantages, %.15g with the recomputed ones", free, fixed)
			}
			lossFn := func() float64 { return f.loss(adv) }
			all := func(n int) []int {
				out := make([]int, n)
				for i := range out {
					out[i] = i
				}
				return out
			}
			fdCheck(t, "head", f.head, func() []float32 { return f.hgrads }, lossFn, all(len(f.head)))
			var gold, thought, outside, outsideX, goldX []int
			for row := range f.n {
				for v := range l.v {
					switch i := row*l.v + v; {
					case f.goldRows[row]:
						gold = append(gold, i)
					case f.thoughtRows[row]:
						thought = append(thought, i)
					case v%3 == 0:
						outside = append(outside, i)
					}
				}
				for i := range l.d {
					if f.goldRows[row] {
						goldX = append(goldX, row*l.d+i)
					} else if i == 0 {
						outsideX = append(outsideX, row*l.d+i)
					}
				}
			}
			if len(thought) == 0 || len(gold) == 0 {
				t.Fatal("the fixture has no thought or gold rows")
			}
			fdCheck(t, "logits at GOLD (both readings)", f.logits, func() []float32 { return f.dlogits }, lossFn, gold)
			fdCheck(t, "logits at thoughts (REINFORCE)", f.logits, func() []float32 { return f.dlogits }, lossFn, thought)
			fdCheck(t, "hidden states at GOLD (both readings)", f.xn, func() []float32 { return f.dxn }, lossFn, goldX)
			// Masking: rows that are neither GOLD nor a thought token (the
			// prompt, a forced </think>, padding) get no gradient, and the
			// loss does not depend on them at all.
			base := lossFn()
			for row := range f.n {
				if f.goldRows[row] || f.thoughtRows[row] {
					continue
				}
				if slices.ContainsFunc(f.dlogits[row*l.v:(row+1)*l.v], func(g float32) bool { return g != 0 }) ||
					slices.ContainsFunc(f.dxn[row*l.d:(row+1)*l.d], func(g float32) bool { return g != 0 }) {
					t.Errorf("row %d is outside GOLD and the thoughts but has a gradient", row)
				}
			}
			unread := func(name string, x []float32, idx []int) {
				for _, i := range idx {
					old := x[i]
					x[i] = old + 0.5
					if l := lossFn(); l != base {
						t.Fatalf("changing masked %s %d changed the loss %g -> %g", name, i, base, l)
					}
					x[i] = old
				}
			}
			unread("logit", f.logits, outside)
			unread("hidden state", f.xn, outsideX)
			// Banned tokens: never sampled, so outside the thoughts'
			// softmax: no gradient, and no effect on the loss.
			if c.rl > 0 {
				for row := range f.thoughtRows {
					if f.goldRows[row] {
						continue
					}
					for _, v := range l.banned {
						if g := f.dlogits[row*l.v+v]; g != 0 {
							t.Errorf("banned token %d has gradient %g at thought row %d", v, g, row)
						}
					}
				}
			}
		})
	}
}

// TestQuietStarAdvantageSign checks REINFORCE's direction: a small step
// against the gradient on the thought rows alone makes the thought with the
// highest reward more likely and the one with the lowest less likely.
func TestQuietStarAdvantageSign(t *testing.T) {
	f := newQSFixture(t, 1, 1, 0)
	l := f.q.layout
	adv := f.advantages()
	f.loss(adv)
	b := 1
	pb := &f.batch[b]
	best, worst := 0, 0
	for k := range l.k {
		if adv[b][k] > adv[b][best] {
			best = k
		}
		if adv[b][k] < adv[b][worst] {
			worst = k
		}
	}
	logp := func(k int) float64 {
		s := 0.0
		th := pb.thoughts[k]
		n := len(th)
		if pb.ended[k] {
			n++
		}
		for i := range n {
			tgt := l.end
			if i < len(th) {
				tgt = th[i]
			}
			row := (b*(l.k+1)+k)*l.t + len(pb.prompt) - 1 + i
			s += logSoftmaxAt(f.logits[row*l.v:][:l.v], int(tgt), l.temp, l.banned, make([]float64, l.v))
		}
		return s
	}
	before := []float64{logp(best), logp(worst)}
	for row := range f.thoughtRows {
		for v := range l.v {
			f.logits[row*l.v+v] -= 0.5 * f.dlogits[row*l.v+v]
		}
	}
	if !(logp(best) > before[0] && logp(worst) < before[1]) {
		t.Fatalf("advantages %v: log p of the best thought %g -> %g, of the worst %g -> %g",
			adv[b], before[0], logp(best), before[1], logp(worst))
	}
}

// qsTinyConfig is a quiet-star run of a tiny random thinker.
func qsTinyConfig(dir string) Config {
	cfg := thinkConfig(dir, 0)
	cfg.Data.Think, cfg.Data.DirectFraction = false, 0
	cfg.Data.Kind = KindQuietStar
	cfg.Optim.Steps, cfg.Optim.BatchSize = 6, 2
	qs := DefaultQuietStar()
	qs.Thoughts, qs.ThoughtTokens, qs.RefreshSteps, qs.HeadHidden = 3, 8, 3, 8
	cfg.Data.QuietStar = &qs
	return cfg
}

// TestQuietStarModelGrad checks the gradient of the quiet-star loss through
// a whole (tiny) model, the mixing head's pull on the hidden states
// included, against finite differences of the parameters.
func TestQuietStarModelGrad(t *testing.T) {
	f := newQSFixture(t, 1, 0.7, 0.6)
	l := f.q.layout
	mc := ModelConfig{DModel: 8, Layers: 2, Heads: 2, KVHeads: 1, FFN: 12, SeqLen: l.t, Vocab: VocabSynthThink}
	m := newModel(mc, l.v)
	f.q.head = newQSHead(m.nParams, m.d, 4)
	f.q.layout.d = m.d
	params := make([]float32, m.nParams+f.q.head.size())
	m.init(params, 1)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range params {
		params[i] += float32(0.3 * r.NormFloat64())
	}
	inputs := make([]int32, f.n)
	for i := range inputs {
		inputs[i] = eosID
	}
	K := l.k
	for b := range f.batch {
		for k := 0; k <= K; k++ {
			s := f.batch[b].seq(k, l.end)
			copy(inputs[(b*(K+1)+k)*l.t:], s[:len(s)-1])
		}
	}
	a := m.newActs(len(f.batch) * (K + 1))
	grads := make([]float32, len(params))
	dl, dx := make([]float32, f.n*l.v), make([]float32, f.n*m.d)
	var adv [][]float64
	scratch := make([]float32, len(params))
	run := func(backward bool) float64 {
		m.forward(f.p, params, a, inputs)
		g := scratch // the loss alone: no gradient kept
		if backward {
			g = grads
		}
		loss, _, _ := f.q.qsLoss(f.p, f.batch, a.logits, a.xn, params, g, dl, dx, adv)
		if backward {
			m.backward(f.p, params, grads, a, inputs, dl, dx)
		}
		return loss
	}
	// The advantages of the starting point, held fixed.
	m.forward(f.p, params, a, inputs)
	adv = qsAdvantagesOf(f.q, f.batch, a.logits, a.xn, params)
	run(true)
	loss := func() float64 { return run(false) }
	for _, tn := range append(slices.Clip(m.tensors), f.q.head.tensors()...) {
		x, g := tn.of(params), append([]float32(nil), tn.of(grads)...)
		t.Run(tn.name, func(t *testing.T) {
			checkGrad(t, tn.name, x, g, loss, min(len(x), 10), 3e-2)
		})
	}
}

// qsAdvantagesOf is qsFixture.advantages for any outputs.
func qsAdvantagesOf(q *quietStar, batch []qsProblem, logits, xn, head []float32) [][]float64 {
	f := &qsFixture{q: q, batch: batch, logits: logits, xn: xn, head: head}
	return f.advantages()
}

// TestQuietStarProblemsAndSampling checks a step's inputs: the prompt ends
// with <think>; GOLD is what the supervised thinker writes after
// </think>, whatever the thought; thoughts are sampled from the trained
// weights in pareto's engine (in memory: its logits are the trainer's),
// within their budget, without banned tokens, the same for the same
// (seed, step) and not for another step.
func TestQuietStarProblemsAndSampling(t *testing.T) {
	cfg := qsTinyConfig(t.TempDir())
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	q := tr.qs
	tok := tr.Tokenizer()
	for i := range uint64(20) {
		prompt, gold, err := q.problems.problem(i)
		if err != nil {
			t.Fatal(err)
		}
		if prompt[0] != bosID || prompt[len(prompt)-1] != q.problems.start || gold[len(gold)-1] != eosID {
			t.Fatalf("problem %d: prompt %v, gold %v", i, prompt, gold)
		}
		text := tok.Decode(intsOf(gold[:len(gold)-1]))
		if !strings.HasPrefix(text, "\n") || !strings.Contains(text, "\n#### ") || strings.Contains(text, think.Default.Close) {
			t.Fatalf("problem %d: GOLD %q is not the steps and answer after </think>", i, text)
		}
		// The same tokens follow any thought, as in the supervised data.
		full := tok.Encode(tok.Decode(intsOf(prompt[1:]))+"Mia = 3 * 4"+think.Default.Close+text, true)
		if !slices.Equal(intsOf(gold[:len(gold)-1]), full[len(full)-len(gold)+1:]) {
			t.Fatalf("problem %d: GOLD tokenizes differently after a thought", i)
		}
	}
	// The in-memory engine model runs the trainer's weights.
	copy(q.snap, tr.params[:tr.mdl.nParams])
	ids := tok.Encode(synth.Prompt(synth.Generate(3, 2), true)+think.Default.Open, true)
	want, _ := tr.Logits(ids)
	s := q.em.NewSeq()
	if _, err := q.em.Prefill(s, ids); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(s.Logits(), want); d > 1e-4 {
		t.Fatalf("engine logits differ from the trainer's by %g", d)
	}
	draw := func(step int) []qsProblem {
		q.problems.Seek(0)
		var batch []qsProblem
		for range 3 {
			pb, err := q.problems.next()
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, pb)
		}
		if err := q.sample(cfg.Seed, step, batch); err != nil {
			t.Fatal(err)
		}
		return batch
	}
	a, b, c := draw(5), draw(5), draw(6)
	var ended, forced, total int
	for i := range a {
		if fmt.Sprint(a[i].thoughts, a[i].ended) != fmt.Sprint(b[i].thoughts, b[i].ended) {
			t.Fatalf("problem %d: the same seed and step sampled other thoughts", i)
		}
		for k, th := range a[i].thoughts {
			budget := min(cfg.Data.QuietStar.ThoughtTokens, a[i].room)
			if len(th) > budget || (!a[i].ended[k] && len(th) != budget) {
				t.Fatalf("problem %d thought %d: %d tokens, ended %v, budget %d", i, k, len(th), a[i].ended[k], budget)
			}
			for _, id := range th {
				if slices.Contains(q.layout.banned, int(id)) || id == q.layout.end {
					t.Fatalf("problem %d thought %d holds token %d", i, k, id)
				}
			}
			total++
			if a[i].ended[k] {
				ended++
			} else {
				forced++
			}
		}
	}
	if fmt.Sprint(a[0].thoughts) == fmt.Sprint(c[0].thoughts) && fmt.Sprint(a[1].thoughts) == fmt.Sprint(c[1].thoughts) {
		t.Fatal("another step sampled the same thoughts")
	}
	t.Logf("%d thoughts: %d closed by the model, %d by force", total, ended, forced)
}

// TestQuietStarTrainsAndResumes runs a few quiet-star steps of a tiny
// random thinker: the loss and its parts are finite and sane, the head
// learns, runs on 1 and 2 workers agree bit for bit, a run stopped and
// resumed from its checkpoint (between two refreshes of the sampling
// weights) ends bit for bit where a straight one does, and the export is
// the llama thinker alone.
func TestQuietStarTrainsAndResumes(t *testing.T) {
	dir := t.TempDir()
	cfg := qsTinyConfig(dir)
	run := func(steps, workers int) (*Trainer, []Stats) {
		tr, err := New(cfg, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		var sts []Stats
		for range steps {
			st, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			sts = append(sts, st)
		}
		return tr, sts
	}
	a, sa := run(6, 2)
	defer a.Close()
	for _, st := range sa {
		q := st.QuietStar
		if q == nil || math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || !(q.Mix > 0 && q.LM > 0) ||
			!(q.W > 0 && q.W < 1) || q.ThoughtLen < 0 || q.ThoughtLen > 8 || q.Ended < 0 || q.Ended > 1 ||
			math.Abs(st.Loss-(q.Mix+q.RL+q.LM)) > 1e-9 || st.GradNorm <= 0 {
			t.Fatalf("step %d: loss %g, %+v", st.Step, st.Loss, q)
		}
		t.Logf("step %d: loss %.4f %+v", st.Step, st.Loss, *q)
	}
	head := a.qs.head
	if !slices.ContainsFunc(head.w2.of(a.params), func(v float32) bool { return v != 0 }) {
		t.Fatal("the mixing head's output layer did not move")
	}
	b, sb := run(6, 1)
	defer b.Close()
	same := func(x, y []Stats) bool {
		for i := range x {
			if x[i].Loss != y[i].Loss || x[i].GradNorm != y[i].GradNorm || *x[i].QuietStar != *y[i].QuietStar {
				return false
			}
		}
		return len(x) == len(y)
	}
	if !same(sa, sb) || !equalF32(a.params, b.params) {
		t.Fatal("1 and 2 workers differ")
	}
	h, _ := run(4, 2) // the weights were refreshed at step 3: the checkpoint keeps them
	if err := h.SaveCheckpoint(h.CheckpointPath()); err != nil {
		t.Fatal(err)
	}
	h.Close()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, err := r.Resume(); !ok || err != nil || r.StepsDone() != 4 {
		t.Fatalf("Resume: %v %v at step %d", ok, err, r.StepsDone())
	}
	for r.StepsDone() < 6 {
		if _, err := r.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if !equalF32(a.params, r.params) || !equalF32(a.m, r.m) || !equalF32(a.v, r.v) {
		t.Fatal("resumed run differs from the straight run")
	}
	// The export is the llama thinker: the model's tensors and the
	// thinker's metadata, no head.
	path := exportTo(t, a, filepath.Join(dir, "rl.gguf"), false)
	gf, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer gf.Close()
	if len(gf.Tensors) != len(a.mdl.tensors) {
		t.Fatalf("export has %d tensors, the llama model %d", len(gf.Tensors), len(a.mdl.tensors))
	}
	for _, ti := range gf.Tensors {
		if strings.Contains(ti.Name, "quiet_star") {
			t.Fatalf("export holds %s", ti.Name)
		}
	}
	if s, _ := gf.String(think.KeyStart); s != think.Default.Open {
		t.Fatalf("%s = %q", think.KeyStart, s)
	}
	m := inEngine(t, path)
	m.GGMLNumerics = false
	ids := a.Tokenizer().Encode(synth.Prompt(synth.Generate(7, 3), true)+think.Default.Open, true)
	want, _ := a.Logits(ids)
	s := m.NewSeq()
	if _, err := m.Prefill(s, ids); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(s.Logits(), want); d > 1e-4 {
		t.Fatalf("exported model's logits differ from the trainer's by %g", d)
	}
}

// TestQuietStarConfig checks configs/thinker-rl.yaml, the defaults of a
// section that leaves fields out, and the errors of bad settings, each
// naming its field.
func TestQuietStarConfig(t *testing.T) {
	good := configFile(t, "thinker-rl.yaml")
	cfg, err := ParseConfig(good)
	if err != nil {
		t.Fatalf("configs/thinker-rl.yaml: %v", err)
	}
	if cfg.Data.Kind != KindQuietStar || cfg.Init != "models/pareto-synth-thinker-plan.gguf" || cfg.Data.QuietStar.Thoughts != 4 {
		t.Fatalf("configs/thinker-rl.yaml: %+v", cfg.Data)
	}
	i := strings.Index(string(good), "  quiet_star:")
	j := strings.Index(string(good), "checkpoint:")
	short := string(good[:i]) + "  quiet_star:\n    thoughts: 3\n" + string(good[j:])
	cfg, err = ParseConfig([]byte(short))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultQuietStar()
	want.Thoughts = 3
	if *cfg.Data.QuietStar != want {
		t.Fatalf("partial section: %+v, want %+v", *cfg.Data.QuietStar, want)
	}
	none := string(good[:i]) + string(good[j:])
	if cfg, err = ParseConfig([]byte(none)); err != nil || *cfg.Data.QuietStar != DefaultQuietStar() {
		t.Fatalf("no section: %v, %+v", err, cfg.Data.QuietStar)
	}
	configErrors(t, good, "thinker-rl.yaml", []configEdit{
		{"  vocab: synth-think", "  vocab: synth", "model.vocab"},
		{"    thoughts: 4", "    thoughts: 1", "data.quiet_star.thoughts"},
		{"    thought_tokens: 64", "    thought_tokens: 0", "data.quiet_star.thought_tokens"},
		{"    temperature: 1.0", "    temperature: 0", "data.quiet_star.temperature"},
		{"    refresh_steps: 1", "    refresh_steps: 0", "data.quiet_star.refresh_steps"},
		{"    head_hidden: 64", "    head_hidden: 0", "data.quiet_star.head_hidden"},
		{"    rl_weight: 1.0", "    rl_wieght: 1.0", "rl_wieght"},
		{"  direct_fraction: 0", "  direct_fraction: 0.2", "data.direct_fraction"},
		{"  direct_fraction: 0", "  direct_fraction: 0\n  think: true", "data.think"},
		{"  kind: quiet-star", "  kind: policy", "data.quiet_star"},
	})
	// A config built in Go must say what it wants.
	cfg = qsTinyConfig(t.TempDir())
	cfg.Data.QuietStar = nil
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "data.quiet_star") {
		t.Errorf("no settings: %v", err)
	}
}
