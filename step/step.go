// Package step is pareto's one definition of a reasoning step: how a
// solution is cut into the steps that a process reward model is trained on,
// that the labeller labels, that scorers score and that the exact verifier
// judges. Keeping one splitter means a PRM is scored on the same steps it
// was trained on.
package step

import "strings"

// AnswerTag begins the line that states a solution's final answer
// ("#### 42"), GSM8K's marker.
const AnswerTag = "####"

// The two separators a solution's steps come apart at.
const (
	// Line separates steps written one a line, as the synth policy writes
	// them.
	Line = "\n"
	// Paragraph separates steps written as blocks of lines with blank
	// lines between them.
	Paragraph = "\n\n"
)

// Split cuts a solution into steps: its paragraphs when it has a blank line
// (after CRLF line ends become LF), otherwise its lines. See SplitBy for the
// rest.
func Split(text string) []string {
	return SplitBy(text, Separator(text))
}

// Separator is the separator Split cuts text at: Paragraph when the text,
// trimmed, contains a blank line, otherwise Line.
func Separator(text string) string {
	if strings.Contains(strings.TrimSpace(normalize(text)), Paragraph) {
		return Paragraph
	}
	return Line
}

// SplitBy cuts a solution into steps at sep (Line when sep is empty), after
// CRLF line ends become LF. Each step is trimmed and empty ones are dropped.
// The step holding the answer line (a line beginning with AnswerTag) is the
// last: what follows the answer is not part of the solution.
func SplitBy(text, sep string) []string {
	if sep == "" {
		sep = Line
	}
	var steps []string
	for _, s := range strings.Split(normalize(text), sep) {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		steps = append(steps, s)
		if HasAnswer(s) {
			break
		}
	}
	return steps
}

// HasAnswer reports whether a step contains an answer line: a line that
// begins, after spaces, with AnswerTag.
func HasAnswer(step string) bool {
	for l := range strings.SplitSeq(step, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), AnswerTag) {
			return true
		}
	}
	return false
}

func normalize(text string) string { return strings.ReplaceAll(text, "\r\n", "\n") }
