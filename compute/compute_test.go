package compute

import (
	"math"
	"testing"

	"github.com/pareto-llm/pareto"
)

func TestSpanMatchesPerToken(t *testing.T) {
	a := Arch{Params: 1e6, Layers: 4, DModel: 64}
	var want float64
	for p := 7; p < 30; p++ {
		want += a.tokenFLOPs(p)
	}
	if got := a.spanFLOPs(7, 30); math.Abs(got-want) > 1e-6*want {
		t.Fatalf("spanFLOPs = %g, per-token sum = %g", got, want)
	}
}

func TestPrefillSkipsCachedPrefix(t *testing.T) {
	a := Arch{Params: 1e6, Layers: 2, DModel: 32}
	full := a.Prefill(100, 0)
	part := a.Prefill(100, 60)
	if part >= full || part != a.spanFLOPs(60, 100) {
		t.Fatalf("prefill with cache = %g, full = %g", part, full)
	}
	if a.Prefill(10, 20) != 0 {
		t.Fatal("cache longer than prompt must cost nothing")
	}
}

func TestChargeSharedPromptOnce(t *testing.T) {
	acc := Accountant{Arch: Arch{Params: 1000, Layers: 1, DModel: 8}, Price: Price{InPerM: 1, OutPerM: 2}}
	first := pareto.Usage{PromptTokens: 10, CompletionTokens: 5}
	second := pareto.Usage{CompletionTokens: 5}
	acc.Charge(&first, 10)
	acc.Charge(&second, 10)
	if second.PrefillFLOPs != 0 || first.PrefillFLOPs == 0 {
		t.Fatalf("prefill charged wrongly: %g %g", first.PrefillFLOPs, second.PrefillFLOPs)
	}
	if first.DecodeFLOPs != second.DecodeFLOPs {
		t.Fatalf("two equal samples cost differently: %g vs %g", first.DecodeFLOPs, second.DecodeFLOPs)
	}
	if want := (10*1.0 + 5*2.0) / 1e6; math.Abs(first.CostUSD-want) > 1e-15 {
		t.Fatalf("cost = %g, want %g", first.CostUSD, want)
	}
}

// Hidden (reasoning) tokens are generated like visible ones: a completion
// of v visible and h hidden tokens costs the decode and the money of v+h
// generated tokens, no more, however they divide.
func TestChargeGeneratedTokensOnce(t *testing.T) {
	acc := Accountant{Arch: Arch{Params: 1000, Layers: 2, DModel: 8}, Price: Price{InPerM: 1, OutPerM: 4}}
	const prompt, generated = 10, 9
	want := acc.Arch.Decode(prompt, generated)
	for hidden := 0; hidden <= generated; hidden++ {
		u := pareto.Usage{PromptTokens: prompt, CompletionTokens: generated - hidden, HiddenTokens: hidden}
		acc.Charge(&u, prompt)
		if u.DecodeFLOPs != want {
			t.Errorf("%d hidden: decode FLOPs %g, want %g", hidden, u.DecodeFLOPs, want)
		}
		if c := (prompt*1.0 + generated*4.0) / 1e6; math.Abs(u.CostUSD-c) > 1e-15 {
			t.Errorf("%d hidden: cost %g, want %g", hidden, u.CostUSD, c)
		}
	}
}

func TestChargeKeepsBackendFLOPs(t *testing.T) {
	acc := Accountant{Arch: Arch{Params: 1000, Layers: 1, DModel: 8}}
	u := pareto.Usage{PromptTokens: 10, CompletionTokens: 5, DecodeFLOPs: 42}
	acc.Charge(&u, 10)
	if u.DecodeFLOPs != 42 || u.PrefillFLOPs != 0 {
		t.Fatalf("backend-counted FLOPs overwritten: %+v", u)
	}
}

func TestStudyFigures(t *testing.T) {
	// REBASE width 3 in the study: 10.94 %, 2.35 TFLOPs, 8.47 s per question.
	apt := AccPerTFLOP(10.94, 2.35e12)
	aps := AccPerSecond(10.94, 8.47)
	if math.Abs(apt-4.66) > 0.01 || math.Abs(aps-1.29) > 0.01 {
		t.Fatalf("acc/TFLOP %g acc/s %g", apt, aps)
	}
	if e := EfficiencyScore(apt, aps); math.Abs(e-601.14) > 1 {
		t.Fatalf("efficiency %g, paper 601.14", e)
	}
}
