package synth

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pareto-llm/pareto"
)

// maxStates bounds how many readings of a partial solution the verifier
// tracks when equal numbers make a step ambiguous.
const maxStates = 64

// VerifySteps says which steps of a solution to p are right; see
// VerifyQuestion for the rule. A question this package cannot parse makes
// every step wrong.
func VerifySteps(p Problem, steps []string) []bool {
	ok, err := VerifyQuestion(p.Question, steps)
	if err != nil {
		return make([]bool, len(steps))
	}
	return ok
}

// VerifyQuestion says which steps of a solution to a question are right. The
// question may be a bare question or a whole Prompt. The steps are those
// step.Split cuts a solution into, the "#### n" line among them.
//
// A step is a line "[label =] [names =] expression = result [words]": an
// optional label without digits, optional names for the operands with at
// least one word ("Tom + 12", not judged), an expression of whole numbers,
// + - * / (× ÷ also) and parentheses, and the claimed result. Step i is
// right when
//
//  1. its arithmetic is exact: the expression evaluates, with integer
//     division exact, to the claimed result; and
//  2. every binary operation in it, in evaluation order, is a legal move
//     given the question and the right steps before it: it combines two
//     terms of one quantity the answer needs, each a number stated in the
//     question ("half" states 2), the result of an earlier right step, or a
//     quantity already completed. For a sum, any two terms are combined:
//     "a + b" for two added or two subtracted terms, "a - b" for an added a
//     and a subtracted b (or "b - a" when b > a, leaving a subtracted
//     remainder). For a product any two factors with "*", and "x + x" for
//     "x * 2". For a division, "numerator / divisor" once both are known.
//     A sum used only inside another sum merges with it (likewise
//     products), so "how many in total" may add one person's purchases to
//     another's count before finishing either. Operand order is free for +
//     and *. Each legal move makes progress by construction: it removes one
//     step from what is left.
//
// A step restating a number ("Tom = 8") makes no progress and is wrong, as
// is any step after the answer is reached. A wrong step changes nothing:
// later steps are judged as if it were absent, so a step using its result
// is wrong too. A line "#### n" is right when n is the answer and an earlier
// right step computed it. When equal numbers make a step ambiguous every
// reading is kept (up to 64). A step of several lines (a paragraph) is
// right when each of its lines is, judged in turn.
func VerifyQuestion(question string, steps []string) ([]bool, error) {
	sp, err := parseSpec(question)
	if err != nil {
		return nil, err
	}
	g, err := sp.build()
	if err != nil {
		return nil, err
	}
	g = g.flatten(true)
	ans := g.nodes[g.root].val
	out := make([]bool, len(steps))
	states := []*state{g.start()}
	for i, s := range steps {
		// A wrong line makes the whole step wrong, and a wrong step
		// changes nothing, so the lines play on a copy of the states.
		next, n := states, 0
		for l := range strings.SplitSeq(s, "\n") {
			if strings.TrimSpace(l) == "" && n > 0 {
				continue // a line of spaces inside a paragraph
			}
			n++
			if next = g.judge(next, l, ans); next == nil {
				break
			}
		}
		if next != nil {
			out[i], states = true, next
		}
	}
	return out, nil
}

// judge returns the readings of the solution after one more line, or nil
// when the line is wrong given states; see VerifyQuestion for the rule.
func (g *graph) judge(states []*state, line string, ans int64) []*state {
	if t := strings.TrimSpace(line); strings.HasPrefix(t, AnswerTag) {
		if v, ok := ExtractAnswer(t); ok && v == ans && anyDone(states, g.root) {
			return states
		}
		return nil
	}
	e, claimed, err := parseStep(line)
	if err != nil || e.op == 0 {
		return nil
	}
	if v, ok := e.eval(); !ok || v != claimed {
		return nil
	}
	var next []*state
	seen := map[string]bool{}
	for _, st := range states {
		for _, c := range g.play(st, e) {
			if k := c.st.key(); !seen[k] && len(next) < maxStates {
				seen[k] = true
				next = append(next, c.st)
			}
		}
	}
	return next
}

func anyDone(states []*state, root int) bool {
	for _, st := range states {
		if st.done[root] {
			return true
		}
	}
	return false
}

// Cumulative turns per-step verdicts into "the solution so far is right":
// true up to the first wrong step, false from it on.
func Cumulative(ok []bool) []bool {
	out := make([]bool, len(ok))
	for i := range ok {
		out[i] = ok[i] && (i == 0 || out[i-1])
	}
	return out
}

// cand is one reading of an expression: the state after its moves and its value.
type cand struct {
	st *state
	v  int64
}

// play applies the moves of expression e, operands first, in every way the
// state allows.
func (g *graph) play(st *state, e *expr) []cand {
	if e.op == 0 {
		return []cand{{st, e.val}}
	}
	var out []cand
	for _, l := range g.play(st, e.l) {
		for _, r := range g.play(l.st, e.r) {
			for _, m := range g.moves(r.st, false) {
				if m.op != e.op {
					continue
				}
				if m.x == l.v && m.y == r.v || (e.op == '+' || e.op == '*') && m.x == r.v && m.y == l.v {
					out = append(out, cand{g.apply(r.st, m), m.z})
					if len(out) == maxStates {
						return out // bounds the work on long ambiguous expressions
					}
				}
			}
		}
	}
	return out
}

// expr is a parsed arithmetic expression; op 0 is a number.
type expr struct {
	op   byte
	val  int64
	l, r *expr
}

const maxOperand = 1_000_000_000 // larger numbers are rejected, so products cannot overflow

func (e *expr) eval() (int64, bool) {
	if e.op == 0 {
		return e.val, true
	}
	a, ok := e.l.eval()
	if !ok {
		return 0, false
	}
	b, ok := e.r.eval()
	if !ok {
		return 0, false
	}
	return Apply(a, e.op, b)
}

// Apply computes a op b for op one of + - * /, reporting false for a
// division that is not exact or a result out of the verifier's range.
func Apply(a int64, op byte, b int64) (int64, bool) {
	var v int64
	switch op {
	case '+':
		v = a + b
	case '-':
		v = a - b
	case '*':
		v = a * b
	case '/':
		if b == 0 || a%b != 0 {
			return 0, false
		}
		v = a / b
	default:
		return 0, false
	}
	if v > maxOperand || v < -maxOperand {
		return 0, false
	}
	return v, true
}

// parseStep reads "[label =] [names =] expression = result [words]".
func parseStep(s string) (*expr, int64, error) {
	parts := strings.Split(s, "=")
	if len(parts) < 2 {
		return nil, 0, fmt.Errorf("synth: step %q: no \"=\"", s)
	}
	// Before the expression come a label ("Lea") and names for it ("Tom +
	// 12"), which say what is computed and are not judged; numbers without
	// a name among them are a second equation.
	for _, label := range parts[:len(parts)-2] {
		if strings.ContainsAny(label, "0123456789") && !hasLetter(label) {
			return nil, 0, fmt.Errorf("synth: step %q: more than one equation", s)
		}
	}
	res := strings.TrimSpace(parts[len(parts)-1])
	end := 0
	if strings.HasPrefix(res, "-") {
		end = 1
	}
	for end < len(res) && isDigit(res[end]) {
		end++
	}
	claimed, err := strconv.ParseInt(res[:end], 10, 64)
	if err != nil || claimed > maxOperand || claimed < -maxOperand {
		return nil, 0, fmt.Errorf("synth: step %q: result is not a number", s)
	}
	if strings.ContainsAny(res[end:], "0123456789") {
		return nil, 0, fmt.Errorf("synth: step %q: result %q is not one number", s, res)
	}
	p := &exprParser{toks: exprTokens(parts[len(parts)-2])}
	e, err := p.sum()
	if err == nil && p.pos != len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	if err != nil {
		return nil, 0, fmt.Errorf("synth: step %q: %w", s, err)
	}
	return e, claimed, nil
}

func exprTokens(s string) []string {
	s = strings.NewReplacer("×", "*", "÷", "/").Replace(s)
	return splitRuns(s, func(c byte) bool { return c == ' ' || c == '\t' }, isDigit, isLetter)
}

type exprParser struct {
	toks []string
	pos  int
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) sum() (*expr, error) { return p.chain(p.product, "+", "-") }

func (p *exprParser) product() (*expr, error) { return p.chain(p.atom, "*", "/") }

// chain parses operands joined left to right by the operators op1 and op2.
func (p *exprParser) chain(operand func() (*expr, error), op1, op2 string) (*expr, error) {
	l, err := operand()
	for err == nil && (p.peek() == op1 || p.peek() == op2) {
		op := p.toks[p.pos][0]
		p.pos++
		var r *expr
		if r, err = operand(); err == nil {
			l = &expr{op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *exprParser) atom() (*expr, error) {
	t := p.peek()
	switch {
	case t == "(":
		p.pos++
		e, err := p.sum()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing \")\"")
		}
		p.pos++
		return e, nil
	case t != "" && isDigit(t[0]):
		p.pos++
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || v > maxOperand {
			return nil, fmt.Errorf("number %q too large", t)
		}
		return &expr{val: v}, nil
	case t == "":
		return nil, fmt.Errorf("expression ends early")
	}
	return nil, fmt.Errorf("unexpected %q", t)
}

var numberRE = regexp.MustCompile(`-?[0-9][0-9,]*(\.[0-9]+)?`)

// ExtractAnswer finds the final answer in a model output: the first number
// after the last "####", or, without "####", the last number. Thousands
// commas are dropped; a decimal counts only if its fraction is zero.
func ExtractAnswer(output string) (int64, bool) {
	var m string
	if i := strings.LastIndex(output, AnswerTag); i >= 0 {
		m = numberRE.FindString(output[i+len(AnswerTag):])
	}
	if m == "" {
		all := numberRE.FindAllString(output, -1)
		if len(all) == 0 {
			return 0, false
		}
		m = all[len(all)-1]
	}
	if i := strings.IndexByte(m, '.'); i >= 0 {
		if strings.Trim(m[i+1:], "0") != "" {
			return 0, false
		}
		m = m[:i]
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimRight(m, ","), ",", ""), 10, 64)
	return v, err == nil
}

// CheckAnswer reports whether a model output's final answer (see
// ExtractAnswer) equals p's answer.
func CheckAnswer(p Problem, output string) bool {
	v, ok := ExtractAnswer(output)
	return ok && v == p.Answer
}

// Oracle is an exact process reward model for synth questions: it scores a
// step 1 when it and every step before it are right (VerifyQuestion) and 0
// otherwise. It costs no compute and reports zero usage.
type Oracle struct{}

var _ pareto.Scorer = Oracle{}

// Score implements pareto.Scorer.
func (Oracle) Score(ctx context.Context, question string, steps []string) ([]float64, pareto.Usage, error) {
	if err := ctx.Err(); err != nil {
		return nil, pareto.Usage{}, err
	}
	if len(steps) == 0 {
		return nil, pareto.Usage{}, fmt.Errorf("synth oracle: no steps to score")
	}
	ok, err := VerifyQuestion(question, steps)
	if err != nil {
		return nil, pareto.Usage{}, fmt.Errorf("synth oracle: %w", err)
	}
	out := make([]float64, len(steps))
	for i, c := range Cumulative(ok) {
		if c {
			out[i] = 1
		}
	}
	return out, pareto.Usage{}, nil
}

func hasLetter(s string) bool {
	for i := range len(s) {
		if isLetter(s[i]) {
			return true
		}
	}
	return false
}
