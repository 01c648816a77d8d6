package openai

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/think"
)

// recorded answers every completion request with body, a response in the
// shape a real server sends.
func recorded(t *testing.T, body string) *fake {
	t.Helper()
	return newFake(t, &fake{script: func(_ int, w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/models") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
		return true
	}})
}

// Every shape in which servers return hidden reasoning, as they send it:
// the thought lands in Reasoning, the answer alone in Text, and the
// server's completion_tokens are split into visible and hidden tokens
// that add up to it exactly: by the server's reasoning_tokens where it
// counts them, else by the characters of the thought and of the answer.
func TestReasoningShapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chat   bool
		prompt string // the completions prompt
		body   string
		// want
		text, reasoning string
		completion      int // the server's completion_tokens
		hidden          int
	}{
		{
			name: "vLLM chat, deepseek_r1 reasoning parser: reasoning_content, no reasoning_tokens",
			chat: true,
			body: `{"id":"chatcmpl-9f2c","object":"chat.completion","created":1735000000,"model":"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
				"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Two plus two: 2 + 2 = 4.","content":"\n\nThe answer is 4.","tool_calls":[]},
				"logprobs":null,"finish_reason":"stop","stop_reason":null}],
				"usage":{"prompt_tokens":14,"total_tokens":50,"completion_tokens":36,"prompt_tokens_details":null},"prompt_logprobs":null}`,
			text: "\n\nThe answer is 4.", reasoning: "Two plus two: 2 + 2 = 4.", completion: 36,
			hidden: 21, // 36 x 24 thought characters / 42 in all, rounded
		},
		{
			name: "vLLM chat since the field was renamed: reasoning and reasoning_content, the same text",
			chat: true,
			body: `{"id":"chatcmpl-1","object":"chat.completion","created":1750000000,"model":"Qwen/Qwen3-0.6B",
				"choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning":"2+2=4","reasoning_content":"2+2=4","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],
				"usage":{"prompt_tokens":9,"total_tokens":21,"completion_tokens":12}}`,
			text: "4", reasoning: "2+2=4", completion: 12, hidden: 10,
		},
		{
			name: "Ollama chat with thinking: reasoning, no details",
			chat: true,
			body: `{"id":"chatcmpl-512","object":"chat.completion","created":1754000000,"model":"qwen3:0.6b","system_fingerprint":"fp_ollama",
				"choices":[{"index":0,"message":{"role":"assistant","content":"The answer is 4.","reasoning":"Okay, the user asks for 2+2. That is 4."},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":15,"completion_tokens":30,"total_tokens":45}}`,
			text: "The answer is 4.", reasoning: "Okay, the user asks for 2+2. That is 4.", completion: 30,
			hidden: 21, // 30 x 39 / 55
		},
		{
			name: "DeepSeek API, deepseek-reasoner: reasoning_content and reasoning_tokens",
			chat: true,
			body: `{"id":"930c60df","object":"chat.completion","created":1737000000,"model":"deepseek-reasoner",
				"choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"The user wants 2+2, which is 4."},"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":13,"completion_tokens":94,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":0},
				"completion_tokens_details":{"reasoning_tokens":92},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13},"system_fingerprint":"fp_7e73fd9a08"}`,
			text: "4", reasoning: "The user wants 2+2, which is 4.", completion: 94, hidden: 92,
		},
		{
			name: "OpenAI o-series: reasoning_tokens, no reasoning text",
			chat: true,
			body: `{"id":"chatcmpl-AB","object":"chat.completion","created":1730000000,"model":"o3-mini",
				"choices":[{"index":0,"message":{"role":"assistant","content":"4","refusal":null,"annotations":[]},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":12,"completion_tokens":147,"total_tokens":159,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
				"completion_tokens_details":{"reasoning_tokens":128,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}`,
			text: "4", completion: 147, hidden: 128,
		},
		{
			name: "a chat server without a reasoning parser: <think> in the content",
			chat: true,
			body: `{"id":"chatcmpl-7","object":"chat.completion","created":1735000000,"model":"r1-distill",
				"choices":[{"index":0,"message":{"role":"assistant","content":"<think>\n2 and 2 make 4.\n</think>\n\n#### 4"},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`,
			text: "#### 4", reasoning: "\n2 and 2 make 4.\n", completion: 20,
			hidden: 17, // 20 x 36 / 42: the markers are thought
		},
		{
			name: "a chat template that opened the thought: only </think> in the content",
			chat: true,
			body: `{"id":"chatcmpl-8","object":"chat.completion","created":1735000000,"model":"DeepSeek-R1-Distill-Qwen-7B",
				"choices":[{"index":0,"message":{"role":"assistant","content":"2 and 2 make 4.\n</think>\n\n#### 4"},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":10,"completion_tokens":15,"total_tokens":25}}`,
			text: "#### 4", reasoning: "2 and 2 make 4.\n", completion: 15, hidden: 12,
		},
		{
			name:   "vLLM completions, R1 distill: <think> in the text",
			prompt: "Question: what is 2+2?\nAnswer:",
			body: `{"id":"cmpl-3e1","object":"text_completion","created":1735000000,"model":"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
				"choices":[{"index":0,"text":"<think>\nOkay, 2+2 is 4.\n</think>\n\n#### 4","logprobs":null,"finish_reason":"stop","stop_reason":null,"prompt_logprobs":null}],
				"usage":{"prompt_tokens":12,"total_tokens":34,"completion_tokens":22,"prompt_tokens_details":null}}`,
			text: "#### 4", reasoning: "\nOkay, 2+2 is 4.\n", completion: 22, hidden: 19,
		},
		{
			name:   "completions whose prompt opened the thought",
			prompt: "<|User|>2+2?<|Assistant|><think>\n",
			body: `{"id":"cmpl-4","object":"text_completion","created":1735000000,"model":"r1",
				"choices":[{"index":0,"text":"Okay, 4.\n</think>\n\n4","logprobs":null,"finish_reason":"stop","stop_reason":null}],
				"usage":{"prompt_tokens":9,"total_tokens":19,"completion_tokens":10}}`,
			text: "4", reasoning: "Okay, 4.\n", completion: 10, hidden: 9,
		},
		{
			name:   "an unfinished thought, cut at max_tokens: all hidden",
			prompt: "Question: what is 2+2?\nAnswer:",
			body: `{"id":"cmpl-5","object":"text_completion","created":1735000000,"model":"r1",
				"choices":[{"index":0,"text":"<think>\nOkay, so the user wants","logprobs":null,"finish_reason":"length","stop_reason":null}],
				"usage":{"prompt_tokens":12,"total_tokens":28,"completion_tokens":16}}`,
			text: "", reasoning: "\nOkay, so the user wants", completion: 16, hidden: 16,
		},
		{
			name:   "an unfinished thought the prompt opened: all hidden",
			prompt: "Q: 2+2?\n<think>",
			body: `{"id":"cmpl-6","object":"text_completion","created":1735000000,"model":"r1",
				"choices":[{"index":0,"text":"Two and two","logprobs":null,"finish_reason":"length"}],
				"usage":{"prompt_tokens":8,"total_tokens":12,"completion_tokens":4}}`,
			text: "", reasoning: "Two and two", completion: 4, hidden: 4,
		},
		{
			name:   "no thought at all",
			prompt: "Q: 2+2?\nA:",
			body: `{"id":"cmpl-7","object":"text_completion","created":1735000000,"model":"qwen2.5:0.5b","system_fingerprint":"fp_ollama",
				"choices":[{"index":0,"text":" 4","finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}`,
			text: " 4", completion: 2, hidden: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := recorded(t, tc.body)
			cfg := quick(f.url())
			cfg.Chat = tc.chat
			b := mustNew(t, cfg)
			prompt := tc.prompt
			if prompt == "" {
				prompt = "What is 2+2?"
			}
			got, err := b.Generate(t.Context(), pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 64}})
			if err != nil {
				t.Fatal(err)
			}
			c := got[0]
			if c.Text != tc.text || c.Reasoning != tc.reasoning {
				t.Errorf("text %q, reasoning %q; want %q, %q", c.Text, c.Reasoning, tc.text, tc.reasoning)
			}
			if u := c.Usage; u.CompletionTokens+u.HiddenTokens != tc.completion || u.HiddenTokens != tc.hidden {
				t.Errorf("%d visible + %d hidden tokens, want %d of which %d hidden", u.CompletionTokens, u.HiddenTokens, tc.completion, tc.hidden)
			}
		})
	}
}

// Several choices, each with its own thought: every choice's share of the
// tokens is split by its own thought, and the call's shares add up to the
// server's count.
func TestReasoningPerChoice(t *testing.T) {
	f := recorded(t, `{"id":"chatcmpl-n","object":"chat.completion","created":1735000000,"model":"qwq",
		"choices":[
			{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"a long thought about two and two"},"finish_reason":"stop","usage":{"completion_tokens":30}},
			{"index":1,"message":{"role":"assistant","content":"<think>short</think>5"},"finish_reason":"stop","usage":{"completion_tokens":7}},
			{"index":2,"message":{"role":"assistant","content":"no thought"},"finish_reason":"stop","usage":{"completion_tokens":3}}],
		"usage":{"prompt_tokens":10,"completion_tokens":40,"total_tokens":50}}`)
	cfg := quick(f.url())
	cfg.Chat = true
	got, err := mustNew(t, cfg).Generate(t.Context(), pareto.Request{Prompt: "2+2?", Params: pareto.Params{N: 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		text, reasoning string
		visible, hidden int
	}{
		{"4", "a long thought about two and two", 1, 29},
		{"5", "short", 1, 6},
		{"no thought", "", 3, 0},
	}
	for i, w := range want {
		c := got[i]
		if c.Text != w.text || c.Reasoning != w.reasoning || c.Usage.CompletionTokens != w.visible || c.Usage.HiddenTokens != w.hidden {
			t.Errorf("choice %d: %q / %q, %d visible and %d hidden; want %q / %q, %d and %d",
				i, c.Text, c.Reasoning, c.Usage.CompletionTokens, c.Usage.HiddenTokens, w.text, w.reasoning, w.visible, w.hidden)
		}
	}
	if s := sumUsage(got); s.CompletionTokens+s.HiddenTokens != 40 {
		t.Errorf("%d visible + %d hidden, want the server's 40", s.CompletionTokens, s.HiddenTokens)
	}
}

// Markers other than <think> are read when configured.
func TestReasoningOtherMarkers(t *testing.T) {
	f := recorded(t, `{"id":"cmpl-m","object":"text_completion","created":1,"model":"m",
		"choices":[{"index":0,"text":"<|begin_of_thought|>plan<|end_of_thought|>go","finish_reason":"stop"}],
		"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}}`)
	cfg := quick(f.url())
	cfg.Markers = think.Markers{Open: "<|begin_of_thought|>", Close: "<|end_of_thought|>"}
	got, err := mustNew(t, cfg).Generate(t.Context(), pareto.Request{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Text != "go" || got[0].Reasoning != "plan" || got[0].Usage.HiddenTokens != 5 {
		t.Errorf("%q / %q, %d hidden", got[0].Text, got[0].Reasoning, got[0].Usage.HiddenTokens)
	}
}

// A chat request ending with an assistant message asks for it to be
// continued: vLLM's continue_final_message where the server is declared
// able to, a clear error otherwise. A thought the continued message left
// open goes on in the reply.
func TestContinueFinalMessage(t *testing.T) {
	f := recorded(t, `{"id":"chatcmpl-c","object":"chat.completion","created":1,"model":"m",
		"choices":[{"index":0,"message":{"role":"assistant","content":" so it is 4"},"finish_reason":"length"}],
		"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`)
	req := pareto.Request{Messages: []pareto.Message{{Role: "user", Content: "2+2?"}, {Role: "assistant", Content: "<think>Two and two, Wait"}}}

	_, err := mustNew(t, quick(f.url())).Generate(t.Context(), req)
	for _, want := range []string{f.url(), `model "m"`, "continue_final_message", "--chat=false", "Ollama"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("continuing without ContinueFinalMessage: error %v, want one naming %q", err, want)
		}
	}
	if len(f.requests()) != 0 {
		t.Errorf("the refused request reached the server")
	}

	cfg := quick(f.url())
	cfg.ContinueFinalMessage = true
	got, err := mustNew(t, cfg).Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	body := f.requests()[0].body
	if body["continue_final_message"] != true || body["add_generation_prompt"] != false {
		t.Errorf("request body %v: want continue_final_message true and add_generation_prompt false", body)
	}
	if got[0].Text != "" || got[0].Reasoning != " so it is 4" || got[0].Usage.HiddenTokens != 5 {
		t.Errorf("the continued thought: %q / %q, %d hidden", got[0].Text, got[0].Reasoning, got[0].Usage.HiddenTokens)
	}
	// A request that does not end with the assistant's message is not a
	// continuation.
	if _, err := mustNew(t, cfg).Generate(t.Context(), pareto.Request{Messages: req.Messages[:1]}); err != nil {
		t.Fatal(err)
	}
	if body := f.requests()[1].body; body["continue_final_message"] != nil {
		t.Errorf("a plain chat request asks to continue: %v", body)
	}
}

func TestReasoningEffort(t *testing.T) {
	f := newFake(t, &fake{})
	cfg := quick(f.url())
	cfg.Chat = true
	b := mustNew(t, cfg)
	if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "p", Params: pareto.Params{ReasoningEffort: "low"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "p"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if reqs[0].body["reasoning_effort"] != "low" || reqs[1].body["reasoning_effort"] != nil {
		t.Errorf("reasoning_effort sent: %v, then %v", reqs[0].body["reasoning_effort"], reqs[1].body["reasoning_effort"])
	}
	if _, err := b.Generate(t.Context(), pareto.Request{Prompt: "p", Params: pareto.Params{ReasoningEffort: "extreme"}}); err == nil || !strings.Contains(err.Error(), `"extreme"`) {
		t.Errorf("an unknown effort: %v", err)
	}
	completions := mustNew(t, quick(f.url()))
	if _, err := completions.Generate(t.Context(), pareto.Request{Prompt: "p", Params: pareto.Params{ReasoningEffort: "high"}}); err == nil || !strings.Contains(err.Error(), "chat") {
		t.Errorf("an effort on /completions: %v", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests reached the server, want the 2 valid ones", n)
	}
}
