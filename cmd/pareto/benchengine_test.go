package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/enginebench"
)

func TestBenchEngineFlags(t *testing.T) {
	_, err := execute(t, "bench", "engine", "--model", "x.gguf", "--random-params", "5e6")
	if err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Fatalf("--model with --random-params: %v", err)
	}
	_, err = execute(t, "bench", "engine", "--random-params", "1")
	if err == nil || !strings.Contains(err.Error(), "random model of 1 parameters") {
		t.Fatalf("--random-params 1: %v", err)
	}
	_, err = execute(t, "bench", "engine", "--random-params", "3e5", "--random-type", "q4_k")
	if err == nil || !strings.Contains(err.Error(), `--random-type "q4_k"`) {
		t.Fatalf("--random-type q4_k: %v", err)
	}
	_, err = execute(t, "bench", "engine", "--model", "no-such-model")
	if err == nil || !strings.Contains(err.Error(), "no-such-model") {
		t.Fatalf("unknown model: %v", err)
	}
}

// TestBenchEngineAlone measures a small random model without a server.
func TestBenchEngineAlone(t *testing.T) {
	out, err := execute(t, "bench", "engine", "--random-params", "3e5", "--runs", "1", "--kernel-time", "2ms", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep enginebench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rep.Workloads) != 4 || rep.Workloads[0].Pareto.Median <= 0 || rep.Workloads[0].Ollama != nil || len(rep.Kernels) != 9 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Model.Params < 2e5 || rep.Model.Params > 5e5 {
		t.Fatalf("random model of %d parameters for --random-params 3e5", rep.Model.Params)
	}
}

// --random-type q8_0 measures a random model with Q8_0 matrices.
func TestBenchEngineRandomQ8(t *testing.T) {
	out, err := execute(t, "bench", "engine", "--random-params", "3e5", "--random-type", "q8_0", "--runs", "1", "--kernel-time", "0", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep enginebench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Model.Weights != "Q8_0" || rep.Workloads[0].Pareto.Median <= 0 {
		t.Fatalf("model %+v, workloads %+v", rep.Model, rep.Workloads)
	}
}

// fastOllama is a server that reports itself far faster than pareto: one
// nanosecond for any prefill or decode. It unloads models at once.
func fastOllama(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead: // every blob is there already
		case strings.HasPrefix(r.URL.Path, "/api/blobs/"):
			io.Copy(io.Discard, r.Body)
		case r.URL.Path == "/api/create":
			w.Write([]byte(`{"status":"success"}`))
		case r.URL.Path == "/api/ps":
			w.Write([]byte(`{"models":[]}`))
		case r.URL.Path == "/api/generate":
			var req struct {
				Options struct {
					NumPredict int `json:"num_predict"`
				} `json:"options"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			json.NewEncoder(w).Encode(map[string]any{"done": true, "eval_count": req.Options.NumPredict,
				"eval_duration": time.Nanosecond, "prompt_eval_count": 200, "prompt_eval_duration": time.Nanosecond})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBenchEngineFloorFails: against a server that reports itself far
// faster than pareto, the table says FAIL and the command exits non-zero.
// Without --ollama-log the report says it cannot tell how Ollama was built.
func TestBenchEngineFloorFails(t *testing.T) {
	out, err := execute(t, "bench", "engine", "--random-params", "3e5", "--runs", "1", "--kernel-time", "0", "--against", fastOllama(t))
	if err == nil || !strings.Contains(err.Error(), "floors not met: decode batch 1 vs ollama") {
		t.Fatalf("want a floor failure, got %v\n%s", err, out)
	}
	for _, want := range []string{"FAIL", "decode batch 1", ">= 1.0x", "runner CPU features: unknown", "cannot tell whether Ollama's runner has SIMD kernels"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchEngineAnchors: --ollama-log reads the runner's CPU features
// (and warns of a scalar build), --llama-bench adds a llama.cpp column
// run at --llama-bench-threads, and --llama-batched-bench its search rows,
// each with its floor.
func TestBenchEngineAnchors(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "ollama.log")
	os.WriteFile(log, []byte("time=x level=INFO source=ggml.go:109 msg=system CPU.0.LLAMAFILE=1 compiler=cgo(gcc)\n"), 0o644)
	bench := filepath.Join(dir, "llama-bench")
	os.WriteFile(bench, []byte(`#!/bin/sh
echo "$@" >> `+filepath.Join(dir, "args")+`
case "$*" in
*"-n 0"*) echo '[{"build_number":1,"build_commit":"c","n_threads":1,"n_prompt":200,"n_gen":0,"n_depth":0,"avg_ts":7,"samples_ts":[7]}]';;
*) echo '[{"build_number":1,"build_commit":"c","n_threads":1,"n_prompt":0,"n_gen":128,"n_depth":200,"avg_ts":3,"samples_ts":[3]}]';;
esac
`), 0o755)
	// A llama.cpp far faster than pareto: the search's 16 x 128 tokens in 1 ms.
	batched := filepath.Join(dir, "llama-batched-bench")
	os.WriteFile(batched, []byte(`#!/bin/sh
[ "$1" = --version ] && { echo "version: 7000 (abc123)" >&2; exit 0; }
echo "$@" >> `+filepath.Join(dir, "batched-args")+`
echo '{"n_kv_max": 8192, "is_pp_shared": 1, "n_threads": 1, "pp": 200, "tg": 127, "pl": 16, "t_pp": 0.000500, "t_tg": 0.000500}'
`), 0o755)
	out, err := execute(t, "bench", "engine", "--random-params", "3e5", "--runs", "1", "--kernel-time", "0", "--against", fastOllama(t),
		"--ollama-log", log, "--llama-bench", bench, "--llama-bench-threads", "1", "--min-decode-tokens", "8", "--llama-batched-bench", batched)
	if err == nil || !strings.Contains(err.Error(), "floors not met") {
		t.Fatalf("want a floor failure, got %v\n%s", err, out)
	}
	for _, want := range []string{"runner CPU features: none", "WARNING: Ollama's runner reports no SIMD", "against  llama.cpp " + bench + ", build 1 (c), 1 threads", "llama.cpp", "3.0", "7.0",
		"against  llama.cpp " + batched + " (search rows), build 7000 (abc123), 1 threads", "2048000.0", "4096000.0", "It does not sample", ">= 1.5x FAIL",
		"search vs llama.cpp (as is, prefill included)", "search, prefill excluded vs llama.cpp"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if !strings.Contains(string(args), "-t 1 -r 1 -o json -p 200 -n 0") || !strings.Contains(string(args), "-p 0 -n 128 -d 200") {
		t.Errorf("llama-bench called with\n%s", args)
	}
	args, _ = os.ReadFile(filepath.Join(dir, "batched-args"))
	if want := " -t 1 -c 5232 -npp 200 -ntg 127 -npl 16 -pps --output-format jsonl -fa on\n"; !strings.HasSuffix(string(args), want) {
		t.Errorf("llama-batched-bench called with\n%s want\n%s", args, want)
	}
}
