package train

import (
	"fmt"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/think"
)

// ExportGGUF writes the current parameters as a llama-architecture GGUF
// file with the synth tokenizer, atomically. The trainer's rope already
// uses llama.cpp's adjacent-pair layout, so q and k need no permutation.
// With f16 the large matrices are stored as F16 (norms stay F32). A
// quiet-star run exports the llama thinker alone, as the supervised stage
// does: its mixing head is a training device, and inference runs the
// with-thought prediction the head mixed from (see quietstar.go).
func (t *Trainer) ExportGGUF(path string, f16 bool) error {
	c := t.cfg.Model
	b := gguf.NewBuilder()
	const a = "llama"
	ft := uint32(0)
	if f16 {
		ft = 1
	}
	b.Set("general.architecture", a)
	b.Set("general.name", fmt.Sprintf("pareto-synth-d%d-l%d", c.DModel, c.Layers))
	b.Set("general.file_type", ft)
	b.Set(a+".vocab_size", uint32(t.mdl.vocab))
	b.SetLlama(a, gguf.Llama{Context: c.SeqLen, DModel: c.DModel, Layers: c.Layers, FFN: c.FFN,
		Heads: c.Heads, KVHeads: c.KVHeads, RMSEps: rmsEps, RopeDims: t.mdl.hd, RopeTheta: 10000})
	setVocab(b, c.Vocab)
	if c.Vocab == VocabSynthThink {
		// Where a reader (the embedded backend, budget forcing) finds the
		// thought markers.
		b.Set("general.name", fmt.Sprintf("pareto-synth-thinker-d%d-l%d", c.DModel, c.Layers))
		b.Set(think.KeyStart, think.Default.Open)
		b.Set(think.KeyEnd, think.Default.Close)
	}
	if t.cfg.Data.Kind == KindPRM {
		// What a PRM reader (reward.LoadPRM) needs to score steps: the
		// prompt, and the tokens read at each step's end.
		b.Set("general.name", fmt.Sprintf("pareto-synth-prm-d%d-l%d", c.DModel, c.Layers))
		b.Set(reward.KeyPrompt, reward.PromptTemplate)
		b.Set(reward.KeyStepSeparator, reward.StepSeparator)
		b.Set(reward.KeyGoodToken, reward.Good)
		b.Set(reward.KeyBadToken, reward.Bad)
	}
	for _, tn := range t.mdl.tensors {
		data := tn.of(t.params)
		var err error
		if tn.rows == 1 {
			err = b.AddTensor(tn.name, []uint64{uint64(tn.cols)}, gguf.TypeF32, data)
		} else {
			typ := gguf.TypeF32
			if f16 {
				typ = gguf.TypeF16
			}
			err = b.AddTensor(tn.name, []uint64{uint64(tn.cols), uint64(tn.rows)}, typ, data)
		}
		if err != nil {
			return fmt.Errorf("train: export %s: %w", path, err)
		}
	}
	if err := b.WriteFile(path); err != nil {
		return fmt.Errorf("train: export %s: %w", path, err)
	}
	return nil
}

// loadWeights sets the parameters from a GGUF file of the same shape, e.g.
// a model this trainer exported (F32 or F16). Every tensor must be there
// with the right dimensions; nothing is changed unless all are.
func (t *Trainer) loadWeights(path string) error {
	f, err := gguf.Open(path)
	if err != nil {
		return fmt.Errorf("train: init from %s: %w", path, err)
	}
	defer f.Close()
	grow, err := t.growth(f)
	if err != nil {
		return fmt.Errorf("train: init from %s: %w", path, err)
	}
	vals := make([][]float32, len(t.mdl.tensors))
	for i, tn := range t.mdl.tensors {
		src, zero := grow(tn.name)
		info, ok := f.Tensor(src)
		if !ok {
			return fmt.Errorf("train: init from %s: no tensor %s", path, src)
		}
		want := []uint64{uint64(tn.cols), uint64(tn.rows)}
		if tn.rows == 1 {
			want = want[:1]
		}
		if tn.rows == t.mdl.vocab && len(info.Dims) == 2 && info.Dims[0] == want[0] && int(info.Dims[1]) < tn.rows {
			// A vocabulary that extends the init's (a thinker's thought
			// markers after the policy's tokens): the shared rows start as
			// the init's, the new ones keep their random init.
			v, err := f.Float32s(src)
			if err != nil {
				return fmt.Errorf("train: init from %s: %w", path, err)
			}
			vals[i] = append(v, tn.of(t.params)[len(v):]...)
			continue
		}
		if fmt.Sprint(info.Dims) != fmt.Sprint(want) {
			return fmt.Errorf("train: init from %s: tensor %s has dims %v, this model needs %v", path, src, info.Dims, want)
		}
		if zero {
			vals[i] = make([]float32, tn.size())
		} else if vals[i], err = f.Float32s(src); err != nil {
			return fmt.Errorf("train: init from %s: %w", path, err)
		}
	}
	for i, tn := range t.mdl.tensors {
		copy(tn.of(t.params), vals[i])
	}
	return nil
}

// growth maps the model's tensor names to the init file's when the model
// is deeper than the init: layer l starts as the init's layer l·L0/L, and
// every copy after the first has its two output projections (attn_output,
// ffn_down) zeroed, so it adds nothing to the residual stream and the grown
// model computes exactly what the init did. Training then has the new
// layers to spend on what the init could not do (a PRM that reads more
// than the policy it starts from). zero says the tensor starts at zero.
func (t *Trainer) growth(f *gguf.File) (func(name string) (src string, zero bool), error) {
	same := func(name string) (string, bool) { return name, false }
	n, ok := f.Uint("llama.block_count")
	l0, l := int(n), t.cfg.Model.Layers
	if !ok || l0 == l {
		return same, nil
	}
	if l0 <= 0 || l0 > l {
		return nil, fmt.Errorf("init has %d layers, this model %d: a model can start from a shallower one, not a deeper one", l0, l)
	}
	return func(name string) (string, bool) {
		var k int
		var rest string
		if _, err := fmt.Sscanf(name, "blk.%d.%s", &k, &rest); err != nil {
			return name, false
		}
		s := k * l0 / l
		first := k == 0 || (k-1)*l0/l != s
		zero := !first && (rest == "attn_output.weight" || rest == "ffn_down.weight")
		return fmt.Sprintf("blk.%d.%s", s, rest), zero
	}, nil
}
