package strategy

import (
	"context"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
)

// scripted returns fixed texts and records the requests it got.
type scripted struct {
	texts []string
	reqs  []pareto.Request
}

func (s *scripted) Generate(_ context.Context, req pareto.Request) ([]pareto.Completion, error) {
	s.reqs = append(s.reqs, req)
	out := make([]pareto.Completion, max(req.N, 1))
	for i := range out {
		out[i] = pareto.Completion{Text: s.texts[i%len(s.texts)], Usage: pareto.Usage{Calls: 1, CompletionTokens: 5}}
	}
	return out, nil
}

// byMarker scores a solution 0.9 when it contains "good", else 0.2.
type byMarker struct{ calls int }

func (b *byMarker) Score(_ context.Context, _ string, steps []string) ([]float64, pareto.Usage, error) {
	b.calls++
	s := make([]float64, len(steps))
	for i := range s {
		s[i] = 0.2
		if strings.Contains(strings.Join(steps, " "), "good") {
			s[i] = 0.9
		}
	}
	return s, pareto.Usage{Calls: 1, PromptTokens: 3}, nil
}

var q = pareto.Question{ID: "1", Text: "What is half of 1?", Reference: "\\frac{1}{2}", Format: pareto.FormatMath}

func solve(t *testing.T, name string, o Options, gen *scripted, sc pareto.Scorer) Result {
	t.Helper()
	s, err := New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Solve(context.Background(), Env{Gen: gen, Scorer: sc, Seed: 7}, q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGreedyIsDeterministic(t *testing.T) {
	gen := &scripted{texts: []string{"so \\boxed{0.5}"}}
	res := solve(t, "greedy", Options{Temperature: 0.9, MaxTokens: 10}, gen, nil)
	if gen.reqs[0].Temperature != 0 || gen.reqs[0].N != 1 || *gen.reqs[0].Seed != 7 || gen.reqs[0].MaxTokens != 10 {
		t.Fatalf("request %+v", gen.reqs[0])
	}
	if res.Answer != "0.5" || res.Usage.CompletionTokens != 5 {
		t.Fatalf("result %+v", res)
	}
}

func TestSelfConsistencyGroupsEquivalentAnswers(t *testing.T) {
	// 0.5 and \frac{1}{2} are the same answer and must vote together.
	gen := &scripted{texts: []string{"\\boxed{0.5}", "\\boxed{3}", "\\boxed{\\frac{1}{2}}", "\\boxed{3}", "no answer here"}}
	res := solve(t, "self-consistency", Options{N: 5}, gen, nil)
	if gen.reqs[0].N != 5 || gen.reqs[0].Temperature != DefaultSamplingTemperature {
		t.Fatalf("request %+v", gen.reqs[0])
	}
	if res.Answer != "0.5" || len(res.Votes) != 2 || res.Votes[0].Count != 2 || res.Usage.CompletionTokens != 25 {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.Output, "0.5") {
		t.Fatalf("output %q is not a candidate with the winning answer", res.Output)
	}
}

func TestBestOfNAndWeightedVote(t *testing.T) {
	texts := []string{"bad\n\\boxed{3}", "bad\n\\boxed{3}", "good\n\\boxed{0.5}"}
	sc := &byMarker{}
	best := solve(t, "best-of-n", Options{N: 3}, &scripted{texts: texts}, sc)
	if best.Answer != "0.5" || sc.calls != 3 || best.Usage.Calls != 6 {
		t.Fatalf("best-of-n %+v (scorer calls %d)", best, sc.calls)
	}
	wv := solve(t, "weighted-vote", Options{N: 3}, &scripted{texts: texts}, &byMarker{})
	if wv.Answer != "0.5" { // 0.9 > 0.2 + 0.2
		t.Fatalf("weighted vote %+v", wv.Votes)
	}
	sc3 := solve(t, "self-consistency", Options{N: 3}, &scripted{texts: texts}, nil)
	if sc3.Answer != "3" {
		t.Fatalf("plain majority %+v", sc3.Votes)
	}
	s, _ := New("best-of-n", Options{N: 2})
	if _, err := s.Solve(context.Background(), Env{Gen: &scripted{texts: texts}}, q); err == nil {
		t.Fatal("best-of-n without a scorer must fail")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New("nope", Options{}); err == nil || !strings.Contains(err.Error(), "self-consistency") {
		t.Fatalf("unknown strategy error should list the known ones: %v", err)
	}
	if _, err := New("greedy", Options{TopP: 2}); err == nil {
		t.Fatal("top_p 2 accepted")
	}
	if _, err := New("best-of-n", Options{Aggregate: "median"}); err == nil {
		t.Fatal("unknown aggregation accepted")
	}
}

func TestPrompts(t *testing.T) {
	p, stop, err := DefaultPrompts.Prompt(pareto.Question{Text: "Q?", Format: pareto.FormatGSM8K}, Style{Reasoning: true, Shots: 2})
	if err != nil || strings.Count(p, "Question:") != 3 || strings.Contains(p, "<<") || len(stop) == 0 {
		t.Fatalf("few-shot prompt %q %v", p, err)
	}
	p, _, _ = DefaultPrompts.Prompt(pareto.Question{Text: "Q?", Format: pareto.FormatMath}, Style{Reasoning: true})
	if !strings.Contains(p, "\\boxed") || !strings.HasSuffix(p, "step by step.") {
		t.Fatalf("math prompt %q", p)
	}
	RegisterPrompts("custom", PrompterFunc(func(q pareto.Question, s Style) (string, []string, error) { return "X" + q.Text, nil, nil }))
	if p, _, _ := DefaultPrompts.Prompt(pareto.Question{Text: "Q", Dataset: "custom"}, Style{}); p != "XQ" {
		t.Fatalf("registered prompter not used: %q", p)
	}
}
