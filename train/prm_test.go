package train

import (
	"testing"

	"github.com/pareto-llm/pareto/shepherd"
	"github.com/pareto-llm/pareto/synth"
)

func TestPRMSourceLabelsAndWeights(t *testing.T) {
	tok, err := SynthTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	p := synth.TestSet()[450]
	steps := shepherd.Lines(p.Solution)
	labels := make([]bool, len(steps))
	labels[0] = true
	recs := []shepherd.Record{{Question: p.Question, Steps: steps, Labels: labels}}
	good, bad, err := shepherd.LabelIDs(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][]float64{nil, {2.5}} {
		s, err := NewPRMSource(recs, w, tok, 256, 1)
		if err != nil {
			t.Fatal(err)
		}
		in, tg, mask := make([]int32, 256), make([]int32, 256), make([]float32, 256)
		if err := s.Next(in, tg, mask); err != nil {
			t.Fatal(err)
		}
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
	if _, err := NewPRMSource(recs, []float64{1, 2}, tok, 256, 1); err == nil {
		t.Fatal("two weights for one record: no error")
	}
}
