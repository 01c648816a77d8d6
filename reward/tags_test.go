package reward_test

import (
	"math"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/reward"
)

// fakeVocab encodes text by a table and decodes ids by another.
type fakeVocab struct {
	enc    map[string][]int
	pieces map[int]string
}

func (v fakeVocab) Encode(text string, _ bool) []int { return v.enc[text] }

func (v fakeVocab) Decode(ids []int) string {
	s := ""
	for _, id := range ids {
		s += v.pieces[id]
	}
	return s
}

func TestSeparatorMustBeOneTokenOfTheVocabulary(t *testing.T) {
	v := fakeVocab{
		enc:    map[string][]int{"0": {5}, "0\n": {5, 13}, "0<extra_0>": {5, 27, 91, 14}, "0ки": {5, 0}},
		pieces: map[int]string{0: "<unk>", 5: "0", 13: "\n"},
	}
	if id, err := reward.SeparatorID(v, "\n"); err != nil || id != 13 {
		t.Errorf("SeparatorID(line break) = %d, %v; want 13", id, err)
	}
	if _, err := reward.SeparatorID(v, "<extra_0>"); err == nil || !strings.Contains(err.Error(), `step separator "<extra_0>" is not one token of this vocabulary: after "0" it adds 3 tokens, want 1`) {
		t.Errorf("a separator spelled in 3 tokens: error %v", err)
	}
	if _, err := reward.SeparatorID(v, "ки"); err == nil || !strings.Contains(err.Error(), `step separator "ки" is not in this vocabulary: it encodes to token 0, which reads "<unk>"`) {
		t.Errorf("a separator read as <unk>: error %v", err)
	}
	// LoadPRM checks the separator: the shipped PRM loads.
	loadPRM(t)
}

func TestIsPRM(t *testing.T) {
	for name, want := range map[string]bool{models.DefaultPRM: true, models.Default: false} {
		if got, err := reward.IsPRM(modelstest.Path(t, name)); err != nil || got != want {
			t.Errorf("IsPRM(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}

// ScoreTags scores a text at every line break as Score scores the steps
// that end there, from a PRM of its own so that no score is remembered;
// up to the engine's rounding, whose sums differ by about 1e-5 with where
// a prefill call starts (ScoreTags's also end at the prompt's breaks).
func TestScoreTagsMatchesScore(t *testing.T) {
	tags, steps := loadPRM(t), loadPRM(t)
	q := "Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?"
	sol := []string{"10 / 2 = 5", "#### 5"}
	text := reward.Prompt(reward.PromptTemplate, q) + strings.Join(sol, "\n") + "\n"
	got, u, err := tags.ScoreTags(t.Context(), text)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := steps.Score(t.Context(), q, sol)
	if err != nil {
		t.Fatal(err)
	}
	// Two line breaks are the prompt's.
	if len(got) != 2+len(sol) {
		t.Fatalf("%d scores for %d line breaks", len(got), 2+len(sol))
	}
	for k := range want {
		if math.Abs(got[2+k]-want[k]) > 1e-4 {
			t.Errorf("step %d: ScoreTags %v, Score %v", k+1, got[2+k], want[k])
		}
	}
	if u.Calls != 1 || u.PromptTokens == 0 || u.PrefillFLOPs <= 0 {
		t.Errorf("usage %+v", u)
	}
	if none, _, err := tags.ScoreTags(t.Context(), "no line break"); err != nil || len(none) != 0 {
		t.Errorf("text without a separator: %v, %v; want no scores", none, err)
	}
}
