package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/synth"
)

func tinyConfig(dir string) Config {
	return Config{
		Model: ModelConfig{DModel: 16, Layers: 2, Heads: 4, KVHeads: 2, FFN: 24, SeqLen: 96, Vocab: "synth"},
		Optim: OptimConfig{LR: 3e-3, MinLR: 3e-4, WarmupSteps: 2, Steps: 8, BatchSize: 2, WeightDecay: 0.1,
			Beta1: 0.9, Beta2: 0.95, GradClip: 1},
		Data:       DataConfig{Levels: []int{1, 2}, DirectFraction: 0.2, SolutionsPerProblem: 2, Seed: 3, MaskPrompt: true},
		Checkpoint: CheckpointConfig{Dir: dir, EveryMinutes: 1},
		Seed:       42,
	}
}

func TestGradWholeModel(t *testing.T) {
	cfg := tinyConfig(t.TempDir())
	cfg.Model = ModelConfig{DModel: 8, Layers: 2, Heads: 2, KVHeads: 1, FFN: 12, SeqLen: 6, Vocab: "synth"}
	cfg.Optim.BatchSize = 2
	m := newModel(cfg.Model, 40)
	p := newPool(2)
	defer p.close()
	params := make([]float32, m.nParams)
	m.init(params, 1)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range params { // larger weights than init so every path matters
		params[i] += float32(0.3 * r.NormFloat64())
	}
	n := 2 * 6
	inputs, targets, weights := make([]int32, n), make([]int32, n), make([]float32, n)
	for i := range inputs {
		inputs[i], targets[i] = int32(r.IntN(40)), int32(r.IntN(40))
		weights[i] = float32(r.IntN(2))
	}
	a := m.newActs(2)
	loss := func() float64 {
		m.forward(p, params, a, inputs)
		dl := make([]float32, len(a.logits))
		crossEntropy(p, a.losses, dl, a.logits, targets, weights, 1, m.vocab)
		var s, w float64
		for i, l := range a.losses {
			s += float64(weights[i]) * float64(l)
			w += float64(weights[i])
		}
		return s / w
	}
	grads := make([]float32, m.nParams)
	m.forward(p, params, a, inputs)
	got, _ := m.lossAndBackward(p, params, grads, a, inputs, targets, weights)
	if want := loss(); math.Abs(got-want) > 1e-6 {
		t.Fatalf("loss %g, recomputed %g", got, want)
	}
	for _, tn := range m.tensors {
		x, g := tn.of(params), tn.of(grads)
		samples := min(len(x), 12)
		lossT := loss
		t.Run(tn.name, func(t *testing.T) {
			checkGrad(t, tn.name, x, g, lossT, samples, 3e-2)
		})
	}
}

func TestSynthVocabTokenizesWholeWords(t *testing.T) {
	tokens, scores, types := SynthVocab()
	if len(tokens) != len(scores) || len(tokens) != len(types) {
		t.Fatalf("lengths %d %d %d differ", len(tokens), len(scores), len(types))
	}
	if tokens[0] != "<unk>" || tokens[1] != "<s>" || tokens[2] != "</s>" || tokens[3] != "<0x00>" || types[3] != typeByte {
		t.Fatalf("special tokens wrong: %q", tokens[:4])
	}
	tok, err := SynthTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	g := synth.Generator(5)
	for i := 0; i < 200; i++ {
		p := g.Next(0)
		for _, text := range []string{synth.Prompt(p, true) + p.Solution, synth.Prompt(p, false) + synth.Direct(p)} {
			ids := tok.Encode(text, false)
			var got []string
			for _, id := range ids {
				piece := strings.TrimPrefix(tok.Token(id), spaceMark)
				if piece == "" { // the bare "▁" before a number
					continue
				}
				got = append(got, piece)
			}
			want := synth.Words(text)
			// synth.Words drops newlines? It keeps them as tokens.
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("problem %d: tokens\n%q\nwant words\n%q", i, got, want)
			}
			if dec := tok.Decode(ids); dec != text {
				t.Fatalf("problem %d: decode %q, want %q", i, dec, text)
			}
		}
	}
	t.Logf("vocabulary: %d tokens", len(tokens))
}

func TestSynthSourcePacksAndMasks(t *testing.T) {
	tok, err := SynthTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig("").Data
	s := NewSynthSource(cfg, tok)
	T := 128
	seq, mask := make([]int32, T+1), make([]float32, T)
	if err := s.pack(seq, mask); err != nil {
		t.Fatal(err)
	}
	if seq[0] != bosID {
		t.Fatalf("sequence starts with %d, want <s>", seq[0])
	}
	ex, start, err := s.Example(0)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ex {
		if seq[i] != id {
			t.Fatalf("token %d = %d, want example 0's %d", i, seq[i], id)
		}
	}
	for i := 0; i+1 < len(ex); i++ {
		want := float32(0)
		if i+1 >= start {
			want = 1
		}
		if mask[i] != want {
			t.Fatalf("mask[%d] = %g, want %g (completion starts at %d)", i, mask[i], want, start)
		}
	}
	if got := tok.Decode(intsOf(ex[start : len(ex)-1])); !strings.Contains(got, "####") {
		t.Fatalf("completion %q has no answer tag", got)
	}
	// Seeking back reproduces the stream.
	c := s.Cursor()
	seq2, mask2 := make([]int32, T+1), make([]float32, T)
	s.pack(seq2, mask2)
	s.Seek(c)
	seq3, mask3 := make([]int32, T+1), make([]float32, T)
	s.pack(seq3, mask3)
	if fmt.Sprint(seq2, mask2) != fmt.Sprint(seq3, mask3) {
		t.Fatal("Seek did not reproduce the sequence")
	}
	// Next gives the same sequence as inputs and targets shifted by one.
	s.Seek(c)
	in, tg, m := make([]int32, T), make([]int32, T), make([]float32, T)
	if err := s.Next(in, tg, m); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(in, tg, m) != fmt.Sprint(seq3[:T], seq3[1:], mask3) {
		t.Fatal("Next's inputs/targets are not the packed sequence shifted by one")
	}
}

func intsOf(x []int32) []int {
	out := make([]int, len(x))
	for i, v := range x {
		out[i] = int(v)
	}
	return out
}

// configEdit changes a config's text from one line to another and names
// the field the error must name.
type configEdit struct{ from, to, want string }

// configErrors loads good (the config file name) with each edit made and
// checks the error names the field and the file.
func configErrors(t *testing.T, good []byte, name string, edits []configEdit) {
	t.Helper()
	for _, c := range edits {
		bad := replaceOnce(t, good, name, c.from, c.to)
		path := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(path, []byte(bad), 0o644)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q -> %q: error %v, want one naming %s and the file", c.from, c.to, err, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	good := configFile(t, "policy.yaml")
	if _, err := ParseConfig(good); err != nil {
		t.Fatalf("configs/policy.yaml: %v", err)
	}
	configErrors(t, good, "policy.yaml", []configEdit{
		{"  d_model:", "  d_modle:", "d_modle"},
		{"  heads: 4", "  heads: 7", "model.heads"},
		{"  kv_heads: 2", "  kv_heads: 3", "model.kv_heads"},
		{"  lr: ", "  lr: -", "optim.lr"},
		{"  direct_fraction: ", "  direct_fraction: 1", "data.direct_fraction"},
		{"  isolate: true", "  isolate: true\n  named_steps: true\n  symbolic_steps: true", "data.symbolic_steps"},
	})
	prm := configFile(t, "prm.yaml")
	for _, c := range []struct{ from, to, want string }{
		{"  lm_weight: 0.3\n", "  lm_weight: -1\n", "data.lm_weight"},
		{"  lm_weight: 0.3\n", "  dense: 11\n", "data.dense"},
		{"  lm_weight: 0.3\n", "  lm_weight: 0.3\n  dense: 0.5\n", "data.dense"},
		{"  kind: prm\n", "  kind: policy\n", "data.lm_weight"},
	} {
		bad := replaceOnce(t, prm, "prm.yaml", c.from, c.to)
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %s", c.to, err, c.want)
		}
	}
	bad := replaceOnce(t, good, "policy.yaml", "  d_model:", "  d_modle:")
	_, err := ParseConfig([]byte(bad))
	line := 1 + strings.Count(bad[:strings.Index(bad, "d_modle")], "\n")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("[%d:", line)) {
		t.Errorf("unknown field error %v does not name line %d", err, line)
	}
}

// configFile reads configs/name.
func configFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// replaceOnce is the config file name's text src with the first from
// replaced by to; a from that is not there fails t, since the case would
// then test nothing.
func replaceOnce(t testing.TB, src []byte, name, from, to string) string {
	t.Helper()
	out := strings.Replace(string(src), from, to, 1)
	if out == string(src) {
		t.Fatalf("%q not found in %s", from, name)
	}
	return out
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestDeterministicAndResume(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(dir)
	run := func(steps int, workers int) (*Trainer, []float64) {
		tr, err := New(cfg, WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for i := 0; i < steps; i++ {
			st, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, st.Loss)
		}
		return tr, losses
	}
	a, la := run(8, 2)
	defer a.Close()
	b, lb := run(8, 1)
	defer b.Close()
	if fmt.Sprint(la) != fmt.Sprint(lb) || !equalF32(a.params, b.params) {
		t.Fatalf("two runs differ: %v vs %v", la, lb)
	}
	if !(la[7] < la[0]) {
		t.Errorf("loss did not fall: %v", la)
	}
	// Half, checkpoint, fresh trainer, resume.
	h, _ := run(4, 2)
	path := h.CheckpointPath()
	if err := h.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	h.Close()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.LoadCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	if r.StepsDone() != 4 {
		t.Fatalf("resumed at step %d, want 4", r.StepsDone())
	}
	for r.StepsDone() < 8 {
		if _, err := r.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if !equalF32(a.params, r.params) || !equalF32(a.m, r.m) || !equalF32(a.v, r.v) {
		t.Fatal("resumed run differs from the straight run")
	}
}

func TestCheckpointRefusals(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(dir)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Step()
	path := tr.CheckpointPath()
	if err := tr.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	fresh := func() *Trainer {
		f, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		return f
	}
	before := append([]float32(nil), fresh().params...)
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"flipped":   {func() []byte { b := append([]byte(nil), good...); b[len(b)/2] ^= 1; return b }(), "checksum"},
		"truncated": {good[:len(good)-100], "checksum"},
		"magic":     {append([]byte("XXXX"), good[4:]...), "magic"},
		"version":   {func() []byte { b := append([]byte(nil), good...); b[8] = 9; return b }(), "version"},
	} {
		os.WriteFile(path, c.data, 0o644)
		f := fresh()
		err := f.LoadCheckpoint(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
		if f.StepsDone() != 0 || !equalF32(f.params, before) {
			t.Errorf("%s: a refused checkpoint changed the trainer", name)
		}
	}
	// Another config's checkpoint is refused.
	os.WriteFile(path, good, 0o644)
	other := cfg
	other.Optim.LR = 1e-3
	o, err := New(other)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.LoadCheckpoint(path); err == nil || !strings.Contains(err.Error(), "different config") {
		t.Errorf("foreign config: error %v", err)
	}
	// Saving again leaves no temp files and a loadable checkpoint.
	if err := tr.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("checkpoint dir holds %d entries, want 1", len(ents))
	}
	if err := fresh().LoadCheckpoint(path); err != nil {
		t.Errorf("good checkpoint refused: %v", err)
	}
}

// stepped is a trainer for cfg after n steps, closed when the test ends.
func stepped(t *testing.T, cfg Config, n int) *Trainer {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	for i := 0; i < n; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// maxAbsDiff is the largest |a[i] - b[i]|.
// exportTo exports tr to path, with F16 matrices if f16, and returns path.
func exportTo(t testing.TB, tr *Trainer, path string, f16 bool) string {
	t.Helper()
	if err := tr.ExportGGUF(path, f16); err != nil {
		t.Fatal(err)
	}
	return path
}

// inEngine loads the GGUF file at path in pareto's engine.
func inEngine(t testing.TB, path string) *engine.Model {
	t.Helper()
	m, err := engine.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func maxAbsDiff(a, b []float32) float64 {
	var worst float64
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
	}
	return worst
}

func TestExportLoadsInEngine(t *testing.T) {
	tr := stepped(t, tinyConfig(t.TempDir()), 3)
	m := inEngine(t, exportTo(t, tr, filepath.Join(t.TempDir(), "m.gguf"), false))
	m.GGMLNumerics = false
	p := synth.Generate(11, 2)
	ids := tr.Tokenizer().Encode(synth.Prompt(p, true), true)
	want, err := tr.Logits(ids)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSeq()
	if _, err := m.Prefill(s, ids); err != nil {
		t.Fatal(err)
	}
	got := s.Logits()
	if len(got) != len(want) {
		t.Fatalf("engine vocab %d, trainer %d", len(got), len(want))
	}
	worst := maxAbsDiff(got, want)
	if worst > 1e-4 {
		t.Fatalf("engine and trainer logits differ by %g", worst)
	}
	t.Logf("max logit difference %g over %d tokens", worst, len(ids))
}

func TestShippedConfigsParse(t *testing.T) {
	paths, _ := filepath.Glob("../configs/*.yaml")
	if len(paths) < 2 {
		t.Fatalf("found %d configs, want policy and smoke at least", len(paths))
	}
	for _, p := range paths {
		cfg, err := LoadConfig(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if cfg.Out == "" || cfg.Checkpoint.Dir == "" {
			t.Errorf("%s: out %q and checkpoint.dir %q must be set", p, cfg.Out, cfg.Checkpoint.Dir)
		}
	}
}

// TestRunStopsAndResumes cancels Run mid-way (as Ctrl-C does), leaves a
// half-written temp file behind (as a kill during a save would), and checks
// a new trainer resumes and ends with the same parameters as a straight run.
func TestRunStopsAndResumes(t *testing.T) {
	cfg := tinyConfig(t.TempDir())
	straight, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer straight.Close()
	if err := straight.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if straight.StepsDone() != cfg.Optim.Steps {
		t.Fatalf("Run stopped at %d of %d steps", straight.StepsDone(), cfg.Optim.Steps)
	}
	os.RemoveAll(cfg.Checkpoint.Dir)

	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err = first.Run(ctx, func(st Stats) {
		if st.Step == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	os.WriteFile(first.CheckpointPath()+".tmp123", []byte("PARETOCK half"), 0o644)

	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	ok, err := second.Resume()
	if err != nil || !ok || second.StepsDone() != 3 {
		t.Fatalf("Resume: %v, %v, at step %d; want step 3", ok, err, second.StepsDone())
	}
	if err := second.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !equalF32(straight.params, second.params) {
		t.Fatal("stopped and resumed run differs from the straight run")
	}
}

func TestExportF16(t *testing.T) {
	tr := stepped(t, tinyConfig(t.TempDir()), 1)
	dir := t.TempDir()
	f32 := exportTo(t, tr, filepath.Join(dir, "a.gguf"), false)
	f16 := exportTo(t, tr, filepath.Join(dir, "b.gguf"), true)
	s32, _ := os.Stat(f32)
	s16, _ := os.Stat(f16)
	if !(s16.Size() < s32.Size()*6/10) {
		t.Fatalf("F16 file is %d bytes, F32 %d: matrices were not halved", s16.Size(), s32.Size())
	}
	m := inEngine(t, f16)
	m.GGMLNumerics = false
	ids := tr.Tokenizer().Encode(synth.Prompt(synth.Generate(2, 1), true), true)
	want, _ := tr.Logits(ids)
	s := m.NewSeq()
	if _, err := m.Prefill(s, ids); err != nil {
		t.Fatal(err)
	}
	worst := maxAbsDiff(s.Logits(), want)
	if worst > 2e-2 {
		t.Fatalf("F16 logits differ by %g", worst)
	}
	t.Logf("F16 max logit difference %g", worst)
}

// TestNamedSteps checks that named_steps writes every step of the worked
// solutions with its label, symbolic_steps with its label and, for some,
// named operands, and that without either the steps stay bare.
func TestNamedSteps(t *testing.T) {
	tok, err := SynthTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, style := range []string{"bare", "named", "symbolic"} {
		named := style != "bare"
		cfg := tinyConfig("").Data
		cfg.DirectFraction, cfg.NamedSteps, cfg.SymbolicSteps = 0, style == "named", style == "symbolic"
		s := NewSynthSource(cfg, tok)
		symbols := 0
		for i := range 20 {
			ex, start, err := s.Example(uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(tok.Decode(intsOf(ex[start:len(ex)-1])), "\n") {
				if line == "" || strings.HasPrefix(line, "####") {
					continue
				}
				eqs := strings.Count(line, "=")
				if labelled := eqs >= 2; labelled != named || eqs > 3 || (eqs == 3 && style != "symbolic") {
					t.Errorf("%s steps: step %q", style, line)
				}
				if eqs == 3 {
					symbols++
				}
			}
		}
		if (symbols > 0) != (style == "symbolic") {
			t.Errorf("%s steps: %d steps name their operands", style, symbols)
		}
	}
}

func TestIsolatedExampleIgnoresWhatIsPackedBeforeIt(t *testing.T) {
	cfg := ModelConfig{DModel: 16, Layers: 2, Heads: 4, KVHeads: 2, FFN: 24, SeqLen: 12, Vocab: "synth"}
	m := newModel(cfg, 40)
	p := newPool(2)
	defer p.close()
	params := make([]float32, m.nParams)
	m.init(params, 1)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range params {
		params[i] += float32(0.3 * r.NormFloat64())
	}
	ex := []int32{bosID, 7, 9, 11, 13}
	// Sequence 0: another example, then ex at offset 7. Sequence 1: ex
	// alone at offset 0.
	inputs := make([]int32, 2*12)
	copy(inputs, []int32{bosID, 3, 4, 5, 6, 8, 10})
	copy(inputs[7:], ex)
	copy(inputs[12:], ex)
	for _, isolate := range []bool{true, false} {
		m.isolate = isolate
		a := m.newActs(2)
		m.forward(p, params, a, inputs)
		var diff float64
		for i := range ex {
			x, y := a.logits[(7+i)*m.vocab:][:m.vocab], a.logits[(12+i)*m.vocab:][:m.vocab]
			for v := range x {
				diff = max(diff, math.Abs(float64(x[v]-y[v])))
			}
		}
		// RoPE makes attention depend on relative positions only, so an
		// isolated example's logits do not depend on where it is packed.
		if isolate && diff > 1e-4 {
			t.Errorf("isolated: logits differ by %g from the example alone", diff)
		}
		if !isolate && diff < 1e-3 {
			t.Errorf("not isolated: logits differ by only %g; the test cannot tell", diff)
		}
	}
}

// TestInitGrowsDepth checks that a model deeper than its init file starts
// as an exact copy of the init's function (the repeated layers add nothing
// until trained), that training then moves them, and that a model
// shallower than its init is refused.
func TestInitGrowsDepth(t *testing.T) {
	dir := t.TempDir()
	small := stepped(t, tinyConfig(filepath.Join(dir, "a")), 3)
	path := exportTo(t, small, filepath.Join(dir, "small.gguf"), false)
	ids := small.Tokenizer().Encode(synth.Prompt(synth.Generate(5, 3), true), true)
	want, err := small.Logits(ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, layers := range []int{3, 4, 5} {
		cfg := tinyConfig(filepath.Join(dir, fmt.Sprint(layers)))
		cfg.Model.Layers, cfg.Init = layers, path
		big, err := New(cfg)
		if err != nil {
			t.Fatalf("%d layers from 2: %v", layers, err)
		}
		got, err := big.Logits(ids)
		if err != nil {
			t.Fatal(err)
		}
		if worst := maxAbsDiff(got, want); worst > 1e-5 {
			t.Errorf("%d layers grown from 2: logits differ from the init's by %g", layers, worst)
		}
		var zeroed [][]float32 // the repeated layers' attn_output
		for _, lp := range big.mdl.layers {
			if w := lp.wo.of(big.params); !slices.ContainsFunc(w, func(v float32) bool { return v != 0 }) {
				zeroed = append(zeroed, w)
			}
		}
		if len(zeroed) != layers-2 {
			t.Errorf("%d layers from 2: %d layers start with a zero attn_output, want %d", layers, len(zeroed), layers-2)
		}
		if _, err := big.Step(); err != nil {
			t.Fatal(err)
		}
		for _, w := range zeroed {
			if !slices.ContainsFunc(w, func(v float32) bool { return v != 0 }) {
				t.Errorf("%d layers: a repeated layer's attn_output stayed zero after a step", layers)
			}
		}
		big.Close()
	}
	cfg := tinyConfig(filepath.Join(dir, "1"))
	cfg.Model.Layers, cfg.Init = 1, path
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "shallower") {
		t.Fatalf("1 layer from 2: got %v, want a refusal", err)
	}
}
