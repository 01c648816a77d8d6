package openai_test

import (
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/backend/openai"
	"github.com/pareto-llm/pareto/generatortest"
)

// server is an OpenAI-compatible server of a made-up model that honours n,
// max_tokens, stop, temperature and seed as a real one does: its tokens are
// words, drawn greedily from the prompt alone or, when sampling, from the
// prompt and the seed, and a sample may end at end-of-sequence. Usage is a
// total for the call, as vLLM and OpenAI report it, with a prompt seen
// before counted as cached.
type server struct {
	ignoreN bool          // answer one choice whatever n is, like Ollama
	delay   time.Duration // per generated token; a canceled request stops
	eos     int           // a sampled token ends the sample with chance 1/eos (0: never)
	// uneven makes odd-numbered samples end at end-of-sequence one token
	// short of max_tokens, so that the samples of one call end at
	// different lengths near the cap.
	uneven bool

	mu   sync.Mutex
	seen map[string]bool
}

var words = []string{"the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "far", "away", "home"}

type body struct {
	Prompt   string `json:"prompt"`
	Messages []struct {
		Content string `json:"content"`
	} `json:"messages"`
	N           *int            `json:"n"`
	MaxTokens   *int            `json:"max_tokens"`
	Temperature float64         `json:"temperature"`
	Seed        *int64          `json:"seed"`
	Stop        json.RawMessage `json:"stop"`
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	chat := r.URL.Path == "/v1/chat/completions"
	if !chat && r.URL.Path != "/v1/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	var b body
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	prompt := b.Prompt
	for _, m := range b.Messages {
		prompt += m.Content + "\n"
	}
	var stops []string
	if json.Unmarshal(b.Stop, &stops) != nil {
		var one string
		if json.Unmarshal(b.Stop, &one) == nil && one != "" {
			stops = []string{one}
		}
	}
	n, maxTok := 1, 16
	if b.N != nil && !s.ignoreN {
		n = *b.N
	}
	if b.MaxTokens != nil {
		maxTok = *b.MaxTokens
	}
	s.mu.Lock()
	cached := s.seen[prompt]
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[prompt] = true
	s.mu.Unlock()

	choices := make([]map[string]any, n)
	total := 0
	for i := range choices {
		var rng *rand.Rand
		switch {
		case b.Temperature == 0:
			rng = rand.New(rand.NewPCG(hash(prompt), 0))
		case b.Seed != nil:
			rng = rand.New(rand.NewPCG(hash(prompt), uint64(*b.Seed)+uint64(i)))
		default:
			rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		text, finish := "", "length"
		for k := 0; k < maxTok; k++ {
			if b.Temperature > 0 && (s.eos > 0 && rng.IntN(s.eos) == 0 || s.uneven && i%2 == 1 && k == maxTok-1) {
				finish = "stop" // end of sequence
				break
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(s.delay):
			}
			text += " " + words[rng.IntN(len(words))]
			total++
			if at := firstStop(text, stops); at >= 0 {
				text, finish = text[:at], "stop"
				break
			}
		}
		c := map[string]any{"index": i, "finish_reason": finish, "logprobs": nil}
		if chat {
			c["message"] = map[string]any{"role": "assistant", "content": text}
		} else {
			c["text"] = text
		}
		choices[i] = c
	}
	p := len(strings.Fields(prompt))
	usage := map[string]any{"prompt_tokens": p, "completion_tokens": total, "total_tokens": p + total}
	if cached {
		usage["prompt_tokens_details"] = map[string]any{"cached_tokens": p - 1}
	}
	object := "text_completion"
	if chat {
		object = "chat.completion"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": object, "created": 1, "model": "m", "choices": choices, "usage": usage})
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func firstStop(text string, stops []string) int {
	at := -1
	for _, s := range stops {
		if i := strings.Index(text, s); s != "" && i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  *server
		chat bool
		opts generatortest.Options
	}{
		{"completions", &server{delay: time.Millisecond, eos: 64}, false, generatortest.Options{Deterministic: true, Seeded: true}},
		{"chat", &server{delay: time.Millisecond, eos: 64}, true, generatortest.Options{Deterministic: true, Seeded: true}},
		// Usage is a total for the call: the backend must share it out
		// without charging a completion more than max_tokens.
		{"unevenLengths", &server{delay: time.Millisecond, uneven: true}, false, generatortest.Options{Deterministic: true, Seeded: true}},
		// A server that ignores n gets one request per completion.
		{"ignoresN", &server{delay: time.Millisecond, eos: 64, ignoreN: true}, false, generatortest.Options{Deterministic: true, Seeded: true, FanOut: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.srv)
			t.Cleanup(srv.Close)
			b, err := openai.New(openai.Config{URLs: []string{srv.URL}, Model: "m", Chat: tc.chat})
			if err != nil {
				t.Fatal(err)
			}
			generatortest.Run(t, b, tc.opts)
		})
	}
}
