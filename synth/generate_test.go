package synth

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/step"
)

func TestGenerateDeterministic(t *testing.T) {
	for level := 1; level <= 5; level++ {
		for seed := int64(0); seed < 50; seed++ {
			a, b := Generate(seed, level), Generate(seed, level)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("Generate(%d, %d) differs between calls:\n%+v\n%+v", seed, level, a, b)
			}
		}
	}
	g1, g2 := Generator(42), Generator(42)
	for i := 0; i < 200; i++ {
		if a, b := g1.Next(0), g2.Next(0); !reflect.DeepEqual(a, b) {
			t.Fatalf("Generator(42) problem %d differs: %q vs %q", i, a.Question, b.Question)
		}
	}
	// Different seeds must give mostly different problems.
	seen := map[string]bool{}
	for seed := int64(0); seed < 500; seed++ {
		seen[Generate(seed, 3).Question] = true
	}
	if len(seen) < 490 {
		t.Errorf("500 seeds at level 3 gave only %d distinct questions", len(seen))
	}
}

var stepRE = regexp.MustCompile(`^([0-9]+) ([-+*/]) ([0-9]+) = ([0-9]+)$`)

func TestLevelsAndSteps(t *testing.T) {
	g := Generator(7)
	count := map[int]int{}
	steps := map[int]map[int]int{}
	tokens := map[int]int{}
	const n = 5000
	for i := 0; i < n; i++ {
		p := g.Next(0)
		count[p.Level]++
		if steps[p.Level] == nil {
			steps[p.Level] = map[int]int{}
		}
		steps[p.Level][len(p.Steps)]++
		tokens[p.Level] += len(Words(Prompt(p, true) + p.Solution))
		lo, hi := StepsFor(p.Level)
		if len(p.Steps) < lo || len(p.Steps) > hi {
			t.Errorf("%s: level %d has %d steps, want %d..%d", p.ID, p.Level, len(p.Steps), lo, hi)
		}
		if w := len(strings.Fields(p.Question)); w > maxWords {
			t.Errorf("%s: %d words in question", p.ID, w)
		}
		for _, num := range regexp.MustCompile(`[0-9]+`).FindAllString(p.Question, -1) {
			if v, _ := strconv.ParseInt(num, 10, 64); v < 2 || v > maxNum[p.Level] {
				t.Errorf("%s: number %d outside 2..%d: %q", p.ID, v, maxNum[p.Level], p.Question)
			}
		}
		for _, s := range p.Steps {
			m := stepRE.FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("%s: step %q is not \"a op b = c\"", p.ID, s)
			}
			for _, x := range []string{m[1], m[3], m[4]} {
				if v, _ := strconv.ParseInt(x, 10, 64); v > maxValue {
					t.Errorf("%s: step %q has a number above %d", p.ID, s, maxValue)
				}
			}
			if m[2] == "*" {
				a, _ := strconv.ParseInt(m[1], 10, 64)
				b, _ := strconv.ParseInt(m[3], 10, 64)
				if min(a, b) > maxFactor[p.Level] && min(a, b) > maxFactor[5] {
					t.Errorf("%s: step %q multiplies two large numbers", p.ID, s)
				}
			}
		}
		if p.Answer < 1 || p.Answer > maxValue {
			t.Errorf("%s: answer %d outside 1..%d", p.ID, p.Answer, maxValue)
		}
	}
	for level := 1; level <= 5; level++ {
		if c := count[level]; c < n/5*8/10 || c > n/5*12/10 {
			t.Errorf("level %d drawn %d times of %d, want about %d", level, c, n, n/5)
		}
		t.Logf("level %d: %d problems, step counts %v, %.1f tokens per prompt+solution",
			level, count[level], steps[level], float64(tokens[level])/float64(count[level]))
	}
	if steps[5][5] == 0 || steps[5][6] == 0 {
		t.Errorf("level 5 should have both 5 and 6 steps, got %v", steps[5])
	}
	// A fixed level is respected.
	for i := 0; i < 100; i++ {
		if p := g.Next(4); p.Level != 4 {
			t.Fatalf("Next(4) gave level %d", p.Level)
		}
	}
}

func TestReferenceSolutionsVerify(t *testing.T) {
	g := Generator(3)
	for i := 0; i < 10000; i++ {
		p := g.Next(0)
		ok := VerifySteps(p, p.Steps)
		for j, v := range ok {
			if !v {
				t.Fatalf("%s: reference step %d %q judged wrong\n%s\n%s", p.ID, j+1, p.Steps[j], p.Question, p.Solution)
			}
		}
		if !CheckAnswer(p, p.Solution) {
			t.Fatalf("%s: reference solution fails CheckAnswer: %q", p.ID, p.Solution)
		}
		if got, want := step.Split(p.Solution), append(slices.Clone(p.Steps), Direct(p)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: step.Split(Solution) = %q, want %q", p.ID, got, want)
		}
		last := p.Steps[len(p.Steps)-1]
		if !strings.HasSuffix(last, "= "+strconv.FormatInt(p.Answer, 10)) {
			t.Fatalf("%s: last step %q does not give the answer %d", p.ID, last, p.Answer)
		}
		// The answer line is right after the full solution, and only then.
		withAns := append(append([]string(nil), p.Steps...), Direct(p))
		if v := VerifySteps(p, withAns); !v[len(v)-1] {
			t.Fatalf("%s: answer line judged wrong after a full solution", p.ID)
		}
		if v := VerifySteps(p, []string{Direct(p)}); v[0] {
			t.Fatalf("%s: answer line judged right with no steps", p.ID)
		}
	}
}

// numbersOf lists every number a verifier may legitimately use in p.
func numbersOf(p Problem) map[int64]bool {
	out := map[int64]bool{2: true} // "half"
	for _, num := range regexp.MustCompile(`[0-9]+`).FindAllString(p.Question+"\n"+p.Solution, -1) {
		v, _ := strconv.ParseInt(num, 10, 64)
		out[v] = true
	}
	return out
}

func TestMutatedStepsAreWrong(t *testing.T) {
	g := Generator(11)
	for i := 0; i < 2000; i++ {
		p := g.Next(0)
		used := numbersOf(p)
		for j, s := range p.Steps {
			m := stepRE.FindStringSubmatch(s)
			a, _ := strconv.ParseInt(m[1], 10, 64)
			b, _ := strconv.ParseInt(m[3], 10, 64)
			c, _ := strconv.ParseInt(m[4], 10, 64)
			op := m[2]

			// Wrong arithmetic: the result is off by one.
			wrong := append([]string(nil), p.Steps...)
			wrong[j] = strings.TrimSuffix(s, m[4]) + strconv.FormatInt(c+1, 10)
			ok := VerifySteps(p, wrong)
			if ok[j] {
				t.Fatalf("%s: step %q with wrong result judged right\n%s", p.ID, wrong[j], p.Question)
			}
			for k := 0; k < j; k++ {
				if !ok[k] {
					t.Fatalf("%s: step %d judged wrong after mutating step %d", p.ID, k+1, j+1)
				}
			}
			// Every later step that uses the wrong step's result is wrong too.
			if j+1 < len(p.Steps) && strings.Contains(" "+p.Steps[j+1]+" ", " "+m[4]+" ") && !used[c+1] {
				if ok[j+1] && !strings.Contains(p.Question, m[4]) && countResult(p.Steps, m[4]) == 1 {
					t.Fatalf("%s: step %q built on a wrong result judged right", p.ID, p.Steps[j+1])
				}
			}

			// Wrong operand: a number from nowhere, with correct arithmetic.
			x := a + 1
			for used[x] || (op == "-" && x < b) || (op == "/" && x%b != 0) {
				x++
			}
			var z int64
			switch op {
			case "+":
				z = x + b
			case "-":
				z = x - b
			case "*":
				z = x * b
			case "/":
				z = x / b
			}
			wrong[j] = strconv.FormatInt(x, 10) + " " + op + " " + m[3] + " = " + strconv.FormatInt(z, 10)
			if VerifySteps(p, wrong)[j] {
				t.Fatalf("%s: step %q with an unknown operand judged right\n%s", p.ID, wrong[j], p.Question)
			}

			// No progress: the step repeated.
			if j+1 < len(p.Steps) {
				rep := append(append(append([]string(nil), p.Steps[:j+1]...), s), p.Steps[j+1:]...)
				rv := VerifySteps(p, rep)
				if rv[j+1] && !repeatable(p, s) {
					t.Fatalf("%s: repeated step %q judged right\n%s\n%s", p.ID, s, p.Question, p.Solution)
				}
			}
		}
	}
}

func countResult(steps []string, r string) int {
	n := 0
	for _, s := range steps {
		if strings.HasSuffix(s, "= "+r) {
			n++
		}
	}
	return n
}

// repeatable reports whether a step could legitimately be done twice: the
// same operands occur twice in p (e.g. two persons with equal counts).
func repeatable(p Problem, s string) bool {
	n := 0
	for _, t := range p.Steps {
		if t == s {
			n++
		}
	}
	if n > 1 {
		return true
	}
	m := stepRE.FindStringSubmatch(s)
	occ := func(v string) int {
		return len(regexp.MustCompile(`\b`+v+`\b`).FindAllString(p.Question+" "+strings.Join(p.Steps, " "), -1))
	}
	return occ(m[1]) > 2 || occ(m[3]) > 2
}

func TestSolutions(t *testing.T) {
	g := Generator(5)
	for i := 0; i < 500; i++ {
		p := g.Next(0)
		const k = 6
		sols := Solutions(p, k, int64(i))
		if !reflect.DeepEqual(sols, Solutions(p, k, int64(i))) {
			t.Fatalf("%s: Solutions not deterministic in seed", p.ID)
		}
		all, complete := mustGraph(t, p).orders(1000)
		want := k
		if complete && len(all) < k {
			want = len(all)
		}
		if len(sols) != want {
			t.Fatalf("%s: %d solutions, want %d (%d orders exist, complete %v)", p.ID, len(sols), want, len(all), complete)
		}
		seen := map[string]bool{}
		for _, s := range sols {
			if seen[s] {
				t.Fatalf("%s: duplicate solution %q", p.ID, s)
			}
			seen[s] = true
			steps := step.Split(s) // the answer line last
			if len(steps) != len(p.Steps)+1 {
				t.Fatalf("%s: solution %q has %d steps, reference %d and an answer line", p.ID, s, len(steps), len(p.Steps))
			}
			for j, ok := range VerifySteps(p, steps) {
				if !ok {
					t.Fatalf("%s: solution step %d of %q judged wrong", p.ID, j+1, s)
				}
			}
			if !CheckAnswer(p, s) {
				t.Fatalf("%s: solution %q has the wrong answer", p.ID, s)
			}
		}
		if p.Level >= 3 && len(all) < 2 {
			t.Logf("%s: only one order: %s", p.ID, p.Question)
		}
	}
	if Solutions(Problem{Question: "What is this?"}, 3, 1) != nil {
		t.Error("Solutions of an unknown question should be nil")
	}
}

func mustGraph(t *testing.T, p Problem) *graph {
	t.Helper()
	sp, err := parseSpec(p.Question)
	if err != nil {
		t.Fatal(err)
	}
	g, err := sp.generatorGraph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestManyOrders(t *testing.T) {
	// Several valid decompositions must be the rule from level 3 on.
	wantMulti := [...]float64{0, 0, 0.15, 0.6, 0.85, 0.95}
	for level := 1; level <= 5; level++ {
		g := Generator(int64(level))
		const n = 300
		multi, total := 0, 0
		for i := 0; i < n; i++ {
			all, _ := mustGraph(t, g.Next(level)).orders(1000)
			total += len(all)
			if len(all) > 1 {
				multi++
			}
		}
		if float64(multi) < wantMulti[level]*n {
			t.Errorf("level %d: only %d of %d problems have more than one step order", level, multi, n)
		}
		t.Logf("level %d: %d%% with several orders, %.1f orders on average (capped at 1000)", level, multi*100/n, float64(total)/n)
	}
}

func TestTestSet(t *testing.T) {
	ts := TestSet()
	if len(ts) != 5*TestSetPerLevel {
		t.Fatalf("TestSet has %d problems, want %d", len(ts), 5*TestSetPerLevel)
	}
	perLevel := map[int]int{}
	questions := map[string]bool{}
	ids := map[string]bool{}
	for _, p := range ts {
		perLevel[p.Level]++
		if questions[p.Question] {
			t.Errorf("duplicate test question %q", p.Question)
		}
		questions[p.Question] = true
		if ids[p.ID] {
			t.Errorf("duplicate test ID %q", p.ID)
		}
		ids[p.ID] = true
		if !Heldout(p.Question) {
			t.Errorf("%s: test question not in the held-out part", p.ID)
		}
		for j, ok := range VerifySteps(p, p.Steps) {
			if !ok {
				t.Errorf("%s: reference step %d judged wrong", p.ID, j+1)
			}
		}
	}
	for level := 1; level <= 5; level++ {
		if perLevel[level] != TestSetPerLevel {
			t.Errorf("level %d has %d test problems, want %d", level, perLevel[level], TestSetPerLevel)
		}
	}
	// Deterministic, and callers cannot corrupt it.
	ts[0].Steps[0] = "corrupted"
	if again := TestSet(); again[0].Steps[0] == "corrupted" || again[0].Question != ts[0].Question {
		t.Error("TestSet is not a fresh copy of the same problems")
	}
	// Disjoint from the training stream.
	for i := int64(0); i < 200000; i++ {
		p := Generate(TrainSeed(i), 1+int(i%5))
		if questions[p.Question] || Heldout(p.Question) {
			t.Fatalf("training problem %d (%s) is in the held-out part: %q", i, p.ID, p.Question)
		}
	}
	if TrainSeed(-1) < 0 || TrainSeed(-1) >= testSeedBase || TrainSeed(testSeedBase+5) != 5 {
		t.Error("TrainSeed leaves the training range")
	}
}

func TestAsQuestion(t *testing.T) {
	p := Generate(1, 2)
	q := p.AsQuestion()
	if q.Text != p.Question || q.Reference != p.Solution || q.Format != pareto.FormatGSM8K || q.Level != 2 || q.Dataset != Dataset || q.ID != p.ID {
		t.Errorf("AsQuestion = %+v for %+v", q, p)
	}
}

// TestTestSetPinned pins the fixed test set: every figure in the model
// cards is on these 1,000 problems, so a change to the generator that
// alters one of them must be deliberate (and the figures re-measured).
func TestTestSetPinned(t *testing.T) {
	h := sha256.New()
	for _, p := range TestSet() {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", p.ID, p.Question, p.Solution)
	}
	const want = "486fd9adda85d174fbef94da42d63bf39ef745e85679f8a77e102615892856ca"
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
		t.Errorf("test set digest %s, want %s: the generator changed the fixed test set", got, want)
	}
}

// TestNamedSolutions checks that labelled solutions verify step by step,
// label every step with a name from the question or one of the question's
// quantities, and are the bare solutions with labels added.
func TestNamedSolutions(t *testing.T) {
	eachSolutionPair(t, NamedSolutions, Solutions, func(p Problem, sol, bare string, lines []string) {
		if ok := VerifySteps(p, lines); !reflect.DeepEqual(Cumulative(ok), ok) || slices.Contains(ok, false) {
			t.Errorf("%s: named solution %q verifies as %v", p.ID, sol, ok)
		}
		var stripped []string
		for _, l := range lines {
			if strings.HasPrefix(l, AnswerTag) {
				stripped = append(stripped, l)
				continue
			}
			label, rest, ok := strings.Cut(l, " = ")
			if !ok || !(strings.Contains(p.Question, label+" ") || label == "total" || label == "more" || label == "each") {
				t.Errorf("%s: step %q has no label from the question", p.ID, l)
			}
			stripped = append(stripped, rest)
		}
		if got := strings.Join(stripped, "\n"); got != bare {
			t.Errorf("%s: named solution without labels\n%s\nwant the bare one\n%s", p.ID, got, bare)
		}
	})
}

// eachSolutionPair calls check on each solution that variant writes for
// every 7th test problem, split into lines, beside the one base writes with
// the same seed; the two must write as many, and some.
func eachSolutionPair(t *testing.T, variant, base func(Problem, int, int64) []string, check func(p Problem, sol, base string, lines []string)) {
	t.Helper()
	ts := TestSet()
	for i := 0; i < len(ts); i += 7 {
		p := ts[i]
		sols, bases := variant(p, 3, int64(i)), base(p, 3, int64(i))
		if len(sols) == 0 || len(sols) != len(bases) {
			t.Fatalf("%s: %d solutions, %d to compare them with", p.ID, len(sols), len(bases))
		}
		for s, sol := range sols {
			check(p, sol, bases[s], strings.Split(sol, "\n"))
		}
	}
}

// TestSymbolicSolutions checks that symbolic solutions verify step by step
// and are the named ones with operand names added: each named operand's
// value is the result of the latest line with that label, or, for a name no
// line computed, the count the question states for that person.
func TestSymbolicSolutions(t *testing.T) {
	symbols := 0
	eachSolutionPair(t, SymbolicSolutions, NamedSolutions, func(p Problem, sol, nam string, lines []string) {
		if ok := VerifySteps(p, lines); slices.Contains(ok, false) {
			t.Errorf("%s: symbolic solution %q verifies as %v", p.ID, sol, ok)
		}
		last := map[string]string{} // label -> its latest result
		var stripped []string
		for _, l := range lines {
			parts := strings.Split(l, " = ")
			if len(parts) == 4 {
				xs, ys := strings.Fields(parts[1]), strings.Fields(parts[2])
				if len(xs) != 3 || len(ys) != 3 || xs[1] != ys[1] {
					t.Fatalf("%s: step %q: names %q do not match numbers %q", p.ID, l, parts[1], parts[2])
				}
				for _, k := range []int{0, 2} {
					if xs[k] == ys[k] {
						continue
					}
					symbols++
					if v, ok := last[xs[k]]; !ok {
						if !strings.Contains(p.Question, xs[k]+" has "+ys[k]+" ") {
							t.Errorf("%s: step %q: %s is %s, which no line computed and the question does not state", p.ID, l, xs[k], ys[k])
						}
					} else if v != ys[k] {
						t.Errorf("%s: step %q: %s is %s, but its last line gave %q", p.ID, l, xs[k], ys[k], last[xs[k]])
					}
				}
				parts = append(parts[:1], parts[2:]...)
			}
			if len(parts) == 3 {
				last[parts[0]] = parts[2]
			}
			stripped = append(stripped, strings.Join(parts, " = "))
		}
		if got := strings.Join(stripped, "\n"); got != nam {
			t.Errorf("%s: symbolic solution without names\n%s\nwant the named one\n%s", p.ID, got, nam)
		}
	})
	if symbols == 0 {
		t.Fatal("no step named an operand")
	}
}

// TestPlannedSolutions checks that a planned solution's steps are a valid
// solution of its problem and that each plan line names its step's
// quantity without its result.
func TestPlannedSolutions(t *testing.T) {
	for level := 1; level <= 5; level++ {
		for i := range 50 {
			p := Generate(TrainSeed(int64(1000*level+i)), level)
			pls := PlannedSolutions(p, 2, int64(i))
			if len(pls) == 0 {
				t.Fatalf("level %d problem %d: no planned solution", level, i)
			}
			for _, pl := range pls {
				if len(pl.Plan) != len(pl.Steps) {
					t.Fatalf("%d plan lines for %d steps", len(pl.Plan), len(pl.Steps))
				}
				for k, ok := range VerifySteps(p, pl.Steps) {
					if !ok {
						t.Fatalf("level %d problem %d: step %d of\n%s\nis wrong", level, i, k, pl.Solution())
					}
				}
				if pl.Answer != p.Answer {
					t.Fatalf("level %d problem %d: answer %d, want %d", level, i, pl.Answer, p.Answer)
				}
				for k, line := range pl.Plan {
					// A plan names what a step combines, never its result.
					if strings.Count(line, " = ") > 1 || strings.Count(pl.Steps[k], " = ") != 1 {
						t.Fatalf("plan line %q for step %q", line, pl.Steps[k])
					}
				}
			}
		}
	}
	p := Generate(TrainSeed(12345), 4)
	pl := PlannedSolutions(p, 1, 1)[0]
	t.Logf("%s\nplan: %q\nsteps: %q", p.Question, pl.Plan, pl.Steps)
}
