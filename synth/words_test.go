package synth

import (
	"reflect"
	"strings"
	"testing"
)

func TestVocabularyCoversProblems(t *testing.T) {
	vocab := Vocabulary()
	in := map[string]bool{}
	for _, w := range vocab {
		if in[w] {
			t.Errorf("duplicate vocabulary entry %q", w)
		}
		in[w] = true
	}
	for _, w := range append([]string{"\n", "####", "=", "+", "-", "*", "/", ".", "?"}, digits...) {
		if !in[w] {
			t.Errorf("vocabulary lacks %q", w)
		}
	}
	if len(vocab) > 400 {
		t.Errorf("vocabulary has %d tokens, want a few hundred at most", len(vocab))
	}
	g := Generator(21)
	used := map[string]bool{}
	for i := 0; i < 10000; i++ {
		p := g.Next(0)
		texts := []string{Prompt(p, true) + p.Solution, Prompt(p, false) + Direct(p)}
		if i%10 == 0 {
			texts = append(texts, Prompt(p, true)+NamedSolutions(p, 1, int64(i))[0])
		}
		for _, text := range texts {
			toks := Words(text)
			for _, w := range toks {
				if !in[w] {
					t.Fatalf("%s: token %q not in Vocabulary, text %q", p.ID, w, text)
				}
				used[w] = true
			}
			if back := Join(toks); back != text {
				t.Fatalf("%s: Join(Words(text)) = %q, want %q", p.ID, back, text)
			}
		}
	}
	t.Logf("vocabulary %d tokens, %d used by 10,000 problems", len(vocab), len(used))
}

func TestWords(t *testing.T) {
	text := "Question: Mia has 12 apples.\nAnswer (step by step):\n5 + 17 = 22\n#### 22"
	want := []string{"Question", ":", "Mia", "has", "1", "2", "apples", ".", "\n", "Answer", "(", "step", "by", "step", ")", ":", "\n",
		"5", "+", "1", "7", "=", "2", "2", "\n", "####", "2", "2"}
	got := Words(text)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Words = %q, want %q", got, want)
	}
	if Join(got) != text {
		t.Errorf("Join = %q", Join(got))
	}
	if d := Direct(Problem{Answer: 305}); d != "#### 305" {
		t.Errorf("Direct = %q", d)
	}
	p := Problem{Question: "Q?"}
	if !strings.HasSuffix(Prompt(p, true), "Answer (step by step):\n") || !strings.HasSuffix(Prompt(p, false), "Answer (directly):\n") {
		t.Errorf("Prompt forms: %q, %q", Prompt(p, true), Prompt(p, false))
	}
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"Mia has 12 apples.", "1 2 3", "a\tb\r\nc", "(x) ## y: z?", "é1", "\xff#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Words(s)
		if again := Words(Join(toks)); !reflect.DeepEqual(again, toks) {
			t.Fatalf("Words(Join(Words(%q))) = %q, want %q", s, again, toks)
		}
	})
}
