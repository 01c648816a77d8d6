package grade

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestExtract(t *testing.T) {
	cases := []struct {
		out  string
		want string
		how  Method
	}{
		{"She makes 9 * 2 = $18.\n#### 18", "18", MethodHashes},
		{"#### 1,234", "1,234", MethodHashes},
		{"#### $1,234.00", "$1,234.00", MethodHashes},
		{"blah\n#### 18.\n", "18", MethodHashes},
		{"#### 5\nmore text then #### 7", "7", MethodHashes},
		{"#### \nThe answer is 5.", "5", MethodAnswerIs},
		{"#### 3\nThe answer is \\boxed{4}", "3", MethodHashes},
		{`So $x = \boxed{18}$.`, "18", MethodBoxed},
		{`First \boxed{1}, then \boxed{\frac{1}{2}}.`, `\frac{1}{2}`, MethodBoxed},
		{`\boxed{\left( 3, \frac{\pi}{2} \right)}`, `\left( 3, \frac{\pi}{2} \right)`, MethodBoxed},
		{`\fbox{42}`, "42", MethodBoxed},
		{`The solutions are $\boxed{1}$ and $\boxed{-2}$.`, "1, -2", MethodBoxed},
		{`So $\boxed{1}, \boxed{2}, \boxed{3}$`, "1, 2, 3", MethodBoxed},
		{`We had \boxed{1} before. Finally x is \boxed{2}.`, "2", MethodBoxed},
		{`$\boxed 5$`, "5", MethodBoxed},
		{`\boxed{\{1,2\}}`, `\{1,2\}`, MethodBoxed},
		{`The answer is 7. \boxed{8}`, "8", MethodBoxed},
		{`\boxed{}` + " the answer is 3", "3", MethodAnswerIs},
		{"The answer is 5 apples.", "5", MethodAnswerIs},
		{"the answer is 5. Step 3: check.", "5", MethodAnswerIs},
		{"The answer is $18.", "18", MethodAnswerIs},
		{"The answer is $1,234.", "1,234", MethodAnswerIs},
		{"The answer is 3.5.", "3.5", MethodAnswerIs},
		{"Therefore, the answer (arabic numerals) is 42.", "42", MethodAnswerIs},
		{"Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", `\frac{1}{2}`, MethodAnswerIs},
		{"The answer is 3. Wait, no. The answer is 4.", "4", MethodAnswerIs},
		{"**Final Answer:** 18", "18", MethodAnswerIs},
		{"Final answer:\n\n 23", "23", MethodAnswerIs},
		{"The answer is (B).", "(B)", MethodAnswerIs},
		{"The answer is: x^2+1.", "x^2+1", MethodAnswerIs},
		{"The answer is \\(\\sqrt{2}\\).", `\sqrt{2}`, MethodAnswerIs},
		{"So we get 3 + 15 = 18.\n", "18", MethodLastNumber},
		{"It costs 1,234 dollars", "1234", MethodLastNumber},
		{"x is -5", "-5", MethodLastNumber},
		{"years 2016-2017", "2017", MethodLastNumber},
		{"half is 0.5.", "0.5", MethodLastNumber},
		{"So the probability is $\\frac{1}{6}$.", `\frac{1}{6}`, MethodLastNumber},
		{"so $p = \\frac{1}{6}$ overall.", `\frac{1}{6}`, MethodLastNumber},
		{"He pays $5 for each of 3 items, total $15.", "15", MethodLastNumber},
		{"He pays $5 per item and has 3 items", "3", MethodLastNumber},
		{"The correct option is (B).", "(B)", MethodAnswerIs},
		{"The answer to the question is 12.", "12", MethodAnswerIs},
		{"The answers are $2$ and $3$.", "2, 3", MethodAnswerIs},
		{"The answer is 1 000 000.", "1 000 000", MethodAnswerIs},
		{"The answer is $\\$18.90$.", `\$18.90`, MethodAnswerIs},
		{"The answer is $x=3$ or $x=-3$.", "x=3, x=-3", MethodAnswerIs},
		{"The answer is $1$, $2$, and $3$.", "1, 2, 3", MethodAnswerIs},
		{"We get \\frac{1}{2}.", `\frac{1}{2}`, MethodLastNumber},
		{"so it is -\\frac{\\sqrt{3}}{2}", `-\frac{\sqrt{3}}{2}`, MethodLastNumber},
		{"The cost is $\\$18$ total", "18", MethodLastNumber},
		{"no numbers here", "", MethodNone},
		{"3*6 = 18. The answer is 18.\n\nQuestion: Tom has 3 cats. How many?\nAnswer: 3 cats. The answer is 3.", "18", MethodAnswerIs},
		{"So 18.\n#### 18\nQ: next one\n#### 7", "18", MethodHashes},
		{"Question: what is 2+3?\nWe add: 2+3 = 5.", "5", MethodLastNumber},
		{"", "", MethodNone},
	}
	for _, c := range cases {
		got, how := Extract(c.out)
		if got != c.want || how != c.how {
			t.Errorf("Extract(%q) = %q, %v; want %q, %v", c.out, got, how, c.want, c.how)
		}
	}
}

func TestGold(t *testing.T) {
	cases := []struct{ ref, format, want string }{
		{"Janet sells 9 eggs.\nShe makes $18.\n#### 18", "gsm8k", "18"},
		{"a #### b\n#### 1,080", "gsm8k", "1,080"},
		{"72", "gsm8k", "72"},
		{`\frac{1}{2}`, "math", `\frac{1}{2}`},
		{`so it is $\boxed{\frac{1}{2}}$.`, "math", `\frac{1}{2}`},
		{" 42 ", "number", "42"},
		{" Paris ", "text", "Paris"},
	}
	for _, c := range cases {
		if got := Gold(c.ref, c.format); got != c.want {
			t.Errorf("Gold(%q, %q) = %q, want %q", c.ref, c.format, got, c.want)
		}
	}
}

func TestGrade(t *testing.T) {
	cases := []struct {
		out, ref, format string
		want             bool
		how              Method
	}{
		{"9*2 = 18\n#### 18", "x\n#### 18", "gsm8k", true, MethodHashes},
		{"#### $1,234.00", "#### 1234", "gsm8k", true, MethodHashes},
		{"The answer is 5 apples.", "#### 5", "gsm8k", true, MethodAnswerIs},
		{"So it is \\boxed{18}.", "#### 18", "gsm8k", true, MethodBoxed},
		{"Total: 3 + 15 = 18.\n", "#### 18", "gsm8k", true, MethodLastNumber},
		{"Total: 3 + 15 = 18.\nStep 3", "#### 18", "gsm8k", false, MethodLastNumber},
		{"The answer is 18.\nStep 3", "#### 18", "gsm8k", true, MethodAnswerIs},
		{"The answer is 17.", "#### 18", "gsm8k", false, MethodAnswerIs},
		{"nothing", "#### 18", "gsm8k", false, MethodNone},
		{`Thus $\boxed{\dfrac{1}{2}}$.`, `\frac12`, "math", true, MethodBoxed},
		{`Thus $\boxed{0.33}$.`, `\frac13`, "math", false, MethodBoxed},
		{`Thus $\boxed{x=5}$.`, `5`, "math", true, MethodBoxed},
		{"42", "42", "number", true, MethodLastNumber},
		{"The answer is Paris.", "paris", "text", true, MethodAnswerIs},
		{`\frac{1}{2}`, "0.5", "math", true, MethodLastNumber},
		{`x^2+1`, "1+x^2", "math", true, MethodWhole},
		{`2\sqrt{3}`, `\sqrt{12}`, "math", true, MethodWhole},
		{`\pi`, `\pi`, "math", true, MethodWhole},
		{`\frac{1}{3}`, "0.5", "math", false, MethodLastNumber},
		{"Paris", "paris", "text", true, MethodWhole},
		{"London", "paris", "text", false, MethodNone},
	}
	for _, c := range cases {
		v := Grade(c.out, c.ref, c.format)
		if v.Correct != c.want || v.Method != c.how {
			t.Errorf("Grade(%q, %q, %q) = %+v; want correct=%v via %v", c.out, c.ref, c.format, v, c.want, c.how)
		}
	}
}

// TestPathological checks that hostile inputs finish quickly without panics
// and are not judged equal by accident.
func TestPathological(t *testing.T) {
	deep := strings.Repeat("{", 100000) + "1" + strings.Repeat("}", 100000)
	deepParen := strings.Repeat("(", 50000) + "1" + strings.Repeat(")", 50000)
	long := strings.Repeat("1+", 200000) + "1"
	cases := []equalCase{
		{`10^{99999999}`, `10^{99999998}`, false},
		{`10^{99999999}`, `10^{99999999}`, true},
		{`2^{2^{2^{2^{2^{2}}}}}`, `2^{2^{2^{2^{2^{3}}}}}`, false},
		{`9^{9^{9^{9}}}`, `1`, false},
		{`\sqrt[99999999]{2}`, `1`, false},
		{`1000!`, `999!`, false},
		{`\binom{999999999}{5}`, `0`, false},
		{deep, "1", false},
		{deepParen, "1", false},
		{long, "200001", false},
		{`\frac{1}{0}`, `\frac{2}{0}`, false},
		{`0^{-1}`, `0^{-2}`, false},
		{`\log 0`, `\log 0`, true},
		{`\boxed{`, "1", false},
		{`\sqrt`, `\sqrt`, true},
		{`\sqrt`, `\frac`, false},
	}
	checkEqual(t, "math", cases)
	for _, s := range []string{deep, deepParen, long, strings.Repeat(`\boxed{`, 50000), strings.Repeat("the answer is ", 50000), strings.Repeat("####", 50000)} {
		Extract(s)
		Grade(s, s, "math")
		Grade(s, s, "gsm8k")
	}
}

func TestExtractSentences(t *testing.T) {
	cases := []struct{ out, want string }{
		{"The answer is 5, since 2+3=5.", "5"},
		{"The answer is 18 because 3*6 = 18.", "18"},
		{"The answer is 1, 2, and 3.", "1, 2, and 3"},
		{"The answer is x = 5 when y = 2.", "x = 5"},
		{"The answer is **$18**.", "18"},
		{"The answer is: **18**", "18"},
		{"#### The answer is 18", "18"},
		{"The answer is $\\frac{3}{4}$ of the cake.", `\frac{3}{4}`},
	}
	for _, c := range cases {
		if got, _ := Extract(c.out); got != c.want {
			t.Errorf("Extract(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

func TestExtractManyBoxes(t *testing.T) {
	out := strings.Repeat(`\boxed{1}, `, 20000) + `\boxed{2}`
	start := time.Now()
	a, how := Extract(out)
	if how != MethodBoxed || !strings.HasSuffix(a, "1, 2") || strings.Count(a, ",") > maxItems {
		t.Errorf("Extract(many boxes) = %q..., %v", a[:min(len(a), 40)], how)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Extract(many boxes) took %v", d)
	}
}

func TestMethodJSON(t *testing.T) {
	for m := MethodNone; m <= MethodWhole; m++ {
		b, err := json.Marshal(Verdict{Method: m})
		if err != nil {
			t.Fatalf("marshal %v: %v", m, err)
		}
		var v Verdict
		if err := json.Unmarshal(b, &v); err != nil || v.Method != m {
			t.Errorf("round trip of %s = %v, %v", b, v.Method, err)
		}
	}
	var v Verdict
	if err := json.Unmarshal([]byte(`{"method":"psychic"}`), &v); err == nil {
		t.Error("unknown method accepted")
	}
}
