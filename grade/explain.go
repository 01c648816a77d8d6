package grade

import (
	"fmt"
	"strings"
)

// Candidate is an answer one extraction method found in an output.
type Candidate struct {
	Method Method `json:"method"`
	Answer string `json:"answer"`
}

// Explanation says how Grade reached its verdict, so a surprising verdict
// can be audited: what each extraction method found, which answer was taken
// and why, and the steps that decided the comparison (exact rational,
// numeric within tolerance, symbolic at random points, set, tuple or
// interval, relation, text).
type Explanation struct {
	Verdict    Verdict     `json:"verdict"`
	Candidates []Candidate `json:"candidates"` // most trusted method first; boxes in order
	Chosen     string      `json:"chosen"`
	Steps      []string    `json:"steps"`
}

// maxBoxesShown bounds the boxes an explanation lists.
const maxBoxesShown = 8

// Explain grades output against reference like Grade and explains the
// verdict. It costs more than Grade; use it to audit, not to score.
func Explain(output, reference, format string) (e Explanation) {
	defer func() {
		if r := recover(); r != nil {
			e.Verdict.Correct = false
			e.Steps = append(e.Steps, fmt.Sprintf("internal error: %v (graded incorrect)", r))
		}
	}()
	out := dropNextQuestion(output)
	if len(out) < len(output) {
		e.Steps = append(e.Steps, fmt.Sprintf("ignored the text after byte %d, where the model starts a new question", len(out)))
	}
	if a, ok := afterHashes(out); ok {
		e.Candidates = append(e.Candidates, Candidate{MethodHashes, a})
	}
	for _, b := range boxes(out, maxBoxesShown) {
		e.Candidates = append(e.Candidates, Candidate{MethodBoxed, b})
	}
	if a, ok := afterAnswerIs(out); ok {
		e.Candidates = append(e.Candidates, Candidate{MethodAnswerIs, a})
	}
	if a, ok := lastNumber(out); ok {
		e.Candidates = append(e.Candidates, Candidate{MethodLastNumber, a})
	}
	_, how, why := extract(output)
	t := &trace{}
	e.Verdict = t.grade(output, reference, format)
	switch {
	case e.Verdict.Method == MethodWhole:
		e.Chosen = fmt.Sprintf("whole output %q: the output is one short line and the %s answer did not match", e.Verdict.Predicted, how)
	case how == MethodNone:
		e.Chosen = "nothing: " + why
	default:
		e.Chosen = fmt.Sprintf("%s %q: %s", how, e.Verdict.Predicted, why)
	}
	e.Steps = append(e.Steps, t.steps...)
	return e
}

// boxes returns the contents of the last n \boxed or \fbox in s, in order.
func boxes(s string, n int) []string {
	closeOf := matchBraces(s)
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		for _, cmd := range []string{`\boxed`, `\fbox`} {
			if strings.HasPrefix(s[i:], cmd) {
				if c, ok := boxedContent(s, i+len(cmd), closeOf); ok && strings.TrimSpace(c) != "" {
					out = append(out, strings.TrimSpace(c))
				}
			}
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// String renders an explanation as indented lines for a terminal.
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: correct=%v (predicted %q, gold %q)\n", e.Verdict.Correct, e.Verdict.Predicted, e.Verdict.Gold)
	if len(e.Candidates) == 0 {
		b.WriteString("candidates: none\n")
	}
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "candidate: %s %q\n", c.Method, c.Answer)
	}
	fmt.Fprintf(&b, "chosen: %s\n", e.Chosen)
	for _, s := range e.Steps {
		fmt.Fprintf(&b, "step: %s\n", s)
	}
	return b.String()
}
