package enginebench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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
// prompt token. It keeps a runner per model as Ollama does: a request
// loads it, an unload (keep_alive 0) stops it asynchronously (/api/ps
// lists it for two more calls), and it notes the decodes that did not run
// on a fresh runner.
type fakeOllama struct {
	t      *testing.T
	mu     sync.Mutex
	blobs  map[string]bool
	models map[string]string // name -> blob digest
	reqs   []map[string]any  // generate requests
	kinds  []string          // their kinds: unload, warm, decode, search
	cur    int               // generate calls in flight
	peak   int               // most in flight at once

	loaded    map[string][]string // model -> kinds of the requests its runner served since it loaded
	unloading map[string]int      // model -> /api/ps calls that still list it
	stale     int                 // decodes on a runner that served more than a warm-up
	early     int                 // requests while their model was unloading
	short     int                 // the next this many decodes stop after 2 tokens
}

func newFakeOllama(t *testing.T) (*fakeOllama, string) {
	f := &fakeOllama{t: t, blobs: map[string]bool{}, models: map[string]string{}, loaded: map[string][]string{}, unloading: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// kind tells the benchmark's generate requests apart.
func kind(req map[string]any) string {
	opts, _ := req["options"].(map[string]any)
	switch {
	case req["prompt"] == nil && req["keep_alive"] == 0.0:
		return "unload"
	case opts["temperature"].(float64) > 0:
		return "search"
	case opts["repeat_penalty"] == nil:
		return "warm"
	}
	return "decode"
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
	case r.URL.Path == "/api/ps":
		f.mu.Lock()
		defer f.mu.Unlock()
		var models []map[string]string
		for m := range f.loaded {
			models = append(models, map[string]string{"name": m + ":latest", "model": m + ":latest"})
		}
		for m, n := range f.unloading {
			if n > 0 {
				models = append(models, map[string]string{"name": m + ":latest", "model": m + ":latest"})
				f.unloading[m]--
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"models": models})
	case r.URL.Path == "/api/generate":
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		model := req["model"].(string)
		k := kind(req)
		f.mu.Lock()
		_, known := f.models[model]
		f.reqs = append(f.reqs, req)
		f.kinds = append(f.kinds, k)
		f.cur++
		f.peak = max(f.peak, f.cur)
		short := false
		if known {
			switch {
			case k == "unload":
				if _, up := f.loaded[model]; up {
					delete(f.loaded, model)
					f.unloading[model] = 2
				}
			case f.unloading[model] > 0:
				f.early++
			default:
				if k == "decode" {
					if !slices.Equal(f.loaded[model], []string{"warm"}) {
						f.stale++
					}
					if f.short > 0 {
						short = true
						f.short--
					}
				}
				f.loaded[model] = append(f.loaded[model], k)
			}
		}
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.cur--; f.mu.Unlock() }()
		if !known {
			fail(http.StatusNotFound, "model not found")
			return
		}
		if k == "unload" {
			json.NewEncoder(w).Encode(map[string]any{"done": true, "done_reason": "unload"})
			return
		}
		opts := req["options"].(map[string]any)
		n := int(opts["num_predict"].(float64))
		if short {
			n = 2
		}
		if opts["temperature"].(float64) > 0 {
			time.Sleep(20 * time.Millisecond) // so concurrent samples overlap, and wall time exceeds eval time
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

// nativeLog is the start of a log of an Ollama server whose runner was
// built with SIMD kernels.
const nativeLog = `time=2026-12-04T08:46:16.152Z level=INFO source=types.go:130 msg="inference compute" id=0 library=cpu variant="" compute="" driver=0.0 name="" total="23.5 GiB" available="22.3 GiB"
time=2026-12-04T08:46:16.606Z level=INFO source=ggml.go:109 msg=system CPU.0.SSE3=1 CPU.0.SSSE3=1 CPU.0.AVX=1 CPU.0.AVX2=1 CPU.0.F16C=1 CPU.0.FMA=1 CPU.0.LLAMAFILE=1 compiler=cgo(gcc)
`

// plainLog is the same for a plain `go install` build: no SIMD.
const plainLog = `time=2026-12-04T08:46:16.152Z level=INFO source=types.go:130 msg="inference compute" id=0 library=cpu variant="" compute="" driver=0.0 name="" total="23.5 GiB" available="22.3 GiB"
time=2026-12-04T08:46:16.606Z level=INFO source=ggml.go:109 msg=system CPU.0.LLAMAFILE=1 compiler=cgo(gcc)
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunAgainstOllama(t *testing.T) {
	f, url := newFakeOllama(t)
	path := tinyModel(t)
	o := Options{ModelPath: path, Against: url + "/v1", Runs: 3, PromptTokens: 40, DecodeTokens: 16,
		Samples: 4, SampleTokens: 8, NoKernels: true, OllamaLog: writeFile(t, "ollama.log", nativeLog)}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	models, reqs, kinds, peak := maps.Clone(f.models), slices.Clone(f.reqs), slices.Clone(f.kinds), f.peak
	stale, early := f.stale, f.early
	f.mu.Unlock()
	if len(models) != 1 || rep.OllamaModel == "" || models[rep.OllamaModel] == "" {
		t.Fatalf("model not created from the file: server has %v, report names %q", models, rep.OllamaModel)
	}
	// Every run: unload, warm up, decode, then the search's samples.
	var want []string
	for range 3 {
		want = append(want, "unload", "warm", "decode", "search", "search", "search", "search")
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("generate calls %v, want %v", kinds, want)
	}
	if stale != 0 || early != 0 {
		t.Errorf("%d decodes on a runner that had served more than a warm-up, %d requests before the unload finished", stale, early)
	}
	if peak < 2 {
		t.Errorf("search samples were not sent concurrently (at most %d in flight)", peak)
	}
	seeds := map[float64]bool{}
	for i, r := range reqs {
		if kinds[i] == "unload" || kinds[i] == "warm" {
			continue
		}
		opts := r["options"].(map[string]any)
		if r["raw"] != true || r["stream"] != false || opts["repeat_penalty"] != 1.0 {
			t.Fatalf("request %v: want raw, unstreamed, repeat_penalty 1", r)
		}
		if kinds[i] == "search" {
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
	dec, search, gen := byName[Decode], byName[Search], byName[SearchGenerating]
	if dec.Ollama == nil || math.Abs(dec.Ollama.Median-1000) > 1e-6 {
		t.Fatalf("ollama decode %+v, want its eval_count/eval_duration: 1000 tokens/s", dec.Ollama)
	}
	if dec.Pareto.Median <= 0 || len(dec.Pareto.Runs) != 3 || math.Abs(dec.Ratio-dec.Pareto.Median/1000) > 1e-9 {
		t.Fatalf("pareto decode %+v, ratio %v", dec.Pareto, dec.Ratio)
	}
	if dec.Pareto.Tokens != 16 || dec.Ollama.Tokens != 16 {
		t.Fatalf("decode tokens per run: pareto %v, ollama %v, want 16", dec.Pareto.Tokens, dec.Ollama.Tokens)
	}
	// 4 samples of 8 tokens, at least 20 ms of wall time each round.
	if search.Ollama == nil || search.Ollama.Tokens != 32 || search.Ollama.Median > 32/0.020 {
		t.Fatalf("ollama search %+v", search.Ollama)
	}
	// Without the fake's 20 ms of "prefill", each sample generated for
	// 8 ms, all at once: 32 tokens in about 8 ms.
	if gen.Ollama == nil || gen.Ollama.Tokens != 32 || gen.Ollama.Median <= search.Ollama.Median || gen.Ollama.Median > 32/0.008+1e-6 {
		t.Fatalf("ollama search without prefill %+v, as is %+v", gen.Ollama, search.Ollama)
	}
	if gen.Pareto.Tokens != search.Pareto.Tokens || gen.Pareto.Median < search.Pareto.Median {
		t.Fatalf("pareto search without prefill %+v, as is %+v", gen.Pareto, search.Pareto)
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
	if rep.OllamaCPU != "SSE3 SSSE3 AVX AVX2 F16C FMA" {
		t.Errorf("ollama CPU features %q from the log", rep.OllamaCPU)
	}

	var out bytes.Buffer
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{"decode batch 1", "search", "prefill", "ratio", ">= 3.0x", "medians of 3 runs", rep.OllamaModel,
		"runner CPU features: SSE3 SSSE3 AVX AVX2 F16C FMA", "fresh runner", "search, prefill excluded", "up to OLLAMA_NUM_PARALLEL times",
		"tokens per run (median)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "llama.cpp") || strings.Contains(out.String(), "WARNING") {
		t.Errorf("llama.cpp column without llama-bench, or a warning about a native runner:\n%s", out.String())
	}
	// Every figure's tokens per run are printed, on every side measured.
	tokens := out.String()[strings.Index(out.String(), "tokens per run"):]
	for _, w := range rep.Workloads {
		line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w.Name) + `\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(tokens)
		if line == nil || line[1] != fmt.Sprint(w.Pareto.Tokens) || line[2] != fmt.Sprint(w.Ollama.Tokens) {
			t.Errorf("tokens per run of %s: %q, want pareto %v ollama %v", w.Name, line, w.Pareto.Tokens, w.Ollama.Tokens)
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

// TestMinDecodeTokens: a run whose decode stops early on Ollama's side
// takes the next prompt on both sides; one that finds none fails.
func TestMinDecodeTokens(t *testing.T) {
	f, url := newFakeOllama(t)
	f.short = 1
	o := Options{ModelPath: tinyModel(t), Against: url, Runs: 2, PromptTokens: 40, DecodeTokens: 16,
		Samples: 2, SampleTokens: 4, NoKernels: true}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	var prompts []string
	for i, k := range f.kinds {
		if k == "decode" {
			prompts = append(prompts, f.reqs[i]["prompt"].(string))
		}
	}
	f.mu.Unlock()
	if len(prompts) != 3 || prompts[0] == prompts[1] || prompts[1] == prompts[2] {
		t.Fatalf("%d decode requests, want 3 on 3 prompts: the first set aside, then one per run", len(prompts))
	}
	dec := rep.Workloads[0]
	if dec.Name != Decode || len(dec.Ollama.Runs) != 2 || dec.Ollama.Tokens != 16 || len(dec.Pareto.Runs) != 2 {
		t.Fatalf("decode %+v / %+v", dec.Pareto, dec.Ollama)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.Contains(n, "1 decode prompts set aside for ending before 16 tokens (ollama 2)")
	}) {
		t.Errorf("no note of the prompt set aside: %q", rep.Notes)
	}

	f.mu.Lock()
	f.short = 1000
	f.mu.Unlock()
	o.Runs = 1
	_, err = Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "ended before 16 tokens (ollama 2, ollama 2,") {
		t.Fatalf("every decode short: %v", err)
	}
}

// TestOllamaCPU: the runner's msg=system line says whether its kernels
// have SIMD; without it the report says it cannot tell.
func TestOllamaCPU(t *testing.T) {
	for _, c := range []struct {
		log, cpu, note string
	}{
		{nativeLog, "SSE3 SSSE3 AVX AVX2 F16C FMA", ""},
		{plainLog, "none", "WARNING: Ollama's runner reports no SIMD CPU features"},
		// A release build's runner loads one backend per CPU variant.
		{plainLog + "time=x level=INFO source=ggml.go:109 msg=system CPU.0.SSE3=1 CPU.0.LLAMAFILE=1 CPU.1.SSE3=1 CPU.1.AVX512=1 compiler=cgo(gcc)\n", "SSE3 AVX512", ""},
		{`time=x level=INFO msg="inference compute" id=0 library=cpu variant=""` + "\n", "unknown", "has no runner line msg=system"},
	} {
		cpu, note, err := ollamaCPUNote(writeFile(t, "ollama.log", c.log))
		if err != nil || cpu != c.cpu || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("log %q: cpu %q, note %q, err %v; want %q, %q", c.log, cpu, note, err, c.cpu, c.note)
		}
	}
	if cpu, note, err := ollamaCPUNote(""); err != nil || cpu != "unknown" || !strings.Contains(note, "--ollama-log") {
		t.Errorf("no log: %q, %q, %v", cpu, note, err)
	}
	if _, _, err := ollamaCPUNote(filepath.Join(t.TempDir(), "missing.log")); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing log: %v", err)
	}

	// A plain build's log: the report warns.
	_, url := newFakeOllama(t)
	rep, err := Run(context.Background(), Options{ModelPath: tinyModel(t), Against: url, Runs: 1, PromptTokens: 20, DecodeTokens: 16,
		Samples: 2, SampleTokens: 2, NoKernels: true, OllamaLog: writeFile(t, "ollama.log", plainLog)})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	if rep.OllamaCPU != "none" || !strings.Contains(out.String(), "note     WARNING: Ollama's runner reports no SIMD") {
		t.Errorf("no warning about a scalar runner:\n%s", out.String())
	}
}

func TestBusy(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(a, b int) interval {
		return interval{t0.Add(time.Duration(a) * time.Millisecond), t0.Add(time.Duration(b) * time.Millisecond)}
	}
	for _, c := range []struct {
		iv   []interval
		want int
	}{
		{nil, 0},
		{[]interval{at(0, 10)}, 10},
		{[]interval{at(5, 10), at(0, 3)}, 8}, // apart
		{[]interval{at(0, 10), at(5, 15), at(20, 25)}, 20}, // overlapping, then apart
		{[]interval{at(0, 30), at(5, 10)}, 30},             // inside
	} {
		if got := busy(c.iv); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("busy(%v) = %v, want %dms", c.iv, got, c.want)
		}
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

// fakeLlamaBench writes a shell script that answers as llama-bench does
// with -o json: a pp test for -n 0, else a tg test (at -d's depth). An old
// one refuses -d. Every call's arguments go to the returned file.
func fakeLlamaBench(t *testing.T, old bool) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	refuse := ""
	if old {
		refuse = `[ -n "$d" ] && { echo "error: invalid parameter for argument: -d" >&2; exit 1; }`
	}
	script := `#!/bin/sh
echo "$@" >> ` + argsFile + `
p=512; n=128; d=""
while [ $# -gt 0 ]; do
  case "$1" in -p) p=$2; shift;; -n) n=$2; shift;; -d) d=$2; shift;; esac
  shift
done
` + refuse + `
if [ "$n" = 0 ]; then
  echo '[{"build_commit":"8cf427ff","build_number":5163,"model_type":"llama ?B F32","n_threads":2,"n_prompt":'$p',"n_gen":0,"n_depth":0,"avg_ts":700,"samples_ts":[690,700,730]}]'
else
  echo '[{"build_commit":"8cf427ff","build_number":5163,"model_type":"llama ?B F32","n_threads":2,"n_prompt":0,"n_gen":'$n',"n_depth":'${d:-0}',"avg_ts":115,"samples_ts":[110,115,125]}]'
fi
`
	return writeFile(t, "llama-bench", script), argsFile
}

func TestLlamaBench(t *testing.T) {
	ctx := context.Background()
	for _, old := range []bool{false, true} {
		bin, argsFile := fakeLlamaBench(t, old)
		lc, err := llamaBench(ctx, bin, "m.gguf", 2, 200, 128, 3)
		if err != nil {
			t.Fatal(err)
		}
		args, _ := os.ReadFile(argsFile)
		wantArgs := "-m m.gguf -t 2 -r 3 -o json -p 200 -n 0 -fa 0,1\n-m m.gguf -t 2 -r 3 -o json -p 0 -n 128 -d 200 -fa 0,1\n"
		depth := 200
		if old {
			wantArgs += "-m m.gguf -t 2 -r 3 -o json -p 0 -n 128 -fa 0,1\n"
			depth = 0
		}
		if string(args) != wantArgs {
			t.Errorf("old %v: llama-bench called with\n%s want\n%s", old, args, wantArgs)
		}
		if lc.Prefill.Median != 700 || lc.Prefill.Tokens != 200 || len(lc.Prefill.Runs) != 3 ||
			lc.Decode.Median != 115 || lc.Decode.Tokens != 128 || lc.DecodeDepth != depth || lc.Threads != 2 || lc.Build != "5163 (8cf427ff)" {
			t.Errorf("old %v: %+v", old, lc)
		}
	}

	// An older build reports only the mean.
	rs, err := parseLlamaBench([]byte(`[{"n_prompt":0,"n_gen":128,"avg_ts":99.5}]`))
	if err != nil || rs[0].figure().Median != 99.5 || rs[0].figure().Tokens != 128 {
		t.Errorf("avg_ts alone: %+v, %v", rs, err)
	}
	for _, bad := range []string{"| model | size |", "[]"} {
		if _, err := parseLlamaBench([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	failing := writeFile(t, "llama-bench", "#!/bin/sh\necho 'error: failed to load model' >&2\nexit 1\n")
	if _, err := llamaBench(ctx, failing, "m.gguf", 2, 200, 128, 3); err == nil || !strings.Contains(err.Error(), "failed to load model") {
		t.Errorf("failing llama-bench: %v", err)
	}

	// In a run: a third column beside decode and prefill, none for search.
	bin, _ := fakeLlamaBench(t, true)
	rep, err := Run(ctx, Options{ModelPath: tinyModel(t), Runs: 1, PromptTokens: 20, DecodeTokens: 16, Samples: 2, SampleTokens: 2,
		NoKernels: true, LlamaBench: bin})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Workloads {
		hasLlama := w.Name == Decode || w.Name == Prefill
		if (w.LlamaCpp != nil) != hasLlama || hasLlama && math.Abs(w.LlamaRatio-w.Pareto.Median/w.LlamaCpp.Median) > 1e-9 {
			t.Errorf("workload %s: llama.cpp %+v, ratio %v", w.Name, w.LlamaCpp, w.LlamaRatio)
		}
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("\n%s", out.String())
	for _, want := range []string{"against  llama.cpp " + bin + ", build 5163 (8cf427ff), 2 threads", "llama.cpp's decode started from a context of 0 tokens",
		"llama.cpp     ratio", "    115.0", "    700.0", "pareto    ollama  llama.cpp\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
}
