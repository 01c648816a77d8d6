package reward_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/scorertest"
)

// vllmRequest is what a vLLM /pooling server reads from pareto.
type vllmRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
	Task  string   `json:"task"`
}

// tagScore is the fake PRM's P(good) at the separator that ends prefix.
func tagScore(prefix string) float64 {
	h := fnv.New32a()
	h.Write([]byte(prefix))
	return float64(h.Sum32()%1000) / 1000
}

// fakeVLLM answers /pooling as vLLM does for Qwen2.5-Math-PRM with STEP
// pooling: for each input, a [P(bad), P(good)] row at every <extra_0>
// (see vllm/entrypoints/pooling/pooling/protocol.py, PoolingResponse).
// rows, if not nil, replaces the rows of every input.
func fakeVLLM(t *testing.T, rows func(text string) [][]float64) (*httptest.Server, *fakeLog) {
	t.Helper()
	log := &fakeLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.calls.Add(1)
		log.auth.Store(r.Header.Get("Authorization"))
		if r.Method != http.MethodPost || r.URL.Path != "/pooling" {
			http.Error(w, "want POST /pooling, got "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		var req vllmRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		log.last.Store(&req)
		type item struct {
			Index  int         `json:"index"`
			Object string      `json:"object"`
			Data   [][]float64 `json:"data"`
		}
		var data []item
		tokens := 0
		for i, text := range req.Input {
			var rs [][]float64
			if rows != nil {
				rs = rows(text)
			} else {
				rs = [][]float64{}
				for at := 0; ; {
					j := strings.Index(text[at:], "<extra_0>")
					if j < 0 {
						break
					}
					at += j + len("<extra_0>")
					p := tagScore(text[:at])
					rs = append(rs, []float64{1 - p, p})
				}
			}
			data = append(data, item{Index: i, Object: "pooling", Data: rs})
			tokens += len(strings.Fields(text))
		}
		// The outputs in reverse, to show the client goes by index.
		for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
			data[i], data[j] = data[j], data[i]
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "pool-1", "object": "list", "created": 1, "model": req.Model, "data": data,
			"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0,
				"prompt_tokens_details": map[string]any{"cached_tokens": 3}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// fakeLog is what a fake server saw.
type fakeLog struct {
	calls atomic.Int32
	auth  atomic.Value // string: the last Authorization header
	last  atomic.Pointer[vllmRequest]
}

func TestPoolingReadsVLLMResponse(t *testing.T) {
	srv, log := fakeVLLM(t, nil)
	p := &reward.Pooling{URL: srv.URL + "/v1", Model: "Qwen/Qwen2.5-Math-PRM-7B", Format: reward.QwenMathPRM, APIKey: "k"}
	steps := []string{"10 / 2 = 5", "#### 5"}
	scores, u, err := p.Score(t.Context(), "Zoe has 10 cards.", steps)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n" +
		"<|im_start|>user\nZoe has 10 cards.<|im_end|>\n" +
		"<|im_start|>assistant\n10 / 2 = 5<extra_0>#### 5<extra_0><|im_end|>\n"
	got := *log.last.Load()
	if len(got.Input) != 1 || got.Input[0] != want || got.Model != "Qwen/Qwen2.5-Math-PRM-7B" || got.Task != "token_classify" {
		t.Errorf("request %+v, want model, task token_classify and input %q", got, want)
	}
	if auth := log.auth.Load(); auth != "Bearer k" {
		t.Errorf("Authorization %q", auth)
	}
	i := strings.Index(want, "<extra_0>") + len("<extra_0>")
	if wantScores := []float64{tagScore(want[:i]), tagScore(want[:strings.LastIndex(want, "<extra_0>")+len("<extra_0>")])}; fmt.Sprint(scores) != fmt.Sprint(wantScores) {
		t.Errorf("scores %v, want %v", scores, wantScores)
	}
	if u.Calls != 1 || u.PromptTokens == 0 || u.CachedTokens != 3 || u.Unreported != 0 || u.FLOPs() != 0 {
		t.Errorf("usage %+v: want one call, the server's prompt and cached tokens, no FLOPs without an architecture", u)
	}
}

func TestPoolingBatchIsOneRequest(t *testing.T) {
	srv, log := fakeVLLM(t, nil)
	p := &reward.Pooling{URL: srv.URL, Model: "prm", Format: reward.QwenMathPRM}
	cands := [][]string{{"a = 1", "#### 1"}, {"b"}, {"a = 1", "#### 2", "c"}}
	out, u, err := pareto.ScoreAll(t.Context(), p, "q", cands)
	if err != nil {
		t.Fatal(err)
	}
	if log.calls.Load() != 1 || u.Calls != 1 {
		t.Errorf("%d requests, usage calls %d, want one for the batch", log.calls.Load(), u.Calls)
	}
	for i, steps := range cands {
		one, _, err := p.Score(t.Context(), "q", steps)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(one) != fmt.Sprint(out[i]) {
			t.Errorf("candidate %d: batch scores %v, alone %v", i, out[i], one)
		}
	}
}

func TestPoolingConformance(t *testing.T) {
	srv, _ := fakeVLLM(t, nil)
	scorertest.Run(t, &reward.Pooling{URL: srv.URL, Model: "prm", Format: reward.QwenMathPRM})
}

// Every way a pooling server can answer wrong is an error that says what
// is wrong, never a score.
func TestPoolingErrors(t *testing.T) {
	rows := func(rs ...[]float64) func(string) [][]float64 {
		return func(string) [][]float64 { return rs }
	}
	for _, c := range []struct {
		name  string
		rows  func(string) [][]float64
		h     http.HandlerFunc
		wants []string
	}{
		{name: "separator not in the vocabulary", rows: rows(),
			wants: []string{"found none of the input's 2 step separators", `"<extra_0>"`, "step_tag_id"}},
		{name: "every token pooled", rows: rows([]float64{.5, .5}, []float64{.5, .5}, []float64{.5, .5}, []float64{.5, .5}, []float64{.5, .5}),
			wants: []string{"5 rows for the input's 2 step separators", "ALL pooling"}},
		{name: "logits, not probabilities", rows: rows([]float64{-2.5, 3.1}, []float64{1, 2}),
			wants: []string{"step 1", "[-2.5, 3.1] is not class probabilities"}},
		{name: "not a softmax", rows: rows([]float64{.5, .9}, []float64{.5, .5}),
			wants: []string{"step 1", "sums to 1.4"}},
		{name: "sequence-wise output", h: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":[{"index":0,"object":"pooling","data":[0.1,0.9]}],"usage":{"prompt_tokens":5}}`)
		}, wants: []string{"output data is [0.1,0.9]", "token_classify"}},
		{name: "vLLM error", h: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"The model does not support Pooling API","type":"BadRequestError","param":null,"code":400}}`)
		}, wants: []string{"400 Bad Request", "The model does not support Pooling API"}},
		{name: "FastAPI error", h: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"detail":"CUDA out of memory"}`)
		}, wants: []string{"500 Internal Server Error", "CUDA out of memory"}},
		{name: "wrong number of outputs", h: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":[],"usage":{"prompt_tokens":5}}`)
		}, wants: []string{"returned 0 outputs for 1 inputs"}},
		{name: "not JSON", h: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<html>proxy error</html>`)
		}, wants: []string{"not the JSON expected", "<html>proxy error</html>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := ""
			if c.h != nil {
				srv := httptest.NewServer(c.h)
				defer srv.Close()
				url = srv.URL
			} else {
				srv, _ := fakeVLLM(t, c.rows)
				url = srv.URL
			}
			p := &reward.Pooling{URL: url, Model: "Qwen/Qwen2.5-Math-PRM-7B", Format: reward.QwenMathPRM}
			scores, _, err := p.Score(t.Context(), "q", []string{"1 + 1 = 2", "#### 2"})
			if err == nil {
				t.Fatalf("scores %v and no error", scores)
			}
			for _, w := range append(c.wants, "pooling: ") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestPoolingTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server sees the client leave
		select {                    // no answer while the client waits
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	p := &reward.Pooling{URL: srv.URL, Model: "prm", Format: reward.QwenMathPRM, Timeout: 50 * time.Millisecond}
	start := time.Now()
	_, _, err := p.Score(t.Context(), "q", []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") || !strings.Contains(err.Error(), srv.URL+"/pooling") {
		t.Fatalf("error %v, want one naming the endpoint and the timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v to time out after 50ms", time.Since(start))
	}
}

func TestPoolingSkipsTheTemplatesSeparators(t *testing.T) {
	// pareto's format has line breaks in its prompt and in the question:
	// their rows come first and are not the steps'.
	var seen int
	srv, _ := fakeVLLM(t, func(text string) [][]float64 {
		n := strings.Count(text, "\n")
		seen = n
		rs := make([][]float64, n)
		for i := range rs {
			p := float64(i) / 10
			rs[i] = []float64{1 - p, p}
		}
		return rs
	})
	p := &reward.Pooling{URL: srv.URL, Model: "pareto-synth-prm", Format: reward.ParetoPRM}
	scores, _, err := p.Score(t.Context(), "line one\nline two", []string{"a\nb", "#### 1"})
	if err != nil {
		t.Fatal(err)
	}
	// 1 in the question, 2 in the template, then the steps' (the break
	// inside the first step becomes a space).
	if seen != 5 || fmt.Sprint(scores) != fmt.Sprint([]float64{.3, .4}) {
		t.Errorf("%d rows, scores %v, want 5 rows and the last two's", seen, scores)
	}
}

func TestPoolingRefusesBadFormats(t *testing.T) {
	for _, f := range []reward.PoolingFormat{
		{Name: "no steps", Template: "{question}", Separator: "<s>"},
		{Name: "no separator", Template: "{question}{steps}"},
	} {
		p := &reward.Pooling{URL: "http://127.0.0.1:1", Model: "m", Format: f}
		if _, _, err := p.Score(t.Context(), "q", []string{"a"}); err == nil || !strings.Contains(err.Error(), f.Name) {
			t.Errorf("format %+v: error %v", f, err)
		}
	}
	if _, err := reward.LookupPoolingFormat("llama-prm"); err == nil || !strings.Contains(err.Error(), "qwen2.5-math-prm") {
		t.Errorf("unknown format: error %v, want the known ones listed", err)
	}
}
