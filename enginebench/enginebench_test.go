package enginebench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/randmodel/randmodeltest"
)

// fakeOllama serves the part of Ollama's native API the benchmark uses,
// checking the requests, and reports 1 ms per generated token and 2 ms per
// prompt token.
type fakeOllama struct {
	t      *testing.T
	mu     sync.Mutex
	blobs  map[string]bool
	models map[string]string // name -> blob digest
	reqs   []map[string]any  // generate requests
	cur    int               // generate calls in flight
	peak   int               // most in flight at once
}

func newFakeOllama(t *testing.T) (*fakeOllama, string) {
	f := &fakeOllama{t: t, blobs: map[string]bool{}, models: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/blobs/"):
		digest := strings.TrimPrefix(r.URL.Path, "/api/blobs/")
		f.mu.Lock()
		have := f.blobs[digest]
		f.mu.Unlock()
		if r.Method == http.MethodHead {
			if !have {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		data, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(data)
		if "sha256:"+hex.EncodeToString(sum[:]) != digest {
			fail(http.StatusBadRequest, "digest mismatch")
			return
		}
		f.mu.Lock()
		f.blobs[digest] = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	case r.URL.Path == "/api/create":
		var req struct {
			Model    string            `json:"model"`
			Files    map[string]string `json:"files"`
			Template string            `json:"template"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		digest := req.Files["model.gguf"]
		if !f.blobs[digest] || req.Template != "{{ .Prompt }}" {
			fail(http.StatusBadRequest, "bad create request")
			return
		}
		f.models[req.Model] = digest
		json.NewEncoder(w).Encode(map[string]string{"status": "success"})
	case r.URL.Path == "/api/generate":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		_, known := f.models[req["model"].(string)]
		f.reqs = append(f.reqs, req)
		f.cur++
		f.peak = max(f.peak, f.cur)
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.cur--; f.mu.Unlock() }()
		if !known {
			fail(http.StatusNotFound, "model not found")
			return
		}
		opts := req["options"].(map[string]any)
		n := int(opts["num_predict"].(float64))
		if opts["temperature"].(float64) > 0 {
			time.Sleep(20 * time.Millisecond) // so concurrent samples overlap
		}
		json.NewEncoder(w).Encode(map[string]any{"response": strings.Repeat("x", n), "done": true,
			"eval_count": n, "eval_duration": n * int(time.Millisecond),
			"prompt_eval_count": 40, "prompt_eval_duration": 40 * 2 * int(time.Millisecond)})
	default:
		fail(http.StatusNotFound, "no route "+r.URL.Path)
	}
}

// tinyModel writes a random llama of about 300k parameters.
func tinyModel(t *testing.T) string {
	t.Helper()
	cfg, err := RandomConfig(3e5, gguf.TypeF32)
	if err != nil {
		t.Fatal(err)
	}
	return randmodeltest.Write(t, "tiny.gguf", cfg)
}

func TestRunAgainstOllama(t *testing.T) {
	f, url := newFakeOllama(t)
	path := tinyModel(t)
	o := Options{ModelPath: path, Against: url + "/v1", Runs: 3, PromptTokens: 40, DecodeTokens: 16,
		Samples: 4, SampleTokens: 8, NoKernels: true}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	models, reqs, peak := maps.Clone(f.models), slices.Clone(f.reqs), f.peak
	f.mu.Unlock()
	if len(models) != 1 || rep.OllamaModel == "" || models[rep.OllamaModel] == "" {
		t.Fatalf("model not created from the file: server has %v, report names %q", models, rep.OllamaModel)
	}
	if want := 1 + 3 + 3*4; len(reqs) != want { // warm-up, decodes, search samples
		t.Fatalf("%d generate calls, want %d", len(reqs), want)
	}
	if peak < 2 {
		t.Errorf("search samples were not sent concurrently (at most %d in flight)", peak)
	}
	seeds := map[float64]bool{}
	for _, r := range reqs[1:] {
		opts := r["options"].(map[string]any)
		if r["raw"] != true || r["stream"] != false || opts["repeat_penalty"] != 1.0 {
			t.Fatalf("request %v: want raw, unstreamed, repeat_penalty 1", r)
		}
		if opts["temperature"].(float64) > 0 {
			if opts["num_predict"] != 8.0 || opts["top_k"] != 40.0 || opts["top_p"] != 0.9 {
				t.Fatalf("search request options %v", opts)
			}
			seeds[opts["seed"].(float64)] = true
		} else if opts["num_predict"] != 16.0 {
			t.Fatalf("decode request options %v", opts)
		}
	}
	if len(seeds) != 3*4 {
		t.Errorf("%d distinct seeds over 12 search samples", len(seeds))
	}

	byName := map[string]Workload{}
	for _, w := range rep.Workloads {
		byName[w.Name] = w
	}
	dec, search := byName[Decode], byName[Search]
	if dec.Ollama == nil || math.Abs(dec.Ollama.Median-1000) > 1e-6 {
		t.Fatalf("ollama decode %+v, want its eval_count/eval_duration: 1000 tokens/s", dec.Ollama)
	}
	if dec.Pareto.Median <= 0 || len(dec.Pareto.Runs) != 3 || math.Abs(dec.Ratio-dec.Pareto.Median/1000) > 1e-9 {
		t.Fatalf("pareto decode %+v, ratio %v", dec.Pareto, dec.Ratio)
	}
	// 4 samples of 8 tokens, at least 20 ms of wall time each round.
	if search.Ollama == nil || search.Ollama.Tokens != 32 || search.Ollama.Median > 32/0.020 {
		t.Fatalf("ollama search %+v", search.Ollama)
	}
	if p := byName[Prefill]; p.Ollama == nil || math.Abs(p.Ollama.Median-500) > 1e-6 || p.Pareto.Tokens < 39 {
		t.Fatalf("prefill %+v / %+v", p.Pareto, p.Ollama)
	}
	if len(rep.Floors) != 2 || rep.Floors[0].Min != 1 || rep.Floors[1].Min != 3 {
		t.Fatalf("floors %+v, want decode >= 1x and search >= 3x for a small model", rep.Floors)
	}
	for _, fl := range rep.Floors {
		if fl.Pass != (fl.Ratio >= fl.Min) {
			t.Fatalf("floor %+v", fl)
		}
	}

	var out bytes.Buffer
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decode batch 1", "search", "prefill", "ratio", ">= 3.0x", "medians of 3 runs", rep.OllamaModel} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}

	// The same file again: the server has the blob, so nothing is uploaded,
	// and a given --ollama-model is used as is.
	f.mu.Lock()
	f.blobs = map[string]bool{}
	f.mu.Unlock()
	o.OllamaModel, o.Runs = rep.OllamaModel, 1
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.blobs) != 0 {
		t.Errorf("uploaded %d blobs for a model the server has by name", len(f.blobs))
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Run(ctx, Options{ModelPath: filepath.Join(t.TempDir(), "missing.gguf")}); err == nil || !strings.Contains(err.Error(), "missing.gguf") {
		t.Fatalf("missing model: %v", err)
	}
	_, url := newFakeOllama(t)
	_, err := Run(ctx, Options{ModelPath: tinyModel(t), Against: url, OllamaModel: "nope", NoKernels: true, Runs: 1,
		PromptTokens: 20, DecodeTokens: 4, Samples: 2, SampleTokens: 2})
	if err == nil || !strings.Contains(err.Error(), "model not found") {
		t.Fatalf("unknown server model: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = Run(ctx, Options{ModelPath: tinyModel(t), Against: dead.URL, NoKernels: true, Runs: 1})
	if err == nil || !strings.Contains(err.Error(), dead.URL) {
		t.Fatalf("unreachable server: %v", err)
	}
}

func TestRunParetoAloneWithKernels(t *testing.T) {
	rep, err := Run(context.Background(), Options{ModelPath: tinyModel(t), Runs: 1, PromptTokens: 30, DecodeTokens: 8,
		Samples: 2, SampleTokens: 4, KernelTime: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Workloads {
		if w.Ollama != nil || w.Pareto.Median <= 0 {
			t.Fatalf("workload %+v", w)
		}
	}
	if len(rep.Kernels) != 9 || rep.Kernels[8].M != 512 {
		t.Fatalf("kernels %+v", rep.Kernels)
	}
	for _, k := range rep.Kernels {
		if k.Engine <= 0 || (k.OpenBLAS > 0) != HaveOpenBLAS() {
			t.Fatalf("kernel %+v", k)
		}
	}
	var out bytes.Buffer
	rep.Print(&out)
	if !HaveOpenBLAS() && !strings.Contains(out.String(), "openblas: build with -tags openblas to compare") {
		t.Errorf("no hint about OpenBLAS:\n%s", out.String())
	}
}

func TestFloors(t *testing.T) {
	wl := func(dec, search float64) []Workload {
		f := &Figure{Median: 1}
		return []Workload{{Name: Decode, Ollama: f, Ratio: dec}, {Name: Search, Ollama: f, Ratio: search}, {Name: Prefill}}
	}
	small := &Report{Model: ModelInfo{Params: 2e6}, Workloads: wl(1.2, 2.9)}
	fs := floors(small)
	if len(fs) != 2 || !fs[0].Pass || fs[1].Pass {
		t.Fatalf("small model floors %+v", fs)
	}
	small.Floors = fs
	if f := small.Failed(); len(f) != 1 || !strings.Contains(f[0], "search") {
		t.Fatalf("failed %v", f)
	}
	big := &Report{Model: ModelInfo{Params: 1e8}, Workloads: wl(0.49, 10),
		Kernels: []Kernel{{Name: "square", M: 512, N: 512, K: 512, Engine: 30, OpenBLAS: 135, Ratio: 30.0 / 135}}}
	fs = floors(big)
	if len(fs) != 2 || fs[0].Min != 0.5 || fs[0].Pass || fs[1].Min != 0.25 || fs[1].Pass || fs[1].Aim != 0.5 {
		t.Fatalf("large model floors %+v", fs)
	}
	alone := &Report{Model: ModelInfo{Params: 2e6}, Workloads: []Workload{{Name: Decode}}}
	if fs := floors(alone); len(fs) != 0 {
		t.Fatalf("floors without a server or OpenBLAS: %+v", fs)
	}
}

func TestRandomConfig(t *testing.T) {
	for _, target := range []float64{5e6, 1e8} {
		c, err := RandomConfig(target, gguf.TypeF32)
		if err != nil {
			t.Fatal(err)
		}
		p := float64(ConfigParams(c))
		if p < 0.9*target || p > 1.1*target {
			t.Errorf("%g: %+v has %g parameters", target, c, p)
		}
		if c.Heads%c.KVHeads != 0 || c.KVHeads == c.Heads || c.DModel != 64*c.Heads {
			t.Errorf("%g: heads %d, kv heads %d, d_model %d", target, c.Heads, c.KVHeads, c.DModel)
		}
	}
	if _, err := RandomConfig(0, gguf.TypeF32); err == nil {
		t.Error("0 parameters accepted")
	}
	// The count is the engine's, vocabulary approximations aside.
	c, _ := RandomConfig(5e6, gguf.TypeF32)
	m, err := engine.Load(randmodeltest.Write(t, "m.gguf", c))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := float64(m.Params()), float64(ConfigParams(c)); math.Abs(got-want) > 0.02*want {
		t.Errorf("engine counts %g parameters, ConfigParams %g", got, want)
	}
}

func TestPrompt(t *testing.T) {
	b, err := embedded.Load(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	tok := b.Tokenizer()
	p1, p2 := prompt(b, 1, 60), prompt(b, 2, 60)
	if p1 == p2 || strings.Fields(p1)[0] == strings.Fields(p2)[0] && strings.Fields(p1)[1] == strings.Fields(p2)[1] {
		t.Fatalf("prompts of two keys start alike:\n%q\n%q", p1, p2)
	}
	words := strings.Fields(p1)
	if n := len(tok.Encode(p1, true)); n < 60 || n > 70 {
		t.Fatalf("prompt of %d tokens, want 60 or a few more", n)
	}
	if n := len(tok.Encode(strings.Join(words[:len(words)-1], " "), true)); n >= 60 {
		t.Fatalf("prompt not trimmed: %d tokens without its last word", n)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("median reordered its input")
			}
		}
	}
}
