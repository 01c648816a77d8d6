package reward

import (
	"fmt"
	"strings"

	"github.com/pareto-llm/pareto/step"
)

// The PRM's input format, in one place for the trainer that writes PRM
// examples and files, the labeller and the scorer that reads them, so that
// all of them put the labels at the same positions. At the separator that
// ends each step the PRM predicts Good or Bad as its next token, as
// Math-Shepherd's PRM does with its step tag.
const (
	Good = "+"
	Bad  = "-"
	// StepSeparator ends every step: the PRM reads one step a line.
	StepSeparator = step.Line
	// PromptTemplate is the PRM's input before the steps; {question} is
	// replaced by the question. It is the policy's reasoning prompt.
	PromptTemplate = "Question: {question}\nAnswer (step by step):\n"
)

// The GGUF metadata keys of a PRM file: what a reader needs to score steps
// the way the model was trained to.
const (
	KeyPrompt        = "pareto.prm.prompt"         // the PromptTemplate it was trained with
	KeyStepSeparator = "pareto.prm.step_separator" // StepSeparator
	KeyGoodToken     = "pareto.prm.good_token"     // Good
	KeyBadToken      = "pareto.prm.bad_token"      // Bad
)

// Prompt fills PromptTemplate (or another template) with a question.
func Prompt(template, question string) string {
	return strings.ReplaceAll(template, "{question}", question)
}

// Encoder turns text into token ids, optionally after a BOS token.
type Encoder interface {
	Encode(text string, bos bool) []int
}

// Encode tokenizes prompt and steps, each step ended by StepSeparator (a
// step's own line breaks become spaces), and returns the tokens; for each
// step, the position of its last token (its separator): the position whose
// next-token prediction scores the step; and head, the number of tokens of
// the prompt alone (the solution starts there). Each end comes from
// encoding the text up to it rather than from adding up the steps' own
// tokens, since a piece's tokens can depend on what precedes it (the PRM
// encodes through a memo, so that a search pays for each text once).
func Encode(tok Encoder, prompt string, steps []string) (tokens []int, ends []int, head int) {
	tokens = tok.Encode(prompt, true)
	head = len(tokens)
	text := prompt
	ends = make([]int, len(steps))
	for k, s := range steps {
		text += strings.ReplaceAll(s, StepSeparator, " ") + StepSeparator
		tokens = tok.Encode(text, true)
		ends[k] = len(tokens) - 1
	}
	return tokens, ends, head
}

// LabelIDs are the token ids of Good and Bad in tok's vocabulary.
func LabelIDs(tok Encoder) (good, bad int, err error) {
	one := func(s string) (int, error) {
		ids := tok.Encode(s, false)
		if len(ids) != 1 {
			return 0, fmt.Errorf("label %q is %d tokens in this vocabulary, want 1", s, len(ids))
		}
		return ids[0], nil
	}
	if good, err = one(Good); err != nil {
		return 0, 0, err
	}
	if bad, err = one(Bad); err != nil {
		return 0, 0, err
	}
	return good, bad, nil
}
