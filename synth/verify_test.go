package synth

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/step"
)

func TestVerifyRules(t *testing.T) {
	const family = "Mia has 5 apples. Tom has 3 more than Mia. Ben has 2 times as many as Tom. How many apples do they have in total?"
	const shop = "Ivy had 12 pens, bought 5 and sold 15. Sam has 9 pens. How many pens do they have in total?"
	const diff = "Dan has 34 coins. Ivy had 20 coins, bought 6 and lost 6. How many more coins does Dan have than Ivy now?"
	const share = "Kim has 3 bags with 4 cards each. Joe has half as many as Kim. They share them equally among 3 friends. How many cards does each friend get?"
	cases := []struct {
		name, q string
		steps   []string
		want    []bool
	}{
		{"reference", family, []string{"5 + 3 = 8", "8 * 2 = 16", "5 + 8 = 13", "13 + 16 = 29"}, []bool{true, true, true, true}},
		{"other order", family, []string{"5 + 3 = 8", "5 + 8 = 13", "8 * 2 = 16", "16 + 13 = 29"}, []bool{true, true, true, true}},
		{"operands swapped", family, []string{"3 + 5 = 8", "2 * 8 = 16"}, []bool{true, true}},
		{"label", family, []string{"Tom = 5 + 3 = 8", "Ben = 8 * 2 = 16 apples"}, []bool{true, true}},
		{"x + x for x * 2", family, []string{"5 + 3 = 8", "8 + 8 = 16"}, []bool{true, true}},
		{"several operations", family, []string{"(5 + 3) * 2 = 16", "5 + 8 + 16 = 29", "#### 29"}, []bool{true, true, true}},
		{"wrong arithmetic", family, []string{"5 + 3 = 9"}, []bool{false}},
		{"built on a wrong step", family, []string{"5 + 3 = 9", "9 * 2 = 18"}, []bool{false, false}},
		{"recovery", family, []string{"5 + 3 = 9", "5 + 3 = 8", "8 * 2 = 16"}, []bool{false, true, true}},
		{"question numbers, no progress", family, []string{"5 + 2 = 7", "5 * 2 = 10", "3 * 2 = 6"}, []bool{false, false, false}},
		{"precedence", family, []string{"5 + 3 * 2 = 11"}, []bool{false}},
		{"restating", family, []string{"5 + 3 = 8", "Tom = 8", "8 = 8"}, []bool{true, false, false}},
		{"after the answer", family, []string{"5 + 3 = 8", "8 * 2 = 16", "5 + 8 = 13", "13 + 16 = 29", "29 + 0 = 29", "#### 29"}, []bool{true, true, true, true, false, true}},
		{"early answer line", family, []string{"5 + 3 = 8", "#### 29"}, []bool{true, false}},
		{"wrong answer line", family, []string{"5 + 3 = 8", "8 * 2 = 16", "5 + 8 + 16 = 29", "#### 30"}, []bool{true, true, true, false}},
		{"not a step", family, []string{"5 + 3", "", "add them", "8 = 5 + 3", "5 + + 3 = 8", "1 = 2 = 3"}, []bool{false, false, false, false, false, false}},
		{"events in order", shop, []string{"12 + 5 = 17", "17 - 15 = 2", "2 + 9 = 11"}, []bool{true, true, true}},
		{"losses first", shop, []string{"15 - 12 = 3", "5 - 3 = 2", "9 + 2 = 11"}, []bool{true, true, true}},
		{"merged sums", shop, []string{"12 + 9 = 21", "21 + 5 = 26", "26 - 15 = 11"}, []bool{true, true, true}},
		{"negative", shop, []string{"12 - 15 = -3", "5 - 15 = -10"}, []bool{false, false}},
		{"zero", diff, []string{"6 - 6 = 0", "20 + 0 = 20", "34 - 20 = 14"}, []bool{true, true, true}},
		{"merged under minus", diff, []string{"34 - 20 = 14", "14 - 6 = 8", "8 + 6 = 14"}, []bool{true, true, true}},
		{"share", share, []string{"4 * 3 = 12", "12 / 2 = 6", "12 + 6 = 18", "18 / 3 = 6"}, []bool{true, true, true, true}},
		{"share too early", share, []string{"3 * 4 = 12", "12 / 3 = 4", "12 / 5 = 2"}, []bool{true, false, false}},
	}
	for _, c := range cases {
		got, err := VerifyQuestion(c.q, c.steps)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: VerifyQuestion(%q) = %v, want %v", c.name, c.steps, got, c.want)
		}
		// The whole prompt parses as well as the bare question.
		if got2, err := VerifyQuestion(PromptText(c.q, true), c.steps); err != nil || !reflect.DeepEqual(got2, got) {
			t.Errorf("%s: prompt form gives %v, %v", c.name, got2, err)
		}
	}
}

func TestAllOrdersVerify(t *testing.T) {
	// Every order the generator can write must pass the (merged) verifier.
	g := Generator(13)
	for i := 0; i < 300; i++ {
		p := g.Next(0)
		orders, _ := mustGraph(t, p).orders(200)
		for _, steps := range orders {
			for j, ok := range VerifySteps(p, steps) {
				if !ok {
					t.Fatalf("%s: step %d of\n%s\njudged wrong for %q", p.ID, j+1, strings.Join(steps, "\n"), p.Question)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, q := range []string{
		"",
		"Mia has 5 apples.",
		"How many apples does Mia have?",
		"Tom has 3 more than Mia. How many apples does Tom have?",
		"Mia has 5 apples. Mia has 6 apples. How many apples does Mia have?",
		"Mia has 5 apples. How many pears does Mia have?",
		"Mia has 5 apples. How many apples does Mia have? Tom has 2 apples.",
		"Mia has 5 apples and 3 pears. How many apples does Mia have?",
		"Mia had 5 apples. How many apples does Mia have?",
		"Mia had 5 apples, bought 3. How many apples does Mia have?",
		"Mia had 5 apples and sold 9. How many apples does Mia have?",
		"Mia had 5 apples and sold 2. Tom has 2 more than Mia. How many apples does Tom have?",
		"Mia has 5 apples. They share them equally among 2 friends. How many apples does Mia have?",
		"Mia has 5 apples. Tom has 4 apples. How many apples do Mia Tom have in total?",
		"Mia has 5 apples. Mia shares them equally among 2 friends. How many apples does each friend get?",
	} {
		if got, err := VerifyQuestion(q, []string{"5 + 3 = 8"}); err == nil {
			t.Errorf("VerifyQuestion(%q) = %v, want an error", q, got)
		}
		if v := VerifySteps(Problem{Question: q}, []string{"1 + 1 = 2"}); len(v) != 1 || v[0] {
			t.Errorf("VerifySteps on bad question %q = %v", q, v)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	g := Generator(17)
	for i := 0; i < 5000; i++ {
		p := g.Next(0)
		sp, err := parseSpec(p.Question)
		if err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
		if got := sp.render(); got != p.Question {
			t.Fatalf("%s: parse then render gives\n%q\nwant\n%q", p.ID, got, p.Question)
		}
		gr, err := sp.build()
		if err != nil || gr.nodes[gr.root].val != p.Answer || gr.steps() != len(p.Steps) || gr.flatten(true).steps() != len(p.Steps) {
			t.Fatalf("%s: parsed problem does not match: err %v", p.ID, err)
		}
	}
}

func TestExtractAndCheckAnswer(t *testing.T) {
	p := Problem{Answer: 29}
	for _, c := range []struct {
		out  string
		want bool
	}{
		{"5 + 24 = 29\n#### 29", true},
		{"#### 30", false},
		{"so the answer is 29.", true},
		{"29 apples, then 30", false},
		{"#### 29\n#### 30", false},
		{"#### 30\nmore text 29", false},
		{"#### 29.0", true},
		{"#### 29.5", false},
		{"#### -29", false},
		{"####\n29", true},
		{"", false},
		{"no number", false},
	} {
		if got := CheckAnswer(p, c.out); got != c.want {
			t.Errorf("CheckAnswer(%q) = %v, want %v", c.out, got, c.want)
		}
	}
	if v, ok := ExtractAnswer("#### 1,029"); !ok || v != 1029 {
		t.Errorf("ExtractAnswer thousands comma = %d, %v", v, ok)
	}
}

// TestVerifySplitSolutions checks the verifier on the steps step.Split
// makes of whole solutions: the answer line is a step, right after a right
// solution, and a solution written in paragraphs is judged paragraph by
// paragraph, a paragraph right when all its lines are.
func TestVerifySplitSolutions(t *testing.T) {
	p := Generate(7, 5)
	if len(p.Steps) < 4 {
		t.Fatalf("%s: %d steps, the test wants 4", p.ID, len(p.Steps))
	}
	lines := step.Split(p.Solution)
	if ok := VerifySteps(p, lines); len(ok) != len(p.Steps)+1 || slices.Contains(ok, false) {
		t.Fatalf("%s: reference solution with its answer line verifies as %v", p.ID, ok)
	}
	// Paragraphs of two lines each, the answer line alone at the end.
	var paras []string
	for i := 0; i < len(p.Steps); i += 2 {
		paras = append(paras, strings.Join(p.Steps[i:min(i+2, len(p.Steps))], "\n"))
	}
	text := strings.Join(paras, "\n\n") + "\n\n" + Direct(p) + "\n\nQuestion: ignored"
	steps := step.Split(text)
	if !reflect.DeepEqual(steps, append(slices.Clone(paras), Direct(p))) {
		t.Fatalf("step.Split(%q) = %q", text, steps)
	}
	if ok := VerifySteps(p, steps); slices.Contains(ok, false) {
		t.Errorf("%s: right paragraphs verify as %v", p.ID, ok)
	}
	// A wrong second line makes its paragraph wrong, right first line and
	// all: without that line's result the solution never completes, so its
	// answer line is wrong too.
	bad := slices.Clone(steps)
	bad[0] = p.Steps[0] + "\n1 + 1 = 3"
	ok := VerifySteps(p, bad)
	if ok[0] || ok[len(ok)-1] {
		t.Errorf("%s: paragraph with a wrong line: %v", p.ID, ok)
	}
	// The same paragraph with a line of spaces inside is still right.
	spaced := slices.Clone(steps)
	spaced[0] = strings.Replace(steps[0], "\n", "\n \n", 1)
	if ok := VerifySteps(p, spaced); !reflect.DeepEqual(ok, VerifySteps(p, steps)) {
		t.Errorf("%s: a line of spaces changed the verdicts to %v", p.ID, ok)
	}
	if ok := VerifySteps(p, []string{"", " "}); ok[0] || ok[1] {
		t.Errorf("empty steps verify as %v", ok)
	}
}

func TestCumulative(t *testing.T) {
	got := Cumulative([]bool{true, true, false, true})
	if !reflect.DeepEqual(got, []bool{true, true, false, false}) {
		t.Errorf("Cumulative = %v", got)
	}
}

func TestOracle(t *testing.T) {
	ctx := context.Background()
	p := Generate(3, 4)
	scores, _, err := Oracle{}.Score(ctx, p.Question, p.Steps)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range scores {
		if s != 1 {
			t.Errorf("reference step %d scored %v", i+1, s)
		}
	}
	bad := append([]string(nil), p.Steps...)
	bad[1] = "1 + 1 = 3"
	scores, _, err = Oracle{}.Score(ctx, Prompt(p, true), bad)
	if err != nil {
		t.Fatal(err)
	}
	if scores[0] != 1 || scores[1] != 0 || scores[len(scores)-1] != 0 {
		t.Errorf("scores after a wrong step 2 = %v", scores)
	}
	if _, _, err := (Oracle{}).Score(ctx, "What is 2 + 2?", []string{"2 + 2 = 4"}); err == nil {
		t.Error("Oracle accepted a foreign question")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := (Oracle{}).Score(cctx, p.Question, p.Steps); err == nil {
		t.Error("Oracle ignored a cancelled context")
	}
}

func FuzzVerifyStep(f *testing.F) {
	p := Generate(1, 5)
	for _, s := range append(p.Steps, "(1 + 2", "99999999999999999999 * 9 = 1", "8 / 0 = 1", "a = b = 3", "#### 7") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, step string) {
		ok := VerifySteps(p, []string{p.Steps[0], step})
		if len(ok) != 2 || !ok[0] {
			t.Fatalf("VerifySteps = %v", ok)
		}
		if ok[1] {
			e, claimed, err := parseStep(step)
			if !strings.HasPrefix(strings.TrimSpace(step), AnswerTag) {
				if v, good := e.eval(); err != nil || !good || v != claimed {
					t.Fatalf("step %q judged right with bad arithmetic", step)
				}
			}
		}
	})
}

func FuzzVerifyQuestion(f *testing.F) {
	for seed := int64(0); seed < 5; seed++ {
		p := Generate(seed, 1+int(seed))
		f.Add(p.Question, strings.Join(p.Steps, "\n"))
	}
	f.Add("Mia has 0 apples. Mia shares them equally among 0 friends. How many apples does each friend get?", "0 / 0 = 0")
	f.Fuzz(func(t *testing.T, q, solution string) {
		steps := step.Split(solution)
		ok, err := VerifyQuestion(q, steps)
		if err == nil && len(ok) != len(steps) {
			t.Fatalf("%d verdicts for %d steps", len(ok), len(steps))
		}
		if err == nil {
			// A parsed question renders to text that parses to the same problem.
			sp, _ := parseSpec(q)
			if again, err := parseSpec(sp.render()); err != nil || again.render() != sp.render() {
				t.Fatalf("render of parsed %q does not parse back: %v", q, err)
			}
		}
	})
}
