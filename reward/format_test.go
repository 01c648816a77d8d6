package reward

import (
	"slices"
	"testing"

	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

func TestEncode(t *testing.T) {
	tok := shippedPRM(t).tok
	prob := synth.TestSet()[450]
	prompt := Prompt(PromptTemplate, prob.Question)
	steps := step.Split(prob.Solution)
	tokens, ends, head := Encode(tok, prompt, steps)
	if !slices.Equal(tokens[:head], tok.Encode(prompt, true)) {
		t.Error("the tokens do not start with the prompt's")
	}
	if len(ends) != len(steps) || ends[len(ends)-1] != len(tokens)-1 {
		t.Fatalf("ends %v for %d steps of %d tokens", ends, len(steps), len(tokens))
	}
	for k, end := range ends {
		if end < head || (k > 0 && end <= ends[k-1]) || tok.Piece(tokens[end]) != StepSeparator {
			t.Errorf("step %d ends at %d, not at a separator after the one before", k+1, end)
		}
	}
	// A step's own line breaks are spaces to the PRM: one step a line.
	a, _, _ := Encode(tok, prompt, []string{"3 + 4 = 7\n#### 7"})
	b, _, _ := Encode(tok, prompt, []string{"3 + 4 = 7 #### 7"})
	if !slices.Equal(a, b) {
		t.Error("a step of two lines is not encoded as one line")
	}
}

// byteEncoder makes a token of every byte.
type byteEncoder struct{}

func (byteEncoder) Encode(text string, _ bool) []int {
	var out []int
	for _, c := range []byte(text) {
		out = append(out, int(c))
	}
	return out
}

func TestLabelIDs(t *testing.T) {
	good, bad, err := LabelIDs(byteEncoder{})
	if err != nil || good != '+' || bad != '-' {
		t.Errorf("LabelIDs = %d, %d, %v; want %d, %d", good, bad, err, '+', '-')
	}
	if _, _, err := LabelIDs(shippedPRM(t).tok); err != nil {
		t.Errorf("the shipped PRM's vocabulary: %v", err)
	}
	if _, _, err := LabelIDs(encoderFunc(func(string) []int { return []int{1, 2} })); err == nil {
		t.Error("labels of two tokens: want an error")
	}
}

// encoderFunc encodes text with a function.
type encoderFunc func(string) []int

func (f encoderFunc) Encode(text string, _ bool) []int { return f(text) }

// TestEncodeMemo: the memo gives the tokenizer's tokens, remembered or
// not, in copies its callers may change, and keeps to its bound.
func TestEncodeMemo(t *testing.T) {
	tok := shippedPRM(t).tok
	e := newEncodeMemo(tok, 1) // two texts at most: two generations of one
	for _, text := range []string{"Tom has 3 apples.", "3 + 4 = 7\n", "Tom has 3 apples."} {
		for _, bos := range []bool{true, false} {
			want := tok.Encode(text, bos)
			got := e.Encode(text, bos)
			if !slices.Equal(got, want) {
				t.Fatalf("memo encodes %q (bos %v) as %v, the tokenizer as %v", text, bos, got, want)
			}
			got[0] = -1 // the caller's copy
			if again := e.Encode(text, bos); !slices.Equal(again, want) {
				t.Fatalf("memo gives %v for %q after a caller changed its copy, want %v", again, text, want)
			}
			if n := len(e.texts.cur) + len(e.texts.old); n > 2 {
				t.Fatalf("memo holds %d texts, at most 2", n)
			}
		}
	}
	steps := []string{"3 + 4 = 7", "7 * 2 = 14"}
	gt, ge, gh := Encode(e, "Q", steps)
	wt, we, wh := Encode(tok, "Q", steps)
	if !slices.Equal(gt, wt) || !slices.Equal(ge, we) || gh != wh {
		t.Fatalf("Encode through the memo: %v %v %d, without: %v %v %d", gt, ge, gh, wt, we, wh)
	}
}
