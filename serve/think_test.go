package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/think"
)

// thinker is a Model that thinks as the embedded backend's thinkers do:
// its raw text is a thought between markers and then an answer, which
// Generate and GenerateStream split, and GenerateRaw leaves whole. Its
// stream gives the thought and the answer in several pieces each.
type thinker struct{}

var (
	thinkerThought = []string{"plan: ", "add ", "2 and 2"}
	thinkerAnswer  = []string{"4", "\n#### 4"}
)

const (
	thinkerHidden  = 7 // tokens of <think>, the thought and </think>
	thinkerVisible = 3
)

func (thinker) raw() string {
	return "<think>" + strings.Join(thinkerThought, "") + "</think>\n" + strings.Join(thinkerAnswer, "")
}

func (th thinker) completion(raw bool) pareto.Completion {
	c := pareto.Completion{Reasoning: strings.Join(thinkerThought, ""), Text: strings.Join(thinkerAnswer, ""), FinishReason: "stop",
		Usage: pareto.Usage{Calls: 1, PromptTokens: 2, CompletionTokens: thinkerVisible, HiddenTokens: thinkerHidden}}
	if raw {
		c.Text, c.Reasoning = th.raw(), ""
	}
	return c
}

func (th thinker) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	return th.GenerateStream(ctx, req, nil)
}

func (th thinker) GenerateStream(ctx context.Context, req pareto.Request, emit func(int, pareto.Completion)) ([]pareto.Completion, error) {
	if emit != nil {
		for _, r := range thinkerThought {
			emit(0, pareto.Completion{Reasoning: r})
		}
		for _, v := range thinkerAnswer {
			emit(0, pareto.Completion{Text: v})
		}
		emit(0, pareto.Completion{FinishReason: "stop"})
	}
	return []pareto.Completion{th.completion(false)}, nil
}

func (th thinker) GenerateRaw(ctx context.Context, req pareto.Request, emit func(int, pareto.Completion)) ([]pareto.Completion, error) {
	if emit != nil {
		emit(0, pareto.Completion{Text: th.raw(), FinishReason: "stop"})
	}
	return []pareto.Completion{th.completion(true)}, nil
}

// wireUsage is usage as it is on the wire.
type wireUsage struct {
	PromptTokens            int `json:"prompt_tokens"`
	CompletionTokens        int `json:"completion_tokens"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// wireResponse is a response or chunk of either API as it is on the wire.
type wireResponse struct {
	Choices []struct {
		Text    *string         `json:"text"`
		Message json.RawMessage `json:"message"`
		Delta   json.RawMessage `json:"delta"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

// wireMessage is a chat message or delta as it is on the wire: absent
// fields stay nil.
type wireMessage struct {
	Content          *string `json:"content"`
	ReasoningContent *string `json:"reasoning_content"`
	Reasoning        *string `json:"reasoning"`
}

func checkThinkerUsage(t *testing.T, u *wireUsage) {
	t.Helper()
	if u == nil || u.CompletionTokens != thinkerHidden+thinkerVisible || u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != thinkerHidden {
		t.Fatalf("usage %+v: want %d completion tokens of which %d reasoning", u, thinkerHidden+thinkerVisible, thinkerHidden)
	}
}

// A thinker on chat: the thought in reasoning_content and reasoning, the
// answer in content, whole and streamed (thought deltas apart from answer
// deltas); on completions the raw text, markers and thought included. Both
// count the thought's tokens as completion tokens and as reasoning tokens.
func TestThinkerResponses(t *testing.T) {
	srv := newServer(t, map[string]Model{"thinker": thinker{}})
	reasoning, answer := strings.Join(thinkerThought, ""), strings.Join(thinkerAnswer, "")

	resp, body := postJSON(t, srv.URL+"/v1/chat/completions", `{"model":"thinker","messages":[{"role":"user","content":"2+2?"}]}`)
	var chat wireResponse
	if err := json.Unmarshal(body, &chat); err != nil || resp.StatusCode != 200 || len(chat.Choices) != 1 {
		t.Fatalf("chat: status %d, %s (%v)", resp.StatusCode, body, err)
	}
	var msg wireMessage
	if err := json.Unmarshal(chat.Choices[0].Message, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Content == nil || *msg.Content != answer || msg.ReasoningContent == nil || *msg.ReasoningContent != reasoning || msg.Reasoning == nil || *msg.Reasoning != reasoning {
		t.Fatalf("chat message %s: want content %q, reasoning_content and reasoning %q", chat.Choices[0].Message, answer, reasoning)
	}
	checkThinkerUsage(t, chat.Usage)

	resp, body = postJSON(t, srv.URL+"/v1/completions", `{"model":"thinker","prompt":"2+2?"}`)
	var cmpl wireResponse
	if err := json.Unmarshal(body, &cmpl); err != nil || resp.StatusCode != 200 || len(cmpl.Choices) != 1 {
		t.Fatalf("completions: status %d, %s (%v)", resp.StatusCode, body, err)
	}
	if tx := cmpl.Choices[0].Text; tx == nil || *tx != (thinker{}).raw() {
		t.Fatalf("completions choice %s, want the raw text %q", body, (thinker{}).raw())
	}
	checkThinkerUsage(t, cmpl.Usage)

	// Streams.
	_, events := sse(t, srv.URL+"/v1/chat/completions", `{"model":"thinker","messages":[{"role":"user","content":"2+2?"}],"stream":true,"stream_options":{"include_usage":true}}`)
	var r, rr, v strings.Builder
	var usage *wireUsage
	thoughtChunks, answerChunks := 0, 0
	for _, ev := range events[:len(events)-1] {
		var ch wireResponse
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &ch); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			var d wireMessage
			if err := json.Unmarshal(c.Delta, &d); err != nil {
				t.Fatal(err)
			}
			if d.ReasoningContent != nil {
				thoughtChunks++
				r.WriteString(*d.ReasoningContent)
				if d.Content != nil {
					t.Fatalf("delta %s mixes thought and answer", c.Delta)
				}
			}
			if d.Reasoning != nil {
				rr.WriteString(*d.Reasoning)
			}
			if d.Content != nil && *d.Content != "" {
				answerChunks++
				v.WriteString(*d.Content)
			}
		}
	}
	if r.String() != reasoning || rr.String() != reasoning || v.String() != answer || thoughtChunks != len(thinkerThought) || answerChunks != len(thinkerAnswer) {
		t.Fatalf("chat stream: reasoning_content %q, reasoning %q (%d chunks), content %q (%d chunks); want %q and %q",
			r.String(), rr.String(), thoughtChunks, v.String(), answerChunks, reasoning, answer)
	}
	checkThinkerUsage(t, usage)

	_, events = sse(t, srv.URL+"/v1/completions", `{"model":"thinker","prompt":"2+2?","stream":true,"stream_options":{"include_usage":true}}`)
	var text strings.Builder
	usage = nil
	for _, ev := range events[:len(events)-1] {
		var ch wireResponse
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &ch); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Text != nil {
				text.WriteString(*c.Text)
			}
		}
	}
	if text.String() != (thinker{}).raw() {
		t.Fatalf("completions stream %q, want the raw %q", text.String(), (thinker{}).raw())
	}
	checkThinkerUsage(t, usage)
}

// A model without a thought sends no reasoning fields: the chat message
// and deltas are as they were.
func TestNoReasoningFields(t *testing.T) {
	srv := newServer(t, nil)
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`, modelName)
	_, raw := postJSON(t, srv.URL+"/v1/chat/completions", body)
	if strings.Contains(string(raw), "reasoning") {
		t.Fatalf("response of a model without thoughts mentions reasoning: %s", raw)
	}
	body = fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"stream":true}`, modelName)
	_, events := sse(t, srv.URL+"/v1/chat/completions", body)
	for _, ev := range events {
		if strings.Contains(ev, "reasoning") {
			t.Fatalf("stream of a model without thoughts mentions reasoning: %s", ev)
		}
	}
}

// The embedded engine running a random thinker stand-in (a GGUF naming
// its markers), served: a prompt that opens a thought makes everything
// generated thought, which chat returns as reasoning_content with empty
// content and completions as the raw text; both count every generated
// token as completion and reasoning tokens, as the backend does. Read
// back by the openai backend, the completions and their usage are what
// the engine gives directly, and budget forcing through the server keeps
// its budget.
func TestServedThinker(t *testing.T) {
	cfg := randmodel.Small()
	cfg.Layers, cfg.Context, cfg.ThinkTokens = 2, 256, true
	path := filepath.Join(t.TempDir(), "thinker.gguf")
	if err := randmodel.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, map[string]Model{"thinker": b})
	ctx := context.Background()
	const maxTok = 12
	prompt := "The answer is " + think.Default.Open
	direct, err := b.Generate(ctx, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: maxTok}})
	if err != nil {
		t.Fatal(err)
	}
	thought := direct[0].Reasoning
	if direct[0].Text != "" || thought == "" || direct[0].Usage.HiddenTokens != maxTok {
		t.Fatalf("direct: text %q, reasoning %q, usage %+v: want all %d tokens thought", direct[0].Text, thought, direct[0].Usage, maxTok)
	}

	c := newClient(srv)
	cm, err := c.Completions.New(ctx, oai.CompletionNewParams{Model: "thinker", Prompt: oai.CompletionNewParamsPromptUnion{OfString: oai.String(prompt)},
		MaxTokens: oai.Int(maxTok), Temperature: oai.Float(0)})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Choices[0].Text != thought || cm.Usage.CompletionTokens != maxTok || cm.Usage.CompletionTokensDetails.ReasoningTokens != maxTok {
		t.Fatalf("completions: text %q, usage %+v; want the raw %q, %d completion tokens all reasoning", cm.Choices[0].Text, cm.Usage, thought, maxTok)
	}

	body := fmt.Sprintf(`{"model":"thinker","messages":[{"role":"user","content":%q}],"max_tokens":%d,"temperature":0}`, prompt, maxTok)
	_, raw := postJSON(t, srv.URL+"/v1/chat/completions", body)
	var chat wireResponse
	var msg wireMessage
	if err := json.Unmarshal(raw, &chat); err != nil || len(chat.Choices) != 1 || json.Unmarshal(chat.Choices[0].Message, &msg) != nil {
		t.Fatalf("chat response %s: %v", raw, err)
	}
	chatDirect, err := b.Generate(ctx, pareto.Request{Messages: []pareto.Message{{Role: "user", Content: prompt}}, Params: pareto.Params{MaxTokens: maxTok}})
	if err != nil {
		t.Fatal(err)
	}
	if want := chatDirect[0].Reasoning; msg.Content == nil || *msg.Content != "" || msg.ReasoningContent == nil || *msg.ReasoningContent != want || want == "" {
		t.Fatalf("chat message %s: want no content, reasoning_content %q", chat.Choices[0].Message, want)
	}
	if u := chat.Usage; u == nil || u.CompletionTokens != maxTok || u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != maxTok {
		t.Fatalf("chat usage %+v: want %d completion tokens, all reasoning", chat.Usage, maxTok)
	}

	for _, api := range []bool{false, true} {
		ob, err := openai.New(openai.Config{URLs: []string{srv.URL + "/v1"}, Model: "thinker", Chat: api})
		if err != nil {
			t.Fatal(err)
		}
		req := pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: maxTok}}
		want := direct[0]
		if api {
			want = chatDirect[0]
		}
		got, err := ob.Generate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		g := got[0]
		if g.Text != want.Text || g.Reasoning != want.Reasoning || g.Usage.CompletionTokens != want.Usage.CompletionTokens || g.Usage.HiddenTokens != want.Usage.HiddenTokens {
			t.Fatalf("chat %v through serve: text %q, reasoning %q, %d visible + %d hidden; direct %q, %q, %d + %d", api,
				g.Text, g.Reasoning, g.Usage.CompletionTokens, g.Usage.HiddenTokens, want.Text, want.Reasoning, want.Usage.CompletionTokens, want.Usage.HiddenTokens)
		}

		if api {
			continue // chat cannot continue the thought: serve takes no continue_final_message
		}
		const budget = 5
		f := &think.Forcer{Inner: ob, Budget: budget, Cue: "\n"}
		fc, err := f.Generate(ctx, pareto.Request{Prompt: "The answer is ", Params: pareto.Params{MaxTokens: 4}})
		if err != nil {
			t.Fatal(err)
		}
		if u := fc[0].Usage; u.HiddenTokens != budget || u.CompletionTokens > 4 || u.Calls != 2 {
			t.Fatalf("budget %d forced through serve: %d hidden, %d visible tokens in %d calls", budget, u.HiddenTokens, u.CompletionTokens, u.Calls)
		}
	}
}
