// Package grade decides whether a model's output answers a benchmark question
// correctly: it extracts the final answer from free text, reads the gold
// answer from the reference, and compares the two the way a careful human
// marker would (exact numbers, LaTeX forms, sets, intervals, expressions).
package grade

import (
	"fmt"
	"strings"

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
	v.Predicted, v.Method = Extract(output)
	v.Gold = Gold(reference, format)
	v.Correct = v.Method != MethodNone && Equal(v.Predicted, v.Gold, format)
	if !v.Correct && (v.Method == MethodNone || v.Method == MethodLastNumber) {
		// A bare answer such as "\frac{1}{2}" or "Paris" has no marker, and
		// its last number is not the answer: judge the output as a whole.
		if w := strings.TrimSpace(output); w != "" && len(w) <= maxWhole && !strings.Contains(w, "\n") && Equal(w, v.Gold, format) {
			v.Predicted, v.Method, v.Correct = w, MethodWhole, true
		}
	}
	return v
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
	if strings.TrimSpace(predicted) == "" || strings.TrimSpace(gold) == "" {
		return false
	}
	switch format {
	case pareto.FormatGSM8K, pareto.FormatNumber:
		return equalNumber(predicted, gold)
	case pareto.FormatText:
		return equalText(predicted, gold)
	default:
		return equalMath(predicted, gold)
	}
}
