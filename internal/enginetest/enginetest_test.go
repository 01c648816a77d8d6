package enginetest

import (
	"slices"
	"testing"

	"github.com/pareto-llm/pareto/engine"
)

func logits(t *testing.T, c engine.Config, o Options) []float32 {
	t.Helper()
	m, err := NewRandom(c, o)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSeq()
	if _, err := m.Prefill(s, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(s.Logits())
}

func TestNewRandom(t *testing.T) {
	for _, arch := range []string{engine.ArchLlama, engine.ArchQwen2} {
		c := engine.Config{Arch: arch, Vocab: 50, DModel: 32, Layers: 2, Heads: 4, KVHeads: 2,
			HeadDim: 8, FFN: 64, Context: 16, RopeBase: 10000, RMSEps: 1e-5}
		a, b := logits(t, c, Options{Seed: 1}), logits(t, c, Options{Seed: 1})
		if !slices.Equal(a, b) {
			t.Errorf("%s: the same seed gave different models", arch)
		}
		if d := logits(t, c, Options{Seed: 2}); slices.Equal(a, d) {
			t.Errorf("%s: different seeds gave the same model", arch)
		}
	}
	if _, err := NewRandom(engine.Config{Arch: engine.ArchLlama}, Options{}); err == nil {
		t.Error("an invalid config gave no error")
	}
}
