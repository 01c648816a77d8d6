package grade

import "testing"

// TestIssueKinds covers the kinds of mistakes Math-Verify's suite exposed
// (issue 16), beyond the ported cases themselves.
func TestIssueKinds(t *testing.T) {
	checkEqual(t, "math", []equalCase{
		// relations: reversed, negated, ASCII and \ne forms
		{`5 \geq x`, `x \leq 5`, true},
		{`5 \ge x`, `(-\infty, 5]`, true},
		{`3 < x`, `(3,\infty)`, true},
		{`-x > -1`, `x < 1`, true},
		{`-x \ge -1`, `x \le 1`, true},
		{`-x > -1`, `x > 1`, false},
		{`2x < 6`, `x < 3`, true},
		{`x > 5`, `x < 5`, false},
		{`x \geq 5`, `x \leq 5`, false},
		{`x <= 2`, `x \leq 2`, true},
		{`x >= 2`, `x \ge 2`, true},
		{`x != 3`, `x \neq 3`, true},
		{`x \ne 3`, `x \neq 3`, true},
		{`x ≠ 3`, `x \neq 3`, true},
		{`x \neq 3`, `(-\infty,3)\cup(3,\infty)`, true},
		{`x \neq 4`, `x \neq 3`, false},
		{`x \neq 3`, `3`, false},
		{`7 \ge x \ge -2`, `[-2,7]`, true},
		{`x \leq 5`, `x < 5`, false},
		// percents
		{`28\%`, `\frac{7}{25}`, true},
		{`28\%`, "0.28", true},
		{`28\%`, "28", true},
		{"28", `28\%`, true},
		{"0.28", `28\%`, true},
		{`28\%`, "0.29", false},
		{`4 4/9\%`, `\frac{40}{900}`, true},
		{"12.5 percent", `\frac18`, true},
		{`28\%`, `\frac{7}{26}`, false},
		// formats
		{"0.0833333333333333", `\frac{1}{12}`, true},
		{"0.083333", `\frac{1}{12}`, true},
		{"0.083334", `\frac{1}{12}`, false},
		{"0.0833", `\frac{1}{12}`, false},
		{"1.4142135623", `\sqrt{2}`, true},
		{"1.4142136", `\sqrt{2}`, true},
		{"1.4142146", `\sqrt{2}`, false},
		{"0.1234567", "0.1234568", false},
		{`14 {, }916`, "14916", true},
		{`14{,}916`, "14916", true},
		{"1 000 4/9", `\frac{9004}{9}`, true},
		{"11 7/6", `\frac{73}{6}`, false},
		{"11 6/6", "12", false},
		{`\left[\begin{array}{cc}1 & 2 \\3 & 4\end{array}\right]`, `\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}`, true},
		{`\left[\begin{array}{cc}1 & 2 \\3 & 5\end{array}\right]`, `\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}`, false},
		{`\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} + \begin{pmatrix}5 & 6 \\ 7 & 8\end{pmatrix}`, `\begin{pmatrix}6 & 8 \\ 10 & 12\end{pmatrix}`, true},
		{`\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} \begin{pmatrix}0 & 1 \\ 1 & 0\end{pmatrix}`, `\begin{pmatrix}2 & 1 \\ 4 & 3\end{pmatrix}`, true},
		{`\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix} \begin{pmatrix}0 & 1 \\ 1 & 0\end{pmatrix}`, `\begin{pmatrix}3 & 4 \\ 1 & 2\end{pmatrix}`, false},
		{`\sum_{k=0}^{n-1} F_{n-k-1} F_k`, `\sum_{k=0}^{n-1} F_k F_{n-k-1}`, true},
		{`\sum_{k=0}^{n-2} F_k F_{n-k-2}`, `\sum_{k=0}^{n-1} F_k F_{n-k-1}`, false},
		{`{-2021, 2021}`, `\pm 2021`, true},
		{`{1,3}`, `(1,3)`, true},
		{`{3,1}`, `(1,3)`, false},
		{`\{1,3\}`, `(1,3)`, false},
		{`x \approx 11`, "11", true},
		{`x = \frac13 \approx 0.33`, `\frac13`, true},
		{`\frac13 \approx 0.33`, "0.33", false},
		{`\\frac{1}{2}`, `\frac12`, true},
		{`x = 5+5+1 = 11`, "x = 11", true},
		{`z = 1 + 1 = 2`, "2", true},
	})
	extractCases := []struct {
		out, want string
		how       Method
	}{
		{"Final Answer: The final answer is $34$. I hope it is correct.", "34", MethodAnswerIs},
		{"Final Answer: The largest $n$ is 34.", "34", MethodAnswerIs},
		{"Final Answer: The maximum number of points that could be in the domain of $f(x)$ is 19. <|im_start|>user", "19", MethodAnswerIs},
		{"Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct.", "3", MethodAnswerIs},
		{`so the interest is $\boxed{255}$. Then $10,200 + $255 = $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.`, "10,455", MethodAnswerIs},
		{`First $\boxed{255}$. Final answer: see above.`, "255", MethodBoxed},
		{`\[ \boxed{-2} \quad \text{and} \quad \boxed{1}. \]`, "-2, 1", MethodBoxed},
		{`so $x = \boxed{2}$ or $x = \boxed{3}$.`, "2, 3", MethodBoxed},
		{"AZYUK2A", "", MethodNone},
		{"The code is H2O", "", MethodNone},
		{"so it is 4 4/9%", "4 4/9%", MethodLastNumber},
		{"about 1 000 4/9 units", "1 000 4/9", MethodLastNumber},
		{"4 4/9 2", "2", MethodLastNumber},
		{"Thus $x <= 2$ is our answer.", "x <= 2", MethodLastNumber},
		{"The solution is $x != 5$", "x != 5", MethodLastNumber},
		{"So $28$ % of them.", "28%", MethodLastNumber},
		{"The answer is 28%.", "28%", MethodAnswerIs},
		{`The final answer is "$12$ and $13$".`, "12, 13", MethodAnswerIs},
	}
	for _, c := range extractCases {
		if got, how := Extract(c.out); got != c.want || how != c.how {
			t.Errorf("Extract(%q) = %q, %v; want %q, %v", c.out, got, how, c.want, c.how)
		}
	}
}
