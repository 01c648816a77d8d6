//go:build integration

package enginebench

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestBenchAgainstOllama runs the benchmark on the shipped policy against
// a real Ollama (as ollamatest starts it: OLLAMA_NUM_PARALLEL=1), which
// gets the file through /api/blobs and /api/create, and checks that the
// report is whole: every workload measured on both sides, both floors
// judged, the runner's CPU features read from the server's log. It does
// not assert the speeds (a timed assertion fails on a busy machine;
// `pareto bench engine` reports them), nor that Ollama has SIMD kernels
// (.ci/run builds it so; the report warns when not). The workload is cut
// down (one run, 8 samples of 64 tokens) to keep the suite short. Greedy
// decoding agrees token for token between the engines, so both must have
// generated as many decode tokens from the same prompt.
func TestBenchAgainstOllama(t *testing.T) {
	// A server of its own, not the shared one, for a log whose path is
	// known: ollamatest.Start writes it to dir/ollama.log.
	dir := t.TempDir()
	srv, err := ollamatest.Start(dir)
	if err != nil {
		t.Fatalf("integration tests need a real Ollama: %v", err)
	}
	t.Cleanup(srv.Stop)
	path := modelstest.Path(t, models.Default)
	rep, err := Run(context.Background(), Options{ModelPath: path, Against: "http://" + srv.Host, Runs: 1,
		DecodeTokens: 64, Samples: 8, SampleTokens: 64, NoKernels: true, OllamaLog: filepath.Join(dir, "ollama.log")})
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("\n%s", out.String())
	if len(rep.Floors) != 2 {
		t.Fatalf("floors %+v, want decode and search", rep.Floors)
	}
	if rep.OllamaCPU == "" || rep.OllamaCPU == "unknown" {
		t.Errorf("runner CPU features %q: the runner's msg=system line not found in its log", rep.OllamaCPU)
	}
	for _, w := range rep.Workloads {
		if w.Ollama == nil || !(w.Pareto.Median > 0) || !(w.Ollama.Median > 0) || !(w.Ratio > 0) {
			t.Errorf("workload %s: pareto %+v, ollama %+v, ratio %v: want both measured", w.Name, w.Pareto, w.Ollama, w.Ratio)
			continue
		}
		if w.Name == Decode && w.Pareto.Tokens != w.Ollama.Tokens {
			t.Errorf("decode: pareto generated %v tokens, ollama %v, from the same prompt", w.Pareto.Tokens, w.Ollama.Tokens)
		}
	}
}
