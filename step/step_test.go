package step

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\n\n \n", nil},
		{"a\nb\n\nc", []string{"a\nb", "c"}},
		{"a\r\nb\n", []string{"a", "b"}},
		{"a\r\n\r\nb\r\nc", []string{"a", "b\nc"}},
		{"  a = 1 \n\tb = 2\n", []string{"a = 1", "b = 2"}},
		// A line holding only spaces is not a blank line.
		{"a\n \nb", []string{"a", "b"}},
		// Blank lines at the ends do not make paragraphs.
		{"\n\na\nb\n\n", []string{"a", "b"}},
		{"2 + 3 = 5\n#### 5\nQuestion: next", []string{"2 + 3 = 5", "#### 5"}},
		{"  #### 7  \nmore", []string{"#### 7"}},
		{"a = 1\n\nb = 2\n#### 2\n\nnoise", []string{"a = 1", "b = 2\n#### 2"}},
		{"a = 1\n\n#### 1\nb = 2\n\nnoise", []string{"a = 1", "#### 1\nb = 2"}},
		{"a\n\nb\n  #### 2\n\nnoise", []string{"a", "b\n  #### 2"}},
		// "####" inside a line is not the answer line.
		{"x #### 5\ny", []string{"x #### 5", "y"}},
	} {
		if got := Split(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitBy(t *testing.T) {
	const text = "a\nb\n\nc\n#### 1\nd"
	for _, c := range []struct {
		sep  string
		want []string
	}{
		{Line, []string{"a", "b", "c", "#### 1"}},
		{"", []string{"a", "b", "c", "#### 1"}},
		{Paragraph, []string{"a\nb", "c\n#### 1\nd"}},
	} {
		if got := SplitBy(text, c.sep); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitBy(%q, %q) = %q, want %q", text, c.sep, got, c.want)
		}
	}
	if Separator(text) != Paragraph || Separator("a\nb\n") != Line || Separator("a\r\n\r\nb") != Paragraph {
		t.Error("Separator does not detect blank lines")
	}
}

// oldSplitSteps is strategy.SplitSteps as it was before this package.
func oldSplitSteps(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	sep := "\n"
	if strings.Contains(strings.TrimSpace(text), "\n\n") {
		sep = "\n\n"
	}
	var steps []string
	for _, s := range strings.Split(text, sep) {
		if s = strings.TrimSpace(s); s != "" {
			steps = append(steps, s)
		}
	}
	return steps
}

// oldLines is shepherd.Lines as it was before this package.
func oldLines(solution string) []string {
	var out []string
	for _, l := range strings.Split(solution, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		out = append(out, l)
		if strings.HasPrefix(l, "####") {
			break
		}
	}
	return out
}

// endsAtAnswer reports whether nothing but spaces follows the first answer
// line of text (or it has none): where the old strategy splitter, which
// does not stop at the answer, must agree with Split.
func endsAtAnswer(text string) bool {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), AnswerTag) {
			return strings.TrimSpace(strings.Join(lines[i+1:], "\n")) == ""
		}
	}
	return true
}

// checkOld checks Split against the two splitters it replaces, where each
// is meant to agree with it, and reports which applied.
func checkOld(t *testing.T, text string) (asStrategy, asLines bool) {
	t.Helper()
	got := Split(text)
	if endsAtAnswer(text) {
		asStrategy = true
		if want := oldSplitSteps(text); !reflect.DeepEqual(got, want) {
			t.Fatalf("Split(%q) = %q, strategy.SplitSteps gave %q", text, got, want)
		}
	}
	if Separator(text) == Line {
		asLines = true
		if want := oldLines(text); !reflect.DeepEqual(got, want) {
			t.Fatalf("Split(%q) = %q, shepherd.Lines gave %q", text, got, want)
		}
	}
	for i, s := range got {
		if s == "" || s != strings.TrimSpace(s) {
			t.Fatalf("Split(%q): step %d %q is empty or untrimmed", text, i, s)
		}
		if HasAnswer(s) && i != len(got)-1 {
			t.Fatalf("Split(%q): step %d %q holds the answer but is not last", text, i, s)
		}
	}
	return asStrategy, asLines
}

// pieces are what random solutions are made of: steps, answer lines, the
// separators and the spaces around them.
var pieces = []string{
	"3 + 4 = 7", "Tom = 2 * 6 = 12", "x", "#### 7", "####", " #### 12", "a #### 3",
	"\n", "\n", "\n", "\n\n", "\r\n", "\r\n\r\n", " ", "\t", " \n ", "\r", "\n#### 9\n",
}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestSplitMatchesOldSplitters checks Split on random solutions against the
// old strategy splitter (texts that end at their answer line) and the old
// labeller's (texts without blank lines), each on thousands of texts.
func TestSplitMatchesOldSplitters(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var strategyN, linesN, paragraphs, answers int
	for range 50000 {
		text := randomText(r)
		s, l := checkOld(t, text)
		if s {
			strategyN++
			if Separator(text) == Paragraph {
				paragraphs++
			}
			if strings.Contains(text, AnswerTag) {
				answers++
			}
		}
		if l {
			linesN++
		}
	}
	// The comparisons must have had texts of every kind to compare on.
	if strategyN < 5000 || linesN < 5000 || paragraphs < 1000 || answers < 1000 {
		t.Fatalf("too few texts compared: %d with strategy (%d paragraphs, %d answers), %d with lines", strategyN, paragraphs, answers, linesN)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"a\nb\n\nc", "1 + 1 = 2\n#### 2", "a\r\n\r\nb\n#### 1\n\n", "x\n \n#### 3\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { checkOld(t, text) })
}
