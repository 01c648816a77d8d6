package reward

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/gguf"
)

// IsPRM reports whether the GGUF file at path is a process reward model:
// whether its metadata says how it reads steps (KeyPrompt).
func IsPRM(path string) (bool, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return false, fmt.Errorf("prm: %w", err)
	}
	defer f.Close()
	_, ok := f.String(KeyPrompt)
	return ok, nil
}

// SeparatorID is the token id of the step separator sep in tok's
// vocabulary, as it ends a step. A PRM scores a step at its separator's
// token, so a separator that is not exactly one token of the vocabulary
// there (several, or one unknown token) would put the scores at the wrong
// positions: that is an error. It is probed after a digit, as steps end,
// since a tokenizer may spell a piece alone otherwise (SentencePiece puts
// a space before it).
func SeparatorID(tok Encoder, sep string) (int, error) {
	const probe = "0"
	base, with := tok.Encode(probe, false), tok.Encode(probe+sep, false)
	if len(with) != len(base)+1 || !slices.Equal(with[:len(base)], base) {
		return 0, fmt.Errorf("step separator %q is not one token of this vocabulary: after %q it adds %d tokens, want 1", sep, probe, len(with)-len(base))
	}
	id := with[len(base)]
	if d, ok := tok.(interface{ Decode([]int) string }); ok {
		if got := d.Decode([]int{id}); got != sep {
			return 0, fmt.Errorf("step separator %q is not in this vocabulary: it encodes to token %d, which reads %q", sep, id, got)
		}
	}
	return id, nil
}

// ScoreTags scores text as vLLM's STEP pooling does: at every occurrence
// of the step separator (StepSeparator), the question's and template's
// own included, the probability that the text up to there is right, one
// forward pass over the text. It is what `pareto serve` answers on
// /pooling; the caller picks the rows of its steps. Like Score it reuses
// the KV and the scores of text scored before, and its usage is the
// forward compute it spent. It is safe for concurrent use.
func (p *PRM) ScoreTags(ctx context.Context, text string) ([]float64, pareto.Usage, error) {
	start := time.Now()
	var u pareto.Usage
	if err := ctx.Err(); err != nil {
		return nil, u, err
	}
	tokens := p.enc.Encode(text, true)
	if n := len(tokens); n > p.m.Config.Context {
		return nil, u, fmt.Errorf("prm: the input is %d tokens, more than the model's context of %d", n, p.m.Config.Context)
	}
	// Each end comes from encoding the text up to it, as in Encode.
	var ends []int
	for at := 0; ; {
		i := strings.Index(text[at:], StepSeparator)
		if i < 0 {
			break
		}
		at += i + len(StepSeparator)
		ends = append(ends, len(p.enc.Encode(text[:at], true))-1)
	}
	u.Calls, u.PromptTokens = 1, len(tokens)
	scores, err := p.scoreEnds(ctx, start, tokens, ends, "separator", &u)
	return scores, u, err
}
