package train

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
	"github.com/pareto-llm/pareto/tokenizer"
)

// prmFixture is one test problem's reference solution as a PRM source sees
// it, with the synth tokenizer and the label token ids.
type prmFixture struct {
	tok       *tokenizer.Tokenizer
	question  string
	steps     []string
	ids, ends []int
	start     int // first token after the prompt
	good, bad int
}

func newPRMFixture(t *testing.T) prmFixture {
	t.Helper()
	tok, err := SynthTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	p := synth.TestSet()[450]
	f := prmFixture{tok: tok, question: p.Question, steps: step.Split(p.Solution)}
	prompt := reward.Prompt(reward.PromptTemplate, p.Question)
	f.ids, f.ends, f.start = reward.Encode(tok, prompt, f.steps)
	if f.good, f.bad, err = reward.LabelIDs(tok); err != nil {
		t.Fatal(err)
	}
	return f
}

// firstSequence makes a PRM source of recs with the fixture's tokenizer
// (NewPRMSource's weights, lmWeight, dense and seqLen, seed 1) and returns
// the targets and loss weights of its first sequence.
func (f prmFixture) firstSequence(t *testing.T, recs []shepherd.Record, weights []float64, lmWeight, dense float64, seqLen int) ([]int32, []float32) {
	t.Helper()
	s, err := NewPRMSource(recs, weights, lmWeight, dense, f.tok, seqLen, 1)
	if err != nil {
		t.Fatal(err)
	}
	in, tg, mask := make([]int32, seqLen), make([]int32, seqLen), make([]float32, seqLen)
	if err := s.Next(in, tg, mask); err != nil {
		t.Fatal(err)
	}
	return tg, mask
}

func TestPRMSourceLabelsAndWeights(t *testing.T) {
	f := newPRMFixture(t)
	tok, good, bad := f.tok, f.good, f.bad
	labels := make([]bool, len(f.steps))
	labels[0] = true
	recs := []shepherd.Record{{Question: f.question, Steps: f.steps, Labels: labels}}
	for _, w := range [][]float64{nil, {2.5}} {
		tg, mask := f.firstSequence(t, recs, w, 0, 0, 256)
		want := float32(1)
		if w != nil {
			want = 2.5
		}
		var got []bool
		for i, m := range mask {
			if m == 0 {
				continue
			}
			if m != want {
				t.Fatalf("weights %v: mask %g at %d, want %g", w, m, i, want)
			}
			switch tg[i] {
			case int32(good):
				got = append(got, true)
			case int32(bad):
				got = append(got, false)
			default:
				t.Fatalf("position %d has a loss but target %d is neither label", i, tg[i])
			}
		}
		// The sequence holds the example once or more; its labels repeat.
		if len(got) < len(labels) || got[0] != true || got[1] != false {
			t.Fatalf("weights %v: labels %v, want %v first", w, got, labels)
		}
	}
	if _, err := NewPRMSource(recs, []float64{1, 2}, 0, 0, tok, 256, 1); err == nil {
		t.Fatal("two weights for one record: no error")
	}
}

// With lm_weight, a right solution's tokens are next-token targets at that
// weight, its step ends keep their labels, and a wrong solution adds none.
func TestPRMSourceLMWeight(t *testing.T) {
	f := newPRMFixture(t)
	steps, ids, ends, good := f.steps, f.ids, f.ends, f.good
	start := f.start - 1 // the prompt's last token predicts the first step's
	labels := make([]bool, len(steps))
	for i := range labels {
		labels[i] = true
	}
	for _, correct := range []bool{true, false} {
		recs := []shepherd.Record{{Question: f.question, Steps: steps, Labels: labels, Correct: correct}}
		tg, mask := f.firstSequence(t, recs, nil, 0.25, 0, len(ids))
		isEnd := map[int]bool{}
		for _, e := range ends {
			isEnd[e] = true
		}
		for p := range ids {
			switch {
			case isEnd[p]:
				if tg[p] != int32(good) || mask[p] != 1 {
					t.Fatalf("correct=%v: step end %d: target %d weight %g, want the good label at 1", correct, p, tg[p], mask[p])
				}
			case correct && p >= start && p < len(ids)-1:
				if tg[p] != int32(ids[p+1]) || mask[p] != 0.25 {
					t.Fatalf("correct=%v: position %d: target %d weight %g, want next token %d at 0.25", correct, p, tg[p], mask[p], ids[p+1])
				}
			default:
				if mask[p] != 0 {
					t.Fatalf("correct=%v: position %d (prompt ends at %d) has weight %g, want 0", correct, p, start, mask[p])
				}
			}
		}
	}
}

// With dense, every token of a step carries the step's label at that
// weight, its end at the full weight, and the prompt carries nothing.
func TestPRMSourceDense(t *testing.T) {
	f := newPRMFixture(t)
	tok, steps, ids, ends, start, good, bad := f.tok, f.steps, f.ids, f.ends, f.start, f.good, f.bad
	labels := make([]bool, len(steps))
	labels[0] = true // the first step good, the rest bad
	recs := []shepherd.Record{{Question: f.question, Steps: steps, Labels: labels}}
	tg, mask := f.firstSequence(t, recs, nil, 0, 0.5, len(ids))
	k := 0
	for p := range ids {
		if p < start {
			if mask[p] != 0 {
				t.Fatalf("prompt position %d has weight %g", p, mask[p])
			}
			continue
		}
		want, w := int32(bad), float32(0.5)
		if labels[k] {
			want = int32(good)
		}
		if p == ends[k] {
			w = 1
		}
		if tg[p] != want || mask[p] != w {
			t.Fatalf("position %d (step %d): target %d weight %g, want %d at %g", p, k, tg[p], mask[p], want, w)
		}
		if p == ends[k] {
			k++
		}
	}
	if k != len(steps) {
		t.Fatalf("walked %d steps, want %d", k, len(steps))
	}
	if _, err := NewPRMSource(recs, nil, 0.5, 0.5, tok, len(ids), 1); err == nil {
		t.Fatal("lm_weight and dense together: no error")
	}
}

// TestExportedPRMScores trains a tiny PRM a few steps, exports it and loads
// it as a scorer: the file carries the metadata reward.LoadPRM reads, and
// the scorer reads each step's score where training put its label, so its
// scores are the trainer's own P(good) at the step ends.
func TestExportedPRMScores(t *testing.T) {
	f := newPRMFixture(t)
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.jsonl")
	var buf bytes.Buffer
	rec := shepherd.Record{Question: f.question, Steps: f.steps, Labels: make([]bool, len(f.steps)),
		Oracle: make([]bool, len(f.steps))}
	rec.Labels[0] = true
	if err := json.NewEncoder(&buf).Encode(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(labels, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(dir)
	cfg.Model.SeqLen = 128
	cfg.Data = DataConfig{Kind: KindPRM, Labels: labels, Levels: []int{1}, SolutionsPerProblem: 1, Seed: 1,
		Shepherd: &shepherd.Config{Policy: "pareto-synth-policy", Problems: 1, Levels: []int{1}, Samples: 1,
			Rollouts: 1, Temperature: 1, MaxTokens: 8}}
	tr := stepped(t, cfg, 3)
	prm, err := reward.LoadPRM(exportTo(t, tr, filepath.Join(dir, "prm.gguf"), false))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := prm.Score(t.Context(), f.question, f.steps)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(f.steps) {
		t.Fatalf("%d scores for %d steps", len(got), len(f.steps))
	}
	for k, end := range f.ends {
		lg, err := tr.Logits(f.ids[:end+1])
		if err != nil {
			t.Fatal(err)
		}
		want := 1 / (1 + math.Exp(float64(lg[f.bad]-lg[f.good])))
		if math.Abs(got[k]-want) > 1e-5 {
			t.Errorf("step %d: scorer %g, trainer P(good) %g", k+1, got[k], want)
		}
	}
}
