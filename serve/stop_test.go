package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/openai"
)

// canned is a Model answering its completions, whatever is asked (n must
// match their number).
type canned []pareto.Completion

func (c canned) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	return append([]pareto.Completion(nil), c...), nil
}

// reasoner's two completions: the first ended by a stop string, the second
// at end-of-sequence, both with hidden (reasoning) tokens; two of the three
// prompt tokens came from the prefix cache.
var reasoner = canned{
	{Text: "a", FinishReason: "stop", Stop: "\n\n", Usage: pareto.Usage{Calls: 1, PromptTokens: 3, CachedTokens: 2, CompletionTokens: 2, HiddenTokens: 5}},
	{Text: "b", FinishReason: "stop", Usage: pareto.Usage{CompletionTokens: 1, HiddenTokens: 4}},
}

// rawChoice is a choice as it is on the wire.
type rawChoice struct {
	Index        int             `json:"index"`
	FinishReason *string         `json:"finish_reason"`
	StopReason   json.RawMessage `json:"stop_reason"`
}

type rawEnvelope struct {
	Choices []rawChoice `json:"choices"`
	Usage   *struct {
		PromptTokens            int `json:"prompt_tokens"`
		CompletionTokens        int `json:"completion_tokens"`
		TotalTokens             int `json:"total_tokens"`
		CompletionTokensDetails *struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
}

// Each choice names the stop string that ended it as vLLM does, in the
// whole response and in the stream's finishing chunk; usage counts hidden
// tokens as completion tokens and says how many were reasoning.
func TestStopReasonAndReasoningUsage(t *testing.T) {
	srv := newServer(t, map[string]Model{"canned": reasoner})
	for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
		input := `"prompt":"x"`
		if path == "/v1/chat/completions" {
			input = `"messages":[{"role":"user","content":"x"}]`
		}
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", path, stream), func(t *testing.T) {
				body := fmt.Sprintf(`{"model":"canned",%s,"n":2,"stop":["\n\n"]}`, input)
				var envs []rawEnvelope
				if stream {
					body = fmt.Sprintf(`{"model":"canned",%s,"n":2,"stop":["\n\n"],"stream":true,"stream_options":{"include_usage":true}}`, input)
					_, events := sse(t, srv.URL+path, body)
					for _, ev := range events[:len(events)-1] {
						var env rawEnvelope
						if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &env); err != nil {
							t.Fatalf("event %q: %v", ev, err)
						}
						envs = append(envs, env)
					}
				} else {
					resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					var env rawEnvelope
					err = json.NewDecoder(resp.Body).Decode(&env)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						t.Fatalf("status %d, decoding: %v", resp.StatusCode, err)
					}
					envs = append(envs, env)
				}
				stops := map[int]string{}
				finished := map[int]bool{}
				var usage int
				for _, env := range envs {
					for _, c := range env.Choices {
						if c.FinishReason != nil {
							finished[c.Index] = true
						}
						if c.StopReason == nil {
							continue // absent: no stop string
						}
						var s string
						if err := json.Unmarshal(c.StopReason, &s); err != nil || c.FinishReason == nil {
							t.Fatalf("choice %d: stop_reason %s with finish_reason %v", c.Index, c.StopReason, c.FinishReason)
						}
						stops[c.Index] = s
					}
					if u := env.Usage; u != nil {
						usage++
						d := u.CompletionTokensDetails
						if u.PromptTokens != 3 || u.CompletionTokens != 12 || u.TotalTokens != 15 || d == nil || d.ReasoningTokens != 9 {
							t.Errorf("usage %+v (details %+v), want 3 prompt, 12 completion of which 9 reasoning", u, d)
						}
					}
				}
				if len(stops) != 1 || stops[0] != "\n\n" || !finished[0] || !finished[1] {
					t.Errorf("stop reasons %v, finished %v: want choice 0 stopped by \"\\n\\n\", choice 1 by nothing", stops, finished)
				}
				if usage != 1 {
					t.Errorf("%d usage objects, want 1", usage)
				}
			})
		}
	}
}

// pareto serve in front of the embedded model, read by backend/openai:
// the stop string that ended a completion comes back as Stop, and usage as
// the model counted it.
func TestRoundTripThroughOpenAIBackend(t *testing.T) {
	srv := newServer(t, map[string]Model{modelName: backend, "canned": reasoner})
	for _, chat := range []bool{false, true} {
		t.Run(fmt.Sprintf("chat=%v", chat), func(t *testing.T) {
			b, err := openai.New(openai.Config{URLs: []string{srv.URL + "/v1"}, Model: modelName, Chat: chat})
			if err != nil {
				t.Fatal(err)
			}
			// What the model sees: the chat API sends a bare prompt as one
			// user message.
			seen := pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 60}}
			if chat {
				seen = pareto.Request{Messages: []pareto.Message{{Role: "user", Content: prompt}}, Params: seen.Params}
			}
			plain := direct(t, seen)[0].Text
			if len(plain) < 4 {
				t.Fatalf("greedy text %q too short to place a stop in", plain)
			}
			stop := plain[len(plain)/2-1 : len(plain)/2+1]
			for _, stops := range [][]string{{"\x01never", stop}, nil} {
				req := pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 60, Stop: stops}}
				dreq := seen
				dreq.Stop = stops
				want := direct(t, dreq)[0]
				got, err := b.Generate(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				g := got[0]
				if g.Text != want.Text || g.FinishReason != want.FinishReason || g.Stop != want.Stop {
					t.Errorf("stops %q: through serve %q (%s, stop %q), direct %q (%s, stop %q)",
						stops, g.Text, g.FinishReason, g.Stop, want.Text, want.FinishReason, want.Stop)
				}
				if g.Usage.PromptTokens != want.Usage.PromptTokens || g.Usage.CompletionTokens != want.Usage.CompletionTokens || g.Usage.HiddenTokens != 0 {
					t.Errorf("stops %q: usage %+v, direct %+v", stops, g.Usage, want.Usage)
				}
				if stops != nil && want.Stop != stop {
					t.Fatalf("direct generation ended with Stop %q, want %q: the test proves little", want.Stop, stop)
				}
			}

			// Hidden tokens survive the trip: visible and hidden apart.
			cb, err := openai.New(openai.Config{URLs: []string{srv.URL + "/v1"}, Model: "canned", Chat: chat})
			if err != nil {
				t.Fatal(err)
			}
			got, err := cb.Generate(context.Background(), pareto.Request{Prompt: "x", Params: pareto.Params{N: 2, Stop: []string{"\n\n"}}})
			if err != nil {
				t.Fatal(err)
			}
			var u pareto.Usage
			for _, c := range got {
				u.Add(c.Usage)
			}
			if u.PromptTokens != 3 || u.CompletionTokens != 3 || u.HiddenTokens != 9 || u.CachedTokens != 2 || u.CacheUnreported != 0 {
				t.Errorf("usage through serve %+v, want 3 prompt (2 cached), 3 visible and 9 hidden tokens", u)
			}
			if got[0].Stop != "\n\n" || got[1].Stop != "" {
				t.Errorf("Stop through serve %q, %q; want \"\\n\\n\", \"\"", got[0].Stop, got[1].Stop)
			}
		})
	}
}
