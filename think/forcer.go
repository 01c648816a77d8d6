package think

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
)

// DefaultWait is the word s1 appends in place of an early end of thinking.
const DefaultWait = "Wait"

// maxEmptyRounds bounds the rounds in a row in which the model generates
// nothing: a model that ends its thought at once after every Wait (or
// ends its text) cannot be made to reach Min; after this many the thought
// ends short of it and the answer is forced, rather than loop forever or
// lose the run. Its hidden tokens then show the minimum unmet.
const maxEmptyRounds = 8

// Forcer is a pareto.Generator that holds the model behind it to a
// thinking budget, as s1's budget forcing does (arXiv 2501.19393). Each
// sample is a chain of calls to Inner, which continues raw text: the
// first call writes the thought, at most the budget in tokens and stopped
// at the end-of-thinking marker; while fewer than Min thought tokens have
// been generated, an early end (the marker, or the end of sequence) is
// replaced by Wait and the thought goes on with what is left of the
// budget; once the budget is spent, or the thought ends after Min tokens,
// the marker and the answer cue are appended and the answer is written
// with the request's own MaxTokens and Stop. A thought the model opens in
// its answer is closed at once (where Open is known), so the sample's
// hidden tokens stay within the budget.
//
// The thought's generated tokens are the completion's HiddenTokens and the
// answer's its CompletionTokens; every other figure (calls, prompt tokens,
// cached tokens, FLOPs, latency) is the sum of the chain's calls, each of
// which reads its whole prompt again, as the server reports it. Wait, the
// marker and the cue are written into prompts, not generated, so they are
// charged as prompt tokens of the calls that read them, and the thought
// never generates more than the budget. Completion.Reasoning holds the
// thought as the model saw it, Wait words included.
//
// Put a Forcer above the run's generation cache: each call of a chain is
// then a request of its own to the cache, and a killed run resumes
// without paying for the calls it already made.
type Forcer struct {
	// Inner continues raw text: a completions API or the embedded engine,
	// or with Chat a chat API that continues a final assistant message.
	Inner pareto.Generator
	// Markers: Close ends a thought (the zero Markers mean Default); Open,
	// when not empty, is written after the prompt to begin one. Leave
	// Open empty when the prompt or the chat template opens the thought.
	Markers Markers
	// Budget caps the thought's generated tokens. Zero leaves the thought
	// to the request's MaxTokens, whose end then ends the thought too.
	Budget int
	// NoThought ends the thought before it starts: the prompt is followed
	// by the markers and the cue at once, and the answer is the only call
	// (a budget of zero, as s1 measures it). Budget and Min must be 0.
	NoThought bool
	// Min is the fewest thought tokens before the model may answer.
	Min int
	// Wait replaces an early end of thinking (DefaultWait when empty).
	Wait string
	// Cue is written after the end-of-thinking marker to start the
	// answer, e.g. "\n\nFinal Answer:"; it may be empty.
	Cue string
	// Chat continues the thought as a final assistant message, as a chat
	// API must be asked to; a request with Messages always does.
	Chat bool
	// Inline is for a model that thinks inside its answer, opening a
	// thought wherever it needs one (interleaved thinking; pareto's
	// arithmetic thinker works each step's sum in a thought before the
	// result). Nothing is written after the prompt: the answer is
	// generated up to the model's Open, the thought up to its Close, and
	// so on. Budget caps the tokens of all the answer's thoughts together:
	// the thought that reaches it is closed there (then Cue), and any
	// thought opened after it is closed at once, as is every thought
	// under NoThought. The hidden tokens are the thoughts'; the marker
	// that opens one is the answer's. Min is not taken: Wait has no place
	// inside an answer.
	Inline bool
}

var _ pareto.Generator = (*Forcer)(nil)

// Generate runs one chain per sample, concurrently. Sample i uses seed
// Seed+i, as the backends derive the seeds of a request's samples, so a
// chain's first call draws the same sample as the unforced request would.
func (f *Forcer) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	if err := f.check(req); err != nil {
		return nil, err
	}
	out := make([]pareto.Completion, max(req.N, 1))
	g, gctx := errgroup.WithContext(ctx)
	for i := range out {
		var seed *int64
		if req.Seed != nil {
			s := *req.Seed + int64(i)
			seed = &s
		}
		g.Go(func() error {
			chain := f.chain
			if f.Inline {
				chain = f.inline
			}
			c, err := chain(gctx, req, seed)
			if err != nil {
				return fmt.Errorf("think: sample %d: %w", i, err)
			}
			out[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// check refuses settings and requests the chain cannot honour.
func (f *Forcer) check(req pareto.Request) error {
	switch {
	case f.Inner == nil:
		return errors.New("think: Forcer.Inner is nil")
	case f.Budget < 0:
		return fmt.Errorf("think: Forcer.Budget is %d, want 0 (none) or more", f.Budget)
	case f.Min < 0:
		return fmt.Errorf("think: Forcer.Min is %d, want 0 (none) or more", f.Min)
	case f.NoThought && (f.Budget != 0 || f.Min != 0):
		return fmt.Errorf("think: Forcer.NoThought with Budget %d and Min %d: no thought has no budget or minimum", f.Budget, f.Min)
	case f.Budget > 0 && f.Min > f.Budget:
		return fmt.Errorf("think: Forcer.Min %d exceeds Forcer.Budget %d", f.Min, f.Budget)
	case f.Budget == 0 && req.MaxTokens > 0 && f.Min > req.MaxTokens:
		return fmt.Errorf("think: Forcer.Min %d exceeds MaxTokens %d, which caps the thought when there is no Budget", f.Min, req.MaxTokens)
	case f.Markers.OrDefault().Close == "":
		return errors.New("think: Forcer.Markers.Close is empty: the thought could not be told to end")
	case f.Inline && f.Markers.OrDefault().Open == "":
		return errors.New("think: Forcer.Inline with an empty Markers.Open: a thought inside the answer could not be seen to start")
	case f.Inline && f.Min > 0:
		return fmt.Errorf("think: Forcer.Inline with Min %d: a minimum is kept by writing Wait into one thought before the answer, not into thoughts inside it", f.Min)
	case req.N < 0 || req.MaxTokens < 0:
		return errors.New("think: negative N or MaxTokens")
	}
	return nil
}

// thought writes one sample's thought, call by call, to the budget: the
// text (Wait words included), its calls' usage with every generated token
// hidden, and its wall time.
func (f *Forcer) thought(ctx context.Context, req pareto.Request, seed *int64) (thought string, used pareto.Usage, thinking time.Duration, err error) {
	m := f.Markers.OrDefault()
	budget := f.Budget
	if budget == 0 {
		budget = req.MaxTokens // may be 0 too: no cap but the server's
	}
	wait := f.Wait
	if wait == "" {
		wait = DefaultWait
	}
	spent, empty := 0, 0
	for !f.NoThought {
		call := f.request(req, seed, m.Open+thought)
		call.Stop = []string{m.Close}
		call.MaxTokens = max(budget-spent, 0)
		call.Logprobs, call.TopLogprobs = false, 0
		c, err := one(ctx, f.Inner, call)
		if err != nil {
			return "", pareto.Usage{}, 0, err
		}
		if c.Usage.Unreported > 0 {
			return "", pareto.Usage{}, 0, errors.New("think: the backend reported no token usage for a thought; a budget cannot be kept without token counts")
		}
		u := c.Usage
		gen := u.CompletionTokens + u.HiddenTokens
		u.HiddenTokens, u.CompletionTokens = gen, 0
		used.Add(u)
		thinking += u.Latency
		spent += gen
		// The inner backend may have split what it generated into
		// reasoning and text (it sees an open thought); both are thought.
		thought += c.Reasoning + c.Text
		if budget > 0 && spent >= budget {
			break // the budget is spent: force the end
		}
		if gen == 0 {
			if empty++; empty >= maxEmptyRounds {
				break // it will not think longer: answer with what it has
			}
		} else {
			empty = 0
		}
		if c.FinishReason == "length" {
			if budget == 0 {
				break // the server's own cap ended the thought
			}
			continue // a server that stopped short of max_tokens: go on
		}
		// The thought ended early, at the marker or the end of sequence.
		if spent >= f.Min {
			break
		}
		thought += wait
	}
	return thought, used, thinking, nil
}

// Think writes a hidden thought after req's prompt, once, and returns the
// text that follows the prompt from then on (the markers around the
// thought, and the cue) with the thought's cost: a tree search thinks
// once at its root and grows its steps after this. req asks for one
// sample.
func (f *Forcer) Think(ctx context.Context, req pareto.Request) (string, pareto.Usage, error) {
	if err := f.check(req); err != nil {
		return "", pareto.Usage{}, err
	}
	if req.N > 1 {
		return "", pareto.Usage{}, fmt.Errorf("think: Think writes one thought, asked for %d", req.N)
	}
	m := f.Markers.OrDefault()
	thought, used, _, err := f.thought(ctx, req, req.Seed)
	if err != nil {
		return "", pareto.Usage{}, err
	}
	return m.Open + thought + m.Close + f.Cue, used, nil
}

// chain makes one sample: the thought, call by call, then the answer.
// Where the thought's Open is known, the answer is written by answer: a
// thought the model opens in its answer is closed at once, so the budget
// holds for all the hidden tokens of the sample.
func (f *Forcer) chain(ctx context.Context, req pareto.Request, seed *int64) (pareto.Completion, error) {
	m := f.Markers.OrDefault()
	thought, used, thinking, err := f.thought(ctx, req, seed)
	if err != nil {
		return pareto.Completion{}, err
	}
	prefix := m.Open + thought + m.Close + f.Cue
	if m.Open != "" {
		return f.answer(ctx, req, seed, answerState{text: prefix, thoughts: []string{thought}, used: used, thinking: thinking, closed: true})
	}
	call := f.request(req, seed, prefix)
	c, err := one(ctx, f.Inner, call)
	if err != nil {
		return pareto.Completion{}, err
	}
	u := c.Usage
	if c.Text == "" && c.Reasoning != "" {
		// A server whose reasoning parser did not see the forced marker in
		// what it generated calls the whole answer reasoning; after the
		// marker it is the answer.
		c.Text, c.Reasoning = c.Reasoning, ""
		u.CompletionTokens, u.HiddenTokens = u.CompletionTokens+u.HiddenTokens, 0
	}
	if u.TTFT > 0 {
		u.TTFT += thinking // the first visible token comes after the thought
	}
	used.TTFT = 0
	used.Add(u)
	if c.Reasoning != "" {
		// The model thought again after the forced end and its Open is not
		// known, so it could not be stopped: that is hidden compute too,
		// beyond the budget, and is counted as such.
		thought += "\n" + c.Reasoning
	}
	return pareto.Completion{
		Text: c.Text, Reasoning: thought, FinishReason: c.FinishReason, Stop: c.Stop,
		Logprobs: c.Logprobs, Usage: used,
	}, nil
}

// inline makes one sample of a model that thinks inside its answer (see
// Forcer.Inline): answer from the prompt on.
func (f *Forcer) inline(ctx context.Context, req pareto.Request, seed *int64) (pareto.Completion, error) {
	return f.answer(ctx, req, seed, answerState{})
}

// answerState is where a sample's answer starts: the text after the prompt
// so far (markers included), the thoughts and usage so far, the hidden
// tokens spent and the time they took; closed closes every thought the
// answer opens at once (the thought before the answer had the budget).
type answerState struct {
	text     string
	thoughts []string
	used     pareto.Usage
	spent    int
	thinking time.Duration
	closed   bool
}

// answer writes a sample's answer after st.text: answer calls stopped at
// the model's Open, thought calls stopped at its Close, in turn, each
// continuing all the text before it. Text is the answer's parts joined,
// Reasoning the thoughts one per line; the thoughts' generated tokens are
// hidden, the answer's visible, and the answer's parts together get the
// request's MaxTokens.
func (f *Forcer) answer(ctx context.Context, req pareto.Request, seed *int64, st answerState) (pareto.Completion, error) {
	m := f.Markers.OrDefault()
	var (
		visible  string // the answer's parts
		last     pareto.Completion
		logprobs []pareto.TokenLogprob
		shown    int // visible tokens generated
		empty    int // rounds in a row that generated nothing
	)
	text, thoughts, used, spent := st.text, st.thoughts, st.used, st.spent
	for first := true; ; first = false {
		call := f.request(req, seed, text)
		call.Stop = append(slices.Clip(req.Stop), m.Open)
		if req.MaxTokens > 0 {
			call.MaxTokens = req.MaxTokens - shown
			if call.MaxTokens <= 0 {
				last.FinishReason, last.Stop = "length", ""
				break
			}
		}
		c, err := one(ctx, f.Inner, call)
		if err != nil {
			return pareto.Completion{}, err
		}
		if c.Usage.Unreported > 0 {
			return pareto.Completion{}, errors.New("think: the backend reported no token usage for an answer; a budget cannot be kept without token counts")
		}
		if c.Text == "" && c.Reasoning != "" && c.Stop != m.Open {
			// A server whose reasoning parser did not see the thought end
			// in what it generated calls the whole answer reasoning; after
			// the end marker it is the answer.
			c.Text, c.Reasoning = c.Reasoning, ""
		}
		if !first {
			c.Usage.TTFT = 0 // the first token came in an earlier call
		} else if used.TTFT = 0; c.Usage.TTFT > 0 {
			c.Usage.TTFT += st.thinking // the first visible token comes after the thought
		}
		// An answer call starts outside a thought and stops where the
		// model opens one: all it generated is the answer's, as s1 counts
		// what follows a forced end of thinking. That holds for the marker
		// that opens the next thought (a backend counts it as hidden) and
		// for text a backend splits off as a thought (a model that goes
		// on with a cut thought and writes the end marker itself): that
		// text stays in Reasoning to be read, its tokens are the answer's.
		// So the hidden tokens are the thoughts the Forcer let run, within
		// the budget.
		c.Usage.CompletionTokens += c.Usage.HiddenTokens
		c.Usage.HiddenTokens = 0
		used.Add(c.Usage)
		shown += c.Usage.CompletionTokens
		opened := c.Stop == m.Open
		closeAtOnce := st.closed || f.NoThought || (f.Budget > 0 && spent >= f.Budget)
		if c.Reasoning != "" {
			thoughts = append(thoughts, c.Reasoning) // thought the backend saw and split off
		}
		text += c.Text
		visible += c.Text
		logprobs = append(logprobs, c.Logprobs...)
		last = c
		if !opened {
			break // the answer ended: at the end of sequence, its cap, or a stop of the request
		}
		gen := c.Usage.CompletionTokens // all of the call's, hidden ones moved above
		text += m.Open
		thought := ""
		if !closeAtOnce {
			call = f.request(req, seed, text)
			call.Stop = []string{m.Close}
			call.MaxTokens = 0
			if f.Budget > 0 {
				call.MaxTokens = f.Budget - spent
			}
			call.Logprobs, call.TopLogprobs = false, 0
			t, err := one(ctx, f.Inner, call)
			if err != nil {
				return pareto.Completion{}, err
			}
			u := t.Usage
			n := u.CompletionTokens + u.HiddenTokens
			u.HiddenTokens, u.CompletionTokens, u.TTFT = n, 0, 0
			used.Add(u)
			spent += n
			gen += n
			thought = t.Reasoning + t.Text
			thoughts = append(thoughts, thought)
			if t.Stop != m.Close && t.FinishReason == "length" {
				thought += m.Close + f.Cue // the budget ended it
			} else {
				thought += m.Close
			}
		} else {
			thought = m.Close // over budget: closed as soon as it opens
		}
		text += thought
		if gen == 0 {
			if empty++; empty >= maxEmptyRounds {
				break // a model that only opens thoughts: end the answer here
			}
		} else {
			empty = 0
		}
	}
	return pareto.Completion{
		Text: visible, Reasoning: strings.Join(thoughts, "\n"), FinishReason: last.FinishReason, Stop: last.Stop,
		Logprobs: logprobs, Usage: used,
	}, nil
}

// request is req as one call of a chain for one sample: prefix continues
// the prompt, or on a chat API the final assistant message.
func (f *Forcer) request(req pareto.Request, seed *int64, prefix string) pareto.Request {
	r := req
	r.N, r.Seed = 1, seed
	if !f.Chat && len(req.Messages) == 0 {
		r.Prompt = req.Prompt + prefix
		return r
	}
	msgs := req.Messages
	if len(msgs) == 0 {
		msgs = []pareto.Message{{Role: "user", Content: req.Prompt}}
	}
	if last := msgs[len(msgs)-1]; last.Role == "assistant" {
		prefix = last.Content + prefix // the caller's own start of the answer
		msgs = msgs[:len(msgs)-1]
	}
	if prefix != "" {
		msgs = append(slices.Clip(msgs), pareto.Message{Role: "assistant", Content: prefix})
	}
	r.Prompt, r.Messages = "", msgs
	return r
}

// one makes a call for one completion.
func one(ctx context.Context, g pareto.Generator, req pareto.Request) (pareto.Completion, error) {
	cs, err := g.Generate(ctx, req)
	if err != nil {
		return pareto.Completion{}, err
	}
	if len(cs) != 1 {
		return pareto.Completion{}, fmt.Errorf("think: backend returned %d completions, asked for 1", len(cs))
	}
	return cs[0], nil
}
