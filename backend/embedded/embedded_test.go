package embedded

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/internal/enginetest"
	"github.com/pareto-llm/pareto/randmodel"
)

// byteTok is a byte-level tokenizer: ids 0-255 are bytes, 256 is BOS and
// 257 is EOS.
type byteTok struct{}

func (byteTok) Encode(text string, addBOS bool) []int {
	var ids []int
	if addBOS {
		ids = append(ids, 256)
	}
	for _, c := range []byte(text) {
		ids = append(ids, int(c))
	}
	return ids
}

func (byteTok) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		if id < 256 {
			sb.WriteByte(byte(id))
		}
	}
	return sb.String()
}

func (byteTok) EOS() int { return 257 }

func testModel(t *testing.T) *engine.Model {
	t.Helper()
	c := engine.Config{Arch: engine.ArchLlama, Vocab: 258, DModel: 64, Layers: 2, Heads: 4, KVHeads: 2,
		HeadDim: 16, FFN: 128, Context: 128, RopeBase: 10000, RMSEps: 1e-5}
	m, err := enginetest.NewRandom(c, enginetest.Options{Seed: 7, Scale: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seed(s int64) *int64 { return &s }

// greedyByHand decodes with the engine directly, as an independent check.
func greedyByHand(t *testing.T, m *engine.Model, prompt []int, n int, end func(int) bool) []int {
	s := m.NewSeq()
	if _, err := m.Prefill(s, prompt); err != nil {
		t.Fatal(err)
	}
	var out []int
	for range n {
		id := engine.Greedy(s.Logits())
		if end(id) {
			break
		}
		out = append(out, id)
		if _, err := m.Step([]*engine.Seq{s}, []int{id}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestGreedyMatchesEngine(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}))
	got, err := b.Generate(context.Background(), pareto.Request{Prompt: "2+2=", Params: pareto.Params{N: 3, MaxTokens: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d completions, want 3", len(got))
	}
	want := render(b, greedyByHand(t, m, byteTok{}.Encode("2+2=", true), 20, func(id int) bool { return id == 257 }))
	for i, c := range got {
		if c.Text != want {
			t.Fatalf("completion %d = %q, want %q", i, c.Text, want)
		}
	}
	if got[0].Usage.CompletionTokens == 20 && got[0].FinishReason != "length" {
		t.Fatalf("finish reason %q after max tokens", got[0].FinishReason)
	}
}

func TestSeedsPerSample(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}), WithPrefixCache(0))
	ctx := context.Background()
	req := pareto.Request{Prompt: "Once", Params: pareto.Params{N: 3, MaxTokens: 12, Temperature: 1, Seed: seed(5)}}
	all, err := b.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for i := range 3 {
		one, err := b.Generate(ctx, pareto.Request{Prompt: "Once", Params: pareto.Params{MaxTokens: 12, Temperature: 1, Seed: seed(5 + int64(i))}})
		if err != nil {
			t.Fatal(err)
		}
		if one[0].Text != all[i].Text {
			t.Fatalf("sample %d = %q, but seed %d alone gives %q", i, all[i].Text, 5+i, one[0].Text)
		}
		distinct[all[i].Text] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("3 samples at temperature 1 all equal %q", all[0].Text)
	}
}

func TestUsageAndPrefixCache(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}))
	ctx := context.Background()
	prompt := "The quick brown fox"
	req := pareto.Request{Prompt: prompt, Params: pareto.Params{N: 2, MaxTokens: 5}}
	got, err := b.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	nPrompt := len(prompt) + 1
	u0, u1 := got[0].Usage, got[1].Usage
	if u0.Calls != 1 || u0.PromptTokens != nPrompt || u0.CachedTokens != 0 || u1.PromptTokens != 0 || u1.Calls != 0 {
		t.Fatalf("usage %+v / %+v", u0, u1)
	}
	var wantPrefill float64
	for p := range nPrompt {
		wantPrefill += m.TokenFLOPs(p, p == nPrompt-1)
	}
	if u0.PrefillFLOPs != wantPrefill || u1.PrefillFLOPs != 0 {
		t.Fatalf("prefill FLOPs %v/%v, want %v/0", u0.PrefillFLOPs, u1.PrefillFLOPs, wantPrefill)
	}
	for i, c := range got {
		var want float64
		for k := range c.Usage.CompletionTokens - 1 { // the last sampled token is never forwarded
			want += m.TokenFLOPs(nPrompt+k, true)
		}
		if c.FinishReason == "stop" { // ended by EOS: every kept token was forwarded
			want += m.TokenFLOPs(nPrompt+c.Usage.CompletionTokens-1, true)
		}
		if c.Usage.DecodeFLOPs != want {
			t.Fatalf("completion %d: decode FLOPs %v, want %v", i, c.Usage.DecodeFLOPs, want)
		}
	}
	if u0.Latency <= 0 || u0.TTFT <= 0 || u0.TTFT > u0.Latency {
		t.Fatalf("latency %v, TTFT %v", u0.Latency, u0.TTFT)
	}
	// The same prompt again is served from the prefix cache.
	again, err := b.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if ua := again[0].Usage; ua.CachedTokens != nPrompt-1 || ua.PrefillFLOPs != m.TokenFLOPs(nPrompt-1, true) {
		t.Fatalf("second call cached %d tokens, prefill %v FLOPs; want %d and %v", ua.CachedTokens, ua.PrefillFLOPs, nPrompt-1, m.TokenFLOPs(nPrompt-1, true))
	}
	if again[0].Text != got[0].Text {
		t.Fatalf("greedy text changed with the cache: %q vs %q", again[0].Text, got[0].Text)
	}
	// A continuation of a previous completion reuses the completion's KV too.
	cont, err := b.Generate(ctx, pareto.Request{Prompt: prompt + got[0].Text + "!", Params: pareto.Params{MaxTokens: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if cc := cont[0].Usage.CachedTokens; cc < nPrompt+len(got[0].Text)-1 {
		t.Fatalf("continuation cached %d tokens, want >= %d", cc, nPrompt+len(got[0].Text)-1)
	}
}

func TestStopAndLogprobs(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}))
	ctx := context.Background()
	full, err := b.Generate(ctx, pareto.Request{Prompt: "abc", Params: pareto.Params{MaxTokens: 30}})
	if err != nil {
		t.Fatal(err)
	}
	text := full[0].Text
	if len(text) < 6 {
		t.Fatalf("greedy text %q too short to place a stop string", text)
	}
	stop := text[3:5]
	cut := strings.Index(text, stop)
	got, err := b.Generate(ctx, pareto.Request{Prompt: "abc", Params: pareto.Params{MaxTokens: 30, Stop: []string{stop}, Logprobs: true, TopLogprobs: 3}})
	if err != nil {
		t.Fatal(err)
	}
	c := got[0]
	if c.Text != text[:cut] || c.FinishReason != "stop" || c.Stop != stop {
		t.Fatalf("with stop %q: text %q (%s, stop %q), want %q", stop, c.Text, c.FinishReason, c.Stop, text[:cut])
	}
	if full[0].Stop != "" {
		t.Fatalf("without stop strings: Stop = %q (%s), want empty", full[0].Stop, full[0].FinishReason)
	}
	if len(c.Logprobs) != c.Usage.CompletionTokens {
		t.Fatalf("%d logprobs for %d tokens", len(c.Logprobs), c.Usage.CompletionTokens)
	}
	for i, lp := range c.Logprobs {
		if lp.Logprob > 0 || len(lp.Top) == 0 || len(lp.Top) > 3 {
			t.Fatalf("logprob %d: %+v", i, lp)
		}
		best := -1e300
		for _, v := range lp.Top {
			best = max(best, v)
		}
		if lp.Logprob != best { // greedy picks the most likely token
			t.Fatalf("logprob %d: chosen %v, best alternative %v", i, lp.Logprob, best)
		}
	}
}

func TestPromptText(t *testing.T) {
	req := pareto.Request{Messages: []pareto.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}}
	if got, want := PromptText(req), "system: Be brief.\nuser: Hi\nassistant:"; got != want {
		t.Fatalf("PromptText = %q, want %q", got, want)
	}
	if got := PromptText(pareto.Request{Prompt: "raw"}); got != "raw" {
		t.Fatalf("PromptText = %q, want raw", got)
	}
	b := New(testModel(t), WithTokenizer(byteTok{}))
	if _, err := b.Generate(context.Background(), pareto.Request{Prompt: "x", Messages: req.Messages}); err == nil {
		t.Fatal("prompt and messages both accepted")
	}
	if _, err := New(testModel(t)).Generate(context.Background(), pareto.Request{Prompt: "x"}); err == nil {
		t.Fatal("generate without tokenizer succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Generate(ctx, pareto.Request{Prompt: "x", Params: pareto.Params{MaxTokens: 5}}); err == nil {
		t.Fatal("cancelled context ignored")
	}
}

// TestLoadRandmodel runs a random GGUF model with its own tokenizer.
func TestLoadRandmodel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	cfg := randmodel.Small()
	cfg.Layers, cfg.Context = 2, 256
	if err := randmodel.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Model().GGMLNumerics {
		t.Fatal("a loaded model should use llama.cpp numerics")
	}
	req := pareto.Request{Prompt: "The answer is", Params: pareto.Params{N: 2, MaxTokens: 16}}
	got, err := b.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	prompt := b.Tokenizer().Encode("The answer is", b.addBOS)
	want := greedyByHand(t, b.Model(), prompt, 16, func(id int) bool { return b.eog[id] })
	if got[0].Usage.PromptTokens != len(prompt) {
		t.Fatalf("prompt tokens %d, want %d", got[0].Usage.PromptTokens, len(prompt))
	}
	if got[0].Text != render(b, want) || got[0].Usage.CompletionTokens != len(want) {
		t.Fatalf("text %q (%d tokens), engine greedy %q (%d)", got[0].Text, got[0].Usage.CompletionTokens, render(b, want), len(want))
	}
	if got[0].Text != got[1].Text {
		t.Fatalf("greedy samples differ: %q vs %q", got[0].Text, got[1].Text)
	}
}

func TestConcurrentGenerate(t *testing.T) {
	m := testModel(t)
	b := New(m, WithTokenizer(byteTok{}))
	prompts := []string{"alpha", "beta", "alphabet", "gamma"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i] = render(b, greedyByHand(t, m, byteTok{}.Encode(p, true), 10, func(id int) bool { return id == 257 }))
	}
	errs := make(chan error, len(prompts))
	got := make([]string, len(prompts))
	for i, p := range prompts {
		go func() {
			out, err := b.Generate(context.Background(), pareto.Request{Prompt: p, Params: pareto.Params{N: 2, MaxTokens: 10}})
			if err == nil {
				got[i] = out[1].Text
			}
			errs <- err
		}()
	}
	for range prompts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range prompts {
		if got[i] != want[i] {
			t.Fatalf("prompt %q: concurrent text %q, want %q", prompts[i], got[i], want[i])
		}
	}
}

// render is the completion text of ids, built as Generate builds it.
func render(b *Backend, ids []int) string {
	var s sample
	for _, id := range ids {
		b.write(&s, id)
	}
	s.flush()
	return s.text
}

func TestTextLikeOllama(t *testing.T) {
	cases := []struct {
		pieces []string
		want   string
	}{
		{[]string{"a", " b"}, "a b"},
		{[]string{"\xc3", "\xa9", "!"}, "\u00e9!"},     // a character split over two tokens
		{[]string{"x", "\xe2\x82", "\xac"}, "x\u20ac"}, // three bytes over two tokens
		{[]string{"ok", "\xd2", ")", "f"}, "okf"},      // a broken character is cut with the piece that completed it
		{[]string{"a", "\xff", "b"}, "ab"},             // an invalid byte alone is dropped
		{[]string{"end", "\xf0\x9f"}, "end"},           // incomplete at the end of generation
		{[]string{"a\x00", "\x00b"}, "ab"},             // NUL bytes vanish, as from a C string
	}
	for _, c := range cases {
		var s sample
		for _, p := range c.pieces {
			s.add(p)
		}
		s.flush()
		if s.text != c.want {
			t.Errorf("pieces %q: text %q, want %q", c.pieces, s.text, c.want)
		}
	}
}
