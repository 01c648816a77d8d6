package generatortest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/internal/childtest"
)

// fake is a generator that keeps the contract, unless broken names a rule
// it breaks. Its tokens are words drawn from the prompt and the sample's
// seed; a completion ends at a stop string or after MaxTokens tokens.
type fake struct {
	broken string
	delay  time.Duration // per token
}

var words = []string{"the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "far", "away"}

func (f *fake) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	if err := ctx.Err(); err != nil && f.broken != "ignores cancellation" {
		if f.broken == "hides the cancellation" {
			return nil, errors.New("fake: canceled")
		}
		return nil, fmt.Errorf("fake: %w", err)
	}
	n := max(req.N, 1)
	if f.broken == "wrong count" {
		n = req.N
	}
	maxTok := req.MaxTokens
	if maxTok <= 0 {
		maxTok = 16
	}
	switch f.broken {
	case "ignores max tokens":
		maxTok++
	case "says nothing":
		maxTok = 0
	}
	out := make([]pareto.Completion, n)
	for i := range out {
		var r *rand.Rand
		switch {
		case req.Temperature == 0 && f.broken != "random greedy":
			r = rand.New(rand.NewPCG(hash(req.Prompt), 0))
		case req.Seed != nil && f.broken != "ignores seed":
			r = rand.New(rand.NewPCG(hash(req.Prompt), uint64(*req.Seed)+uint64(i)))
		default:
			r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		c := &out[i]
		c.FinishReason = "length"
		for k := 0; k < maxTok; k++ {
			if k > 0 {
				c.Text += " "
			}
			c.Text += words[r.IntN(len(words))]
			c.Usage.CompletionTokens++
			if at, stop := firstStop(c.Text, req.Stop); at >= 0 {
				if f.broken != "keeps the stop string" {
					c.Text = c.Text[:at]
				}
				c.FinishReason, c.Stop = "stop", stop
				if f.broken == "wrong Stop" {
					c.Stop = "?"
				}
				break
			}
			if f.delay > 0 {
				if strings.HasPrefix(f.broken, "ignores cancellation") {
					time.Sleep(f.delay)
					continue
				}
				select {
				case <-ctx.Done():
					return nil, fmt.Errorf("fake: %w", ctx.Err())
				case <-time.After(f.delay):
				}
			}
		}
	}
	prompt := len(strings.Fields(req.Prompt))
	if n == 0 {
		return out, nil
	}
	out[0].Usage.Calls, out[0].Usage.PromptTokens = 1, prompt
	switch f.broken {
	case "charges twice":
		for i := range out {
			out[i].Usage.Calls, out[i].Usage.PromptTokens = 1, prompt
		}
	case "charges the prompt per completion":
		out[0].Usage.PromptTokens = n * prompt
	case "caches more than the prompt":
		out[0].Usage.CachedTokens = prompt + 1
	}
	return out, nil
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

var declared = Options{Deterministic: true, Seeded: true, LongMaxTokens: 512}

func init() {
	// The fake takes a millisecond a token, so a long generation of two
	// completions lasts a second: more than the patience given here.
	patience = 300 * time.Millisecond
}

func TestConformingGeneratorPasses(t *testing.T) {
	g := &fake{delay: time.Millisecond}
	o := declared.withDefaults()
	for _, c := range checks {
		if err := c.fn(t.Context(), g, o); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	Run(t, g, declared)
}

// TestBrokenGeneratorsFail runs the checks on generators that each break
// one rule, and wants that rule's check to fail with a message naming it.
func TestBrokenGeneratorsFail(t *testing.T) {
	for _, tc := range []struct {
		broken string
		check  string
		want   string
		opts   Options
	}{
		{broken: "wrong count", check: "N", want: "count: 0 completions, want exactly max(N,1) = 1"},
		{broken: "keeps the stop string", check: "Stop", want: "stop: completion 0 text"},
		{broken: "wrong Stop", check: "Stop", want: `has Stop "?", which is not one of the requested stop strings`},
		{broken: "charges twice", check: "Usage", want: "usage: the completions of one call are charged 3 calls, want 1"},
		{broken: "charges twice", check: "Usage", want: "completion 1 is charged the call again"},
		{broken: "charges the prompt per completion", check: "Usage", want: "a call for 3 completions is charged 12 prompt tokens and a call for 1 completion 4"},
		{broken: "caches more than the prompt", check: "Usage", want: "5 cached tokens of 4 prompt tokens"},
		{broken: "ignores max tokens", check: "MaxTokens", want: "max tokens: completion 0 is charged 2 generated tokens (CompletionTokens 2 + HiddenTokens 0), more than MaxTokens 1"},
		{broken: "ignores cancellation", check: "Canceled", want: "with a canceled context returned no error, want an error wrapping context.Canceled"},
		{broken: "hides the cancellation", check: "Canceled", want: `returned error "fake: canceled", which does not wrap context.Canceled`},
		{broken: "ignores cancellation in flight", check: "CanceledInFlight", want: "did not return within 300ms of the cancellation"},
		{broken: "random greedy", check: "Deterministic", want: "deterministic: greedy completions differ"},
		{broken: "random greedy", check: "Stop", want: "(the output without it, cut at the stop string)"},
		{broken: "ignores seed", check: "Seed", want: "seed: completion 0 of two calls with the same seed differs"},
	} {
		t.Run(tc.broken+"/"+tc.check, func(t *testing.T) {
			g := &fake{broken: tc.broken, delay: time.Millisecond}
			err := runCheck(t, tc.check, g, declared)
			if err == nil {
				t.Fatalf("%s passed a generator that %s", tc.check, tc.broken)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s failed a generator that %s with\n%v\nwant a message containing %q", tc.check, tc.broken, err, tc.want)
			}
		})
	}
}

func runCheck(t *testing.T, name string, g pareto.Generator, o Options) error {
	t.Helper()
	for _, c := range checks {
		if c.name == name {
			return c.fn(t.Context(), g, o.withDefaults())
		}
	}
	t.Fatalf("no check %q", name)
	return nil
}

// TestFanOut checks that a generator declaring FanOut may charge a call
// and its prompt to every completion, but must charge each one.
func TestFanOut(t *testing.T) {
	fanOut := declared
	fanOut.FanOut = true
	if err := runCheck(t, "Usage", &fake{broken: "charges twice"}, fanOut); err != nil {
		t.Errorf("a generator that fans out failed Usage: %v", err)
	}
	err := runCheck(t, "Usage", &fake{}, fanOut)
	if err == nil || !strings.Contains(err.Error(), "completion 1 is charged 0 calls; a generator that fans out makes one call per completion") {
		t.Errorf("a generator declaring FanOut and charging one call: Usage says %v", err)
	}
}

func TestSkips(t *testing.T) {
	var s skip
	for _, name := range []string{"Deterministic", "Seed"} {
		if err := runCheck(t, name, &fake{broken: "random greedy"}, Options{}); !errors.As(err, &s) {
			t.Errorf("%s of a generator that does not declare it: %v, want a skip", name, err)
		}
	}
	if err := runCheck(t, "Stop", &fake{broken: "says nothing"}, Options{}); !errors.As(err, &s) {
		t.Errorf("Stop of an empty greedy output: %v, want a skip", err)
	}
}

func TestPickStop(t *testing.T) {
	for _, tc := range []struct {
		text, stop string
		at         int
	}{
		{"the cat sat", "at ", 5},
		{"ab", "b", 1},
		{"héllo wörld", " wö", 6}, // whole characters
		{"abcabc", "cab", 2},      // "abc", in the middle, first occurs at 0
		{"aaaa", "", -1},          // every candidate first occurs at 0
		{"a", "", -1},             // nothing after position 0
		{"a    ", "", -1},         // blank
	} {
		stop, at, ok := pickStop(tc.text)
		if !ok {
			stop, at = "", -1
		}
		if stop != tc.stop || at != tc.at {
			t.Errorf("pickStop(%q) = %q at %d, want %q at %d", tc.text, stop, at, tc.stop, tc.at)
		}
	}
}

// TestRunReportsFailures runs Run itself on a broken generator, in a child
// process since a failing *testing.T cannot be faked, and wants the test to
// fail in the subtest of the broken rule.
func TestRunReportsFailures(t *testing.T) {
	childtest.Fails(t, func(t *testing.T) { Run(t, &fake{broken: "wrong count"}, declared) },
		"--- FAIL: TestRunReportsFailures/N ",
		"count: 0 completions, want exactly max(N,1) = 1",
		"--- PASS: TestRunReportsFailures/Seed ")
}
