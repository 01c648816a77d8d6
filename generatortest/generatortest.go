// Package generatortest implements support for testing implementations of
// pareto.Generator: a conformance suite that every backend, cache and
// wrapper must pass.
package generatortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pareto-llm/pareto"
)

// Options describe the generator under test where the contract leaves it a
// choice. The zero value claims nothing beyond the contract itself.
type Options struct {
	// Prompt is the prompt of every request. It should make the generator
	// write some text at temperature 0: the stop check cuts its greedy
	// output in two. Default "Once upon a time".
	Prompt string
	// MaxTokens is the completion length the checks ask for (default 16).
	MaxTokens int
	// LongMaxTokens is the completion length asked for by the check that
	// cancels a generation in flight; it should make generation take a
	// while (default 1024).
	LongMaxTokens int
	// Deterministic declares that greedy decoding (temperature 0) gives the
	// same text every time; the stop check then also wants the output with
	// a stop string to be the output without it, cut there.
	Deterministic bool
	// Seeded declares that Params.Seed makes sampling at temperature > 0
	// reproducible.
	Seeded bool
	// FanOut declares that the generator makes one call per completion (as
	// the openai backend does for a server that ignores n), so that each
	// completion carries a call and its prompt, rather than the first
	// carrying them for all.
	FanOut bool
	// Chained declares that each completion is made by a chain of calls
	// of its own (as think.Forcer makes: a thought, its continuations,
	// the answer), each reading its whole prompt: each completion is
	// charged its chain's calls, at least one, and their prompts, so
	// prompt charges are not compared across requests.
	Chained bool
	// HiddenBeyond declares that a completion may generate up to this many
	// hidden tokens beyond MaxTokens, which then caps its visible tokens
	// alone (a thinking budget of its own, as think.Forcer's).
	HiddenBeyond int
}

// ShippedPolicy returns the Options for a deterministic, seeded generator
// (pareto's engine, Ollama) running the shipped policy (models.Default):
// the prompt is a synth question, to which the policy writes a short
// solution and stops at end-of-sequence.
func ShippedPolicy() Options {
	return Options{
		Prompt:        "Question: Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?\nAnswer (step by step):\n",
		Deterministic: true,
		Seeded:        true,
	}
}

// Bounds of the cancellation checks; variables so the package's own tests
// can shorten them.
var (
	// patience bounds how long Generate may take to return once its
	// context is canceled. It is a correctness bound, not a speed target.
	patience = 10 * time.Second
	// inFlight is how long a long generation runs before it is canceled.
	inFlight = 20 * time.Millisecond
)

// Run tests a generator implementation. Each rule of the contract is a
// subtest of t:
//
//   - N: N=0 and N=1 give exactly one completion, N=3 exactly three.
//   - MaxTokens: no completion is charged more than MaxTokens generated
//     tokens (CompletionTokens + HiddenTokens) where usage is reported,
//     plus the hidden tokens opts declare (HiddenBeyond).
//   - Usage: each completion's usage is its share of the call's: the call
//     and its prompt are charged once (to the first completion unless
//     opts declare FanOut, or Chained: each completion its own calls),
//     nothing is negative, cached prompt tokens are
//     part of the prompt tokens, and a call that reports no token counts is
//     counted as Unreported.
//   - Stop: no completion's text contains a requested stop string, and a
//     completion's Stop, when set, is one of them, with FinishReason
//     "stop". For a Deterministic generator, a stop string taken from the
//     middle of its greedy output cuts that output there, with
//     FinishReason "stop".
//   - Canceled: a canceled context makes Generate return an error that
//     wraps context.Canceled, promptly.
//   - CanceledInFlight: canceling a long generation makes Generate return
//     promptly, with such an error if it did not finish first.
//   - Deterministic and Seed, where opts declare them: greedy output, and
//     seeded samples at temperature 1, are the same on every call.
//
// The count, usage and stop rules are checked on every call the suite
// makes. At most one Options may be given.
func Run(t *testing.T, g pareto.Generator, opts ...Options) {
	t.Helper()
	if len(opts) > 1 {
		t.Fatalf("generatortest.Run: %d Options given, want at most one", len(opts))
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	o = o.withDefaults()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			err := c.fn(t.Context(), g, o)
			var s skip
			if errors.As(err, &s) {
				t.Skip(string(s))
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func (o Options) withDefaults() Options {
	if o.Prompt == "" {
		o.Prompt = "Once upon a time"
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 16
	}
	if o.LongMaxTokens <= 0 {
		o.LongMaxTokens = 1024
	}
	return o
}

// skip is a check's reason for not applying to the generator.
type skip string

func (s skip) Error() string { return string(s) }

// A check tests one rule and returns what it found wrong.
type check struct {
	name string
	fn   func(ctx context.Context, g pareto.Generator, o Options) error
}

var checks = []check{
	{"N", checkN},
	{"MaxTokens", checkMaxTokens},
	{"Usage", checkUsage},
	{"Stop", checkStop},
	{"Canceled", checkCanceled},
	{"CanceledInFlight", checkCanceledInFlight},
	{"Deterministic", checkDeterministic},
	{"Seed", checkSeed},
}

func seed(s int64) *int64 { return &s }

// request is a request for o's prompt.
func (o Options) request(p pareto.Params) pareto.Request {
	return pareto.Request{Prompt: o.Prompt, Params: p}
}

// describe names a request in messages.
func describe(req pareto.Request) string {
	s := fmt.Sprintf("Generate(N=%d, Temperature=%g, MaxTokens=%d", req.N, req.Temperature, req.MaxTokens)
	if req.Seed != nil {
		s += fmt.Sprintf(", Seed=%d", *req.Seed)
	}
	if len(req.Stop) > 0 {
		s += fmt.Sprintf(", Stop=%q", req.Stop)
	}
	return s + ")"
}

// generate calls g and checks the rules every call must keep.
func generate(ctx context.Context, g pareto.Generator, o Options, req pareto.Request) ([]pareto.Completion, error) {
	comps, err := g.Generate(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", describe(req), err)
	}
	if err := validate(o, req, comps); err != nil {
		return nil, fmt.Errorf("%s: %w", describe(req), err)
	}
	return comps, nil
}

// validate checks one call's completions: their number, their stop
// strings, and usage that adds up to the call's.
func validate(o Options, req pareto.Request, comps []pareto.Completion) error {
	if want := max(req.N, 1); len(comps) != want {
		return fmt.Errorf("count: %d completions, want exactly max(N,1) = %d", len(comps), want)
	}
	var errs []error
	report := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var sum pareto.Usage
	for i, c := range comps {
		u := c.Usage
		sum.Add(u)
		if err := u.Check(); err != nil {
			report("usage: completion %d: %v", i, err)
		}
		if at, stop := firstStop(c.Text, req.Stop); at >= 0 {
			report("stop: completion %d text %q contains the stop string %q", i, c.Text, stop)
		}
		if c.Stop != "" && !slices.Contains(req.Stop, c.Stop) {
			report("stop: completion %d has Stop %q, which is not one of the requested stop strings %q", i, c.Stop, req.Stop)
		}
		if c.Stop != "" && c.FinishReason != "stop" {
			report("stop: completion %d has Stop %q but FinishReason %q, want \"stop\"", i, c.Stop, c.FinishReason)
		}
		if n := u.CompletionTokens + u.HiddenTokens; req.MaxTokens > 0 && n > req.MaxTokens+o.HiddenBeyond {
			report("max tokens: completion %d is charged %d generated tokens (CompletionTokens %d + HiddenTokens %d), more than MaxTokens %d (+ %d hidden declared)",
				i, n, u.CompletionTokens, u.HiddenTokens, req.MaxTokens, o.HiddenBeyond)
		}
		if req.MaxTokens > 0 && u.CompletionTokens > req.MaxTokens {
			report("max tokens: completion %d is charged %d visible tokens, more than MaxTokens %d", i, u.CompletionTokens, req.MaxTokens)
		}
	}
	if sum.Unreported > sum.Calls {
		report("usage: %d calls are counted as Unreported but only %d calls are counted", sum.Unreported, sum.Calls)
	}
	switch {
	case o.Chained:
		for i, c := range comps {
			u := c.Usage
			if u.Calls < 1 {
				report("usage: completion %d is charged %d calls; a chained generator makes at least one call per completion", i, u.Calls)
			}
			if u.Unreported == 0 && u.PromptTokens == 0 {
				report("usage: completion %d is charged no prompt tokens and its calls are not counted as Unreported", i)
			}
		}
	case o.FanOut:
		for i, c := range comps {
			u := c.Usage
			if u.Calls != 1 {
				report("usage: completion %d is charged %d calls; a generator that fans out makes one call per completion", i, u.Calls)
			}
			if u.Unreported == 0 && u.PromptTokens == 0 {
				report("usage: completion %d is charged no prompt tokens and its call is not counted as Unreported", i)
			}
		}
	default:
		if sum.Calls != 1 {
			report("usage: the completions of one call are charged %d calls, want 1", sum.Calls)
		}
		for i, c := range comps[1:] {
			if u := c.Usage; u.Calls != 0 || u.PromptTokens != 0 || u.CachedTokens != 0 {
				report("usage: completion %d is charged the call again (Calls %d, PromptTokens %d, CachedTokens %d); the call and its prompt are charged to the first completion only",
					i+1, u.Calls, u.PromptTokens, u.CachedTokens)
			}
		}
		if sum.Unreported == 0 && comps[0].Usage.PromptTokens == 0 {
			report("usage: no prompt tokens are charged and the call is not counted as Unreported")
		}
	}
	if sum.Unreported == 0 && sum.CompletionTokens+sum.HiddenTokens == 0 && slices.ContainsFunc(comps, func(c pareto.Completion) bool { return c.Text != "" }) {
		report("usage: the completions have text but are charged no generated tokens, and the call is not counted as Unreported")
	}
	return errors.Join(errs...)
}

// firstStop is where the first of stops occurs in text, and which; -1 when
// none does.
func firstStop(text string, stops []string) (int, string) {
	at, which := -1, ""
	for _, s := range stops {
		if i := strings.Index(text, s); s != "" && i >= 0 && (at < 0 || i < at) {
			at, which = i, s
		}
	}
	return at, which
}

func checkN(ctx context.Context, g pareto.Generator, o Options) error {
	var errs []error
	for _, n := range []int{0, 1, 3} {
		_, err := generate(ctx, g, o, o.request(pareto.Params{N: n, MaxTokens: o.MaxTokens, Seed: seed(1)}))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkMaxTokens(ctx context.Context, g pareto.Generator, o Options) error {
	// Short limits, where sampled completions of different lengths are
	// cut; generate checks the bound on every completion.
	var errs []error
	for _, p := range []pareto.Params{
		{N: 1, MaxTokens: 1},
		{N: 3, MaxTokens: min(o.MaxTokens, 4), Temperature: 1, Seed: seed(2)},
		{N: 3, MaxTokens: o.MaxTokens, Temperature: 1, Seed: seed(3)},
	} {
		_, err := generate(ctx, g, o, o.request(p))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkUsage(ctx context.Context, g pareto.Generator, o Options) error {
	one, err := generate(ctx, g, o, o.request(pareto.Params{N: 1, MaxTokens: o.MaxTokens}))
	if err != nil {
		return err
	}
	three, err := generate(ctx, g, o, o.request(pareto.Params{N: 3, MaxTokens: o.MaxTokens}))
	if err != nil {
		return err
	}
	var u1, u3 pareto.Usage
	for _, c := range one {
		u1.Add(c.Usage)
	}
	for _, c := range three {
		u3.Add(c.Usage)
	}
	if u1.Unreported > 0 || u3.Unreported > 0 || o.Chained {
		return nil // no token counts to compare, or prompts of chains that differ
	}
	calls := 1
	if o.FanOut {
		calls = 3
	}
	if u3.PromptTokens != calls*u1.PromptTokens {
		return fmt.Errorf("usage: a call for 3 completions is charged %d prompt tokens and a call for 1 completion %d; want %d (the prompt is charged once per call)",
			u3.PromptTokens, u1.PromptTokens, calls*u1.PromptTokens)
	}
	return nil
}

// pickStop chooses a stop string for the greedy output text: a few
// characters of it, not blank, whose first occurrence is at a position
// after 0 and as near the middle as possible, so that cutting there leaves
// text on both sides.
func pickStop(text string) (stop string, at int, ok bool) {
	mid := len(text) / 2
	for d := 0; d <= len(text); d++ {
		for _, i := range []int{mid + d, mid - d} {
			if i <= 0 || i >= len(text) || !utf8.RuneStart(text[i]) {
				continue
			}
			end := i
			for n := 0; n < 3 && end < len(text); n++ {
				_, size := utf8.DecodeRuneInString(text[end:])
				end += size
			}
			s := text[i:end]
			if strings.TrimSpace(s) != "" && strings.Index(text, s) == i {
				return s, i, true
			}
		}
	}
	return "", 0, false
}

func checkStop(ctx context.Context, g pareto.Generator, o Options) error {
	first, err := generate(ctx, g, o, o.request(pareto.Params{MaxTokens: o.MaxTokens}))
	if err != nil {
		return err
	}
	text := first[0].Text
	stop, at, ok := pickStop(text)
	if !ok {
		return skip(fmt.Sprintf("greedy output %q is too short to take a stop string from: give a Prompt it continues further", text))
	}
	// A stop string that never occurs comes first, so that a generator
	// honouring only the first of several is caught.
	decoy := "\u2603\u2603\u2603"
	stops := []string{stop}
	if !strings.Contains(text, decoy) {
		stops = []string{decoy, stop}
	}
	req := o.request(pareto.Params{MaxTokens: o.MaxTokens, Stop: stops})
	cut, err := generate(ctx, g, o, req)
	if err != nil {
		return err
	}
	c := cut[0]
	if !o.Deterministic {
		return nil // generate checked that the stop string is not in the text
	}
	var errs []error
	if c.Text != text[:at] {
		errs = append(errs, fmt.Errorf("stop: greedy output %q with stop string %q is %q, want %q (the output without it, cut at the stop string)", text, stop, c.Text, text[:at]))
	}
	if c.FinishReason != "stop" {
		errs = append(errs, fmt.Errorf("stop: greedy output %q with stop string %q has FinishReason %q, want \"stop\"", text, stop, c.FinishReason))
	}
	if c.Stop != "" && c.Stop != stop {
		errs = append(errs, fmt.Errorf("stop: greedy output %q with stop string %q has Stop %q, want %q or empty", text, stop, c.Stop, stop))
	}
	return errors.Join(errs...)
}

// result is what a call of Generate returned.
type result struct {
	comps []pareto.Completion
	err   error
}

// cancelDuring runs Generate, cancels its context after the given time
// (at once when it is 0), and waits at most patience more. ok is false when
// Generate had not returned by then.
func cancelDuring(ctx context.Context, cancel context.CancelFunc, after time.Duration, g pareto.Generator, req pareto.Request) (r result, ok bool) {
	done := make(chan result, 1)
	go func() {
		comps, err := g.Generate(ctx, req)
		done <- result{comps, err}
	}()
	if after > 0 {
		select {
		case r := <-done:
			return r, true
		case <-time.After(after):
		}
	}
	cancel()
	select {
	case r := <-done:
		return r, true
	case <-time.After(patience):
		return result{}, false
	}
}

func checkCanceled(ctx context.Context, g pareto.Generator, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	req := o.request(pareto.Params{MaxTokens: o.MaxTokens})
	r, ok := cancelDuring(ctx, cancel, 0, g, req)
	switch {
	case !ok:
		return fmt.Errorf("cancel: %s with a canceled context did not return within %v", describe(req), patience)
	case r.err == nil:
		return fmt.Errorf("cancel: %s with a canceled context returned no error, want an error wrapping context.Canceled", describe(req))
	case !errors.Is(r.err, context.Canceled):
		return fmt.Errorf("cancel: %s with a canceled context returned error %q, which does not wrap context.Canceled", describe(req), r.err)
	}
	return nil
}

func checkCanceledInFlight(ctx context.Context, g pareto.Generator, o Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Sampled and unseeded, so that no cache can answer it.
	req := o.request(pareto.Params{N: 2, MaxTokens: o.LongMaxTokens, Temperature: 1})
	r, ok := cancelDuring(ctx, cancel, inFlight, g, req)
	switch {
	case !ok:
		return fmt.Errorf("cancel: %s canceled after %v did not return within %v of the cancellation", describe(req), inFlight, patience)
	case r.err != nil && !errors.Is(r.err, context.Canceled):
		return fmt.Errorf("cancel: %s canceled after %v returned error %q, which does not wrap context.Canceled", describe(req), inFlight, r.err)
	case r.err == nil:
		// It finished before it saw the cancellation; what it returned
		// must still keep the contract.
		if err := validate(o, req, r.comps); err != nil {
			return fmt.Errorf("%s: %w", describe(req), err)
		}
	}
	return nil
}

func checkDeterministic(ctx context.Context, g pareto.Generator, o Options) error {
	if !o.Deterministic {
		return skip("the generator does not declare Options.Deterministic")
	}
	a, b, err := twice(ctx, g, o, o.request(pareto.Params{N: 2, MaxTokens: o.MaxTokens}))
	if err != nil {
		return err
	}
	for i := range a {
		for _, c := range [][]pareto.Completion{a, b} {
			if c[i].Text != a[0].Text {
				return fmt.Errorf("deterministic: greedy completions differ: %q and %q", a[0].Text, c[i].Text)
			}
		}
	}
	return nil
}

func checkSeed(ctx context.Context, g pareto.Generator, o Options) error {
	if !o.Seeded {
		return skip("the generator does not declare Options.Seeded")
	}
	a, b, err := twice(ctx, g, o, o.request(pareto.Params{N: 2, MaxTokens: o.MaxTokens, Temperature: 1, Seed: seed(7)}))
	if err != nil {
		return err
	}
	for i := range a {
		if a[i].Text != b[i].Text {
			return fmt.Errorf("seed: completion %d of two calls with the same seed differs: %q and %q", i, a[i].Text, b[i].Text)
		}
	}
	return nil
}

// twice makes the same request two times.
func twice(ctx context.Context, g pareto.Generator, o Options, req pareto.Request) (a, b []pareto.Completion, err error) {
	if a, err = generate(ctx, g, o, req); err != nil {
		return nil, nil, err
	}
	b, err = generate(ctx, g, o, req)
	return a, b, err
}
