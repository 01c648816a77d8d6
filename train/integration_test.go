//go:build integration

package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/synth"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// greedy decodes up to n tokens after prompt with the trainer's own forward
// pass, returning the tokens and, per token, the margin of the winner.
func greedy(t *testing.T, tr *Trainer, prompt []int, n int) (ids []int, margins []float32) {
	seq := append([]int(nil), prompt...)
	for len(ids) < n && len(seq) < tr.cfg.Model.SeqLen {
		logits, err := tr.Logits(seq)
		if err != nil {
			t.Fatal(err)
		}
		best, second := 0, -1
		for i, v := range logits {
			if v > logits[best] {
				best, second = i, best
			} else if i != best && (second < 0 || v > logits[second]) {
				second = i
			}
		}
		if best == eosID {
			break
		}
		ids = append(ids, best)
		margins = append(margins, logits[best]-logits[second])
		seq = append(seq, best)
	}
	return ids, margins
}

func engineGreedy(t *testing.T, m *engine.Model, prompt []int, n int) string {
	s := m.NewSeq()
	if _, err := m.Prefill(s, prompt); err != nil {
		t.Fatal(err)
	}
	tok, _ := SynthTokenizer()
	text := ""
	for i := 0; i < n; i++ {
		l := s.Logits()
		best := 0
		for j, v := range l {
			if v > l[best] {
				best = j
			}
		}
		if best == eosID {
			break
		}
		text += tok.Piece(best)
		if _, err := m.Step([]*engine.Seq{s}, []int{best}); err != nil {
			t.Fatal(err)
		}
	}
	return text
}

// TestOllamaLoadsExport checks that llama.cpp (through Ollama) loads an
// exported model, tokenizes a synth prompt into the same number of tokens
// as pareto, and decodes greedily to the same text as the trainer.
func TestOllamaLoadsExport(t *testing.T) {
	srv := ollamatest.Shared(t)
	cfg := tinyConfig(t.TempDir())
	cfg.Optim.Steps = 40
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for tr.StepsDone() < cfg.Optim.Steps {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	// A few steps teach little; noise on top makes the greedy text varied,
	// so the comparison exercises many different logits.
	r := rand.New(rand.NewPCG(5, 6))
	for i := range tr.params {
		tr.params[i] += float32(0.2 * r.NormFloat64())
	}
	// Byte tokens would come back from Ollama as broken UTF-8, so they, <unk>
	// and <s> get zero output rows: a logit of 0 never wins against ~670
	// noisy ones.
	out := tr.mdl.output.of(tr.params)
	d := tr.cfg.Model.DModel
	for id := 0; id < 3+256; id++ {
		if id != eosID {
			clear(out[id*d : (id+1)*d])
		}
	}
	path := exportTo(t, tr, filepath.Join(t.TempDir(), "synth.gguf"), false)
	eng := inEngine(t, path)
	eng.GGMLNumerics = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := srv.Create(ctx, "pareto-train-test", path); err != nil {
		t.Fatal(err)
	}
	tok := tr.Tokenizer()
	for i, p := range []synth.Problem{synth.Generate(3, 1), synth.Generate(4, 2)} {
		prompt := synth.Prompt(p, true)
		ids := tok.Encode(prompt, true)
		want, margins := greedy(t, tr, ids, 12)
		text, promptTokens, _, err := srv.Generate(ctx, "pareto-train-test", prompt,
			map[string]any{"temperature": 0, "num_predict": len(want), "seed": 1, "repeat_penalty": 1, "num_ctx": cfg.Model.SeqLen})
		if err != nil {
			t.Fatalf("%v\n%s", err, srv.Log())
		}
		if promptTokens != len(ids) {
			t.Errorf("prompt %d: Ollama counted %d prompt tokens, pareto %d", i, promptTokens, len(ids))
		}
		wantText := ""
		for _, id := range want {
			wantText += tok.Piece(id)
		}
		if text == wantText {
			t.Logf("prompt %d: both decode %q", i, text)
			continue
		}
		// llama.cpp rounds keys, values and attention to f16; pareto's
		// engine does the same with GGMLNumerics. A difference that this
		// rounding explains is not an export bug.
		ggml := engineGreedy(t, eng, ids, len(want))
		if text == ggml {
			t.Logf("prompt %d: Ollama %q equals the f16-rounding engine; the float32 trainer says %q (margins %v)", i, text, wantText, margins)
			continue
		}
		t.Errorf("prompt %d: Ollama generated %q, trainer %q", i, text, wantText)
	}
}
