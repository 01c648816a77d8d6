package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// llama.cpp is the anchor a reader trusts: Ollama v0.6.5 runs an older
// ggml whose speed depends on how it was built. When the user has
// llama.cpp's llama-bench, the benchmark runs it on the same GGUF file
// for the prefill and decode figures (llama-bench has no parallel-sampling
// workload, so search has no llama.cpp figure). It runs after pareto and
// Ollama, on its own, not interleaved with them: it times its repetitions
// itself.

// llamaBenchResult is the part of one test of llama-bench's JSON output
// (-o json) the benchmark reads: a pp test has n_gen 0, a tg test
// n_prompt 0. samples_ts (the rate of every repetition) is missing in
// older builds, which report only avg_ts.
type llamaBenchResult struct {
	BuildCommit string    `json:"build_commit"`
	BuildNumber int       `json:"build_number"`
	ModelType   string    `json:"model_type"`
	Threads     int       `json:"n_threads"`
	NPrompt     int       `json:"n_prompt"`
	NGen        int       `json:"n_gen"`
	NDepth      int       `json:"n_depth"`
	AvgTS       float64   `json:"avg_ts"`
	SamplesTS   []float64 `json:"samples_ts"`
}

// figure is the test's rate as a Figure: the median of its repetitions,
// and its tokens per repetition.
func (r llamaBenchResult) figure() Figure {
	runs := r.SamplesTS
	if len(runs) == 0 {
		runs = []float64{r.AvgTS}
	}
	return Figure{Median: median(runs), Runs: runs, Tokens: float64(r.NPrompt + r.NGen)}
}

// parseLlamaBench reads llama-bench's JSON output: an array of tests.
func parseLlamaBench(out []byte) ([]llamaBenchResult, error) {
	var rs []llamaBenchResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &rs); err != nil {
		return nil, fmt.Errorf("llama-bench output is not its JSON (-o json): %w", err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("llama-bench output has no tests")
	}
	return rs, nil
}

// LlamaCpp is what llama-bench measured, for the report.
type LlamaCpp struct {
	Bench   string `json:"bench"` // the llama-bench binary
	Build   string `json:"build"` // its build number and commit
	Threads int    `json:"threads"`
	Prefill Figure `json:"prefill"`
	Decode  Figure `json:"decode"`
	// DecodeDepth is the context the decode test started from: the prompt
	// length (-d), as pareto's and Ollama's decode follow their prompt, or
	// 0 for a llama-bench too old to take -d.
	DecodeDepth int `json:"decode_depth"`
}

// llamaBench runs bin on model at threads threads: a prefill test of
// promptTokens tokens, then a decode test of genTokens tokens after a
// context of promptTokens (-d; where bin lacks -d, from an empty
// context), runs repetitions each.
func llamaBench(ctx context.Context, bin, model string, threads, promptTokens, genTokens, runs int) (*LlamaCpp, error) {
	common := []string{"-m", model, "-t", strconv.Itoa(threads), "-r", strconv.Itoa(runs), "-o", "json"}
	p, n, d := strconv.Itoa(promptTokens), strconv.Itoa(genTokens), strconv.Itoa(promptTokens)
	pp, err := runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", p, "-n", "0"}), isPrefill)
	if err != nil {
		return nil, err
	}
	lc := &LlamaCpp{Bench: bin, Build: fmt.Sprintf("%d (%s)", pp.BuildNumber, pp.BuildCommit), Threads: pp.Threads, Prefill: pp.figure()}
	tg, err := runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", "0", "-n", n, "-d", d}), isDecode)
	if err != nil {
		// llama-bench gained -d (n_depth) in 2025; an older one refuses it.
		var err2 error
		if tg, err2 = runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", "0", "-n", n}), isDecode); err2 != nil {
			return nil, fmt.Errorf("%w (and with -d: %w)", err2, err)
		}
	}
	lc.Decode, lc.DecodeDepth = tg.figure(), tg.NDepth
	return lc, nil
}

// isPrefill and isDecode tell llama-bench's pp and tg tests apart.
func isPrefill(r llamaBenchResult) bool { return r.NPrompt > 0 && r.NGen == 0 }
func isDecode(r llamaBenchResult) bool  { return r.NGen > 0 && r.NPrompt == 0 }

// runLlamaBench runs one llama-bench command and returns its first test
// that is (by want) the one asked for.
func runLlamaBench(ctx context.Context, bin string, args []string, want func(llamaBenchResult) bool) (llamaBenchResult, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	what := "llama-bench " + strings.Join(args, " ")
	if err := cmd.Run(); err != nil {
		return llamaBenchResult{}, fmt.Errorf("%s: %w: %s", what, err, lastLines(stderr.String(), 3))
	}
	rs, err := parseLlamaBench(stdout.Bytes())
	if err != nil {
		return llamaBenchResult{}, fmt.Errorf("%s: %w", what, err)
	}
	if i := slices.IndexFunc(rs, want); i >= 0 {
		return rs[i], nil
	}
	return llamaBenchResult{}, fmt.Errorf("%s: its output has not the test asked for: %+v", what, rs)
}

// lastLines is the last n lines of s, joined with " | ", for an error.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
