package train

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/think"
)

func thinkConfig(dir string, cut float64) Config {
	cfg := tinyConfig(dir)
	cfg.Model.Vocab = VocabSynthThink
	cfg.Model.SeqLen = 160
	cfg.Data.Think, cfg.Data.ThinkCut = true, cut
	return cfg
}

// TestThinkExamples checks the thinker's data: a thought of the plan
// between the markers, each marker one token, then bare steps; and with
// think_cut, thoughts cut short down to empty, the steps always whole.
func TestThinkExamples(t *testing.T) {
	tok, err := vocabTokenizer(VocabSynthThink)
	if err != nil {
		t.Fatal(err)
	}
	start, end := tok.VocabSize()-2, tok.VocabSize()-1
	for _, cut := range []float64{0, 1} {
		cfg := thinkConfig(t.TempDir(), cut)
		cfg.Data.DirectFraction = 0
		cfg.Data.Levels = []int{3, 4, 5} // plans of several lines
		src := NewSynthSource(cfg.Data, tok)
		empty, shorter := 0, 0
		for i := range uint64(200) {
			ex, head, err := src.Example(i)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int, len(ex)-1)
			for k, id := range ex[:len(ex)-1] {
				ids[k] = int(id)
			}
			comp := ids[head:]
			if comp[0] != start || slices.Index(comp, end) < 0 || strings.Count(tok.Decode(comp), think.Default.Open) != 1 {
				t.Fatalf("cut %g: example %d does not open with one thought as single tokens: %q (%v)", cut, i, tok.Decode(comp), comp[:3])
			}
			text := tok.Decode(comp)
			thought, rest, _ := strings.Cut(strings.TrimPrefix(text, think.Default.Open), think.Default.Close)
			if !strings.HasPrefix(rest, "\n") || !strings.Contains(rest, "\n#### ") || strings.Contains(rest, " = ") && strings.Count(strings.Split(strings.TrimPrefix(rest, "\n"), "\n")[0], " = ") != 1 {
				t.Fatalf("cut %g: example %d: steps after the thought are not bare: %q", cut, i, rest)
			}
			if cut == 0 && strings.Count(thought, "\n")+1 != strings.Count(rest, "\n")-1 {
				t.Fatalf("example %d: %d plan lines for %d steps: %q", i, strings.Count(thought, "\n")+1, strings.Count(rest, "\n")-1, text)
			}
			if thought == "" {
				empty++
			}
			if strings.Count(thought, "\n")+1 < strings.Count(rest, "\n")-1 {
				shorter++
			}
		}
		if cut == 1 && (empty == 0 || shorter < 150) {
			t.Fatalf("think_cut 1: %d empty and %d short thoughts of 200", empty, shorter)
		}
	}
}

// TestThinkerStartsFromPolicy checks that a thinker initialised from a
// policy file keeps every shared token's rows and adds the markers' rows,
// and that its export names the markers and loads in the engine.
func TestThinkerStartsFromPolicy(t *testing.T) {
	dir := t.TempDir()
	pol, err := New(tinyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer pol.Close()
	polPath := filepath.Join(dir, "policy.gguf")
	if err := pol.ExportGGUF(polPath, false); err != nil {
		t.Fatal(err)
	}
	cfg := thinkConfig(filepath.Join(dir, "th"), 0.2)
	cfg.Model.SeqLen = tinyConfig("").Model.SeqLen
	cfg.Init = polPath
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	if th.mdl.vocab != pol.mdl.vocab+2 {
		t.Fatalf("thinker vocabulary %d, policy %d", th.mdl.vocab, pol.mdl.vocab)
	}
	for i, tn := range th.mdl.tensors {
		a, b := pol.mdl.tensors[i].of(pol.params), tn.of(th.params)
		if !slices.Equal(a, b[:len(a)]) {
			t.Fatalf("tensor %s: the policy's values are not the thinker's start", tn.name)
		}
		if len(b) > len(a) && slices.Equal(b[len(a):], make([]float32, len(b)-len(a))) {
			t.Fatalf("tensor %s: the markers' rows are zero, want the random init", tn.name)
		}
	}
	out := filepath.Join(dir, "thinker.gguf")
	if err := th.ExportGGUF(out, false); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, _ := f.String(think.KeyStart); s != think.Default.Open {
		t.Fatalf("%s = %q", think.KeyStart, s)
	}
	if s, _ := f.String(think.KeyEnd); s != think.Default.Close {
		t.Fatalf("%s = %q", think.KeyEnd, s)
	}
	if _, err := engine.Load(out); err != nil {
		t.Fatal(err)
	}
}

// TestThinkVocabRoundTrips checks what budget forcing relies on: text the
// thinker generates after "<think>", rendered piece by piece as a server
// streams it and written back after the marker, encodes to the tokens it
// was generated as.
func TestThinkVocabRoundTrips(t *testing.T) {
	tok, err := vocabTokenizer(VocabSynthThink)
	if err != nil {
		t.Fatal(err)
	}
	prompt := "Question: Mia has 3 bags with 4 eggs each. How many eggs does Mia have?\nAnswer (step by step):\n" + think.Default.Open
	full := tok.Encode(prompt+"Mia = 3 * 4"+think.Default.Close+"\n3 * 4 = 12\n#### 12", true)
	head := tok.Encode(prompt, true)
	if !slices.Equal(head, full[:len(head)]) {
		t.Fatalf("the prompt's tokens are not a prefix of the example's")
	}
	var text strings.Builder
	for _, id := range full[len(head):] {
		text.WriteString(tok.Piece(id))
	}
	again := tok.Encode(prompt+text.String(), true)
	if !slices.Equal(again, full) {
		t.Fatalf("generated %q reads back as other tokens:\n%v\n%v", text.String(), full, again)
	}
}

// TestArithmeticThoughtExamples checks the arithmetic thinker's data: a
// thought inside each step of two-digit or larger operands, holding
// synth.Scratch's working, the markers single tokens; without the thoughts
// the text is the bare solution; with think_cut some working is cut and
// the visible steps stay whole.
func TestArithmeticThoughtExamples(t *testing.T) {
	tok, err := vocabTokenizer(VocabSynthThink)
	if err != nil {
		t.Fatal(err)
	}
	start, end := tok.VocabSize()-2, tok.VocabSize()-1
	longest := 0
	for _, cut := range []float64{0, 1} {
		cfg := thinkConfig(t.TempDir(), cut)
		cfg.Data.ThinkStyle = ThinkArithmetic
		cfg.Data.DirectFraction = 0
		cfg.Data.Levels = []int{3, 4, 5}
		src := NewSynthSource(cfg.Data, tok)
		thoughts, cutShort := 0, 0
		for i := range uint64(200) {
			ex, head, err := src.Example(i)
			if err != nil {
				t.Fatal(err)
			}
			longest = max(longest, len(ex))
			ids := make([]int, len(ex)-1)
			for k, id := range ex[:len(ex)-1] {
				ids[k] = int(id)
			}
			comp := ids[head:]
			text := tok.Decode(comp)
			if o, c := strings.Count(text, think.Default.Open), strings.Count(text, think.Default.Close); o != c || o != count(comp, start) || c != count(comp, end) {
				t.Fatalf("example %d: markers are not single tokens in pairs: %q", i, text)
			}
			reasoning, visible := think.Default.Split("", text)
			for _, l := range strings.Split(visible, "\n") {
				if strings.Contains(l, think.Default.Open) || strings.Contains(l, " = ") && !stepTrue(l) {
					t.Fatalf("example %d: visible step %q is not a true bare step (%q)", i, l, text)
				}
			}
			for _, th := range strings.Split(reasoning, "\n") {
				if th != "" {
					thoughts++
				}
			}
			if cut == 1 && strings.Contains(text, think.Default.Open+think.Default.Close) {
				cutShort++
			}
		}
		if thoughts < 200 {
			t.Errorf("cut %g: %d thoughts in 200 examples of levels 3-5", cut, thoughts)
		}
		if cut == 1 && cutShort < 100 {
			t.Errorf("cut 1: only %d of 200 examples have an emptied thought", cutShort)
		}
	}
	t.Logf("longest example: %d tokens", longest)
}

func count(ids []int, id int) (n int) {
	for _, v := range ids {
		if v == id {
			n++
		}
	}
	return n
}

// stepTrue reports whether "x op y = z" holds.
func stepTrue(l string) bool {
	var x, y, z int64
	var op string
	if _, err := fmt.Sscanf(l, "%d %s %d = %d", &x, &op, &y, &z); err != nil {
		return false
	}
	switch op {
	case "+":
		return x+y == z
	case "-":
		return x-y == z
	case "*":
		return x*y == z
	case "/":
		return y != 0 && x == y*z
	}
	return false
}
