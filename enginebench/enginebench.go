// Package enginebench measures how fast pareto's embedded engine
// generates, side by side with an Ollama server running the same GGUF
// file and, where the user has llama.cpp's llama-bench and
// llama-batched-bench, llama.cpp: decode
// tokens/s of one sequence, the throughput of a search-shaped workload
// (many samples of one prompt, as self-consistency and best-of-N ask),
// with and without its prefill, prefill tokens/s, and the GFLOP/s of the
// engine's matmul kernels beside OpenBLAS's sgemm on the same shapes. It
// is what `pareto bench engine` runs.
package enginebench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/synth"
)

// Options choose what to measure. Zero fields take the defaults in
// parentheses.
type Options struct {
	ModelPath   string // GGUF file pareto and the server both run
	Against     string // Ollama base URL (e.g. http://127.0.0.1:11434); empty measures pareto alone
	OllamaModel string // the file's model name in that server; empty creates one from ModelPath
	Runs        int    // runs of every figure; medians are reported (5)

	PromptTokens int // prompt length of both workloads (200)
	DecodeTokens int // tokens of the batch-1 decode (128)
	// MinDecodeTokens is the fewest tokens a run's decode must generate on
	// every side, else the run takes another prompt (half of DecodeTokens,
	// at least 16, at most DecodeTokens).
	MinDecodeTokens int
	Samples         int // samples of the search workload (16)
	SampleTokens    int // tokens per search sample (128)
	// Search sampling, Ollama's defaults: temperature 0.8, top-k 40, top-p 0.9.
	Temperature float64
	TopK        int
	TopP        float64

	KernelTime time.Duration // length of one timed kernel run (200ms)
	NoKernels  bool          // skip the matmul kernels

	// OllamaLog is the Ollama server's log, read for its runner's CPU
	// features (see ollamaCPU); empty: the report says it cannot tell.
	OllamaLog string
	// LlamaBench is llama.cpp's llama-bench binary, run on the same file
	// for a llama.cpp column of decode and prefill; empty: none.
	LlamaBench string
	// LlamaBatchedBench is llama.cpp's llama-batched-bench binary, run on
	// the same file with the search workload's sizes for a llama.cpp
	// column of the two search rows; empty: none.
	LlamaBatchedBench string
	LlamaBenchThreads int // the -t of both (2)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Runs, 5)
	def(&o.PromptTokens, 200)
	def(&o.DecodeTokens, 128)
	def(&o.MinDecodeTokens, max(16, o.DecodeTokens/2))
	o.MinDecodeTokens = min(o.MinDecodeTokens, o.DecodeTokens)
	def(&o.LlamaBenchThreads, 2)
	def(&o.Samples, 16)
	def(&o.SampleTokens, 128)
	def(&o.TopK, 40)
	if o.Temperature <= 0 {
		o.Temperature = 0.8
	}
	if o.TopP <= 0 {
		o.TopP = 0.9
	}
	if o.KernelTime <= 0 {
		o.KernelTime = 200 * time.Millisecond
	}
}

// Report is everything one measurement found.
type Report struct {
	Model       ModelInfo  `json:"model"`
	Machine     string     `json:"machine"`
	Load        string     `json:"load,omitempty"` // load averages before and after, where the OS tells them
	Against     string     `json:"against,omitempty"`
	OllamaModel string     `json:"ollama_model,omitempty"`
	OllamaCPU   string     `json:"ollama_cpu,omitempty"` // the SIMD features its runner reports ("AVX AVX2 ..."), "none", or "unknown" (no log)
	LlamaCpp    *LlamaCpp  `json:"llama_cpp,omitempty"`
	Runs        int        `json:"runs"`
	Notes       []string   `json:"notes,omitempty"`
	Workloads   []Workload `json:"workloads"`
	Kernels     []Kernel   `json:"kernels,omitempty"`
	Roofline    *Roofline  `json:"roofline,omitempty"`
	OpenBLAS    string     `json:"openblas,omitempty"` // the library's configuration, when linked
	Floors      []Floor    `json:"floors,omitempty"`
}

// ModelInfo describes the model measured.
type ModelInfo struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Arch    string `json:"arch"`
	Params  int    `json:"params"`
	DModel  int    `json:"d_model"`
	Layers  int    `json:"layers"`
	FFN     int    `json:"ffn"`
	Vocab   int    `json:"vocab"`
	Weights string `json:"weights"` // storage of the matrices: F32, F16 or Q8_0
	Context int    `json:"context"` // the context pareto ran with
}

// Workload is one measured figure for pareto and, with a server, Ollama,
// and with llama-bench, llama.cpp.
type Workload struct {
	Name       string  `json:"name"`
	Unit       string  `json:"unit"`
	Pareto     Figure  `json:"pareto"`
	Ollama     *Figure `json:"ollama,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"` // pareto median / Ollama median
	LlamaCpp   *Figure `json:"llama_cpp,omitempty"`
	LlamaRatio float64 `json:"llama_cpp_ratio,omitempty"` // pareto median / llama.cpp median
}

// Figure is a median over runs, with the runs and the median number of
// tokens each run generated or read (so a run cut short by an
// end-of-sequence token shows).
type Figure struct {
	Median float64   `json:"median"`
	Runs   []float64 `json:"runs"`
	Tokens float64   `json:"tokens"`
}

// Floor is a ratio the issue requires, and whether it is met.
type Floor struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
	Min   float64 `json:"min"`
	Aim   float64 `json:"aim,omitempty"`
	Pass  bool    `json:"pass"`
}

// Failed lists the floors not met.
func (r *Report) Failed() []string {
	var out []string
	for _, f := range r.Floors {
		if !f.Pass {
			out = append(out, fmt.Sprintf("%s %.2fx < %.2fx", f.What, f.Ratio, f.Min))
		}
	}
	return out
}

// Workload names, which the floors refer to.
const (
	Decode  = "decode batch 1"
	Search  = "search"
	Prefill = "prefill"
	// SearchGenerating is the search's tokens over the time some sample
	// was generating: its prefill (pareto's one, Ollama's per request)
	// taken out.
	SearchGenerating = "search, prefill excluded"

	// The roofline floors' names.
	DecodeBandwidth = "decode batch 1 share of memory bandwidth"
	SearchRoofline  = "search share of the square matmul rate"
)

// Run measures the model in o.ModelPath with pareto's embedded engine and,
// when o.Against is set, with that Ollama server.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if o.LlamaBatchedBench != "" && o.SampleTokens < 2 {
		return nil, fmt.Errorf("enginebench: llama-batched-bench: a search of %d tokens a sample has no decode step to time (at least 2)", o.SampleTokens)
	}
	b, err := embedded.Load(o.ModelPath, embedded.WithSampling(o.TopK, 0), embedded.WithMaxBatch(o.Samples))
	if err != nil {
		return nil, fmt.Errorf("enginebench: %w", err)
	}
	rep := &Report{Runs: o.Runs, Machine: fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))}
	loadBefore := loadAvg()
	m := b.Model()
	need := o.PromptTokens + max(o.DecodeTokens, o.SampleTokens) + 8
	if m.Config.Context < need {
		// Ollama runs every model with num_ctx 2048 unless told otherwise.
		n := max(need, 2048)
		rep.Notes = append(rep.Notes, fmt.Sprintf("context raised from the model's %d to %d (Ollama's default num_ctx) to fit the workloads", m.Config.Context, n))
		if err := m.SetContext(n); err != nil {
			return nil, fmt.Errorf("enginebench: %w", err)
		}
	}
	rep.Model = modelInfo(o.ModelPath, m)

	var srv *ollama
	if o.Against != "" {
		srv = newOllama(o.Against)
		rep.Against = srv.base
		if o.OllamaModel == "" {
			digest, err := fileDigest(o.ModelPath)
			if err != nil {
				return nil, err
			}
			o.OllamaModel = "pareto-bench-" + strings.TrimPrefix(digest, "sha256:")[:12]
			slog.Info("loading the model into ollama", "server", srv.base, "name", o.OllamaModel)
			if err := srv.create(ctx, o.OllamaModel, o.ModelPath); err != nil {
				return nil, err
			}
		}
		rep.OllamaModel = o.OllamaModel
	}

	w := &workloads{o: o, b: b, srv: srv}
	if err := w.run(ctx); err != nil {
		return nil, err
	}
	rep.Workloads = w.results()
	rep.Notes = append(rep.Notes, w.notes()...)
	if srv != nil {
		// Read after the runs: the runner the benchmark (re)started has
		// logged its features by now.
		cpu, note, err := ollamaCPUNote(o.OllamaLog)
		if err != nil {
			return nil, err
		}
		rep.OllamaCPU = cpu
		if note != "" {
			slog.Warn(note)
			rep.Notes = append(rep.Notes, note)
		}
	}
	if lc := w.llamaCpp(); lc != nil {
		rep.LlamaCpp = lc
		rep.Notes = append(rep.Notes, addLlamaCpp(rep.Workloads, lc, o.PromptTokens)...)
	}

	if !o.NoKernels {
		slog.Info("timing matmul kernels")
		rep.Kernels = measureKernels(kernelShapes(m.Config), o.Runs, o.KernelTime)
		if blasConfig != nil {
			rep.OpenBLAS = blasConfig()
		}
		slog.Info("timing the search's matmuls alone")
		stream := measureStream(m, o.Samples, o.Runs, o.KernelTime)
		var decode []float64
		for _, s := range w.pDecode {
			decode = append(decode, s.rate)
		}
		rep.Roofline = roofline(rep, m, w.bandwidth, decode, stream)
	}
	if loadBefore != "" {
		// Other work on the machine slows both engines, Ollama's spinning
		// threads most: the load says how far to trust the ratios.
		rep.Load = fmt.Sprintf("%s before, %s after", loadBefore, loadAvg())
	}
	rep.Floors = floors(rep)
	return rep, nil
}

// loadAvg is the 1-, 5- and 15-minute load averages, or "" where
// /proc/loadavg does not exist.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func modelInfo(path string, m *engine.Model) ModelInfo {
	c := m.Config
	name := m.Meta["general.name"]
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), ".gguf")
	}
	return ModelInfo{Name: name, Path: path, Arch: c.Arch, Params: m.Params(), DModel: c.DModel, Layers: c.Layers,
		FFN: c.FFN, Vocab: c.Vocab, Weights: m.Weights.Layers[0].Wq.Kind.String(), Context: c.Context}
}

// smallModel is the size below which the floors for the shipped
// (2M) and ~5M-parameter models apply; above it, those for ~100M.
const smallModel = 30e6

// floors are the speed floors that apply to what was measured.
func floors(r *Report) []Floor {
	var fs []Floor
	ratio := func(name string) (float64, bool) {
		for _, w := range r.Workloads {
			if w.Name == name && w.Ollama != nil {
				return w.Ratio, true
			}
		}
		return 0, false
	}
	add := func(what string, v, min, aim float64) {
		fs = append(fs, Floor{What: what, Ratio: v, Min: min, Aim: aim, Pass: v >= min})
	}
	if v, ok := ratio(Decode); ok {
		if r.Model.Params < smallModel {
			add("decode batch 1 vs ollama", v, 1, 0)
		} else {
			add("decode batch 1 vs ollama", v, 0.5, 0)
		}
	}
	if v, ok := ratio(Search); ok && r.Model.Params < smallModel {
		add("search vs ollama", v, 3, 0)
	}
	// Against llama.cpp (issue 17): decode and prefill at least as fast,
	// the search (the row as is, its prefill included) 1.5 times as fast;
	// and a small model's every row at least as fast.
	for _, w := range r.Workloads {
		if w.LlamaCpp == nil || w.LlamaCpp.Median <= 0 {
			continue
		}
		lo, what := 0.0, w.Name+" vs llama.cpp"
		switch w.Name {
		case Decode, Prefill:
			lo = 1
		case Search:
			lo, what = 1.5, what+" (as is, prefill included)"
		}
		if r.Model.Params < smallModel {
			lo = max(lo, 1)
		}
		if lo > 0 {
			add(what, w.LlamaRatio, lo, 0)
		}
	}
	if rf := r.Roofline; rf != nil && r.Model.Params >= smallModel {
		// A small model's weights sit in the caches: memory bandwidth does
		// not bound its decoding, nor does streaming them bound its search.
		if rf.DecodeFraction > 0 {
			add(DecodeBandwidth, rf.DecodeFraction, 0.8, 0)
		}
		if rf.SearchFraction > 0 {
			add(SearchRoofline, rf.SearchFraction, 0.6, 0)
		}
	}
	for _, k := range r.Kernels {
		if k.Name == "square" && k.OpenBLAS > 0 {
			add("matmul 512x512x512 vs openblas", k.Ratio, 0.25, 0.5)
		}
	}
	return fs
}

// workloads runs the decode and search workloads on pareto and the server,
// interleaved run by run so that both see the same load on the machine.
type workloads struct {
	o   Options
	b   *embedded.Backend
	srv *ollama

	pDecode, pSearch, pSearchGen, pPrefill []sample
	oDecode, oSearch, oSearchGen, oPrefill []sample
	bandwidth                              []Bandwidth // measured right after each run's decode, for the roofline
	llama                                  []*LlamaCpp // llama.cpp's tools, one repetition a run
	short                                  int         // pareto sequences that ended before their token budget
	setAside                               []string    // decodes that ended before MinDecodeTokens, and on which side
}

// sample is one run's rate and token count.
type sample struct {
	rate   float64
	tokens int
}

// decodeAttempts is how many prompts a run's decode tries before it gives
// up on finding one whose greedy continuation is long enough.
const decodeAttempts = 16

// Prompt keys (see prompt): a run's decode candidates, then its search,
// each run's apart from every other's (for up to 37 runs), so that no
// prompt is served from a cache another filled and every prefill is paid
// in full on both sides.
func decodeKey(run, attempt int) int { return 100 + decodeAttempts*run + attempt }
func searchKey(run int) int          { return 700 + run }

func (w *workloads) run(ctx context.Context) error {
	o := w.o
	// Warm up: page the weights in. Ollama's runner is warmed up before
	// each of its decodes (freshRunner).
	warm := prompt(w.b, 0, o.PromptTokens)
	if _, err := w.b.Generate(ctx, pareto.Request{Prompt: warm, Params: pareto.Params{MaxTokens: 8}}); err != nil {
		return fmt.Errorf("enginebench: pareto warm-up: %w", err)
	}
	for r := range o.Runs {
		if err := w.decode(ctx, r); err != nil {
			return err
		}
		if !o.NoKernels {
			// The bandwidth of a shared machine drifts by half within
			// minutes: each decode is set beside its own moment's.
			w.bandwidth = append(w.bandwidth, measureBandwidth(1))
		}
		ps := prompt(w.b, searchKey(r), o.PromptTokens)
		if err := w.paretoSearch(ctx, ps, r); err != nil {
			return err
		}
		if w.srv != nil {
			if err := w.ollamaSearch(ctx, ps, r); err != nil {
				return err
			}
		}
		if err := w.llamaRun(ctx); err != nil {
			return err
		}
		args := []any{"run", r + 1, "of", o.Runs, "pareto_decode", round1(w.pDecode[r].rate), "pareto_search", round1(w.pSearch[r].rate)}
		if w.srv != nil {
			args = append(args, "ollama_decode", round1(last(w.oDecode).rate), "ollama_search", round1(last(w.oSearch).rate))
		}
		slog.Info("run done", args...)
	}
	return nil
}

// llamaRun runs llama.cpp's tools (those given) once each, right after a
// run of pareto's (and ollama's): one repetition of every figure a run, so
// that llama.cpp's figures see the moments of the machine pareto's see (a
// shared machine's speed drifts by a third within minutes).
func (w *workloads) llamaRun(ctx context.Context) error {
	o := w.o
	if o.LlamaBench == "" && o.LlamaBatchedBench == "" {
		return nil
	}
	lc := &LlamaCpp{}
	var err error
	if o.LlamaBench != "" {
		slog.Info("running llama-bench", "bin", o.LlamaBench, "threads", o.LlamaBenchThreads)
		if lc, err = llamaBench(ctx, o.LlamaBench, o.ModelPath, o.LlamaBenchThreads, o.PromptTokens, o.DecodeTokens, 1); err != nil {
			return fmt.Errorf("enginebench: %w", err)
		}
	}
	if o.LlamaBatchedBench != "" {
		slog.Info("running llama-batched-bench", "bin", o.LlamaBatchedBench, "threads", o.LlamaBenchThreads)
		if lc.Batched, err = llamaBatchedBench(ctx, o.LlamaBatchedBench, o.ModelPath, o.LlamaBenchThreads, o.PromptTokens, o.SampleTokens, o.Samples, 1); err != nil {
			return fmt.Errorf("enginebench: %w", err)
		}
	}
	w.llama = append(w.llama, lc)
	return nil
}

// llamaCpp merges the runs' llama.cpp figures (nil when none ran): each
// figure the median of its runs, each run's flash-attention setting the
// faster of that run.
func (w *workloads) llamaCpp() *LlamaCpp {
	if len(w.llama) == 0 {
		return nil
	}
	var pre, dec, search, gen []Figure
	var pfa, dfa, bfa []string
	var tpp, ttg []float64
	for _, r := range w.llama {
		pre, dec = append(pre, r.Prefill), append(dec, r.Decode)
		pfa, dfa = append(pfa, r.PrefillFlashAttn), append(dfa, r.DecodeFlashAttn)
		if b := r.Batched; b != nil {
			search, gen = append(search, b.Search), append(gen, b.SearchGenerating)
			tpp, ttg = append(tpp, b.TPP...), append(ttg, b.TTG...)
			bfa = append(bfa, b.FlashAttn)
		}
	}
	lc := *w.llama[0]
	lc.Prefill, lc.Decode = mergeFigures(pre), mergeFigures(dec)
	lc.PrefillFlashAttn, lc.DecodeFlashAttn = settings(pfa), settings(dfa)
	if lc.Batched != nil {
		b := *lc.Batched
		b.TPP, b.TTG = tpp, ttg
		b.Search, b.SearchGenerating = mergeFigures(search), mergeFigures(gen)
		b.FlashAttn = settings(bfa)
		lc.Batched = &b
	}
	return &lc
}

// mergeFigures is one figure of all fs's runs (fs of the same workload).
func mergeFigures(fs []Figure) Figure {
	f := Figure{Tokens: fs[0].Tokens}
	for _, g := range fs {
		f.Runs = append(f.Runs, g.Runs...)
	}
	f.Median = median(f.Runs)
	return f
}

// settings names the runs' settings: the one they share, or each run's in
// order ("0/1/0").
func settings(s []string) string {
	if len(slices.Compact(slices.Clone(s))) == 1 {
		return s[0]
	}
	return strings.Join(s, "/")
}

// decode measures run's batch-1 decode on both sides from one prompt, and
// the prefill of that prompt. A prompt whose greedy continuation ends
// before MinDecodeTokens on either side (random models and small policies
// stop within a token or two on some prompts) would rate decoding from a
// step or two: the run sets it aside and tries the next prompt on both
// sides, so that both always decode the same prompt. The engines agree
// greedy token for token, so a prompt that runs long on pareto usually
// does on Ollama.
func (w *workloads) decode(ctx context.Context, run int) error {
	minTok := w.o.MinDecodeTokens
	var ended []string
	for a := range decodeAttempts {
		p := prompt(w.b, decodeKey(run, a), w.o.PromptTokens)
		pd, pp, err := w.paretoDecode(ctx, p)
		if err != nil {
			return err
		}
		if pd.tokens < minTok {
			ended = append(ended, fmt.Sprintf("pareto %d", pd.tokens))
			continue
		}
		var od, op sample
		if w.srv != nil {
			if od, op, err = w.ollamaDecode(ctx, p); err != nil {
				return err
			}
			if od.tokens < minTok {
				ended = append(ended, fmt.Sprintf("ollama %d", od.tokens))
				continue
			}
		}
		w.setAside = append(w.setAside, ended...)
		if pd.tokens < w.o.DecodeTokens {
			w.short++
		}
		w.pDecode, w.pPrefill = append(w.pDecode, pd), append(w.pPrefill, pp)
		if w.srv != nil {
			w.oDecode = append(w.oDecode, od)
			if op.tokens > 0 {
				w.oPrefill = append(w.oPrefill, op)
			}
		}
		return nil
	}
	return fmt.Errorf("enginebench: run %d: the greedy decode of each of %d prompts ended before %d tokens (%s): a rate from so few steps says little (--min-decode-tokens sets the floor)",
		run+1, decodeAttempts, minTok, strings.Join(ended, ", "))
}

// paretoDecode is one greedy sequence from prompt p: its decode rate and
// its prompt's prefill rate. The decode rate counts forward steps over
// the time from the first sampled token to the last, as Ollama's
// eval_duration does (prefill excluded).
func (w *workloads) paretoDecode(ctx context.Context, p string) (decode, prefill sample, err error) {
	out, err := w.b.Generate(ctx, pareto.Request{Prompt: p, Params: pareto.Params{MaxTokens: w.o.DecodeTokens, Temperature: 0}})
	if err != nil {
		return sample{}, sample{}, fmt.Errorf("enginebench: pareto decode: %w", err)
	}
	u := out[0].Usage
	n := sampled(out[0])
	decode = sample{rate: float64(n-1) / (u.Latency - u.TTFT).Seconds(), tokens: n}
	pre := u.PromptTokens - u.CachedTokens
	return decode, sample{rate: float64(pre) / u.TTFT.Seconds(), tokens: pre}, nil
}

// paretoSearch is Samples samples of one prompt in one request, rated two
// ways: total tokens over wall time, prefill included; and total tokens
// over the time from the first sampled token to the last, which leaves
// out the one prefill of the shared prompt.
func (w *workloads) paretoSearch(ctx context.Context, p string, run int) error {
	seed := int64(1000 * (run + 1))
	start := time.Now()
	out, err := w.b.Generate(ctx, pareto.Request{Prompt: p, Params: pareto.Params{N: w.o.Samples, MaxTokens: w.o.SampleTokens,
		Temperature: w.o.Temperature, TopP: w.o.TopP, Seed: &seed}})
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("enginebench: pareto search: %w", err)
	}
	n := 0
	for _, c := range out {
		n += sampled(c)
		if sampled(c) < w.o.SampleTokens {
			w.short++
		}
	}
	u := out[0].Usage
	w.pSearch = append(w.pSearch, sample{rate: float64(n) / wall.Seconds(), tokens: n})
	w.pSearchGen = append(w.pSearchGen, sample{rate: float64(n) / (u.Latency - u.TTFT).Seconds(), tokens: n})
	return nil
}

// sampled is the number of tokens the sampler drew for c: its tokens plus
// the end-of-sequence token that stopped it, if one did (no stop strings
// are used here).
func sampled(c pareto.Completion) int {
	if c.FinishReason == "stop" {
		return c.Usage.CompletionTokens + 1
	}
	return c.Usage.CompletionTokens
}

func (w *workloads) ollamaOptions(predict int, temp float64, seed int64) map[string]any {
	return map[string]any{"num_predict": predict, "temperature": temp, "seed": seed,
		"top_k": w.o.TopK, "top_p": w.o.TopP,
		"repeat_penalty": 1} // pareto applies none; Ollama's default is 1.1
}

// freshRunner unloads the model and loads it again with a short warm-up,
// so that the decode after it runs on a runner whose parallel slots hold
// no earlier request's KV. Ollama keeps each slot's KV after its request
// ends (for prefix reuse), and a runner that still holds a search's KV
// decodes slower: a native runner drops from 186 to 125 tokens/s on a
// Q8_0 100M model right after a 16-sample search. Reloading is robust
// where ordering decode before search is not: it holds for every run, not
// only the first, for a server started with any OLLAMA_NUM_PARALLEL, and
// for a model another client used before. It costs a model load per run,
// outside the timed eval. (It unloads a model named by --ollama-model
// too, which its other clients then reload.)
func (w *workloads) freshRunner(ctx context.Context) error {
	if err := w.srv.unload(ctx, w.o.OllamaModel); err != nil {
		return fmt.Errorf("enginebench: fresh ollama runner: %w", err)
	}
	warm := prompt(w.b, 0, w.o.PromptTokens)
	if _, err := w.srv.generate(ctx, w.o.OllamaModel, warm, map[string]any{"num_predict": 8, "temperature": 0}); err != nil {
		return fmt.Errorf("enginebench: fresh ollama runner: warm-up: %w", err)
	}
	return nil
}

// ollamaDecode is one greedy sequence from prompt p on a fresh runner,
// rated by the server's own eval_count / eval_duration, and its prompt's
// prefill by prompt_eval_count / prompt_eval_duration (zero tokens if the
// server reports no prefill).
func (w *workloads) ollamaDecode(ctx context.Context, p string) (decode, prefill sample, err error) {
	if err := w.freshRunner(ctx); err != nil {
		return sample{}, sample{}, err
	}
	res, err := w.srv.generate(ctx, w.o.OllamaModel, p, w.ollamaOptions(w.o.DecodeTokens, 0, 0))
	if err != nil {
		return sample{}, sample{}, err
	}
	decode.tokens = res.EvalCount
	if res.EvalCount < w.o.MinDecodeTokens {
		return decode, sample{}, nil // set aside by the caller: its rate does not matter
	}
	if res.EvalDuration <= 0 {
		return sample{}, sample{}, fmt.Errorf("ollama %s: a greedy decode of %s reported eval_count %d in %v",
			w.srv.base, w.o.OllamaModel, res.EvalCount, res.EvalDuration)
	}
	decode.rate = float64(res.EvalCount) / res.EvalDuration.Seconds()
	if res.PromptEvalDuration > 0 {
		prefill = sample{rate: float64(res.PromptEvalCount) / res.PromptEvalDuration.Seconds(), tokens: res.PromptEvalCount}
	}
	return decode, prefill, nil
}

// ollamaSearch sends the samples as concurrent requests (Ollama ignores
// n); the server runs OLLAMA_NUM_PARALLEL of them at a time. It is rated
// two ways: total tokens over wall time, prefill included; and total
// tokens over the time at least one request was generating, each
// request's generating time being its last eval_duration before its
// answer arrived. That leaves out the prefills (a request prefills the
// prompt unless a free slot holds it from an earlier request) and the
// time a request waits for a slot, as pareto's second rate leaves out
// its one prefill.
func (w *workloads) ollamaSearch(ctx context.Context, p string, run int) error {
	var wg sync.WaitGroup
	res := make([]genResult, w.o.Samples)
	gen := make([]interval, w.o.Samples)
	errs := make([]error, w.o.Samples)
	start := time.Now()
	for i := range res {
		wg.Go(func() {
			seed := int64(1000*(run+1) + i)
			res[i], errs[i] = w.srv.generate(ctx, w.o.OllamaModel, p, w.ollamaOptions(w.o.SampleTokens, w.o.Temperature, seed))
			end := time.Now()
			gen[i] = interval{end.Add(-res[i].EvalDuration), end}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	n := 0
	for i, r := range res {
		if errs[i] != nil {
			return errs[i]
		}
		n += r.EvalCount
	}
	w.oSearch = append(w.oSearch, sample{rate: float64(n) / wall.Seconds(), tokens: n})
	w.oSearchGen = append(w.oSearchGen, sample{rate: float64(n) / busy(gen).Seconds(), tokens: n})
	return nil
}

// interval is a span of time.
type interval struct{ start, end time.Time }

// busy is how long at least one of the intervals was open: the length of
// their union.
func busy(iv []interval) time.Duration {
	s := slices.Clone(iv)
	slices.SortFunc(s, func(a, b interval) int { return a.start.Compare(b.start) })
	var total time.Duration
	var end time.Time // the end of the merged span so far
	for _, x := range s {
		switch {
		case !x.end.After(end): // inside the span so far
		case x.start.After(end): // a new span
			total += x.end.Sub(x.start)
			end = x.end
		default: // extends the span so far
			total += x.end.Sub(end)
			end = x.end
		}
	}
	return total
}

func (w *workloads) results() []Workload {
	o := w.o
	mk := func(name, unit string, p, ol []sample) Workload {
		wl := Workload{Name: name, Unit: unit, Pareto: figure(p)}
		if len(ol) > 0 {
			f := figure(ol)
			wl.Ollama = &f
			wl.Ratio = wl.Pareto.Median / f.Median
		}
		return wl
	}
	return []Workload{
		mk(Decode, "tokens/s", w.pDecode, w.oDecode),
		mk(Search, fmt.Sprintf("tokens/s, %d samples x %d tokens", o.Samples, o.SampleTokens), w.pSearch, w.oSearch),
		mk(SearchGenerating, "tokens/s, the same, over the time generating", w.pSearchGen, w.oSearchGen),
		mk(Prefill, fmt.Sprintf("tokens/s, %d-token prompt", o.PromptTokens), w.pPrefill, w.oPrefill),
	}
}

func (w *workloads) notes() []string {
	var out []string
	if w.short > 0 {
		out = append(out, fmt.Sprintf("%d pareto sequences ended at an end-of-sequence token before their token budget; rates count the tokens actually generated", w.short))
	}
	if len(w.setAside) > 0 {
		out = append(out, fmt.Sprintf("%d decode prompts set aside for ending before %d tokens (%s); their runs took the next prompt on both sides",
			len(w.setAside), w.o.MinDecodeTokens, strings.Join(w.setAside, ", ")))
	}
	if w.srv != nil {
		out = append(out,
			"ollama's decodes ran on a fresh runner: the model unloaded (keep_alive 0) and warmed up before each, so no search's KV sat in its parallel slots",
			fmt.Sprintf("%q takes out the time no sample was generating: pareto's one prefill of the shared prompt; ollama's prefills (a request prefills the prompt unless a free slot holds it: up to OLLAMA_NUM_PARALLEL times) and its requests' waits for a slot. %q counts all of it", SearchGenerating, Search))
	}
	return out
}

// addLlamaCpp puts llama-bench's figures beside the decode and prefill
// workloads and llama-batched-bench's beside the two search workloads, and
// returns the notes that say how they were measured.
func addLlamaCpp(ws []Workload, lc *LlamaCpp, promptTokens int) []string {
	bb := lc.Batched
	for i := range ws {
		var f Figure
		switch n := ws[i].Name; {
		case lc.Bench != "" && n == Decode:
			f = lc.Decode
		case lc.Bench != "" && n == Prefill:
			f = lc.Prefill
		case bb != nil && n == Search:
			f = bb.Search
		case bb != nil && n == SearchGenerating:
			f = bb.SearchGenerating
		default:
			continue
		}
		ws[i].LlamaCpp = &f
		if f.Median > 0 {
			ws[i].LlamaRatio = ws[i].Pareto.Median / f.Median
		}
	}
	var notes []string
	if lc.Bench != "" {
		search := "it has no search workload"
		if bb != nil {
			search = "it has no search workload: llama-batched-bench's stands in"
		}
		notes = append(notes, fmt.Sprintf("llama.cpp (llama-bench) ran interleaved with pareto's and ollama's runs, one repetition right after each of theirs (%d in all), with flash attention off and on, the faster kept (prefill: %s, decode: %s); %s",
			len(lc.Prefill.Runs), lc.PrefillFlashAttn, lc.DecodeFlashAttn, search))
		if lc.DecodeDepth != promptTokens {
			notes = append(notes, fmt.Sprintf("llama.cpp's decode started from a context of %d tokens, not after the %d-token prompt as pareto's and ollama's (this llama-bench takes no -d)", lc.DecodeDepth, promptTokens))
		}
	}
	if bb != nil {
		tokens := bb.Sequences * (bb.Steps + 1)
		notes = append(notes,
			fmt.Sprintf("llama.cpp's search rows are llama-batched-bench's (-npp %d -ntg %d -npl %d -pps, flash attention %s: the faster of off and on), one repetition right after each of pareto's and ollama's runs (%d in all). It does not sample: each step feeds every sequence a pseudo-random token (std::rand() %% n_vocab), not one drawn from its logits, so its search is pure compute, with the prompt shared: prefilled once and its KV copied to the %d sequences outside its timings",
				bb.Prompt, bb.Steps, bb.Sequences, bb.FlashAttn, len(bb.TPP), bb.Sequences),
			fmt.Sprintf("llama.cpp's search counts %d x %d = %d tokens as pareto's does, the first of each sequence from the prefill's logits and one a step after it (hence -ntg %d): %q over its prefill and steps (t_pp + t_tg), %q over its steps (t_tg)",
				bb.Sequences, bb.Steps+1, tokens, bb.Steps, Search, SearchGenerating))
	}
	return notes
}

func figure(s []sample) Figure {
	rates := make([]float64, len(s))
	toks := make([]float64, len(s))
	for i, x := range s {
		rates[i], toks[i] = x.rate, float64(x.tokens)
	}
	return Figure{Median: median(rates), Runs: rates, Tokens: median(toks)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func last(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	return s[len(s)-1]
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// prompt is a text of at least n tokens (by the model's tokenizer, BOS
// included): synth test questions one after another, starting at a place
// chosen by key, so that prompts of different keys (below 1000) differ
// from their first question on.
func prompt(b *embedded.Backend, key, n int) string {
	qs := synth.TestSet()
	i := (key + 1) * 37 % len(qs)
	var sb strings.Builder
	for len(b.Tokenizer().Encode(sb.String(), true)) < n {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(qs[i].Question)
		i = (i + 1) % len(qs)
	}
	// Trim whole words back to the first length of at least n tokens.
	words := strings.Fields(sb.String())
	for len(words) > 1 && len(b.Tokenizer().Encode(strings.Join(words[:len(words)-1], " "), true)) >= n {
		words = words[:len(words)-1]
	}
	return strings.Join(words, " ")
}
