package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
	if len(rep.Workloads) != 3 || rep.Workloads[0].Pareto.Median <= 0 || rep.Workloads[0].Ollama != nil || len(rep.Kernels) != 9 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Model.Params < 2e5 || rep.Model.Params > 5e5 {
		t.Fatalf("random model of %d parameters for --random-params 3e5", rep.Model.Params)
	}
}

// TestBenchEngineFloorFails: against a server that reports itself far
// faster than pareto, the table says FAIL and the command exits non-zero.
func TestBenchEngineFloorFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead: // every blob is there already
		case strings.HasPrefix(r.URL.Path, "/api/blobs/"):
			io.Copy(io.Discard, r.Body)
		case r.URL.Path == "/api/create":
			w.Write([]byte(`{"status":"success"}`))
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
	defer srv.Close()
	out, err := execute(t, "bench", "engine", "--random-params", "3e5", "--runs", "1", "--kernel-time", "0", "--against", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "floors not met: decode batch 1 vs ollama") {
		t.Fatalf("want a floor failure, got %v\n%s", err, out)
	}
	for _, want := range []string{"FAIL", "decode batch 1", ">= 1.0x"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
