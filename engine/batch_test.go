package engine

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// maxScaledDiff is max |got-want| relative to the largest |want|, or
// absolute when that is below 1.
func maxScaledDiff(got, want []float32) float64 {
	var scale, worst float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	scale = math.Max(scale, 1)
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-w))/scale)
	}
	return worst
}

// TestExtendMatchesPrefill extends sequences of different lengths, some
// forked from one prefix and one left empty, in one Extend that needs two
// forward passes (a span is cut between them), and checks each requested
// logits row, the FLOPs, and then the KV, by a Step, against sequences
// prefilled alone.
func TestExtendMatchesPrefill(t *testing.T) {
	type variant struct {
		name       string
		mc         modelCase
		ggml, fast bool
	}
	var variants []variant
	for _, mc := range modelCases() {
		variants = append(variants, variant{mc.name, mc, false, false})
	}
	mc := modelCases()[1]
	variants = append(variants, variant{mc.name + "-ggml", mc, true, false}, variant{mc.name + "-ggml-flash", mc, true, true})
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m, err := newRandom(v.mc.cfg, v.mc.opt)
			if err != nil {
				t.Fatal(err)
			}
			m.GGMLNumerics, m.FlashAttention = v.ggml, v.fast
			V := m.Config.Vocab
			prefix := randTokens(10, V, 1)
			root := m.NewSeq()
			if _, err := m.Prefill(root, prefix); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				fork   bool // from root, else a new sequence
				n      int
				logits []int
			}{
				{false, 50, []int{0, 17, 31, 49}},
				{true, 40, []int{5, 39}},
				{true, 7, []int{6}},
				{false, 1, []int{0}},
				{false, 60, []int{10, 45, 59}}, // cut between the two passes
				{true, 3, nil},
				{true, 0, nil},
			}
			spans := make([]Span, len(cases))
			pre := make([][]int, len(cases)) // the tokens before each span's
			var wantFLOPs float64
			rows := 0
			for i, c := range cases {
				s := m.NewSeq()
				if c.fork {
					s, pre[i] = root.Fork(), prefix
				}
				spans[i] = Span{Seq: s, Tokens: randTokens(c.n, V, uint64(10+i)), Logits: c.logits}
				for j := range c.n {
					want := false
					for _, k := range c.logits {
						want = want || k == j
					}
					wantFLOPs += m.TokenFLOPs(len(pre[i])+j, want)
				}
				rows += c.n
			}
			if rows <= extendChunk {
				t.Fatalf("%d rows fit one forward pass of %d; the test wants two", rows, extendChunk)
			}
			got, flops, err := m.Extend(spans)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(flops-wantFLOPs) > 1e-12*wantFLOPs {
				t.Errorf("FLOPs %v, want %v", flops, wantFLOPs)
			}
			if root.Len() != len(prefix) {
				t.Errorf("root has %d tokens after its forks were extended, want %d", root.Len(), len(prefix))
			}
			// The matmul kernels group rows differently in a pass of other
			// rows, which changes the last bits; GGML numerics round keys,
			// values and attention weights to f16, where a last bit can
			// turn a rounding the other way.
			tol := 1e-5
			if v.ggml {
				tol = 1e-3
			}
			alone := make([]*Seq, len(cases))
			for i, sp := range spans {
				if len(got[i]) != len(sp.Logits) {
					t.Fatalf("span %d: %d logits rows, want %d", i, len(got[i]), len(sp.Logits))
				}
				all := append(append([]int{}, pre[i]...), sp.Tokens...)
				if !slices.Equal(sp.Seq.Tokens(), all) {
					t.Fatalf("span %d: sequence holds %v, want %v", i, sp.Seq.Tokens(), all)
				}
				// The same tokens prefilled alone, stopping at each
				// requested token for its logits.
				a := m.NewSeq()
				at := 0
				for j, k := range sp.Logits {
					end := len(pre[i]) + k + 1
					if _, err := m.Prefill(a, all[at:end]); err != nil {
						t.Fatal(err)
					}
					at = end
					if e := maxScaledDiff(got[i][j], a.Logits()); e > tol {
						t.Errorf("span %d, logits at token %d: differ from a prefill's by %.3g", i, k, e)
					}
				}
				if n := len(sp.Logits); n > 0 && sp.Logits[n-1] == len(sp.Tokens)-1 && !slices.Equal(sp.Seq.Logits(), got[i][n-1]) {
					t.Errorf("span %d: Logits() is not the logits after its last token", i)
				}
				if at < len(all) {
					if _, err := m.Prefill(a, all[at:]); err != nil {
						t.Fatal(err)
					}
				}
				alone[i] = a
			}
			// The KV the extension wrote is what a prefill writes: the next
			// token's logits agree.
			seqs := make([]*Seq, len(spans))
			for i, sp := range spans {
				seqs[i] = sp.Seq
			}
			next := randTokens(len(seqs), V, 99)
			if _, err := m.Step(seqs, next); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Step(alone, next); err != nil {
				t.Fatal(err)
			}
			for i := range seqs {
				if e := maxScaledDiff(seqs[i].Logits(), alone[i].Logits()); e > tol {
					t.Errorf("span %d: the step after differs from a prefilled sequence's by %.3g", i, e)
				}
			}
			// The root, whose blocks the forks shared, is unchanged.
			r := m.NewSeq()
			if _, err := m.Prefill(r, prefix); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Step([]*Seq{root, r}, []int{next[0], next[0]}); err != nil {
				t.Fatal(err)
			}
			if e := maxScaledDiff(root.Logits(), r.Logits()); e > tol {
				t.Errorf("root after its forks were extended: differs by %.3g", e)
			}
		})
	}
}

func TestExtendEmpty(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, flops, err := m.Extend(nil)
	if err != nil || len(got) != 0 || flops != 0 {
		t.Fatalf("no spans: %v, %v FLOPs, error %v", got, flops, err)
	}
	got, flops, err = m.Extend([]Span{{Seq: m.NewSeq()}})
	if err != nil || len(got) != 1 || len(got[0]) != 0 || flops != 0 {
		t.Fatalf("an empty span: %v, %v FLOPs, error %v", got, flops, err)
	}
}

func TestExtendErrors(t *testing.T) {
	m, err := newRandom(tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	other, err := newRandom(tinyConfig(ArchLlama, 4, 4), randomOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, s2 := m.NewSeq(), m.NewSeq()
	if _, err := m.Prefill(s, []int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	ok := Span{Seq: s2, Tokens: []int{4, 5}, Logits: []int{1}}
	for _, tc := range []struct {
		name string
		span Span
		want string
	}{
		{"no sequence", Span{Tokens: []int{1}}, "no sequence"},
		{"another model's sequence", Span{Seq: other.NewSeq(), Tokens: []int{1}}, "another model"},
		{"twice", Span{Seq: s2, Tokens: []int{1}}, "spans 0 and 1 extend the same sequence"},
		{"token out of vocabulary", Span{Seq: s, Tokens: []int{1, m.Config.Vocab}}, "token 1 is 97, out of vocabulary"},
		{"negative token", Span{Seq: s, Tokens: []int{-1}}, "out of vocabulary"},
		{"beyond context", Span{Seq: s, Tokens: make([]int, m.Config.Context-2)}, "beyond context length"},
		{"logits index out of range", Span{Seq: s, Tokens: []int{1, 2}, Logits: []int{2}}, "logits index 2 out of range"},
		{"logits index negative", Span{Seq: s, Tokens: []int{1, 2}, Logits: []int{-1}}, "out of range"},
		{"logits not ascending", Span{Seq: s, Tokens: []int{1, 2}, Logits: []int{1, 1}}, "ascending"},
	} {
		_, _, err := m.Extend([]Span{ok, tc.span})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
		// Refused input forwards nothing.
		if s.Len() != 3 || s2.Len() != 0 {
			t.Fatalf("%s: refused extension changed the sequences: lengths %d and %d", tc.name, s.Len(), s2.Len())
		}
	}
}
