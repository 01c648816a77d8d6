package enginebench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Whether Ollama's ggml kernels use SIMD is fixed when Ollama is built: a
// plain `go install` compiles them for the baseline CPU (scalar dot
// products, 4-11x slower), CGO_CFLAGS="-O3 -march=native" for this one.
// Ollama's API does not say which (v0.6.5's /api/ps and /api/version carry
// no CPU detail), and the log line "inference compute ... variant=" that
// seems to is empty for every CPU build in v0.6.5 (discover sets Variant
// for CUDA only). What does tell is the line each runner logs as it starts
// ggml (ml/backend/ggml/ggml/src/ggml.go):
//
//	msg=system CPU.0.SSE3=1 CPU.0.SSSE3=1 CPU.0.AVX=1 CPU.0.AVX2=1 ... CPU.0.LLAMAFILE=1 compiler=cgo(gcc)
//
// the CPU backend's compiled-in features, which a plain build lists as
// CPU.0.LLAMAFILE=1 alone. So the benchmark reads the server's log, when
// it is given one (--ollama-log).

// simdFeatures are the ggml CPU features that mean vector kernels.
var simdFeatures = []string{"SSE3", "SSSE3", "AVX", "AVX_VNNI", "AVX2", "F16C", "FMA", "AVX512",
	"AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8", "NEON", "ARM_FMA", "FP16_VA", "SVE", "DOTPROD", "MATMUL_INT8"}

// logTail is how much of the end of a server log is read: the runner the
// benchmark started logs its features shortly before the benchmark ends.
const logTail = 8 << 20

// ollamaCPU reads the server log at path and describes the CPU features
// its most recently started runner reports: the SIMD ones
// (e.g. "SSE3 AVX AVX2 FMA"), or "" when it reports none. found is false
// when the log holds no runner's "msg=system" line.
func ollamaCPU(path string) (simd string, found bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, fmt.Errorf("enginebench: ollama log: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > logTail {
		if _, err := f.Seek(-logTail, io.SeekEnd); err != nil {
			return "", false, fmt.Errorf("enginebench: ollama log %s: %w", path, err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", false, fmt.Errorf("enginebench: ollama log %s: %w", path, err)
	}
	line, found := lastSystemLine(data)
	if !found {
		return "", false, nil
	}
	return strings.Join(cpuFeatures(line), " "), true, nil
}

// lastSystemLine is the last line of a log that holds a runner's
// "msg=system" record.
func lastSystemLine(log []byte) (string, bool) {
	var last string
	found := false
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), " msg=system ") {
			last, found = sc.Text(), true
		}
	}
	return last, found
}

// cpuFeatures are the SIMD features a "msg=system" line lists, each once,
// in the order listed: fields "CPU.<n>.<feature>=1". A release build of
// Ollama loads several CPU backends (CPU.0, CPU.1, ...), one per variant.
func cpuFeatures(line string) []string {
	var out []string
	for _, field := range strings.Fields(line) {
		rest, ok := strings.CutPrefix(field, "CPU.")
		if !ok {
			continue
		}
		_, kv, ok := strings.Cut(rest, ".")
		name, val, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || val == "0" {
			continue
		}
		if slices.Contains(simdFeatures, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// ollamaCPUNote reads the log (if any) and says what it found: the
// report's OllamaCPU field, and a note when the runner has no SIMD kernels
// or when the benchmark cannot tell.
func ollamaCPUNote(logPath string) (cpu, note string, err error) {
	const rebuild = `CGO_CFLAGS="-O3 -march=native" CGO_CXXFLAGS="-O3 -march=native" go install github.com/ollama/ollama@v0.6.5`
	if logPath == "" {
		return "unknown", "cannot tell whether Ollama's runner has SIMD kernels (its API does not say): pass --ollama-log with the server's log, whose runner line msg=system lists them; a plain `go install` of Ollama has none: build it with " + rebuild, nil
	}
	simd, found, err := ollamaCPU(logPath)
	switch {
	case err != nil:
		return "", "", err
	case !found:
		return "unknown", fmt.Sprintf("cannot tell whether Ollama's runner has SIMD kernels: %s has no runner line msg=system (is it the log of the server at --against?)", logPath), nil
	case simd == "":
		return "none", "WARNING: Ollama's runner reports no SIMD CPU features (its ggml kernels are scalar, as a plain `go install` builds them): the ollama column is a weak anchor; rebuild it with " + rebuild, nil
	}
	return simd, "", nil
}
