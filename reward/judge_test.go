package reward

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
)

type fakeGen struct {
	prompts []string
	reply   func(prompt string) pareto.Completion
}

func (f *fakeGen) Generate(_ context.Context, req pareto.Request) ([]pareto.Completion, error) {
	f.prompts = append(f.prompts, req.Prompt)
	return []pareto.Completion{f.reply(req.Prompt)}, nil
}

func TestJudgeReadsLogprobs(t *testing.T) {
	g := &fakeGen{reply: func(p string) pareto.Completion {
		yes := math.Log(0.6)
		if strings.Contains(p, "Step 2: 2+2=5") {
			yes = math.Log(0.1)
		}
		return pareto.Completion{Text: " Yes", Usage: pareto.Usage{Calls: 1, PromptTokens: 10, CompletionTokens: 1},
			Logprobs: []pareto.TokenLogprob{{Token: " Yes", Logprob: yes, Top: map[string]float64{" Yes": yes, " No": math.Log(0.2), "Maybe": math.Log(0.1)}}}}
	}}
	j := Judge{Gen: g}
	scores, u, err := j.Score(context.Background(), "What is 2+2?", []string{"1+1=2", "2+2=5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 2 || math.Abs(scores[0]-0.75) > 1e-9 || math.Abs(scores[1]-1.0/3) > 1e-9 {
		t.Fatalf("scores %v", scores)
	}
	if u.Calls != 2 || u.PromptTokens != 20 || len(g.prompts) != 2 {
		t.Fatalf("usage %+v, prompts %d", u, len(g.prompts))
	}
}

func TestJudgeWithoutLogprobs(t *testing.T) {
	for text, want := range map[string]float64{" Yes": 1, "no": 0, "": 0} {
		got := YesProbability(pareto.Completion{Text: text})
		if got != want {
			t.Errorf("%q: %g want %g", text, got, want)
		}
	}
	g := &fakeGen{reply: func(p string) pareto.Completion {
		if strings.Contains(p, "Step 3:") {
			return pareto.Completion{Text: "No"}
		}
		return pareto.Completion{Text: "Yes"}
	}}
	s, _, err := Judge{Gen: g}.Score(context.Background(), "q", []string{"a", "b", "c"})
	if err != nil || len(s) != 3 || s[0] != 1 || s[1] != 1 || s[2] != 0 || len(g.prompts) != 3 {
		t.Fatalf("judge without logprobs: %v %v calls %d", s, err, len(g.prompts))
	}
}

// TestJudgeScoresEveryStep checks that the judge gives one score per step,
// each the verdict on the steps up to it, for solutions of every length.
func TestJudgeScoresEveryStep(t *testing.T) {
	g := &fakeGen{reply: func(string) pareto.Completion { return pareto.Completion{Text: "Yes"} }}
	steps := []string{"1 + 1 = 2", "2 * 3 = 6", "6 - 1 = 5", "#### 5"}
	for n := 1; n <= len(steps); n++ {
		g.prompts = nil
		s, _, err := Judge{Gen: g}.Score(context.Background(), "q", steps[:n])
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != n || len(g.prompts) != n {
			t.Fatalf("%d steps: %d scores from %d calls, want %d of each", n, len(s), len(g.prompts), n)
		}
		for k, p := range g.prompts {
			if !strings.Contains(p, fmt.Sprintf("Step %d: %s\n", k+1, steps[k])) || strings.Contains(p, fmt.Sprintf("Step %d:", k+2)) {
				t.Errorf("%d steps: call %d should judge steps 1..%d:\n%s", n, k, k+1, p)
			}
		}
	}
	if _, _, err := (Judge{Gen: g}).Score(context.Background(), "q", nil); err == nil {
		t.Error("no steps: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := (Judge{Gen: g}).Score(ctx, "q", steps); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: error %v, want context.Canceled", err)
	}
}
