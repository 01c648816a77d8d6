package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// realBatchedOutput is the stdout of the real llama-batched-bench (llama.cpp
// built against node-llama-cpp v0.5.0's libraries) for
// -m pareto-synth-policy.gguf -t 1 -c 160 -npp 32 -ntg 8 -npl 4,4 -pps
// --output-format jsonl.
const realBatchedOutput = `{"n_kv_max": 1024, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 1, "n_gpu_layers": -1, "n_threads": 1, "n_threads_batch": 1, "pp": 32, "tg": 8, "pl": 4, "n_kv": 160, "t_pp": 0.010847, "speed_pp": 2950.124268, "t_tg": 0.013000, "speed_tg": 2461.538330, "t": 0.023847, "speed": 2683.775635}
{"n_kv_max": 1024, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 1, "n_gpu_layers": -1, "n_threads": 1, "n_threads_batch": 1, "pp": 32, "tg": 8, "pl": 4, "n_kv": 160, "t_pp": 0.006781, "speed_pp": 4719.067871, "t_tg": 0.012355, "speed_tg": 2590.044678, "t": 0.019136, "speed": 3344.481445}


`

// realVersion is the same binary's --version (on stderr).
const realVersion = "version: 0.5.0-dev (build 1, commit 0ad4a86)\nbuilt with GNU 11.4.0 for Linux x86_64\n"

func TestParseBatchedBench(t *testing.T) {
	rs, err := parseBatchedBench([]byte(realBatchedOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := batchedBenchResult{Shared: 1, Threads: 1, PP: 32, TG: 8, PL: 4, TPP: 0.010847, TTG: 0.013}
	if len(rs) != 2 || rs[0] != want || rs[1].TPP != 0.006781 || rs[1].TTG != 0.012355 {
		t.Fatalf("parsed %+v", rs)
	}
	for _, bad := range []string{
		"|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |\n|    32 |      8 |    4 |    160 |    0.011 |  2950.12 |\n", // the markdown table
		"",
		`{"pp": 32, "tg": 8,` + "\n", // cut short
	} {
		if _, err := parseBatchedBench([]byte(bad)); err == nil || !strings.Contains(err.Error(), "jsonl") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for v, want := range map[string]string{
		realVersion: "1 (0ad4a86)",
		"version: 5163 (8cf427ff)\nbuilt with cc (GCC) 14.2.1 for x86_64-pc-linux-gnu\n": "5163 (8cf427ff)",
		"error: unknown argument: --version\n":                                           "",
	} {
		if got := buildOf(v); got != want {
			t.Errorf("buildOf(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestBatchedFigures: llama-batched-bench's times map to pareto's search
// figures: samples x sampleTokens tokens (the first of each from the
// prefill, -ntg one less) over t_pp + t_tg, and over t_tg alone.
func TestBatchedFigures(t *testing.T) {
	// The real smoke run: 4 x (8+1) = 36 tokens.
	rs, _ := parseBatchedBench([]byte(realBatchedOutput))
	b, err := batchedFigures(rs, 32, 8, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*b }
	if b.Search.Tokens != 36 || !near(b.Search.Runs[0], 36/(0.010847+0.013)) || !near(b.Search.Runs[1], 36/(0.006781+0.012355)) ||
		!near(b.SearchGenerating.Runs[0], 36/0.013) || !near(b.SearchGenerating.Median, (36/0.013+36/0.012355)/2) ||
		b.Threads != 1 || b.Prompt != 32 || b.Steps != 8 || b.Sequences != 4 || len(b.TPP) != 2 || b.TTG[1] != 0.012355 {
		t.Fatalf("%+v", b)
	}

	res := func(tpp, ttg float64) batchedBenchResult {
		return batchedBenchResult{Shared: 1, Threads: 2, PP: 200, TG: 127, PL: 16, TPP: tpp, TTG: ttg}
	}
	b, err = batchedFigures([]batchedBenchResult{res(0.5, 1.5), res(0.5, 3.5), res(0.5, 2.5)}, 200, 127, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b.Search.Median != 2048/3.0 || b.SearchGenerating.Median != 2048/2.5 || b.Search.Tokens != 2048 || b.SearchGenerating.Tokens != 2048 {
		t.Fatalf("16 x 128 tokens: search %+v, without prefill %+v", b.Search, b.SearchGenerating)
	}

	for _, c := range []struct {
		rs   []batchedBenchResult
		want string
	}{
		{[]batchedBenchResult{res(0.5, 1.5)}, "1 tests in its output, want 3"}, // a test skipped: the context too small
		{[]batchedBenchResult{res(0.5, 1.5), res(0.5, 1.5), {Shared: 0, PP: 200, TG: 127, PL: 16, TPP: 1, TTG: 1}}, "shared prompt 0"},
		{[]batchedBenchResult{res(0.5, 1.5), res(0.5, 1.5), {Shared: 1, PP: 200, TG: 128, PL: 16, TPP: 1, TTG: 1}}, "tg 128"},
		{[]batchedBenchResult{res(0.5, 1.5), res(0.5, 1.5), res(0.5, 0)}, "t_tg 0 s"},
	} {
		if _, err := batchedFigures(c.rs, 200, 127, 16, 3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.rs, err, c.want)
		}
	}
}

// fakeBatchedBench writes a shell script that answers as
// llama-batched-bench does with --output-format jsonl: a JSON line for
// every value of -npl, the i-th with t_pp 0.5 s and t_tg i+0.5 s, a
// warning on stderr; and --version as this build's. Every call's
// arguments but --version's go to the returned file.
func fakeBatchedBench(t *testing.T) (bin, argsFile string) {
	t.Helper()
	argsFile = filepath.Join(t.TempDir(), "args")
	script := `#!/bin/sh
if [ "$1" = --version ]; then printf '` + realVersion + `' >&2; exit 0; fi
echo "$@" >> ` + argsFile + `
pp=512; tg=128; pl=1; th=4
while [ $# -gt 0 ]; do
  case "$1" in -npp) pp=$2; shift;; -ntg) tg=$2; shift;; -npl) pl=$2; shift;; -t) th=$2; shift;; esac
  shift
done
echo "0.00.046.695 W llama_context: n_ctx is not divisible by n_seq_max - rounding down to 8192" >&2
i=$(($(wc -l < ` + argsFile + `) - 1)) # each call's steps take 1 s longer than the last call's
for b in $(echo "$pl" | tr , ' '); do
  i=$((i+1))
  echo '{"n_kv_max": 8192, "n_batch": 2048, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 1, "n_gpu_layers": -1, "n_threads": '$th', "n_threads_batch": '$th', "pp": '$pp', "tg": '$tg', "pl": '$b', "n_kv": 0, "t_pp": 0.500000, "speed_pp": 1.0, "t_tg": '$i'.500000, "speed_tg": 1.0, "t": 1.0, "speed": 1.0}'
done
echo
`
	return writeFile(t, "llama-batched-bench", script), argsFile
}

func TestLlamaBatchedBench(t *testing.T) {
	ctx := context.Background()
	bin, argsFile := fakeBatchedBench(t)
	b, err := llamaBatchedBench(ctx, bin, "m.gguf", 2, 200, 128, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(argsFile)
	// The context holds 16 sequences of 200 + 127 tokens.
	// Flash attention off, then on; the fake is faster neither way, so the
	// first is kept.
	if want := "-m m.gguf -t 2 -c 5232 -npp 200 -ntg 127 -npl 16,16,16 -pps --output-format jsonl -fa off\n-m m.gguf -t 2 -c 5232 -npp 200 -ntg 127 -npl 16,16,16 -pps --output-format jsonl -fa on\n"; string(args) != want || b.FlashAttn != "off" {
		t.Errorf("called with\n%s want\n%s", args, want)
	}
	if b.Bench != bin || b.Build != "1 (0ad4a86)" || b.Threads != 2 || b.Steps != 127 || b.Sequences != 16 || b.Prompt != 200 ||
		b.Search.Median != 2048/3.0 || b.SearchGenerating.Median != 2048/2.5 || len(b.Search.Runs) != 3 {
		t.Fatalf("%+v", b)
	}

	// A failing binary: the error names the command and its last stderr lines.
	failing := writeFile(t, "llama-batched-bench", "#!/bin/sh\necho 'line 1' >&2\necho 'line 2' >&2\necho 'llama_model_load: error loading model' >&2\necho 'main: error: unable to load model' >&2\nexit 1\n")
	_, err = llamaBatchedBench(ctx, failing, "m.gguf", 2, 200, 128, 16, 3)
	if err == nil || !strings.Contains(err.Error(), failing+" -m m.gguf -t 2 -c 5232 -npp 200 -ntg 127 -npl 16,16,16 -pps --output-format jsonl -fa off: exit status 1") ||
		!strings.Contains(err.Error(), "line 2 | llama_model_load: error loading model | main: error: unable to load model") || strings.Contains(err.Error(), "line 1") {
		t.Errorf("failing llama-batched-bench: %v", err)
	}
	// One that prints the markdown table (no --output-format): the error says so.
	old := writeFile(t, "llama-batched-bench", "#!/bin/sh\necho '|    PP |     TG |    B |'\n")
	if _, err := llamaBatchedBench(ctx, old, "m.gguf", 2, 200, 128, 16, 3); err == nil || !strings.Contains(err.Error(), "--output-format jsonl") {
		t.Errorf("markdown output: %v", err)
	}
	// One token a sample leaves no step to time.
	if _, err := llamaBatchedBench(ctx, bin, "m.gguf", 2, 200, 1, 16, 3); err == nil || !strings.Contains(err.Error(), "no decode step") {
		t.Errorf("1 token a sample: %v", err)
	}
}

// TestRunLlamaBatchedBench: in a run, llama-batched-bench fills llama.cpp's
// column of the two search rows (and llama-bench, when given too, those of
// decode and prefill), with ratios and floors.
func TestRunLlamaBatchedBench(t *testing.T) {
	ctx := context.Background()
	model := tinyModel(t)
	bb, argsFile := fakeBatchedBench(t)
	lb, _ := fakeLlamaBench(t, false)
	for _, withBench := range []bool{false, true} {
		if err := os.WriteFile(argsFile, nil, 0o644); err != nil { // the fake's times start again
			t.Fatal(err)
		}
		o := Options{ModelPath: model, Runs: 2, PromptTokens: 20, DecodeTokens: 16, Samples: 3, SampleTokens: 5,
			NoKernels: true, LlamaBatchedBench: bb, LlamaBenchThreads: 1}
		if withBench {
			o.LlamaBench = lb
		}
		rep, err := Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range rep.Workloads {
			search := w.Name == Search || w.Name == SearchGenerating
			if has := w.LlamaCpp != nil; has != (search || withBench) {
				t.Fatalf("with llama-bench %v: %s has llama.cpp figure %+v", withBench, w.Name, w.LlamaCpp)
			}
			if w.LlamaCpp != nil && math.Abs(w.LlamaRatio-w.Pareto.Median/w.LlamaCpp.Median) > 1e-9 {
				t.Errorf("%s: llama.cpp ratio %v, pareto %v, llama.cpp %v", w.Name, w.LlamaRatio, w.Pareto.Median, w.LlamaCpp.Median)
			}
			// One repetition a run, flash attention off then on (the fake's
			// steps 1 s longer each call, so off is faster): 3 x 5 tokens
			// over 0.5 s + 1.5 s and 0.5 s + 3.5 s; over 1.5 s and 3.5 s.
			if w.Name == Search && (math.Abs(w.LlamaCpp.Median-(15/2.0+15/4.0)/2) > 1e-9 || w.LlamaCpp.Tokens != 15) ||
				w.Name == SearchGenerating && (math.Abs(w.LlamaCpp.Median-(15/1.5+15/3.5)/2) > 1e-9 || w.LlamaCpp.Tokens != 15) {
				t.Errorf("%s: llama.cpp %+v", w.Name, w.LlamaCpp)
			}
		}
		// A small model: every row with a llama.cpp figure has a floor,
		// the search 1.5x.
		var whats []string
		for _, f := range rep.Floors {
			whats = append(whats, f.What)
			if f.Pass != (f.Ratio >= f.Min) {
				t.Errorf("floor %+v", f)
			}
		}
		want := []string{"search vs llama.cpp (as is, prefill included)", "search, prefill excluded vs llama.cpp"}
		if withBench {
			want = []string{"decode batch 1 vs llama.cpp", want[0], want[1], "prefill vs llama.cpp"}
		}
		if strings.Join(whats, "; ") != strings.Join(want, "; ") {
			t.Errorf("with llama-bench %v: floors %q, want %q", withBench, whats, want)
		}

		var out bytes.Buffer
		rep.Print(&out)
		t.Logf("\n%s", out.String())
		for _, want := range []string{"against  llama.cpp " + bb + " (search rows), build 1 (0ad4a86), 1 threads",
			"-npp 20 -ntg 4 -npl 3 -pps, flash attention off: the faster of off and on), one repetition right after each of pareto's and ollama's runs (2 in all)", "It does not sample", "pure compute, with the prompt shared",
			"3 x 5 = 15 tokens", ">= 1.5x", ">= 1.0x", "llama.cpp     ratio  floor"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("with llama-bench %v: printed report lacks %q", withBench, want)
			}
		}
		if got := strings.Contains(out.String(), "against  llama.cpp "+lb+", build 5163"); got != withBench {
			t.Errorf("with llama-bench %v: llama-bench's line printed: %v", withBench, got)
		}
		js, err := json.Marshal(rep.LlamaCpp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(js), `"batched_bench":{"bench":"`+bb+`","build":"1 (0ad4a86)","threads":1,"prompt":20,"steps":4,"sequences":3,"t_pp":[0.5,0.5],"t_tg":[1.5,3.5],"search":{`) ||
			strings.Contains(string(js), `"prefill"`) != withBench {
			t.Errorf("with llama-bench %v: JSON %s", withBench, js)
		}
	}
	args, _ := os.ReadFile(argsFile)
	if want := "-m " + model + " -t 1 -c 72 -npp 20 -ntg 4 -npl 3 -pps --output-format jsonl -fa off\n"; !strings.HasPrefix(string(args), want) {
		t.Errorf("called with\n%s want\n%s", args, want)
	}

	// A search of one token a sample fails before anything runs.
	_, err := Run(ctx, Options{ModelPath: model, SampleTokens: 1, LlamaBatchedBench: bb, NoKernels: true})
	if err == nil || !strings.Contains(err.Error(), "no decode step") {
		t.Errorf("1 token a sample: %v", err)
	}
}

// TestFloorsLlamaCpp: against llama.cpp, decode and prefill >= 1x, the
// search as is >= 1.5x, and for a small model every row >= 1x (the search
// still 1.5x); without a llama.cpp figure, no such floor.
func TestFloorsLlamaCpp(t *testing.T) {
	lc := &Figure{Median: 1}
	wl := func(dec, search, gen, pre float64) []Workload {
		return []Workload{
			{Name: Decode, LlamaCpp: lc, LlamaRatio: dec, Ollama: lc, Ratio: 2},
			{Name: Search, LlamaCpp: lc, LlamaRatio: search, Ollama: lc, Ratio: 3.5},
			{Name: SearchGenerating, LlamaCpp: lc, LlamaRatio: gen},
			{Name: Prefill, LlamaCpp: lc, LlamaRatio: pre},
		}
	}
	type fl struct {
		what string
		min  float64
		pass bool
	}
	got := func(fs []Floor) []fl {
		var out []fl
		for _, f := range fs {
			out = append(out, fl{f.What, f.Min, f.Pass})
		}
		return out
	}
	small := floors(&Report{Model: ModelInfo{Params: 2e6}, Workloads: wl(1.0, 1.4, 0.9, 1.1)})
	want := []fl{{"decode batch 1 vs ollama", 1, true}, {"search vs ollama", 3, true},
		{"decode batch 1 vs llama.cpp", 1, true}, {"search vs llama.cpp (as is, prefill included)", 1.5, false},
		{"search, prefill excluded vs llama.cpp", 1, false}, {"prefill vs llama.cpp", 1, true}}
	if g := got(small); !slices.Equal(g, want) {
		t.Errorf("small model floors\n%+v\nwant\n%+v", g, want)
	}
	big := floors(&Report{Model: ModelInfo{Params: 1e8}, Workloads: wl(0.99, 1.6, 0.5, 1.2)})
	want = []fl{{"decode batch 1 vs ollama", 0.5, true},
		{"decode batch 1 vs llama.cpp", 1, false}, {"search vs llama.cpp (as is, prefill included)", 1.5, true}, {"prefill vs llama.cpp", 1, true}}
	if g := got(big); !slices.Equal(g, want) {
		t.Errorf("large model floors\n%+v\nwant\n%+v", g, want)
	}
	r := &Report{Model: ModelInfo{Params: 1e8}, Workloads: wl(0.99, 1.6, 0.5, 1.2)}
	r.Floors = floors(r)
	if f := r.Failed(); len(f) != 1 || f[0] != "decode batch 1 vs llama.cpp 0.99x < 1.00x" {
		t.Errorf("failed %q", f)
	}
	// Printed in the llama.cpp column's floor, beside Ollama's.
	r.LlamaCpp = &LlamaCpp{}
	var out bytes.Buffer
	r.Print(&out)
	for _, re := range []string{`(?m)^decode batch 1 .* 2\.00x +>= 0\.5x pass +1\.0 +0\.99x +>= 1\.0x FAIL *$`,
		`(?m)^search .* 3\.50x +1\.0 +1\.60x +>= 1\.5x pass *$`, `(?m)^search, prefill excluded .* 0\.50x *$`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("printed report does not match %s:\n%s", re, out.String())
		}
	}
	// No llama.cpp figure (or a zero one): no llama.cpp floor.
	none := wl(1, 1, 1, 1)
	for i := range none {
		none[i].LlamaCpp = nil
	}
	none[0].LlamaCpp = &Figure{}
	if fs := floors(&Report{Model: ModelInfo{Params: 2e6}, Workloads: none}); len(fs) != 2 {
		t.Errorf("floors without llama.cpp figures: %+v", fs)
	}
}

// llama-bench runs both flash-attention settings in one command; the
// faster test of the kind asked for is kept, with its setting.
func TestLlamaBenchKeepsTheFasterSetting(t *testing.T) {
	bin := writeFile(t, "llama-bench", `#!/bin/sh
echo '[{"build_commit":"c","build_number":1,"n_threads":2,"n_prompt":200,"n_gen":0,"n_depth":0,"flash_attn":0,"avg_ts":100,"samples_ts":[100]},
{"build_commit":"c","build_number":1,"n_threads":2,"n_prompt":200,"n_gen":0,"n_depth":0,"flash_attn":1,"avg_ts":300,"samples_ts":[300]},
{"build_commit":"c","build_number":1,"n_threads":2,"n_prompt":0,"n_gen":128,"n_depth":200,"flash_attn":0,"avg_ts":90,"samples_ts":[90]},
{"build_commit":"c","build_number":1,"n_threads":2,"n_prompt":0,"n_gen":128,"n_depth":200,"flash_attn":1,"avg_ts":40,"samples_ts":[40]}]'
`)
	lc, err := llamaBench(context.Background(), bin, "m.gguf", 2, 200, 128, 1)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Prefill.Median != 300 || lc.PrefillFlashAttn != "1" || lc.Decode.Median != 90 || lc.DecodeFlashAttn != "0" {
		t.Errorf("prefill %g (flash attention %s), decode %g (%s); want 300 (1) and 90 (0)", lc.Prefill.Median, lc.PrefillFlashAttn, lc.Decode.Median, lc.DecodeFlashAttn)
	}
}
