package grade

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"#### 18", "#### $1,234.00", `\boxed{\frac{1}{2}}`, `\boxed{`, `\fbox 5`,
		"The answer is 5 apples.", "Final Answer:\n\n23", "x = -5.", "",
		"Therefore, the answer (arabic numerals) is 42.", `$\boxed{\{1,2\}}$`, "answer is $",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		a, how := Extract(out)
		if how == MethodNone && a != "" {
			t.Fatalf("Extract(%q) = %q with MethodNone", out, a)
		}
		if how != MethodNone && a == "" {
			t.Fatalf("Extract(%q) found an empty answer via %v", out, how)
		}
		if how == MethodHashes && !strings.Contains(out, "####") {
			t.Fatalf("Extract(%q) claims #### but there is none", out)
		}
		if how == MethodBoxed && !strings.Contains(out, `\boxed`) && !strings.Contains(out, `\fbox`) {
			t.Fatalf("Extract(%q) claims \\boxed but there is none", out)
		}
		if utf8.ValidString(out) && !utf8.ValidString(a) {
			t.Fatalf("Extract(%q) = %q: split a UTF-8 character", out, a)
		}
		a2, how2 := Extract(out)
		if a2 != a || how2 != how {
			t.Fatalf("Extract(%q) not deterministic", out)
		}
	})
}

func FuzzEqual(f *testing.F) {
	for _, c := range [][3]string{
		{"1,000", "1000", "math"}, {`\frac12`, "0.5", "math"}, {"(1,2)", "[1,2]", "math"},
		{`10^{99999999}`, "1", "math"}, {`\sqrt[3]{-8}`, "-2", "math"}, {"$18.00", "18", "gsm8k"},
		{`\begin{pmatrix}1\\2\end{pmatrix}`, "(1,2)", "math"}, {`x \in [-2,7]`, "[-2,7]", "math"},
		{`1 \pm \sqrt{19}`, `\{1+\sqrt{19}, 1-\sqrt{19}\}`, "math"}, {"Paris", "paris", "text"},
		{`\log_{0}0!`, `|x|^{y}`, "math"}, {"5x+y=0", "y=-5x", "math"},
	} {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, a, b, format string) {
		got := Equal(a, b, format)
		if got != Equal(a, b, format) {
			t.Fatalf("Equal(%q, %q, %q) not deterministic", a, b, format)
		}
		if got && (strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "") {
			t.Fatalf("Equal(%q, %q, %q) true for an empty answer", a, b, format)
		}
		if clean(a) != "" && !Equal(a, a, "math") {
			t.Fatalf("Equal(%q, itself, math) false", a)
		}
		if _, ok := numberValue(a); ok && !Equal(a, a, "gsm8k") {
			t.Fatalf("Equal(%q, itself, gsm8k) false", a)
		}
		v := Grade(a, b, format)
		if v.Correct && v.Method == MethodNone {
			t.Fatalf("Grade(%q, %q, %q) correct without an answer", a, b, format)
		}
	})
}
