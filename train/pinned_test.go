package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pareto-llm/pareto/internal/vec"
	"github.com/pareto-llm/pareto/shepherd"
)

// TestNumericsPinned runs a few steps of the tiny policy, thinker and PRM
// configs and compares every step's loss and gradient norm, the final
// parameters and Adam moments and the checkpoint file, bit for bit, with
// values recorded from the trainer before the quiet-star stage split the
// cross-entropy from the backward pass (lossAndBackward into
// crossEntropyLoss and backward). The numbers depend on the SIMD kernels,
// so they are checked only on the CPU kind they were recorded on (amd64
// with AVX2+FMA and AVX-512).
func TestNumericsPinned(t *testing.T) {
	if runtime.GOARCH != "amd64" || !vec.HasAsm || !vec.HasAVX512 {
		t.Skipf("values recorded on amd64 with AVX-512 kernels; this is %s (asm %v, avx512 %v)", runtime.GOARCH, vec.HasAsm, vec.HasAVX512)
	}
	prm := func(t *testing.T) Config {
		f := newPRMFixture(t)
		dir := t.TempDir()
		labels := filepath.Join(dir, "labels.jsonl")
		var buf bytes.Buffer
		for i := range 3 {
			rec := shepherd.Record{Question: f.question, Steps: f.steps, Labels: make([]bool, len(f.steps)),
				Oracle: make([]bool, len(f.steps)), Correct: i != 1}
			rec.Labels[0] = i != 2
			json.NewEncoder(&buf).Encode(rec)
		}
		os.WriteFile(labels, buf.Bytes(), 0o644)
		cfg := tinyConfig(dir)
		cfg.Model.SeqLen = 128
		cfg.Data = DataConfig{Kind: KindPRM, Labels: labels, Levels: []int{1}, SolutionsPerProblem: 1, Seed: 1, LMWeight: 0.3,
			Shepherd: &shepherd.Config{Policy: "pareto-synth-policy", Problems: 1, Levels: []int{1}, Samples: 1,
				Rollouts: 1, Temperature: 1, MaxTokens: 8}}
		return cfg
	}
	for _, c := range []struct {
		name   string
		cfg    func(t *testing.T) Config
		steps  int
		losses []string // loss/grad norm bits per step
		params string   // sha256 of params, m, v (first 12 bytes)
		ckpt   string   // sha256 of the checkpoint file; "" when it holds a temp path
	}{
		{"policy", func(t *testing.T) Config { return tinyConfig(t.TempDir()) }, 8, []string{
			"0x401b522d497b425f/0x3ff3f66e0cc3db03", "0x401b33fbc8000000/0x3ff94d0796c76ece",
			"0x401b491134000000/0x3ffab4f1d863cd1b", "0x401aedc5d6276276/0x3ff5d1c682aae426",
			"0x401ab911e2222222/0x3ff7d7194c0b9a36", "0x401a965e1eaaaaab/0x3ff7534558c0be49",
			"0x401a95e1989d89d9/0x3ff9836ab932d783", "0x401a781f6d3dcb09/0x3ffa2bcca71cd5e8"},
			"8ac9a97064f1d60a3c5152d2", "378d9692ebd11f24bb3fbdf3"},
		{"thinker", func(t *testing.T) Config { return thinkConfig(t.TempDir(), 0.3) }, 4, []string{
			"0x401b613a376db6db/0x3ff038104bd81281", "0x401b54983b781220/0x3fefaa0d5222b899",
			"0x401b2501cf8af8b0/0x3ff037b218e28d25", "0x401aef34712f684c/0x3ff2d0ce465824b9"},
			"e83af7c521e9192213debf17", "1fb428c3ea6608321cea8cbd"},
		{"prm", prm, 3, []string{
			"0x401b21243fa55718/0x400086736a17ec84", "0x401af3dbad30280d/0x3ffef9ca603938ca",
			"0x401a9b9e675c221a/0x3ffb7b5d72d04e46"},
			"9ffce9c0a974922c8871eb08", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := New(c.cfg(t), WithWorkers(2))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			for i := range c.steps {
				st, err := tr.Step()
				if err != nil {
					t.Fatal(err)
				}
				got := fmt.Sprintf("%#016x/%#016x", math.Float64bits(st.Loss), math.Float64bits(st.GradNorm))
				if got != c.losses[i] {
					t.Errorf("step %d: loss/grad norm bits %s (%g/%g), recorded %s", i+1, got, st.Loss, st.GradNorm, c.losses[i])
				}
			}
			h := sha256.New()
			for _, xs := range [][]float32{tr.params, tr.m, tr.v} {
				for _, v := range xs {
					binary.Write(h, binary.LittleEndian, math.Float32bits(v))
				}
			}
			if got := fmt.Sprintf("%x", h.Sum(nil)[:12]); got != c.params {
				t.Errorf("params and moments hash %s, recorded %s", got, c.params)
			}
			if c.ckpt == "" {
				return
			}
			path := filepath.Join(t.TempDir(), "c.ckpt")
			if err := tr.SaveCheckpoint(path); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if got := fmt.Sprintf("%x", sha256.Sum256(b)); got[:24] != c.ckpt {
				t.Errorf("checkpoint hash %s, recorded %s", got[:24], c.ckpt)
			}
		})
	}
}
