package synth

import (
	"strings"
	"unicode/utf8"

	"github.com/pareto-llm/pareto/step"
)

// Special tokens of the vocabulary. AnswerTag is the step splitter's, so
// that a solution's answer line ends its steps.
const (
	Newline   = "\n"
	AnswerTag = step.AnswerTag
)

var (
	punctuation = []string{".", ",", "?", ":", "(", ")"}
	operators   = []string{"+", "-", "*", "/", "="}
	digits      = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
)

// Vocabulary returns every token that can appear in a generated question,
// solution, direct answer or prompt, in a fixed order: newline, punctuation,
// operators, "####", the digits 0-9, then words. A tokenizer may number the
// tokens by this order.
func Vocabulary() []string {
	var out []string
	seen := map[string]bool{}
	add := func(xs ...string) {
		for _, x := range xs {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	add(Newline)
	add(punctuation...)
	add(operators...)
	add(AnswerTag)
	add(digits...)
	add(templateWords...)
	add(names...)
	add(objects...)
	add(containers...)
	add(gainVerbs...)
	add(lossVerbs...)
	return out
}

// Words splits text into tokens: runs of ASCII letters are words, every digit
// is its own token (so "12" is "1", "2"), a run of '#' is one token, "\n" is
// a token, every other non-space character is a token, and spaces only
// separate. Join undoes it exactly for text that follows the spacing rule,
// which all text from this package does.
func Words(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		c := text[i]
		j := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case isLetter(c):
			for j < len(text) && isLetter(text[j]) {
				j++
			}
		case c == '#':
			for j < len(text) && text[j] == '#' {
				j++
			}
		case c >= utf8.RuneSelf:
			_, size := utf8.DecodeRuneInString(text[i:])
			j = i + size
		}
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// Join puts tokens back into text by the spacing rule: one space between
// tokens, except none before ". , ? : )" or a newline, none after "(" or a
// newline, and none between two digits (they form one number). Hence a text
// never has two numbers separated by a space alone; ours never do.
func Join(tokens []string) string {
	var b strings.Builder
	for i, t := range tokens {
		if i > 0 && spaced(tokens[i-1], t) {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

func spaced(a, b string) bool {
	switch b {
	case ".", ",", "?", ":", ")", Newline:
		return false
	}
	switch a {
	case "(", Newline:
		return false
	}
	return !(len(a) == 1 && isDigit(a[0]) && len(b) == 1 && isDigit(b[0]))
}

// Prompt is the model input for p: the question, then an instruction to
// reason step by step (the model continues with p.Solution) or to answer
// directly (the model continues with Direct(p)).
func Prompt(p Problem, reasoning bool) string {
	return PromptText(p.Question, reasoning)
}

// PromptText is Prompt for a bare question text.
func PromptText(question string, reasoning bool) string {
	if reasoning {
		return "Question: " + question + "\nAnswer (step by step):\n"
	}
	return "Question: " + question + "\nAnswer (directly):\n"
}

// Direct is the direct-answer target: "#### <answer>" only.
func Direct(p Problem) string { return AnswerTag + " " + itoa(p.Answer) }
