package engine

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memChildEnv makes the test binary, re-executed, run the decoding itself.
const memChildEnv = "PARETO_ENGINE_MEMORY_CHILD"

// longContext is the context the memory test decodes to: eight times the
// shipped policy's trained 256.
const longContext = 2048

// TestDecode2048PeakRSS decodes a 2048-token context on the shipped policy
// in a fresh process and checks its peak resident memory (VmHWM) stays
// under 200 MB. A subprocess, so that nothing the other tests allocated
// counts.
func TestDecode2048PeakRSS(t *testing.T) {
	if os.Getenv(memChildEnv) == "1" {
		decodeLongContext(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skipf("peak RSS is read from /proc/self/status, which %s lacks", runtime.GOOS)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecode2048PeakRSS$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), memChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var kb int
	for line := range strings.Lines(string(out)) {
		if _, v, ok := strings.Cut(line, "peak_rss_kb="); ok {
			kb, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if kb == 0 {
		t.Fatalf("child did not report its peak RSS:\n%s", out)
	}
	t.Logf("decoding %d positions: peak RSS %.1f MB\n%s", longContext, float64(kb)/1024, out)
	if kb*1024 >= 200e6 {
		t.Errorf("peak RSS %.1f MB, want < 200 MB", float64(kb)*1024/1e6)
	}
}

// decodeLongContext is the child: one greedy sequence on the shipped
// policy, from BOS to position 2048, whatever tokens the model picks (end
// of sequence included: only memory and finiteness are judged here).
func decodeLongContext(t *testing.T) {
	m := shippedModel(t)
	trained := m.Config.Context
	if err := m.SetContext(longContext); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s := m.NewSeq()
	if _, err := m.Prefill(s, []int{1}); err != nil {
		t.Fatal(err)
	}
	for s.Len() < longContext {
		if _, err := m.Step([]*Seq{s}, []int{argmax(s.Logits())}); err != nil {
			t.Fatalf("step at position %d (trained context %d): %v", s.Len(), trained, err)
		}
	}
	for i, v := range s.Logits() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %d at position %d is %v", i, s.Len(), v)
		}
	}
	// The context is a bound: one more position is refused, and the KV
	// cache never grew past it.
	if _, err := m.Step([]*Seq{s}, []int{1}); err == nil || !strings.Contains(err.Error(), "beyond context length 2048") {
		t.Errorf("step past the context: err = %v, want beyond context length 2048", err)
	}
	if got, limit := len(s.blocks), s.pool.blocksFor(longContext); got > limit {
		t.Errorf("KV cache holds %d blocks, more than the context's %d", got, limit)
	}
	hwm, err := peakRSSKB()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d positions in %v (trained context %d), KV cache %d bytes", s.Len(), time.Since(start).Round(time.Millisecond), trained, s.Bytes())
	fmt.Printf("peak_rss_kb=%d\n", hwm)
}

// peakRSSKB reads the process's peak resident set size (VmHWM) in kB.
func peakRSSKB() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
