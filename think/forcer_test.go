package think

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

// model is a fake raw-text Generator with a tokenizer of its own: each
// call draws, from its prompt and seed, how many tokens the model would
// write before it ends (sometimes none), and each token's text (zero to
// three characters, so tokens and characters do not line up). It stops at
// MaxTokens with "length", else with "stop", naming the stop string or
// not. With split it answers some calls as a backend that sees an open
// thought does, part or all of the text as Reasoning and its tokens as
// hidden. It records every call.
type model struct {
	split bool
	// inline: a call that may stop at any of its stop strings (the last,
	// the thought's Open, for the Forcer's answer calls, most often).
	inline bool

	mu    sync.Mutex
	calls []call
}

type call struct {
	req pareto.Request
	out pareto.Completion
}

func (m *model) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.N != 1 {
		return nil, fmt.Errorf("fake model: N=%d, the Forcer asks for one sample a call", req.N)
	}
	h := fnv.New64a()
	h.Write([]byte(req.Prompt))
	for _, msg := range req.Messages {
		h.Write([]byte(msg.Role + ":" + msg.Content))
	}
	if req.Seed != nil {
		fmt.Fprint(h, *req.Seed)
	}
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	writes := rng.IntN(40)
	if rng.IntN(5) == 0 {
		writes = 0
	}
	n, finish := writes, "stop"
	if req.MaxTokens > 0 && n >= req.MaxTokens {
		n, finish = req.MaxTokens, "length"
	}
	var text strings.Builder
	for range n {
		text.WriteString(strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(4)))
	}
	prompt := len(req.Prompt)/(1+rng.IntN(4)) + 1
	for _, msg := range req.Messages {
		prompt += len(msg.Content)/3 + 4
	}
	c := pareto.Completion{Text: text.String(), FinishReason: finish, Usage: pareto.Usage{
		Calls: 1, PromptTokens: prompt, CachedTokens: rng.IntN(prompt + 1), CompletionTokens: n,
		PrefillFLOPs: float64(prompt), DecodeFLOPs: float64(3 * n),
		Latency: time.Duration(1+n) * time.Millisecond, TTFT: time.Millisecond,
	}}
	switch {
	case m.inline && finish == "stop" && len(req.Stop) > 0 && rng.IntN(4) > 0:
		c.Stop = req.Stop[len(req.Stop)-1-rng.IntN(len(req.Stop))/2]
	case !m.inline && finish == "stop" && len(req.Stop) > 0 && req.Stop[0] != Default.Open && rng.IntN(2) == 0:
		c.Stop = req.Stop[0]
	}
	if m.inline && c.Stop == Default.Open && n > 0 {
		// The marker that ended the answer is a token the backend counts
		// as hidden, as the embedded engine does.
		c.Usage.HiddenTokens, c.Usage.CompletionTokens = 1, n-1
	}
	thought := slices.Equal(req.Stop, []string{Default.Close})
	if thought && m.split && rng.IntN(2) == 0 {
		cut := rng.IntN(len(c.Text) + 1)
		hid := rng.IntN(n + 1)
		c.Reasoning, c.Text = c.Text[:cut], c.Text[cut:]
		c.Usage.HiddenTokens, c.Usage.CompletionTokens = hid, n-hid
	}
	m.mu.Lock()
	m.calls = append(m.calls, call{req, c})
	m.mu.Unlock()
	return []pareto.Completion{c}, nil
}

// chains groups the recorded calls by seed (one chain per sample), in
// the order they were made.
func (m *model) chains() map[int64][]call {
	out := map[int64][]call{}
	for _, c := range m.calls {
		out[*c.req.Seed] = append(out[*c.req.Seed], c)
	}
	return out
}

// generated is what a completion generated: visible and hidden tokens.
func generated(u pareto.Usage) int { return u.CompletionTokens + u.HiddenTokens }

// TestForcerProperties runs the Forcer over the fake model with random
// budgets, minimums, sample counts and token caps, and checks on every
// sample: the thought never generates more than the budget; it reaches
// the minimum; usage is the exact sum of the calls' (thought tokens
// hidden, answer tokens visible); the prompts continue the thought as
// written; and the answer gets the request's own cap and stop strings.
func TestForcerProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		budget := rng.IntN(60)
		maxTokens := 1 + rng.IntN(40)
		limit := budget
		if limit == 0 {
			limit = maxTokens // no budget: the request's cap bounds the thought
		}
		minimum := rng.IntN(limit + 1)
		n := 1 + rng.IntN(3)
		seed := int64(rng.IntN(1000))
		m := &model{split: trial%2 == 1}
		f := &Forcer{Inner: m, Budget: budget, Min: minimum, Cue: "\nFinal Answer:"}
		if trial%3 == 0 {
			f.Wait = "\nHmm"
		}
		req := pareto.Request{Prompt: fmt.Sprintf("Q%d: 2+2?\n", trial), Params: pareto.Params{
			N: n, MaxTokens: maxTokens, Temperature: 1, Seed: &seed, Stop: []string{"STOP"}}}
		name := fmt.Sprintf("trial %d (budget %d, min %d, max tokens %d, N %d)", trial, budget, minimum, maxTokens, n)
		out, err := f.Generate(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) != n {
			t.Fatalf("%s: %d completions", name, len(out))
		}
		wait := cmpOr(f.Wait, DefaultWait)
		chains := m.chains()
		for i, c := range out {
			chain := chains[seed+int64(i)]
			if len(chain) < 2 {
				t.Fatalf("%s: sample %d made %d calls, want a thought and an answer", name, i, len(chain))
			}
			thoughts, answer := chain[:len(chain)-1], chain[len(chain)-1]
			hidden, thought := 0, ""
			for k, tc := range thoughts {
				r := tc.req
				if want := req.Prompt + f.Markers.OrDefault().Open + thought; r.Prompt != want {
					t.Fatalf("%s: sample %d call %d prompt %q, want %q", name, i, k, r.Prompt, want)
				}
				if !slices.Equal(r.Stop, []string{"</think>"}) || r.MaxTokens != limit-hidden || r.Logprobs {
					t.Fatalf("%s: sample %d thought call %d: stop %q, max tokens %d (want %d left)", name, i, k, r.Stop, r.MaxTokens, limit-hidden)
				}
				hidden += generated(tc.out.Usage)
				thought += tc.out.Reasoning + tc.out.Text
				if k < len(thoughts)-1 {
					thought += wait // the model ended early: it was told to wait
				}
			}
			u := c.Usage
			if u.HiddenTokens != hidden || u.HiddenTokens > limit {
				t.Fatalf("%s: sample %d: %d hidden tokens, the thought calls generated %d, budget %d", name, i, u.HiddenTokens, hidden, limit)
			}
			if u.HiddenTokens < minimum {
				// Short of the minimum only when the model would write
				// nothing more: its last maxEmptyRounds rounds were empty.
				gave := len(thoughts) >= maxEmptyRounds
				for _, tc := range thoughts[max(len(thoughts)-maxEmptyRounds, 0):] {
					gave = gave && generated(tc.out.Usage) == 0
				}
				if !gave {
					t.Fatalf("%s: sample %d: the thought ended after %d tokens, before the minimum %d", name, i, u.HiddenTokens, minimum)
				}
			}
			if u.CompletionTokens != generated(answer.out.Usage) || c.Text != answer.out.Text {
				t.Fatalf("%s: sample %d: answer %q of %d tokens, the answer call %q of %d", name, i, c.Text, u.CompletionTokens, answer.out.Text, generated(answer.out.Usage))
			}
			if c.Reasoning != thought {
				t.Fatalf("%s: sample %d: reasoning %q, want %q", name, i, c.Reasoning, thought)
			}
			a := answer.req
			if want := req.Prompt + "<think>" + thought + "</think>\nFinal Answer:"; a.Prompt != want {
				t.Fatalf("%s: sample %d answer prompt %q, want %q", name, i, a.Prompt, want)
			}
			// The answer stops where the model would open a thought, too.
			if a.MaxTokens != maxTokens || !slices.Equal(a.Stop, append(slices.Clip(req.Stop), Default.Open)) {
				t.Fatalf("%s: sample %d answer call: max tokens %d, stop %q", name, i, a.MaxTokens, a.Stop)
			}
			if u.Calls != len(chain) {
				t.Fatalf("%s: sample %d charged %d calls, made %d", name, i, u.Calls, len(chain))
			}
		}
		checkCharged(t, name, m, out)
	}
}

// checkCharged fails unless the completions are charged exactly what the
// model's calls cost: every figure but TTFT (the time to the first visible
// token), summed.
func checkCharged(t *testing.T, name string, m *model, out []pareto.Completion) {
	t.Helper()
	var all, sum pareto.Usage
	for _, c := range m.calls {
		all.Add(c.out.Usage)
	}
	for _, c := range out {
		sum.Add(c.Usage)
	}
	all.TTFT, sum.TTFT = 0, 0
	if generated(all) != generated(sum) || all.Calls != sum.Calls || all.PromptTokens != sum.PromptTokens ||
		all.CachedTokens != sum.CachedTokens || all.PrefillFLOPs != sum.PrefillFLOPs || all.DecodeFLOPs != sum.DecodeFLOPs || all.Latency != sum.Latency {
		t.Fatalf("%s: the completions are charged %+v, the calls cost %+v", name, sum, all)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// The thought is extended with Wait only while it is shorter than the
// minimum, and the budget ends it even mid-thought.
func TestForcerWaitsAndForces(t *testing.T) {
	// script answers thought calls with the given token counts in turn,
	// ending early (finish "stop") unless the cap cuts them.
	script := func(writes ...int) *scripted { return &scripted{writes: writes} }
	for _, tc := range []struct {
		name          string
		budget, min   int
		writes        []int
		wantPrompts   []string // the thought calls' added text
		wantHidden    int
		wantMaxTokens []int
	}{
		{"ends on its own after the minimum", 100, 10, []int{12}, []string{"<think>"}, 12, []int{100}},
		{"waits until the minimum", 100, 10, []int{3, 4, 5}, []string{"<think>", "<think>xxxWait", "<think>xxxWaitxxxxWait"}, 12, []int{100, 97, 93}},
		{"the budget ends a long thought", 8, 0, []int{50}, []string{"<think>"}, 8, []int{8}},
		{"the budget ends a thought that was waiting", 8, 8, []int{3, 50}, []string{"<think>", "<think>xxxWait"}, 8, []int{8, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := script(tc.writes...)
			f := &Forcer{Inner: s, Budget: tc.budget, Min: tc.min, Cue: "\nA:"}
			out, err := f.Generate(context.Background(), pareto.Request{Prompt: "Q", Params: pareto.Params{MaxTokens: 20}})
			if err != nil {
				t.Fatal(err)
			}
			var prompts []string
			var caps []int
			for _, r := range s.reqs[:len(s.reqs)-1] {
				prompts = append(prompts, strings.TrimPrefix(r.Prompt, "Q"))
				caps = append(caps, r.MaxTokens)
			}
			if !slices.Equal(prompts, tc.wantPrompts) || !slices.Equal(caps, tc.wantMaxTokens) {
				t.Errorf("thought calls %q with caps %v, want %q with %v", prompts, caps, tc.wantPrompts, tc.wantMaxTokens)
			}
			if u := out[0].Usage; u.HiddenTokens != tc.wantHidden || u.CompletionTokens != 2 {
				t.Errorf("%d hidden and %d visible tokens, want %d and 2", u.HiddenTokens, u.CompletionTokens, tc.wantHidden)
			}
			last := s.reqs[len(s.reqs)-1]
			if !strings.HasSuffix(last.Prompt, "</think>\nA:") || last.MaxTokens != 20 {
				t.Errorf("answer call %q with cap %d", last.Prompt, last.MaxTokens)
			}
		})
	}
}

// scripted is a Generator whose thought calls write the scripted number
// of tokens ("x" each), capped by MaxTokens; the answer is "42", 2 tokens.
type scripted struct {
	writes []int
	reqs   []pareto.Request
	answer pareto.Completion // when set, the answer call's completion
}

func (s *scripted) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	s.reqs = append(s.reqs, req)
	if !slices.Contains(req.Stop, "</think>") {
		if s.answer.FinishReason != "" {
			return []pareto.Completion{s.answer}, nil
		}
		return []pareto.Completion{{Text: "42", FinishReason: "stop", Usage: pareto.Usage{Calls: 1, PromptTokens: 5, CompletionTokens: 2}}}, nil
	}
	n, finish := 0, "stop"
	if len(s.writes) > 0 {
		n, s.writes = s.writes[0], s.writes[1:]
	}
	if req.MaxTokens > 0 && n >= req.MaxTokens {
		n, finish = req.MaxTokens, "length"
	}
	return []pareto.Completion{{Text: strings.Repeat("x", n), FinishReason: finish, Usage: pareto.Usage{Calls: 1, PromptTokens: 5, CompletionTokens: n}}}, nil
}

// An answer a server's reasoning parser took for reasoning (it did not see
// the forced marker) is the answer; a second thought it split off stays
// readable in Reasoning, its tokens counted as the answer's.
func TestForcerAnswerPhase(t *testing.T) {
	s := &scripted{writes: []int{4}, answer: pareto.Completion{Reasoning: "42", FinishReason: "stop",
		Usage: pareto.Usage{Calls: 1, PromptTokens: 9, HiddenTokens: 2}}}
	out, err := (&Forcer{Inner: s, Budget: 10}).Generate(context.Background(), pareto.Request{Prompt: "Q"})
	if err != nil {
		t.Fatal(err)
	}
	if c := out[0]; c.Text != "42" || c.Usage.CompletionTokens != 2 || c.Usage.HiddenTokens != 4 || c.Reasoning != "xxxx" {
		t.Errorf("answer taken for reasoning: text %q, reasoning %q, %d visible and %d hidden tokens", c.Text, c.Reasoning, c.Usage.CompletionTokens, c.Usage.HiddenTokens)
	}
	s = &scripted{writes: []int{4}, answer: pareto.Completion{Reasoning: "hm", Text: "42", FinishReason: "stop",
		Usage: pareto.Usage{Calls: 1, PromptTokens: 9, HiddenTokens: 1, CompletionTokens: 2}}}
	out, err = (&Forcer{Inner: s, Budget: 10}).Generate(context.Background(), pareto.Request{Prompt: "Q"})
	if err != nil {
		t.Fatal(err)
	}
	// A thought a backend splits off after the forced end stays readable;
	// its tokens are the answer's, so the budget holds.
	if c := out[0]; c.Text != "42" || c.Usage.CompletionTokens != 3 || c.Usage.HiddenTokens != 4 || c.Reasoning != "xxxx\nhm" {
		t.Errorf("second thought: text %q, reasoning %q, %d visible and %d hidden tokens", c.Text, c.Reasoning, c.Usage.CompletionTokens, c.Usage.HiddenTokens)
	}
}

// On a chat API the thought is continued as the final assistant message.
func TestForcerChat(t *testing.T) {
	s := &scripted{writes: []int{2, 3}}
	f := &Forcer{Inner: s, Budget: 10, Min: 4, Cue: " A:", Chat: true, Markers: Markers{Close: "</think>"}}
	if _, err := f.Generate(context.Background(), pareto.Request{Prompt: "Q"}); err != nil {
		t.Fatal(err)
	}
	want := [][]pareto.Message{
		{{Role: "user", Content: "Q"}}, // the template opens the thought
		{{Role: "user", Content: "Q"}, {Role: "assistant", Content: "xxWait"}},
		{{Role: "user", Content: "Q"}, {Role: "assistant", Content: "xxWaitxxx</think> A:"}},
	}
	if len(s.reqs) != len(want) {
		t.Fatalf("%d calls, want %d", len(s.reqs), len(want))
	}
	for i, r := range s.reqs {
		if r.Prompt != "" || !slices.Equal(r.Messages, want[i]) {
			t.Errorf("call %d: prompt %q, messages %+v; want %+v", i, r.Prompt, r.Messages, want[i])
		}
	}
	// A caller's own start of the answer is continued.
	s = &scripted{writes: []int{5}}
	f.Inner, f.Min = s, 0
	msgs := []pareto.Message{{Role: "system", Content: "S"}, {Role: "user", Content: "Q"}, {Role: "assistant", Content: "Let me see."}}
	if _, err := f.Generate(context.Background(), pareto.Request{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	if got := s.reqs[1].Messages; len(got) != 3 || got[2].Content != "Let me see.xxxxx</think> A:" || msgs[2].Content != "Let me see." {
		t.Errorf("continuing the caller's assistant message: %+v (caller's %+v)", got, msgs)
	}
}

func TestForcerRefuses(t *testing.T) {
	inner := &scripted{}
	for _, tc := range []struct {
		f    Forcer
		req  pareto.Request
		want string
	}{
		{Forcer{Inner: inner, Budget: -1}, pareto.Request{Prompt: "Q"}, "Budget is -1"},
		{Forcer{Inner: inner, Min: -2}, pareto.Request{Prompt: "Q"}, "Min is -2"},
		{Forcer{Inner: inner, Budget: 8, Min: 9}, pareto.Request{Prompt: "Q"}, "Min 9 exceeds Forcer.Budget 8"},
		{Forcer{Inner: inner, Min: 9}, pareto.Request{Prompt: "Q", Params: pareto.Params{MaxTokens: 8}}, "exceeds MaxTokens 8"},
		{Forcer{Inner: inner, Budget: 8, Markers: Markers{Open: "<t>"}}, pareto.Request{Prompt: "Q"}, "Close is empty"},
		{Forcer{Budget: 8}, pareto.Request{Prompt: "Q"}, "Inner is nil"},
		{Forcer{Inner: inner, Budget: 8, Min: 2, Inline: true}, pareto.Request{Prompt: "Q"}, "Inline with Min 2"},
		{Forcer{Inner: inner, Budget: 8, Inline: true, Markers: Markers{Close: "</t>"}}, pareto.Request{Prompt: "Q"}, "empty Markers.Open"},
	} {
		_, err := tc.f.Generate(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one saying %q", tc.f, err, tc.want)
		}
	}
	// A backend without token counts cannot be held to a budget.
	noUsage := generatorFunc(func(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
		return []pareto.Completion{{Text: "x", FinishReason: "stop", Usage: pareto.Usage{Calls: 1, Unreported: 1}}}, nil
	})
	if _, err := (&Forcer{Inner: noUsage, Budget: 8}).Generate(context.Background(), pareto.Request{Prompt: "Q"}); err == nil || !strings.Contains(err.Error(), "no token usage") {
		t.Errorf("unreported usage: %v", err)
	}
	// Nor made to think longer when it writes nothing: after a few empty
	// rounds it answers with the thought it has.
	if out, err := (&Forcer{Inner: &scripted{}, Budget: 8, Min: 4}).Generate(context.Background(), pareto.Request{Prompt: "Q"}); err != nil || len(out) != 1 || out[0].Usage.HiddenTokens != 0 || out[0].Usage.Calls != maxEmptyRounds+1 {
		t.Errorf("a model that writes nothing: %v, %+v", err, out)
	}
	// The inner error comes through, wrapped.
	fail := errors.New("server down")
	broken := generatorFunc(func(context.Context, pareto.Request) ([]pareto.Completion, error) { return nil, fail })
	if _, err := (&Forcer{Inner: broken, Budget: 8}).Generate(context.Background(), pareto.Request{Prompt: "Q"}); !errors.Is(err, fail) {
		t.Errorf("inner error: %v", err)
	}
}

type generatorFunc func(context.Context, pareto.Request) ([]pareto.Completion, error)

func (f generatorFunc) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	return f(ctx, req)
}

// Wrap sets the effort on every request, and drops the reasoning text
// unless Show.
func TestWrap(t *testing.T) {
	var seen []pareto.Request
	inner := generatorFunc(func(_ context.Context, req pareto.Request) ([]pareto.Completion, error) {
		seen = append(seen, req)
		return []pareto.Completion{{Text: "4", Reasoning: "2+2", Usage: pareto.Usage{Calls: 1, PromptTokens: 3, CompletionTokens: 1, HiddenTokens: 3}}}, nil
	})
	g := Settings{Effort: "high"}.Wrap(inner, false)
	out, err := g.Generate(context.Background(), pareto.Request{Prompt: "Q"})
	if err != nil {
		t.Fatal(err)
	}
	if seen[0].ReasoningEffort != "high" || out[0].Reasoning != "" || out[0].Usage.HiddenTokens != 3 {
		t.Errorf("effort %q sent, reasoning %q kept, %d hidden tokens", seen[0].ReasoningEffort, out[0].Reasoning, out[0].Usage.HiddenTokens)
	}
	out, _ = Settings{Show: true}.Wrap(inner, false).Generate(context.Background(), pareto.Request{Prompt: "Q"})
	if out[0].Reasoning != "2+2" || seen[1].ReasoningEffort != "" {
		t.Errorf("with Show: reasoning %q, effort %q", out[0].Reasoning, seen[1].ReasoningEffort)
	}
	if _, ok := (Settings{Budget: 4, Show: true}).Wrap(inner, false).(*Forcer); !ok {
		t.Error("a budget does not make a Forcer")
	}
}

// TestForcerNoThought checks a budget of zero: one call per sample, whose
// prompt closes the thought at once, and no hidden tokens.
func TestForcerNoThought(t *testing.T) {
	m := &model{}
	f := &Forcer{Inner: m, NoThought: true, Cue: "\nSo:"}
	seed := int64(7)
	out, err := f.Generate(context.Background(), pareto.Request{Prompt: "Q?", Params: pareto.Params{N: 3, MaxTokens: 20, Seed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.calls) != 3 {
		t.Fatalf("%d calls for 3 samples, want one each", len(m.calls))
	}
	for _, c := range m.calls {
		if c.req.Prompt != "Q?<think></think>\nSo:" {
			t.Fatalf("prompt %q, want the thought closed at once", c.req.Prompt)
		}
	}
	for i, c := range out {
		if c.Usage.HiddenTokens != 0 || c.Reasoning != "" {
			t.Fatalf("sample %d: %d hidden tokens, reasoning %q", i, c.Usage.HiddenTokens, c.Reasoning)
		}
	}
	if _, err := (&Forcer{Inner: m, NoThought: true, Min: 4}).Generate(context.Background(), pareto.Request{Prompt: "Q?"}); err == nil {
		t.Fatal("NoThought with a minimum: no error")
	}
}

// TestForcerInlineProperties runs the Forcer's inline chains (a model that
// opens thoughts inside its answer) over the fake model with random
// budgets, caps and samples, and checks on every sample: the thoughts
// together never generate more than the budget, and after it is spent
// every thought is closed at once; the answer never generates more than
// MaxTokens; every call continues exactly the text before it; answer
// calls stop at the request's stops and the Open, thought calls at the
// Close; Text is the answer's parts, Reasoning the thoughts; usage sums
// the calls' exactly.
func TestForcerInlineProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	thoughtCalls, closedAtOnce := 0, 0
	defer func() {
		// The trials must reach both ways a thought goes.
		if thoughtCalls < 200 || closedAtOnce < 50 {
			t.Errorf("%d thought calls and %d thoughts closed at once over the trials", thoughtCalls, closedAtOnce)
		}
	}()
	for trial := range 400 {
		budget := rng.IntN(60)
		maxTokens := 1 + rng.IntN(80)
		n := 1 + rng.IntN(3)
		seed := int64(rng.IntN(1000))
		m := &model{inline: true, split: trial%2 == 1}
		f := &Forcer{Inner: m, Budget: budget, Inline: true, NoThought: trial%7 == 0, Cue: "="}
		if f.NoThought {
			f.Budget, budget = 0, 0
		}
		req := pareto.Request{Prompt: fmt.Sprintf("Q%d: 2+2?\n", trial), Params: pareto.Params{
			N: n, MaxTokens: maxTokens, Temperature: 1, Seed: &seed, Stop: []string{"STOP"}}}
		name := fmt.Sprintf("trial %d (budget %d, no thought %v, max tokens %d, N %d)", trial, budget, f.NoThought, maxTokens, n)
		out, err := f.Generate(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		chains := m.chains()
		for i, c := range out {
			text, visible, hidden, shown := "", "", 0, 0
			var thoughts []string
			for k, cl := range chains[seed+int64(i)] {
				r := cl.req
				if r.Prompt != req.Prompt+text {
					t.Fatalf("%s: sample %d call %d prompt %q, want %q", name, i, k, r.Prompt, req.Prompt+text)
				}
				if slices.Equal(r.Stop, []string{Default.Close}) { // a thought
					if f.NoThought || !strings.HasSuffix(text, Default.Open) || (budget > 0 && r.MaxTokens != budget-hidden) {
						t.Fatalf("%s: sample %d call %d: a thought call after %q, max tokens %d, %d of budget %d spent", name, i, k, text, r.MaxTokens, hidden, budget)
					}
					hidden += generated(cl.out.Usage)
					thoughtCalls++
					th := cl.out.Reasoning + cl.out.Text
					thoughts = append(thoughts, th)
					text += th + Default.Close
					if cl.out.FinishReason == "length" {
						text += f.Cue
					}
					continue
				}
				if !slices.Equal(r.Stop, []string{"STOP", Default.Open}) || r.MaxTokens != maxTokens-shown {
					t.Fatalf("%s: sample %d answer call %d: stop %q, max tokens %d, want %d", name, i, k, r.Stop, r.MaxTokens, maxTokens-shown)
				}
				// All an answer call generates is the answer's, the
				// marker that opens a thought too.
				shown += generated(cl.out.Usage)
				atOnce := cl.out.Stop == Default.Open && (f.NoThought || (budget > 0 && hidden >= budget))
				if cl.out.Reasoning != "" {
					thoughts = append(thoughts, cl.out.Reasoning)
				}
				text += cl.out.Text
				visible += cl.out.Text
				if cl.out.Stop == Default.Open {
					text += Default.Open
					if atOnce {
						text += Default.Close // closed at once
						closedAtOnce++
					}
				}
			}
			u := c.Usage
			if u.HiddenTokens != hidden || (budget > 0 && u.HiddenTokens > budget) || (f.NoThought && u.HiddenTokens != 0) {
				t.Fatalf("%s: sample %d: %d hidden tokens, the calls generated %d, budget %d", name, i, u.HiddenTokens, hidden, budget)
			}
			if u.CompletionTokens != shown || shown > maxTokens || c.Text != visible {
				t.Fatalf("%s: sample %d: answer %q of %d tokens, the calls' %q of %d (cap %d)", name, i, c.Text, u.CompletionTokens, visible, shown, maxTokens)
			}
			if c.Reasoning != strings.Join(thoughts, "\n") {
				t.Fatalf("%s: sample %d: reasoning %q, want %q", name, i, c.Reasoning, strings.Join(thoughts, "\n"))
			}
			if u.Calls != len(chains[seed+int64(i)]) {
				t.Fatalf("%s: sample %d charged %d calls, made %d", name, i, u.Calls, len(chains[seed+int64(i)]))
			}
		}
		checkCharged(t, name, m, out)
	}
}

// A model that opens a second thought in its answer after the forced end
// has it closed at once: its hidden tokens stay those of the budgeted
// thought, and the opening marker is an answer token.
func TestForcerClosesThoughtsInTheAnswer(t *testing.T) {
	var prompts []string
	g := generatorFunc(func(_ context.Context, req pareto.Request) ([]pareto.Completion, error) {
		prompts = append(prompts, req.Prompt)
		switch {
		case slices.Equal(req.Stop, []string{"</think>"}): // the thought: cut at the budget
			return []pareto.Completion{{Text: "abcd", FinishReason: "length", Usage: pareto.Usage{Calls: 1, CompletionTokens: req.MaxTokens}}}, nil
		case !strings.HasSuffix(req.Prompt, "<think></think>"): // opens another thought
			return []pareto.Completion{{Text: "x = ", FinishReason: "stop", Stop: "<think>", Usage: pareto.Usage{Calls: 1, CompletionTokens: 2, HiddenTokens: 1}}}, nil
		default:
			return []pareto.Completion{{Text: "4", FinishReason: "stop", Usage: pareto.Usage{Calls: 1, CompletionTokens: 1}}}, nil
		}
	})
	out, err := (&Forcer{Inner: g, Budget: 4, Cue: "\n"}).Generate(context.Background(), pareto.Request{Prompt: "Q "})
	if err != nil {
		t.Fatal(err)
	}
	c := out[0]
	want := []string{"Q <think>", "Q <think>abcd</think>\n", "Q <think>abcd</think>\nx = <think></think>"}
	if !slices.Equal(prompts, want) || c.Text != "x = 4" || c.Usage.HiddenTokens != 4 || c.Usage.CompletionTokens != 4 || c.Reasoning != "abcd" {
		t.Errorf("prompts %q (want %q), text %q, %d hidden and %d visible tokens, reasoning %q", prompts, want, c.Text, c.Usage.HiddenTokens, c.Usage.CompletionTokens, c.Reasoning)
	}
}
