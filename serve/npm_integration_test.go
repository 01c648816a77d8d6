//go:build integration

package serve

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

// nodeScript drives the server with the official openai npm package: a
// chat completion, the same streamed, a completion with logprobs, and a
// request for a model that does not exist. It prints one JSON object.
const nodeScript = `
import OpenAI from 'openai';
const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'unused', maxRetries: 0 });
const model = process.env.MODEL, prompt = process.env.PROMPT;
const messages = [{ role: 'user', content: prompt }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 60, temperature: 0 });
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 60, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let streamed = '', chunks = 0, usage = null, finish = null;
for await (const chunk of stream) {
  chunks++;
  for (const c of chunk.choices) {
    streamed += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  if (chunk.usage) usage = chunk.usage;
}
const completion = await client.completions.create({ model, prompt, max_tokens: 60, temperature: 0, logprobs: 2 });
let notFound = null;
try {
  await client.chat.completions.create({ model: 'no-such-model', messages });
} catch (e) {
  notFound = { status: e.status, code: e.code, param: e.param };
}
console.log(JSON.stringify({ chat, streamed, chunks, usage, finish, completion, notFound }));
`

func TestOpenAINodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("node is installed but npm is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "openai")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install openai: %v\n%s", err, out)
	}
	if pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "openai", "package.json")); err == nil {
		var v struct{ Version string }
		_ = json.Unmarshal(pkg, &v)
		t.Logf("openai npm package %s, node %s", v.Version, nodeVersion(ctx, node))
	}
	script := filepath.Join(dir, "client.mjs")
	if err := os.WriteFile(script, []byte(nodeScript), 0o644); err != nil {
		t.Fatal(err)
	}

	srv := newServer(t, nil)
	run := exec.CommandContext(ctx, node, script)
	run.Dir = dir
	run.Env = append(os.Environ(), "BASE_URL="+srv.URL+"/v1", "MODEL="+modelName, "PROMPT="+prompt)
	run.Stderr = &testWriter{t}
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, out)
	}
	var got struct {
		Chat struct {
			Object  string `json:"object"`
			Choices []struct {
				Message struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Usage usage `json:"usage"`
		} `json:"chat"`
		Streamed   string `json:"streamed"`
		Chunks     int    `json:"chunks"`
		Usage      *usage `json:"usage"`
		Finish     string `json:"finish"`
		Completion struct {
			Object  string `json:"object"`
			Choices []struct {
				Text     string `json:"text"`
				Logprobs struct {
					Tokens        []string  `json:"tokens"`
					TokenLogprobs []float64 `json:"token_logprobs"`
				} `json:"logprobs"`
			} `json:"choices"`
			Usage usage `json:"usage"`
		} `json:"completion"`
		NotFound *struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Param  string `json:"param"`
		} `json:"notFound"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node printed %s: %v", out, err)
	}

	wantChat := direct(t, pareto.Request{Messages: []pareto.Message{{Role: "user", Content: prompt}}, Params: pareto.Params{MaxTokens: 60}})[0]
	if len(got.Chat.Choices) != 1 || got.Chat.Object != "chat.completion" {
		t.Fatalf("chat: %s", out)
	}
	chat := got.Chat.Choices[0]
	if chat.Message.Role != "assistant" || chat.Message.Content != wantChat.Text || wantChat.Text == "" || chat.FinishReason != wantChat.FinishReason {
		t.Fatalf("chat: %+v, backend says %q (%s)", chat, wantChat.Text, wantChat.FinishReason)
	}
	if got.Streamed != chat.Message.Content || got.Finish != chat.FinishReason || got.Chunks < 3 {
		t.Fatalf("stream: %q (%s) in %d chunks, whole %q (%s)", got.Streamed, got.Finish, got.Chunks, chat.Message.Content, chat.FinishReason)
	}
	// The streamed request repeats the whole one's prompt, which the prefix
	// cache then serves: the figures agree but for the cached tokens.
	if got.Usage == nil || got.Usage.PromptTokens != got.Chat.Usage.PromptTokens || got.Usage.CompletionTokens != got.Chat.Usage.CompletionTokens ||
		got.Usage.CompletionTokens != wantChat.Usage.CompletionTokens || got.Usage.PromptTokensDetails.CachedTokens == 0 {
		t.Fatalf("streamed usage %+v, whole %+v, backend %d completion tokens", got.Usage, got.Chat.Usage, wantChat.Usage.CompletionTokens)
	}

	wantText := direct(t, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 60}})[0]
	if len(got.Completion.Choices) != 1 || got.Completion.Object != "text_completion" {
		t.Fatalf("completion: %s", out)
	}
	c := got.Completion.Choices[0]
	if c.Text != wantText.Text || len(c.Logprobs.Tokens) != wantText.Usage.CompletionTokens || got.Completion.Usage.CompletionTokens != wantText.Usage.CompletionTokens {
		t.Fatalf("completion %q with %d logprob tokens, usage %+v; backend %q in %d tokens",
			c.Text, len(c.Logprobs.Tokens), got.Completion.Usage, wantText.Text, wantText.Usage.CompletionTokens)
	}
	for i, lp := range c.Logprobs.TokenLogprobs {
		if lp > 0 {
			t.Fatalf("token %d logprob %g > 0", i, lp)
		}
	}
	if nf := got.NotFound; nf == nil || nf.Status != 404 || nf.Code != "model_not_found" || nf.Param != "model" {
		t.Fatalf("unknown model: %+v", got.NotFound)
	}
}

func nodeVersion(ctx context.Context, node string) string {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// testWriter shows a child's stderr in the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("node: %s", p)
	return len(p), nil
}
