// Package grade decides whether a model's output answers a benchmark question
// correctly: it extracts the final answer from free text, reads the gold
// answer from the reference, and compares the two the way a careful human
// marker would (exact numbers, LaTeX forms, sets, intervals, expressions).
package grade

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pareto-llm/pareto"
)

// Method says how Extract found an answer; higher values are trusted less.
type Method int

// Extraction methods, most trusted first.
const (
	MethodNone       Method = iota // no answer found
	MethodHashes                   // "#### x" (GSM8K style)
	MethodBoxed                    // last \boxed{x} or \fbox{x}
	MethodAnswerIs                 // "the answer is x", "final answer: x"
	MethodLastNumber               // last number in the text, as a fallback
	MethodWhole                    // the whole (short, one-line) output, when no marker matched
)

// String names the method for logs and JSON output.
func (m Method) String() string {
	switch m {
	case MethodHashes:
		return "hashes"
	case MethodBoxed:
		return "boxed"
	case MethodAnswerIs:
		return "answer_is"
	case MethodLastNumber:
		return "last_number"
	case MethodWhole:
		return "whole"
	default:
		return "none"
	}
}

// MarshalText writes the method's name, so JSON shows "boxed", not 2.
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a method name written by MarshalText.
func (m *Method) UnmarshalText(b []byte) error {
	for c := MethodNone; c <= MethodWhole; c++ {
		if c.String() == string(b) {
			*m = c
			return nil
		}
	}
	return fmt.Errorf("grade: unknown method %q", b)
}

// Verdict is the outcome of grading one output against one reference.
type Verdict struct {
	Correct   bool   `json:"correct"`
	Predicted string `json:"predicted"`
	Gold      string `json:"gold"`
	Method    Method `json:"method"`
}

// Grade extracts the answer from output, reads the gold answer from
// reference and reports whether they agree under format's rules.
func Grade(output, reference, format string) (v Verdict) {
	defer func() {
		// Last resort: a grader bug must cost one item, not the whole run.
		if recover() != nil {
			v.Correct = false
		}
	}()
	return (*trace)(nil).grade(output, reference, format)
}

// grade is Grade, recording in t how the verdict was reached.
func (t *trace) grade(output, reference, format string) (v Verdict) {
	v.Predicted, v.Method = Extract(output)
	v.Gold = Gold(reference, format)
	if v.Method != MethodNone {
		t.note("comparing the %s answer %q with the gold %q (%s)", v.Method, shorten(v.Predicted, 200), shorten(v.Gold, 200), format)
		v.Correct = t.equal(v.Predicted, v.Gold, format)
	}
	if !v.Correct && (v.Method == MethodNone || v.Method == MethodLastNumber) {
		// A bare answer such as "\frac{1}{2}" or "Paris" has no marker, and
		// its last number is not the answer: judge the output as a whole.
		if w := strings.TrimSpace(output); w != "" && len(w) <= maxWhole && !strings.Contains(w, "\n") {
			t.note("comparing the whole output %q with the gold", w)
			if t.equal(w, v.Gold, format) {
				v.Predicted, v.Method, v.Correct = w, MethodWhole, true
			}
		}
	}
	t.note("verdict: correct=%v", v.Correct)
	return v
}

// shorten cuts s to at most n bytes (on a UTF-8 boundary) for a message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// maxWhole is the longest output Grade will judge as a bare answer.
const maxWhole = 200

// Gold returns the gold answer stored in reference for the given format: the
// text after the last "####" for GSM8K, the unwrapped \boxed content (or the
// bare answer) for MATH, and the trimmed reference otherwise.
func Gold(reference, format string) (gold string) {
	defer func() {
		if recover() != nil {
			gold = strings.TrimSpace(reference)
		}
	}()
	ref := strings.TrimSpace(reference)
	switch format {
	case pareto.FormatGSM8K:
		if i := strings.LastIndex(ref, "####"); i >= 0 {
			return strings.TrimSpace(ref[i+4:])
		}
		return ref
	case pareto.FormatMath:
		if b, ok := lastBoxed(ref); ok {
			return b
		}
		return ref
	default:
		return ref
	}
}

// Equal reports whether predicted equals gold under format's rules: exact
// numeric comparison for "gsm8k" and "number", normalised text for "text"
// and LaTeX-aware mathematical equivalence for "math" (the default).
func Equal(predicted, gold, format string) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return (*trace)(nil).equal(predicted, gold, format)
}

// equal is Equal, recording its steps in t.
func (t *trace) equal(predicted, gold, format string) bool {
	if strings.TrimSpace(predicted) == "" || strings.TrimSpace(gold) == "" {
		t.note("an empty answer is never equal")
		return false
	}
	switch format {
	case pareto.FormatGSM8K, pareto.FormatNumber:
		return t.equalNumber(predicted, gold)
	case pareto.FormatText:
		return t.equalText(predicted, gold)
	default:
		return t.equalMath(predicted, gold)
	}
}
