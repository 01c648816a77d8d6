package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/synth"
)

const modelName = models.Default

// backend is the shipped model in the embedded engine, loaded once.
var backend *embedded.Backend

func TestMain(m *testing.M) {
	path, err := models.Path(modelName)
	if err == nil {
		backend, err = embedded.Load(path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve test: loading the shipped model:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// prompt is a level-5 synth problem: the shipped model writes a long
// solution to it, different ones when it samples.
var prompt = synth.Prompt(synth.TestSet()[850], true)

// newServer serves the models (the shipped one by default) on httptest.
func newServer(t *testing.T, ms map[string]Model) *httptest.Server {
	t.Helper()
	if ms == nil {
		ms = map[string]Model{modelName: backend}
	}
	srv := httptest.NewServer(New(ms))
	t.Cleanup(srv.Close)
	return srv
}

func newClient(srv *httptest.Server) oai.Client {
	return oai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

// direct is what the backend itself generates for req.
func direct(t *testing.T, req pareto.Request) []pareto.Completion {
	t.Helper()
	out, err := backend.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func chatMessages() []pareto.Message {
	return []pareto.Message{{Role: "system", Content: "Solve it."}, {Role: "user", Content: prompt}}
}

// completionParams asks for a greedy completion of prompt.
func completionParams(maxTokens int64) oai.CompletionNewParams {
	return oai.CompletionNewParams{
		Model:       modelName,
		Prompt:      oai.CompletionNewParamsPromptUnion{OfString: oai.String(prompt)},
		MaxTokens:   oai.Int(maxTokens),
		Temperature: oai.Float(0),
	}
}

// chatParams asks for a greedy chat completion of the chat messages.
func chatParams(maxTokens int64) oai.ChatCompletionNewParams {
	return oai.ChatCompletionNewParams{
		Model:       modelName,
		Messages:    []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("Solve it."), oai.UserMessage(prompt)},
		MaxTokens:   oai.Int(maxTokens),
		Temperature: oai.Float(0),
	}
}

func TestModels(t *testing.T) {
	c := newClient(newServer(t, nil))
	ctx := context.Background()
	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != modelName || page.Data[0].OwnedBy != "pareto" || page.Data[0].Created == 0 {
		t.Fatalf("models = %+v", page.Data)
	}
	m, err := c.Models.Get(ctx, modelName)
	if err != nil || m.ID != modelName {
		t.Fatalf("get %s: %+v, %v", modelName, m, err)
	}
	_, err = c.Models.Get(ctx, "no-such-model")
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("get unknown model: %v", err)
	}
}

func TestCompletionGreedyMatchesBackend(t *testing.T) {
	c := newClient(newServer(t, nil))
	resp, err := c.Completions.New(context.Background(), completionParams(60))
	if err != nil {
		t.Fatal(err)
	}
	want := direct(t, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 60}})[0]
	if len(resp.Choices) != 1 {
		t.Fatalf("%d choices, want 1", len(resp.Choices))
	}
	ch := resp.Choices[0]
	if ch.Text != want.Text || string(ch.FinishReason) != want.FinishReason || ch.Index != 0 {
		t.Fatalf("choice %+v\nbackend says %q (%s)", ch, want.Text, want.FinishReason)
	}
	if want.Text == "" {
		t.Fatal("the shipped model generated nothing: the comparison proves little")
	}
	if resp.Object != "text_completion" || !strings.HasPrefix(resp.ID, "cmpl-") || resp.Model != modelName || resp.Created == 0 {
		t.Fatalf("envelope: object %q id %q model %q created %d", resp.Object, resp.ID, resp.Model, resp.Created)
	}
	u := resp.Usage
	if int(u.PromptTokens) != want.Usage.PromptTokens || int(u.CompletionTokens) != want.Usage.CompletionTokens || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Fatalf("usage %+v, backend %+v", u, want.Usage)
	}
	if ch.JSON.Logprobs.Raw() != "null" {
		t.Fatalf("logprobs = %s without being asked, want null", ch.JSON.Logprobs.Raw())
	}
}

func TestCompletionLength(t *testing.T) {
	c := newClient(newServer(t, nil))
	// The prompt as an array of one string, as the API allows.
	resp, err := c.Completions.New(context.Background(), oai.CompletionNewParams{
		Model:       modelName,
		Prompt:      oai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{prompt}},
		MaxTokens:   oai.Int(5),
		Temperature: oai.Float(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "length" || resp.Usage.CompletionTokens != 5 {
		t.Fatalf("max_tokens 5: finish %q after %d tokens", resp.Choices[0].FinishReason, resp.Usage.CompletionTokens)
	}
	if r, ok := resp.Choices[0].JSON.ExtraFields["stop_reason"]; ok {
		t.Fatalf("stop_reason %s at the token cap, want it absent", r.Raw())
	}
}

func TestChatGreedyMatchesBackend(t *testing.T) {
	c := newClient(newServer(t, nil))
	resp, err := c.Chat.Completions.New(context.Background(), chatParams(60))
	if err != nil {
		t.Fatal(err)
	}
	want := direct(t, pareto.Request{Messages: chatMessages(), Params: pareto.Params{MaxTokens: 60}})[0]
	if len(resp.Choices) != 1 {
		t.Fatalf("%d choices, want 1", len(resp.Choices))
	}
	ch := resp.Choices[0]
	if want.Text == "" {
		t.Fatal("the shipped model answered nothing: the comparison proves little")
	}
	if ch.Message.Content != want.Text || string(ch.Message.Role) != "assistant" || ch.FinishReason != want.FinishReason {
		t.Fatalf("message %+v finish %q\nbackend says %q (%s)", ch.Message, ch.FinishReason, want.Text, want.FinishReason)
	}
	if resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Model != modelName {
		t.Fatalf("envelope: object %q id %q model %q", resp.Object, resp.ID, resp.Model)
	}
	if int(resp.Usage.PromptTokens) != want.Usage.PromptTokens || int(resp.Usage.CompletionTokens) != want.Usage.CompletionTokens {
		t.Fatalf("usage %+v, backend %+v", resp.Usage, want.Usage)
	}
	// max_completion_tokens is the newer name of max_tokens.
	p := chatParams(0)
	p.MaxTokens = oai.ChatCompletionNewParams{}.MaxTokens
	p.MaxCompletionTokens = oai.Int(3)
	resp, err = c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.CompletionTokens != 3 || resp.Choices[0].FinishReason != "length" {
		t.Fatalf("max_completion_tokens 3: %d tokens, finish %q", resp.Usage.CompletionTokens, resp.Choices[0].FinishReason)
	}
}

func TestNSeeded(t *testing.T) {
	c := newClient(newServer(t, nil))
	ctx := context.Background()
	params := oai.CompletionNewParams{
		Model:       modelName,
		Prompt:      oai.CompletionNewParamsPromptUnion{OfString: oai.String(prompt)},
		MaxTokens:   oai.Int(40),
		Temperature: oai.Float(1),
		N:           oai.Int(3),
		Seed:        oai.Int(7),
	}
	resp, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 {
		t.Fatalf("%d choices, want 3", len(resp.Choices))
	}
	want := direct(t, pareto.Request{Prompt: prompt, Params: pareto.Params{N: 3, MaxTokens: 40, Temperature: 1, Seed: ptr(int64(7))}})
	distinct := map[string]bool{}
	var completion int
	for i, ch := range resp.Choices {
		if ch.Index != int64(i) || ch.Text != want[i].Text {
			t.Fatalf("choice %d: index %d text %q, backend with seed 7 says %q", i, ch.Index, ch.Text, want[i].Text)
		}
		distinct[ch.Text] = true
		completion += want[i].Usage.CompletionTokens
	}
	if len(distinct) < 2 {
		t.Fatalf("3 samples at temperature 1 all read %q", resp.Choices[0].Text)
	}
	if int(resp.Usage.CompletionTokens) != completion || int(resp.Usage.PromptTokens) != want[0].Usage.PromptTokens {
		t.Fatalf("usage %+v: want %d prompt tokens (counted once) and %d completion tokens", resp.Usage, want[0].Usage.PromptTokens, completion)
	}
	again, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Choices {
		if again.Choices[i].Text != resp.Choices[i].Text {
			t.Fatalf("seed 7 again, choice %d: %q then %q", i, resp.Choices[i].Text, again.Choices[i].Text)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestCompletionLogprobs(t *testing.T) {
	c := newClient(newServer(t, nil))
	p := completionParams(20)
	p.Logprobs = oai.Int(3)
	resp, err := c.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	lp := ch.Logprobs
	n := int(resp.Usage.CompletionTokens)
	if n == 0 || len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
		t.Fatalf("%d tokens but logprobs of %d/%d/%d/%d", n, len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TopLogprobs), len(lp.TextOffset))
	}
	if got := strings.Join(lp.Tokens, ""); got != ch.Text {
		t.Fatalf("tokens join to %q, text is %q", got, ch.Text)
	}
	offset := int64(len([]rune(prompt)))
	for i, l := range lp.TokenLogprobs {
		if l > 0 || math.IsNaN(l) {
			t.Fatalf("token %d logprob %g", i, l)
		}
		if lp.TextOffset[i] != offset {
			t.Fatalf("token %d text_offset %d, want %d (from the start of the prompt)", i, lp.TextOffset[i], offset)
		}
		offset += int64(len([]rune(lp.Tokens[i])))
		top := lp.TopLogprobs[i]
		if len(top) == 0 || len(top) > 3 {
			t.Fatalf("token %d: %d alternatives, want 1-3", i, len(top))
		}
		best := math.Inf(-1)
		for _, v := range top {
			best = math.Max(best, v)
		}
		if math.Abs(best-l) > 1e-9 { // greedy picks the most likely token
			t.Fatalf("token %d %q: logprob %g, but the best alternative has %g", i, lp.Tokens[i], l, best)
		}
	}
}

func TestChatLogprobs(t *testing.T) {
	c := newClient(newServer(t, nil))
	p := chatParams(20)
	p.Logprobs = oai.Bool(true)
	p.TopLogprobs = oai.Int(2)
	resp, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	content := resp.Choices[0].Logprobs.Content
	if len(content) != int(resp.Usage.CompletionTokens) || len(content) == 0 {
		t.Fatalf("%d logprobs for %d tokens", len(content), resp.Usage.CompletionTokens)
	}
	var text strings.Builder
	for i, e := range content {
		text.WriteString(e.Token)
		if e.Logprob > 0 || len(e.Bytes) != len(e.Token) {
			t.Fatalf("token %d: %+v", i, e)
		}
		if len(e.TopLogprobs) != 2 || e.TopLogprobs[0].Logprob < e.TopLogprobs[1].Logprob || math.Abs(e.TopLogprobs[0].Logprob-e.Logprob) > 1e-9 {
			t.Fatalf("token %d %q (%g): top %+v, want 2, most likely first, the chosen one", i, e.Token, e.Logprob, e.TopLogprobs)
		}
	}
	if text.String() != resp.Choices[0].Message.Content {
		t.Fatalf("logprob tokens join to %q, content is %q", text.String(), resp.Choices[0].Message.Content)
	}
}

func TestChatStreamMatches(t *testing.T) {
	c := newClient(newServer(t, nil))
	ctx := context.Background()
	p := chatParams(60)
	p.N = oai.Int(2)
	p.Logprobs = oai.Bool(true)
	whole, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	texts := make([]strings.Builder, 2)
	finish := make([]string, 2)
	lps := make([]int, 2)
	var usage *oai.CompletionUsage
	var id string
	chunks := 0
	for s.Next() {
		ch := s.Current()
		chunks++
		if ch.Object != "chat.completion.chunk" || ch.Model != modelName || (id != "" && ch.ID != id) {
			t.Fatalf("chunk %d: object %q model %q id %q (first %q)", chunks, ch.Object, ch.Model, ch.ID, id)
		}
		id = ch.ID
		if usage != nil {
			t.Fatal("a chunk after the usage chunk")
		}
		if len(ch.Choices) == 0 {
			usage = &ch.Usage
			continue
		}
		if ch.JSON.Usage.Raw() != "null" {
			t.Fatalf("chunk %d: usage %s before the end, want null", chunks, ch.JSON.Usage.Raw())
		}
		for _, c := range ch.Choices {
			if finish[c.Index] != "" {
				t.Fatalf("choice %d: a chunk after its finish", c.Index)
			}
			texts[c.Index].WriteString(c.Delta.Content)
			finish[c.Index] = c.FinishReason
			lps[c.Index] += len(c.Logprobs.Content)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for i, w := range whole.Choices {
		if texts[i].String() != w.Message.Content || finish[i] != w.FinishReason || lps[i] != len(w.Logprobs.Content) {
			t.Fatalf("choice %d: streamed %q (%s, %d logprobs), whole %q (%s, %d logprobs)",
				i, texts[i].String(), finish[i], lps[i], w.Message.Content, w.FinishReason, len(w.Logprobs.Content))
		}
	}
	if chunks < 4 {
		t.Fatalf("%d chunks: the text did not stream", chunks)
	}
	if usage == nil || usage.PromptTokens != whole.Usage.PromptTokens || usage.CompletionTokens != whole.Usage.CompletionTokens || usage.TotalTokens != whole.Usage.TotalTokens {
		t.Fatalf("streamed usage %+v, whole %+v", usage, whole.Usage)
	}
}

// Streamed completions with a stop sequence: text that could begin the
// stop is held back, so the pieces still add up to the whole answer.
func TestCompletionStreamWithStop(t *testing.T) {
	c := newClient(newServer(t, nil))
	ctx := context.Background()
	plain := direct(t, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 60}})[0].Text
	if len(plain) < 30 {
		t.Fatalf("greedy text %q too short to place a stop in", plain)
	}
	stop := plain[20:24]
	p := completionParams(60)
	p.Stop = oai.CompletionNewParamsStopUnion{OfString: oai.String(stop)}
	whole, err := c.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := plain[:strings.Index(plain, stop)]; whole.Choices[0].Text != want || whole.Choices[0].FinishReason != "stop" {
		t.Fatalf("stop %q: %q (%s), want %q", stop, whole.Choices[0].Text, whole.Choices[0].FinishReason, want)
	}
	quoted, _ := json.Marshal(stop)
	if r := whole.Choices[0].JSON.ExtraFields["stop_reason"].Raw(); r != string(quoted) {
		t.Fatalf("stop_reason %s, want %s", r, quoted)
	}
	s := c.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	var finish, stopReason string
	chunks := 0
	for s.Next() {
		ch := s.Current()
		chunks++
		if ch.Object != "text_completion" || len(ch.Choices) != 1 {
			t.Fatalf("chunk %d: object %q, %d choices", chunks, ch.Object, len(ch.Choices))
		}
		if ch.JSON.Usage.Valid() {
			t.Fatalf("chunk %d has usage %s without include_usage", chunks, ch.JSON.Usage.Raw())
		}
		text.WriteString(ch.Choices[0].Text)
		if r := string(ch.Choices[0].FinishReason); r != "" {
			finish = r
		}
		if r := ch.Choices[0].JSON.ExtraFields["stop_reason"].Raw(); r != "" {
			if ch.Choices[0].FinishReason == "" {
				t.Fatalf("chunk %d: stop_reason %s before the finish", chunks, r)
			}
			stopReason = r
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != whole.Choices[0].Text || finish != "stop" || stopReason != string(quoted) || chunks < 3 {
		t.Fatalf("streamed %q (%s, stop_reason %s) in %d chunks, whole %q", text.String(), finish, stopReason, chunks, whole.Choices[0].Text)
	}
}

// postJSON posts body to url and returns the response, its body read
// (and closed).
func postJSON(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// sse posts body and returns the raw events and the response.
func sse(t *testing.T, url, body string) (*http.Response, []string) {
	t.Helper()
	resp, raw := postJSON(t, url, body)
	text := string(raw)
	if !strings.HasSuffix(text, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", text)
	}
	return resp, strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n")
}

func TestStreamWire(t *testing.T) {
	srv := newServer(t, nil)
	body := fmt.Sprintf(`{"model":%q,"prompt":%q,"max_tokens":8,"temperature":0,"stream":true,"logprobs":1}`, modelName, prompt)
	resp, events := sse(t, srv.URL+"/v1/completions", body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if last := events[len(events)-1]; last != "data: [DONE]" {
		t.Fatalf("last event %q, want data: [DONE]", last)
	}
	var offsets []float64
	for _, ev := range events[:len(events)-1] {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("event %q is not one data line", ev)
		}
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Index        int             `json:"index"`
				Text         *string         `json:"text"`
				FinishReason json.RawMessage `json:"finish_reason"`
				Logprobs     *struct {
					TextOffset []float64 `json:"text_offset"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if chunk.Object != "text_completion" || len(chunk.Choices) != 1 || chunk.Choices[0].Text == nil || chunk.Choices[0].FinishReason == nil {
			t.Fatalf("chunk %s lacks object, one choice, text or finish_reason", data)
		}
		if lp := chunk.Choices[0].Logprobs; lp != nil {
			offsets = append(offsets, lp.TextOffset...)
		}
	}
	if len(offsets) != 8 || offsets[0] != float64(len([]rune(prompt))) {
		t.Fatalf("streamed text offsets %v: want 8 from %d", offsets, len([]rune(prompt)))
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] <= offsets[i-1] {
			t.Fatalf("text offsets %v do not increase", offsets)
		}
	}

	// A chat stream opens with the role, one chunk per choice.
	body = fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":4,"n":2,"stream":true}`, modelName)
	_, events = sse(t, srv.URL+"/v1/chat/completions", body)
	for i := range 2 {
		want := fmt.Sprintf(`"choices":[{"index":%d,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`, i)
		if !strings.Contains(events[i], want) {
			t.Fatalf("event %d = %s, want the role of choice %d", i, events[i], i)
		}
	}
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("chat stream ends with %q", events[len(events)-1])
	}
}

// errorOf checks an OpenAI error body and returns its fields.
func errorOf(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var e map[string]map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	fields, ok := e["error"]
	if !ok || len(e) != 1 {
		t.Fatalf("error body %s: want one member, error", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("error body %s lacks %q", body, k)
		}
	}
	if m, _ := fields["message"].(string); m == "" {
		t.Fatalf("error body %s: empty message", body)
	}
	return fields
}

func TestErrors(t *testing.T) {
	srv := newServer(t, nil)
	m := fmt.Sprintf("%q", modelName)
	for _, c := range []struct {
		method, path, body string
		status             int
		param              any // nil: JSON null
		code               any
	}{
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x"`, 400, nil, nil},
		{"POST", "/v1/completions", `[1,2]`, 400, nil, nil},
		{"POST", "/v1/completions", `{"prompt":"x"}`, 400, "model", nil},
		{"POST", "/v1/completions", `{"model":` + m + `}`, 400, "prompt", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":["a","b"]}`, 400, "prompt", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":[1,2]}`, 400, "prompt", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","temperature":"hot"}`, 400, "temperature", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","temperature":3}`, 400, "temperature", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","n":0}`, 400, "n", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","max_tokens":1.5}`, 400, "max_tokens", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","top_p":0}`, 400, "top_p", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","stop":["a","b","c","d","e"]}`, 400, "stop", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","logprobs":true}`, 400, "logprobs", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","echo":true}`, 400, "echo", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","presence_penalty":0.5}`, 400, "presence_penalty", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","stream_options":{"include_usage":true}}`, 400, "stream_options", nil},
		{"POST", "/v1/completions", `{"model":` + m + `,"prompt":"x","bogus":1}`, 400, "bogus", nil},
		{"POST", "/v1/completions", `{"model":"no-such-model","prompt":"x"}`, 404, "model", "model_not_found"},
		{"POST", "/v1/chat/completions", `{"model":` + m + `}`, 400, "messages", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"tool","content":"x"}]}`, 400, "messages[0].role", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"user","content":"x"},{"role":"user"}]}`, 400, "messages[1].content", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "messages[0].content[0]", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, 400, "top_logprobs", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"user","content":"x"}],"max_completion_tokens":0}`, 400, "max_completion_tokens", nil},
		{"POST", "/v1/chat/completions", `{"model":` + m + `,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}`, 400, "tools", nil},
		{"POST", "/v1/chat/completions", `{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}`, 404, "model", "model_not_found"},
		{"GET", "/v1/completions", ``, 405, nil, nil},
		{"GET", "/v1/chat/completions", ``, 405, nil, nil},
		{"POST", "/v1/models", `{}`, 405, nil, nil},
		{"GET", "/v1/models/no-such-model", ``, 404, "model", "model_not_found"},
		{"GET", "/v1/embeddings", ``, 404, nil, nil},
		{"GET", "/", ``, 404, nil, nil},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s: status %d (%s), want %d: %s", c.method, c.path, c.body, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, body)
			continue
		}
		e := errorOf(t, body)
		if e["param"] != c.param || e["code"] != c.code {
			t.Errorf("%s %s %s: param %v code %v, want %v %v: %s", c.method, c.path, c.body, e["param"], e["code"], c.param, c.code, body)
		}
		wantType := "invalid_request_error"
		if e["type"] != wantType {
			t.Errorf("%s %s: type %v, want %s", c.method, c.path, e["type"], wantType)
		}
		if c.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
}

// The official client sees a bad field as an API error naming it.
func TestClientSeesErrors(t *testing.T) {
	c := newClient(newServer(t, nil))
	ctx := context.Background()
	p := chatParams(10)
	p.N = oai.Int(0)
	_, err := c.Chat.Completions.New(ctx, p)
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" {
		t.Fatalf("n=0: %v", err)
	}
	p = chatParams(10)
	p.Model = "gpt-4o"
	_, err = c.Chat.Completions.New(ctx, p)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	for s.Next() {
		t.Fatal("a chunk from an unknown model")
	}
	if !errors.As(s.Err(), &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("streaming from an unknown model: %v", s.Err())
	}
}

// fake is a Model answering "hello" from each sample, or failing, or
// blocking until its context ends.
type fake struct {
	err     error
	block   bool
	started chan struct{} // closed when Generate starts
	ended   chan error    // gets the context's error when Generate ends
	once    sync.Once
}

func newFake() *fake {
	return &fake{started: make(chan struct{}), ended: make(chan error, 1)}
}

func (f *fake) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	f.once.Do(func() { close(f.started) })
	if f.block {
		<-ctx.Done()
		f.ended <- ctx.Err()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	out := make([]pareto.Completion, max(req.N, 1))
	for i := range out {
		out[i] = pareto.Completion{Text: fmt.Sprintf("hello %d", i), Usage: pareto.Usage{CompletionTokens: 2}}
	}
	out[0].Usage.PromptTokens = 3
	return out, nil
}

// fakeStreamer sends one piece, then blocks until its context ends.
type fakeStreamer struct{ *fake }

func (f fakeStreamer) GenerateStream(ctx context.Context, req pareto.Request, emit func(int, pareto.Completion)) ([]pareto.Completion, error) {
	emit(0, pareto.Completion{Text: "first"})
	return f.Generate(ctx, req)
}

// A model without a stream of its own still streams, a piece per choice.
func TestStreamWithoutStreamer(t *testing.T) {
	c := newClient(newServer(t, map[string]Model{"fake": newFake()}))
	s := c.Completions.NewStreaming(context.Background(), oai.CompletionNewParams{
		Model: "fake", Prompt: oai.CompletionNewParamsPromptUnion{OfString: oai.String("x")}, N: oai.Int(2),
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
	})
	texts := map[int64]string{}
	finished := map[int64]string{}
	var total int64
	for s.Next() {
		ch := s.Current()
		for _, c := range ch.Choices {
			texts[c.Index] += c.Text
			if c.FinishReason != "" {
				finished[c.Index] = string(c.FinishReason)
			}
		}
		if len(ch.Choices) == 0 {
			total = ch.Usage.TotalTokens
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if texts[0] != "hello 0" || texts[1] != "hello 1" || finished[0] != "stop" || finished[1] != "stop" || total != 7 {
		t.Fatalf("texts %v, finish %v, total tokens %d", texts, finished, total)
	}
}

func TestGenerationError(t *testing.T) {
	f := newFake()
	f.err = errors.New("engine on fire")
	srv := newServer(t, map[string]Model{"fake": f})
	for _, stream := range []string{"false", "true"} {
		resp, err := http.Post(srv.URL+"/v1/completions", "application/json",
			strings.NewReader(`{"model":"fake","prompt":"x","stream":`+stream+`}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Nothing was streamed yet, so even a stream gets a status.
		e := errorOf(t, body)
		if resp.StatusCode != 500 || e["type"] != "server_error" || !strings.Contains(e["message"].(string), "engine on fire") {
			t.Fatalf("stream %s: %d %s", stream, resp.StatusCode, body)
		}
	}
}

// A client that goes away cancels the generation it asked for, whether it
// waits for the whole answer or reads a stream.
func TestDisconnectCancels(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f := newFake()
		f.block = true
		var m Model = f
		if stream {
			m = fakeStreamer{f}
		}
		srv := newServer(t, map[string]Model{"fake": m})
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/chat/completions",
			strings.NewReader(fmt.Sprintf(`{"model":"fake","messages":[{"role":"user","content":"x"}],"stream":%v}`, stream)))
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			// A stream's first piece arrives before the client leaves.
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			if !strings.HasPrefix(line, "data: ") {
				t.Errorf("stream began with %q", line)
			}
			cancel()
		}()
		<-f.started
		if !stream {
			cancel()
		}
		select {
		case err := <-f.ended:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("stream %v: generation ended with %v", stream, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("stream %v: generation still running 10 s after the client left", stream)
		}
		cancel()
		<-done
	}
}

// gate is a Model whose answers wait for release (or its context).
type gate struct {
	started chan struct{}
	release chan struct{}
	ended   chan error
}

func (g *gate) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	close(g.started)
	select {
	case <-g.release:
		g.ended <- nil
		return []pareto.Completion{{Text: "done", FinishReason: "stop"}}, nil
	case <-ctx.Done():
		g.ended <- ctx.Err()
		return nil, ctx.Err()
	}
}

// serveGate runs ListenAndServe on a free port with one request in flight.
func serveGate(t *testing.T, grace time.Duration) (g *gate, stop context.CancelFunc, served chan error, answer chan string) {
	t.Helper()
	g = &gate{started: make(chan struct{}), release: make(chan struct{}), ended: make(chan error, 1)}
	ctx, stop := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	served = make(chan error, 1)
	go func() {
		served <- ListenAndServe(ctx, "127.0.0.1:0", New(map[string]Model{"gate": g}), grace, func(a net.Addr) { addrs <- a.String() })
	}()
	base := "http://" + <-addrs
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	answer = make(chan string, 1)
	go func() {
		resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"model":"gate","prompt":"x"}`))
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	<-g.started
	return g, stop, served, answer
}

func TestShutdownLetsRequestsFinish(t *testing.T) {
	g, stop, served, answer := serveGate(t, 10*time.Second)
	stop()
	time.Sleep(50 * time.Millisecond) // let Shutdown begin
	select {
	case err := <-served:
		t.Fatalf("ListenAndServe returned %v with a request in flight", err)
	default:
	}
	close(g.release)
	if a := <-answer; !strings.HasPrefix(a, "200 ") || !strings.Contains(a, `"text":"done"`) {
		t.Fatalf("the request in flight got %s", a)
	}
	if err := <-served; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
}

func TestShutdownGraceEnds(t *testing.T) {
	g, stop, served, answer := serveGate(t, 100*time.Millisecond)
	start := time.Now()
	stop()
	select {
	case err := <-g.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("generation ended with %v, want canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("generation still running 5 s after the grace period")
	}
	<-served
	<-answer
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with a grace of 100ms", d)
	}
}

// JSON has no -Inf: a token too unlikely to represent is sent as -9999.
func TestInfiniteLogprobs(t *testing.T) {
	lps := []pareto.TokenLogprob{{Token: "a", Logprob: math.Inf(-1), Top: map[string]float64{"a": math.Inf(-1), "b": -0.5}}}
	l, _ := legacy(lps, 2, 0)
	c := chatLogprobsOf(lps)
	b, err := json.Marshal([]any{l, c})
	if err != nil {
		t.Fatal(err)
	}
	if l.TokenLogprobs[0] != -9999 || l.TopLogprobs[0]["a"] != -9999 || c.Content[0].TopLogprobs[0].Token != "b" || c.Content[0].TopLogprobs[1].Logprob != -9999 {
		t.Fatalf("logprobs %s", b)
	}
}

// Requests in parallel share the model and get what they would alone.
func TestConcurrentRequests(t *testing.T) {
	c := newClient(newServer(t, nil))
	want := direct(t, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 30}})[0].Text
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := completionParams(30)
			var got string
			if i%2 == 0 {
				resp, err := c.Completions.New(context.Background(), p)
				if err != nil {
					errs <- err
					return
				}
				got = resp.Choices[0].Text
			} else {
				s := c.Completions.NewStreaming(context.Background(), p)
				for s.Next() {
					for _, ch := range s.Current().Choices {
						got += ch.Text
					}
				}
				if err := s.Err(); err != nil {
					errs <- err
					return
				}
			}
			if got != want {
				errs <- fmt.Errorf("request %d got %q, want %q", i, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestBodyTooLarge(t *testing.T) {
	// In process: over a socket the client may see the connection close
	// while it still writes, before it reads the answer.
	body := `{"model":"` + modelName + `","prompt":"` + strings.Repeat("x", maxBody) + `"}`
	rec := httptest.NewRecorder()
	New(map[string]Model{modelName: backend}).ServeHTTP(rec, httptest.NewRequest("POST", "/v1/completions", strings.NewReader(body)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	errorOf(t, rec.Body.Bytes())
}
