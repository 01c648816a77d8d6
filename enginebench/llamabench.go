package enginebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// llama.cpp is the anchor a reader trusts: Ollama v0.6.5 runs an older
// ggml whose speed depends on how it was built. When the user has
// llama.cpp's llama-bench, the benchmark runs it on the same GGUF file
// for the prefill and decode figures; llama-bench has no parallel-sampling
// workload, so the search's llama.cpp figures come from llama.cpp's
// llama-batched-bench (see llamaBatchedBench), when the user has it. Both
// run one repetition right after each of pareto's (and Ollama's) runs, so
// that every side sees the same moments of a machine whose speed drifts.

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
	FlashAttn   any       `json:"flash_attn"` // a bool in older builds, -1/0/1 in later ones
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

// LlamaCpp is what llama-bench and llama-batched-bench measured, for the
// report. Without llama-bench its fields are empty but Batched; without
// llama-batched-bench Batched is nil.
type LlamaCpp struct {
	Bench   string `json:"bench,omitempty"` // the llama-bench binary
	Build   string `json:"build,omitempty"` // its build number and commit
	Threads int    `json:"threads,omitempty"`
	Prefill Figure `json:"prefill,omitzero"`
	Decode  Figure `json:"decode,omitzero"`
	// PrefillFlashAttn and DecodeFlashAttn are the flash-attention setting
	// of each figure as llama-bench reports it: the faster of off and on.
	PrefillFlashAttn string `json:"prefill_flash_attn,omitempty"`
	DecodeFlashAttn  string `json:"decode_flash_attn,omitempty"`
	// DecodeDepth is the context the decode test started from: the prompt
	// length (-d), as pareto's and Ollama's decode follow their prompt, or
	// 0 for a llama-bench too old to take -d.
	DecodeDepth int `json:"decode_depth,omitempty"`
	// Batched is llama-batched-bench's search, when it ran.
	Batched *LlamaBatched `json:"batched_bench,omitempty"`
}

// llamaBench runs bin on model at threads threads: a prefill test of
// promptTokens tokens, then a decode test of genTokens tokens after a
// context of promptTokens (-d; where bin lacks -d, from an empty
// context), runs repetitions each.
func llamaBench(ctx context.Context, bin, model string, threads, promptTokens, genTokens, runs int) (*LlamaCpp, error) {
	common := []string{"-m", model, "-t", strconv.Itoa(threads), "-r", strconv.Itoa(runs), "-o", "json"}
	p, n, d := strconv.Itoa(promptTokens), strconv.Itoa(genTokens), strconv.Itoa(promptTokens)
	// Both flash-attention settings: which is faster depends on the model
	// and the context (on the shipped 2M model at a 200-token depth, off
	// decodes 2x faster than the default auto), and the anchor is
	// llama.cpp at its best.
	fa := []string{"-fa", "0,1"}
	pp, err := runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", p, "-n", "0"}, fa), isPrefill)
	if err != nil {
		return nil, err
	}
	lc := &LlamaCpp{Bench: bin, Build: fmt.Sprintf("%d (%s)", pp.BuildNumber, pp.BuildCommit), Threads: pp.Threads, Prefill: pp.figure(),
		PrefillFlashAttn: fmt.Sprint(pp.FlashAttn)}
	tg, err := runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", "0", "-n", n, "-d", d}, fa), isDecode)
	if err != nil {
		// llama-bench gained -d (n_depth) in 2025; an older one refuses it.
		var err2 error
		if tg, err2 = runLlamaBench(ctx, bin, slices.Concat(common, []string{"-p", "0", "-n", n}, fa), isDecode); err2 != nil {
			return nil, fmt.Errorf("%w (and with -d: %w)", err2, err)
		}
	}
	lc.Decode, lc.DecodeDepth, lc.DecodeFlashAttn = tg.figure(), tg.NDepth, fmt.Sprint(tg.FlashAttn)
	return lc, nil
}

// isPrefill and isDecode tell llama-bench's pp and tg tests apart.
func isPrefill(r llamaBenchResult) bool { return r.NPrompt > 0 && r.NGen == 0 }
func isDecode(r llamaBenchResult) bool  { return r.NGen > 0 && r.NPrompt == 0 }

// runLlamaBench runs one llama-bench command and returns the fastest of
// its tests that are (by want) the one asked for: one a setting.
func runLlamaBench(ctx context.Context, bin string, args []string, want func(llamaBenchResult) bool) (llamaBenchResult, error) {
	what := "llama-bench " + strings.Join(args, " ")
	stdout, _, err := runTool(ctx, what, bin, args)
	if err != nil {
		return llamaBenchResult{}, err
	}
	rs, err := parseLlamaBench(stdout)
	if err != nil {
		return llamaBenchResult{}, fmt.Errorf("%s: %w", what, err)
	}
	best := -1
	for i, r := range rs {
		if want(r) && (best < 0 || r.AvgTS > rs[best].AvgTS) {
			best = i
		}
	}
	if best < 0 {
		return llamaBenchResult{}, fmt.Errorf("%s: its output has not the test asked for: %+v", what, rs)
	}
	return rs[best], nil
}

// runTool runs a llama.cpp tool, bin with args, and returns its stdout
// and stderr; a failed run's error starts with what (the command as the
// caller names it) and ends with the last lines of its stderr.
func runTool(ctx context.Context, what, bin string, args []string) (stdout []byte, stderr string, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("%s: %w: %s", what, err, lastLines(errOut.String(), 3))
	}
	return out.Bytes(), errOut.String(), nil
}

// lastLines is the last n lines of s, joined with " | ", for an error.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// llama-batched-bench (tools/batched-bench in llama.cpp) prefills a prompt
// of pp tokens, then decodes tg steps of pl sequences at once: with -pps
// the prompt is prefilled once and its KV copied to every sequence (the
// copy outside its timings), as pareto's search forks the samples from one
// prefill. It does not sample: every step feeds each sequence a
// pseudo-random token id (std::rand() % n_vocab) instead of one drawn from
// its logits, so its search is pure compute, no sampler, no tokenizer.
//
// It times the prefill (t_pp) and the steps (t_tg). Pareto's search draws
// each sample's first token from the prefill's logits and then needs one
// forward step per further token: SampleTokens tokens a sample are one
// prefill and SampleTokens-1 steps. So the benchmark runs it with
// -ntg SampleTokens-1, which ends each sequence's KV at the position
// pareto's last step writes, and counts pl x SampleTokens tokens, the
// tokens pareto's search counts (when no sample stops early):
//
//	search                   = pl x SampleTokens / (t_pp + t_tg)  (pareto: over the request's wall time)
//	search, prefill excluded = pl x SampleTokens / t_tg           (pareto: over the time from its first sampled token to its last)
//
// Its own S_PP, S_TG and S columns count other things (S_TG the fed
// tokens, pl x tg; S the prompt too) and are not used.

// LlamaBatched is what llama-batched-bench measured: the search workload's
// shape, the seconds of every repetition's prefill and steps, and the two
// search rates made of them.
type LlamaBatched struct {
	Bench     string    `json:"bench"`           // the llama-batched-bench binary
	Build     string    `json:"build,omitempty"` // its build number and commit, where its --version says
	Threads   int       `json:"threads"`
	Prompt    int       `json:"prompt"`    // -npp: prompt tokens, prefilled once
	Steps     int       `json:"steps"`     // -ntg: decode steps, SampleTokens-1
	Sequences int       `json:"sequences"` // -npl: samples
	TPP       []float64 `json:"t_pp"`      // seconds of each repetition's prefill
	TTG       []float64 `json:"t_tg"`      // seconds of each repetition's steps
	// Search and SearchGenerating are Sequences x (Steps+1) tokens over
	// t_pp + t_tg and over t_tg.
	Search           Figure `json:"search"`
	SearchGenerating Figure `json:"search_generating"`
	// FlashAttn is the -fa setting (on or off) of these figures, the
	// faster of the two.
	FlashAttn string `json:"flash_attn"`
}

// batchedBenchResult is one line of llama-batched-bench's JSONL output
// (--output-format jsonl): one test, times in seconds.
type batchedBenchResult struct {
	Shared  int     `json:"is_pp_shared"`
	Threads int     `json:"n_threads"`
	PP      int     `json:"pp"`
	TG      int     `json:"tg"`
	PL      int     `json:"pl"`
	TPP     float64 `json:"t_pp"`
	TTG     float64 `json:"t_tg"`
}

// parseBatchedBench reads llama-batched-bench's JSONL output: a JSON
// object a line for every test, among whatever else it writes to stdout
// (an empty line at the end).
func parseBatchedBench(out []byte) ([]batchedBenchResult, error) {
	var rs []batchedBenchResult
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r batchedBenchResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("llama-batched-bench output line %q is not its JSONL (--output-format jsonl): %w", line, err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("llama-batched-bench output has no JSONL tests (--output-format jsonl)")
	}
	return rs, nil
}

// batchedBenchArgs are llama-batched-bench's arguments for runs
// repetitions of the search of samples x sampleTokens tokens from a
// promptTokens-token prompt: -npl repeats the sequences runs times, as
// the tool runs every value of its lists (it has no repetition flag), so
// that every repetition runs in one process on one loaded model, as
// llama-bench's -r. The context holds every sequence's prompt and steps
// (the tool skips, silently, a test that does not fit).
func batchedBenchArgs(model string, threads, promptTokens, sampleTokens, samples, runs int) []string {
	steps := sampleTokens - 1
	pl := strings.TrimSuffix(strings.Repeat(strconv.Itoa(samples)+",", runs), ",")
	return []string{"-m", model, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(samples * (promptTokens + steps)),
		"-npp", strconv.Itoa(promptTokens), "-ntg", strconv.Itoa(steps), "-npl", pl, "-pps", "--output-format", "jsonl"}
}

// llamaBatchedBench runs bin on model at threads threads: runs
// repetitions of the search workload (see batchedBenchArgs), its rates
// mapped to pareto's as the comment above says.
func llamaBatchedBench(ctx context.Context, bin, model string, threads, promptTokens, sampleTokens, samples, runs int) (*LlamaBatched, error) {
	if sampleTokens < 2 {
		return nil, fmt.Errorf("llama-batched-bench: a search of %d tokens a sample has no decode step to time (at least 2)", sampleTokens)
	}
	// Both flash-attention settings, the faster kept, as for llama-bench.
	var best *LlamaBatched
	for _, fa := range []string{"off", "on"} {
		b, err := llamaBatchedBenchFA(ctx, bin, model, fa, threads, promptTokens, sampleTokens, samples, runs)
		if err != nil {
			return nil, err
		}
		if best == nil || b.Search.Median > best.Search.Median {
			best = b
		}
	}
	best.Bench, best.Build = bin, llamaBuild(ctx, bin)
	return best, nil
}

// llamaBatchedBenchFA is llamaBatchedBench with flash attention fa (its
// -fa: on or off).
func llamaBatchedBenchFA(ctx context.Context, bin, model, fa string, threads, promptTokens, sampleTokens, samples, runs int) (*LlamaBatched, error) {
	args := append(batchedBenchArgs(model, threads, promptTokens, sampleTokens, samples, runs), "-fa", fa)
	what := bin + " " + strings.Join(args, " ")
	stdout, stderr, err := runTool(ctx, what, bin, args)
	if err != nil {
		return nil, err
	}
	rs, err := parseBatchedBench(stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	b, err := batchedFigures(rs, promptTokens, sampleTokens-1, samples, runs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (stderr: %s)", what, err, lastLines(stderr, 3))
	}
	b.FlashAttn = fa
	return b, nil
}

// batchedFigures checks that rs are runs tests of the shape asked for,
// and rates them as pareto's search.
func batchedFigures(rs []batchedBenchResult, pp, tg, pl, runs int) (*LlamaBatched, error) {
	if len(rs) != runs {
		return nil, fmt.Errorf("%d tests in its output, want %d", len(rs), runs)
	}
	b := &LlamaBatched{Threads: rs[0].Threads, Prompt: pp, Steps: tg, Sequences: pl}
	tokens := pl * (tg + 1)
	var search, gen []sample
	for _, r := range rs {
		if r.PP != pp || r.TG != tg || r.PL != pl || r.Shared != 1 {
			return nil, fmt.Errorf("a test of pp %d, tg %d, pl %d, shared prompt %d in its output, want %d, %d, %d, 1", r.PP, r.TG, r.PL, r.Shared, pp, tg, pl)
		}
		if r.TPP <= 0 || r.TTG <= 0 {
			return nil, fmt.Errorf("a test timed t_pp %g s, t_tg %g s", r.TPP, r.TTG)
		}
		b.TPP, b.TTG = append(b.TPP, r.TPP), append(b.TTG, r.TTG)
		search = append(search, sample{rate: float64(tokens) / (r.TPP + r.TTG), tokens: tokens})
		gen = append(gen, sample{rate: float64(tokens) / r.TTG, tokens: tokens})
	}
	b.Search, b.SearchGenerating = figure(search), figure(gen)
	return b, nil
}

// buildRE finds the build in a llama.cpp tool's --version: "version: 5163
// (8cf427ff)", or in later builds "version: 0.5.0 (build 1, commit
// 0ad4a86)".
var buildRE = regexp.MustCompile(`version: (?:(\d+) \(([0-9a-f]+)\)|\S+ \(build (\d+), commit ([0-9a-f]+)\))`)

// llamaBuild is the build number and commit bin --version names, as
// llama-bench's JSON gives them ("5163 (8cf427ff)"), or "" where it
// names none.
func llamaBuild(ctx context.Context, bin string) string {
	out, _ := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	return buildOf(string(out))
}

// buildOf is the build number and commit a --version output names, or "".
func buildOf(version string) string {
	m := buildRE.FindStringSubmatch(version)
	switch {
	case m == nil:
		return ""
	case m[1] != "":
		return m[1] + " (" + m[2] + ")"
	}
	return m[3] + " (" + m[4] + ")"
}
