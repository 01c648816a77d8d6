package grade

import (
	"regexp"
	"strconv"
	"strings"
)

// maxLen bounds the text the math normaliser and parser work on, so a
// pathological output costs bounded time.
const maxLen = 5000

// unicodeRepl maps characters models print into the LaTeX the parser knows.
var unicodeRepl = strings.NewReplacer(
	"−", "-", "–", "-", "×", `\times `, "·", `\cdot `, "÷", "/", "π", `\pi `,
	"√", `\sqrt`, "∞", `\infty `, "°", "", "±", `\pm `, "∪", `\cup `, "\u00a0", " ",
	"⋅", `\cdot `, "∓", `\mp `, "≈", `\approx `,
)

// spacingRepl removes LaTeX spacing and style commands that carry no value.
var spacingRepl = strings.NewReplacer(
	`\\`, `\\`, `\!`, "", `\,`, " ", `\:`, " ", `\;`, " ", `\ `, " ", "~", " ",
	`\displaystyle`, "", `\textstyle`, "", `\scriptstyle`, "", `\limits`, "",
	`\qquad`, " ", `\quad`, " ", `\dfrac`, `\frac`, `\tfrac`, `\frac`,
	`\dbinom`, `\binom`, `\tbinom`, `\binom`, `\bigl`, "", `\bigr`, "", `\Bigl`, "", `\Bigr`, "",
	`\biggl`, "", `\biggr`, "", `\left`, "", `\right`, "", `\big`, "", `\Big`, "",
	`\lbrace`, `\{`, `\rbrace`, `\}`, `\lbrack`, "[", `\rbrack`, "]",
	`\langle`, "(", `\rangle`, ")", `{,}`, ",", `\mathbb{R}`, `(-\infty,\infty)`,
	`\cdots`, `\ldots`, `\varnothing`, `\emptyset`, `\{\}`, `\emptyset`,
	`^{\circ}`, "", `^\circ`, "", `^{\circ }`, "", `^{ \circ}`, "", `\circ`, "", `\degree`, "",
	`\%`, "", "%", "", `\$`, "", "$", "",
)

var (
	commaBangRE  = regexp.MustCompile(`,\s*\\!\s*`)
	thousandsRE  = regexp.MustCompile(`^[+-]?\d{1,3}(?:(?:,\d{3})+|(?: \d{3})+)(?:\.\d+)?$`)
	inPrefixRE   = regexp.MustCompile(`^[a-zA-Z]\s*\\in\s*`)
	unitTailRE   = regexp.MustCompile(`^(.*?(?:[\d})]|\\pi))\s+(?:[a-zA-Z]{2,}\.?)(?:\s+[a-zA-Z]+\.?)*\s*(?:\^\{?\d\}?)?$`)
	mixedRE      = regexp.MustCompile(`(^|[\s(,=+-])(\d+)\s*\\frac\s*(\{\s*\d+\s*\}|\d)\s*(\{\s*\d+\s*\}|\d)`)
	plainMixRE   = regexp.MustCompile(`^([+-]?)(\d{1,3}(?: \d{3})+|\d+)\s+(\d+)/(\d+)$`)
	bsCmdRE      = regexp.MustCompile(`\\\\([a-zA-Z]+)`)
	braceCommaRE = regexp.MustCompile(`\s*\{\s*,\s*\}\s*`)
	pctWordRE    = regexp.MustCompile(`([\d}])\s*(?i:percentage|percent|pct)\b\.?`)
	wordSepRE    = regexp.MustCompile(`\s*,?\s+(?:or|and)\s+`)
	textCmds     = []string{`\text`, `\textbf`, `\textit`, `\textrm`, `\mathrm`, `\mathbf`, `\mbox`, `\operatorname`, `\textnormal`, `\mathit`, `\boxed`, `\fbox`}
	unitWordRE   = regexp.MustCompile(`^\s*[a-zA-Z][a-zA-Z .]*$`)
	expTailRE    = regexp.MustCompile(`^\s*\^\s*(?:\{\s*\d\s*\}|\d)`)
)

// clean turns a LaTeX answer into a plain canonical LaTeX string: no math
// delimiters, spacing, \left/\right, degree and percent signs, currency,
// \text wrappers or trailing units; thousands commas removed.
func clean(s string) string {
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	s = strings.TrimSpace(s)
	s = unicodeRepl.Replace(s)
	s = undoubleBackslashes(s)
	s = stripDelims(s)
	s = commaBangRE.ReplaceAllString(s, ",")
	s = braceCommaRE.ReplaceAllString(s, ",")
	s = spacingRepl.Replace(s)
	s = unwrapText(s)
	s = pctWordRE.ReplaceAllString(s, "$1")
	s = dropApprox(s)
	s = strings.ReplaceAll(s, "degrees", "")
	s = strings.ReplaceAll(s, "degree", "")
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".;: ")
	s = strings.TrimLeft(s, ": ")
	s = inPrefixRE.ReplaceAllString(s, "")
	if m := unitTailRE.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = wordSepRE.ReplaceAllString(s, ", ")
	// Mixed numbers: 1\frac{4}{5} is 1 + 4/5, not 4/5. Only a proper
	// fraction makes one: "11 7/6" is malformed, not 73/6.
	s = mixedRE.ReplaceAllStringFunc(s, func(m string) string {
		g := mixedRE.FindStringSubmatch(m)
		if !properFraction(strings.Trim(g[3], "{} "), strings.Trim(g[4], "{} ")) {
			return m
		}
		return g[1] + "(" + g[2] + `+\frac` + g[3] + g[4] + ")"
	})
	if g := plainMixRE.FindStringSubmatch(s); g != nil && properFraction(g[3], g[4]) {
		s = g[1] + "(" + strings.ReplaceAll(g[2], " ", "") + "+" + g[3] + "/" + g[4] + ")"
	}
	s = strings.TrimSpace(s)
	if thousandsRE.MatchString(s) {
		s = strings.NewReplacer(",", "", " ", "").Replace(s)
	}
	s = strings.TrimPrefix(s, "+")
	return strings.TrimSpace(s)
}

// properFraction reports whether num/den, two digit strings, is a proper
// fraction (0 <= num < den), the only kind a mixed number has.
func properFraction(num, den string) bool {
	n, err1 := strconv.Atoi(num)
	d, err2 := strconv.Atoi(den)
	return err1 == nil && err2 == nil && n < d
}

// latexCmds are command names a doubled backslash may hide.
var latexCmds = map[string]bool{
	"frac": true, "dfrac": true, "tfrac": true, "cfrac": true, "sqrt": true, "left": true, "right": true,
	"pi": true, "infty": true, "cdot": true, "times": true, "div": true, "le": true, "leq": true, "ge": true,
	"geq": true, "ne": true, "neq": true, "lt": true, "gt": true, "text": true, "textbf": true, "mathrm": true,
	"mathbf": true, "mbox": true, "boxed": true, "pm": true, "mp": true, "cup": true, "cap": true, "in": true,
	"approx": true, "circ": true, "binom": true, "dbinom": true, "emptyset": true, "varnothing": true,
	"operatorname": true, "dots": true, "ldots": true, "cdots": true,
}

// undoubleBackslashes turns "\\frac" into "\frac": answers copied out of a
// JSON or Python string keep their escaped backslashes, and "\\" followed by
// a command name means nothing else outside an environment, where it
// separates rows.
func undoubleBackslashes(s string) string {
	if !strings.Contains(s, `\\`) || strings.Contains(s, `\begin`) {
		return s
	}
	return bsCmdRE.ReplaceAllStringFunc(s, func(m string) string {
		if name := m[2:]; latexCmds[name] || greek[name] || funcs[name] != nil {
			return m[1:]
		}
		return m
	})
}

// dropApprox resolves "\approx": in "x = \frac13 \approx 0.33" the exact
// value before it is the answer and the rounding is dropped; in "x \approx
// 11" the approximation is the only value, read as "x = 11".
func dropApprox(s string) string {
	i := indexCmd(s, `\approx`)
	if i < 0 {
		return s
	}
	before, after := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(`\approx`):])
	switch {
	case before == "":
		return after
	case len(splitTop(before, "=")) > 1 || isConstant(before):
		return before
	}
	return before + "=" + after
}

// stripDelims removes math-mode delimiters around the whole answer.
func stripDelims(s string) string {
	for {
		t := strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(t, `\[`) && strings.HasSuffix(t, `\]`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		case strings.HasPrefix(t, `\(`) && strings.HasSuffix(t, `\)`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		}
		if t == strings.TrimSpace(s) {
			return t
		}
		s = t
	}
}

// unwrapText replaces \text{...}-like groups by their content, except that a
// unit written after a value ("5\text{ cm}^2") is dropped with its power.
func unwrapText(s string) string {
	for iter := 0; iter < 200; iter++ {
		i, cmd := -1, ""
		for _, c := range textCmds {
			j := indexCmd(s, c)
			if j >= 0 && (i < 0 || j < i) {
				i, cmd = j, c
			}
		}
		if i < 0 {
			return s
		}
		rest := strings.TrimLeft(s[i+len(cmd):], " ")
		inner, after, ok := braceGroup(rest)
		if !ok {
			// No argument: drop the command word only.
			s = s[:i] + " " + s[i+len(cmd):]
			continue
		}
		before := strings.TrimSpace(s[:i])
		tail := strings.TrimSpace(after)
		m := expTailRE.FindString(after)
		isUnit := cmd != `\boxed` && cmd != `\fbox` && before != "" && unitWordRE.MatchString(inner) &&
			!isWordSep(inner) && (tail == "" || m != "" || tail == ".") && endsValue(before)
		if isUnit {
			after = after[len(m):]
			s = s[:i] + after
			continue
		}
		s = s[:i] + inner + after
		if cmd == `\operatorname` || cmd == `\mathrm` {
			// \operatorname{sin} and \mathrm{sin} act as the command \sin.
			if inner != "" && isFuncName(inner) {
				s = s[:i] + `\` + inner + " " + after
			}
		}
	}
	return s
}

// indexCmd finds the command c in s as a whole command (not a prefix of a
// longer command name).
func indexCmd(s, c string) int {
	off := 0
	for {
		j := strings.Index(s[off:], c)
		if j < 0 {
			return -1
		}
		k := off + j + len(c)
		if k >= len(s) || !isLetter(s[k]) {
			return off + j
		}
		off = k
	}
}

func isWordSep(s string) bool {
	t := strings.TrimSpace(s)
	return t == "or" || t == "and"
}

// endsValue reports whether s ends like a quantity a unit can follow.
func endsValue(s string) bool {
	if s == "" {
		return false
	}
	c := s[len(s)-1]
	return isDigit(c) || c == '}' || c == ')' || strings.HasSuffix(s, `\pi`)
}

// squash removes whitespace that carries no meaning: everywhere except
// between a command name and a following letter ("\cot x").
func squash(s string) string {
	var b strings.Builder
	inCmd := false
	pendingSpace, sawSpace := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			sawSpace = true
			pendingSpace = pendingSpace || inCmd
			inCmd = false
			continue
		}
		if pendingSpace && isLetter(c) || sawSpace && isDigit(c) && b.Len() > 0 && isDigit(b.String()[b.Len()-1]) {
			// "\cot x" keeps its space, and "1 2" must not become 12.
			b.WriteByte(' ')
		}
		pendingSpace, sawSpace = false, false
		if c == '\\' {
			inCmd = true
			b.WriteByte(c)
			if i+1 < len(s) && !isLetter(s[i+1]) {
				i++
				b.WriteByte(s[i])
				inCmd = false
			}
			continue
		}
		if inCmd && !isLetter(c) {
			inCmd = false
		}
		b.WriteByte(c)
	}
	return b.String()
}
