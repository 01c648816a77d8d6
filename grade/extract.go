package grade

import (
	"regexp"
	"strings"
)

// Extract returns the final answer in a model output and how it was found.
// Markers are trusted in order: "####", \boxed / \fbox, "the answer is" (and
// "final answer:"), then the last number in the text.
func Extract(output string) (answer string, how Method) {
	defer func() {
		if recover() != nil {
			answer, how = "", MethodNone
		}
	}()
	answer, how, _ = extract(output)
	return answer, how
}

// extract is Extract, also saying why the answer was chosen.
func extract(output string) (answer string, how Method, why string) {
	output = dropNextQuestion(output)
	if a, ok := afterHashes(output); ok {
		return a, MethodHashes, `"####" marks the answer and is trusted most`
	}
	if a, end, ok := lastBoxedEnd(output); ok {
		if b, ok := finalAnswerAfter(output[end:]); ok {
			return b, MethodAnswerIs, `a "final answer" statement after the last \boxed overrides it (the box was an intermediate result)`
		}
		return a, MethodBoxed, `the last \boxed (boxes joined by "and", "or" or commas count as one answer); no "####"`
	}
	if a, ok := afterAnswerIs(output); ok {
		return a, MethodAnswerIs, `the last "answer is" / "final answer:" statement; no "####" or \boxed`
	}
	if a, ok := lastNumber(output); ok {
		return a, MethodLastNumber, "no answer marker: the last number in the text (or the math span holding it)"
	}
	return "", MethodNone, "no answer marker and no number"
}

// finalRE finds a "final answer" statement.
var finalRE = regexp.MustCompile(`(?i)\bfinal\s+answer\b`)

// finalAnswerAfter returns the answer of a "final answer" statement in s,
// the text after the last box. It must look like a value (a digit, a LaTeX
// command or a math span), so "Final answer: see above" does not displace
// the box.
func finalAnswerAfter(s string) (string, bool) {
	loc := finalRE.FindStringIndex(s)
	if loc == nil {
		return "", false
	}
	a, ok := afterAnswerIs(s[loc[0]:])
	if !ok || !strings.ContainsAny(a, `0123456789\`) {
		return "", false
	}
	return a, true
}

// nextQuestionRE finds where a few-shot model starts inventing the next
// question ("\n\nQuestion: ...", "\nQ: ...").
var nextQuestionRE = regexp.MustCompile(`\n\s*(?:Question|Q|Problem)\s*\d*\s*:`)

// dropNextQuestion cuts output where the model moves on to a new question,
// so answers to invented questions are not taken as the answer.
func dropNextQuestion(output string) string {
	for _, loc := range nextQuestionRE.FindAllStringIndex(output, -1) {
		if strings.TrimSpace(output[:loc[0]]) != "" {
			return output[:loc[0]]
		}
	}
	return output
}

// afterHashes returns the text after the last "####" that is followed by
// something on its line. It walks lines from the end, so the work is linear.
func afterHashes(s string) (string, bool) {
	if !strings.Contains(s, "####") {
		return "", false
	}
	for end := len(s); end >= 0; {
		start := strings.LastIndexByte(s[:end], '\n') + 1
		line := s[start:end]
		if strings.Contains(line, "####") {
			pieces := strings.Split(line, "####")
			for k := len(pieces) - 1; k >= 1; k-- {
				if a := trimSentence(strings.TrimLeft(pieces[k], "# \t")); a != "" {
					if b, ok := afterAnswerIs(a); ok {
						return b, true // "#### The answer is 18"
					}
					return a, true
				}
			}
		}
		if start == 0 {
			break
		}
		end = start - 1
	}
	return "", false
}

// lastBoxed returns the content of the last non-empty \boxed{...} or
// \fbox{...} in s; braces nest. "\boxed 5" (no braces) takes one token.
func lastBoxed(s string) (string, bool) {
	a, _, ok := lastBoxedEnd(s)
	return a, ok
}

// lastBoxedEnd is lastBoxed, also returning where the last box ends.
func lastBoxedEnd(s string) (answer string, end int, ok bool) {
	if !strings.Contains(s, `\boxed`) && !strings.Contains(s, `\fbox`) {
		return "", 0, false
	}
	closeOf := matchBraces(s)
	type hit struct{ at, n int }
	var hits []hit
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		switch {
		case strings.HasPrefix(s[i:], `\boxed`):
			hits = append(hits, hit{i, len(`\boxed`)})
		case strings.HasPrefix(s[i:], `\fbox`):
			hits = append(hits, hit{i, len(`\fbox`)})
		}
		i++
	}
	for k := len(hits) - 1; k >= 0; k-- {
		c, ok := boxedContent(s, hits[k].at+hits[k].n, closeOf)
		if !ok || strings.TrimSpace(c) == "" {
			continue
		}
		last := boxedEnd(s, hits[k].at+hits[k].n, closeOf)
		if last < 0 {
			last = hits[k].at + hits[k].n + len(c)
		}
		// "$\boxed{1}$ and $\boxed{2}$": boxes joined by "and", "or" or
		// commas are one answer.
		parts := []string{strings.TrimSpace(c)}
		for j := k - 1; j >= 0 && j >= k-maxItems; j-- {
			pc, ok := boxedContent(s, hits[j].at+hits[j].n, closeOf)
			end := boxedEnd(s, hits[j].at+hits[j].n, closeOf)
			if !ok || end < 0 || end > hits[j+1].at || !boxJoinRE.MatchString(s[end:hits[j+1].at]) {
				break
			}
			pc = strings.TrimSpace(pc)
			if equalMath(pc, parts[len(parts)-1]) {
				continue // "\boxed{15\frac{39}{40}} or \boxed{\frac{639}{40}}": one value twice
			}
			parts = append([]string{pc}, parts...)
		}
		return strings.Join(parts, ", "), last, true
	}
	return "", 0, false
}

// boxJoinRE matches what may separate boxes that together form one answer:
// spaces, commas, math delimiters, "and"/"or" (also as \text{ and }),
// \quad, and a variable naming the next root ("$x = \boxed{2}$ or $x = ").
var boxJoinRE = regexp.MustCompile(`^(?:[\s$,;]|\\[()\[\],;: ]|\\q?quad|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b|[a-zA-Z](?:_\{?\w+\}?)?\s*=)*$`)

// boxedEnd returns the index just after the braced argument of the \boxed
// whose name ends at pos, or -1.
func boxedEnd(s string, pos int, closeOf map[int]int) int {
	t := strings.TrimLeft(s[pos:], " \t")
	if t == "" || t[0] != '{' {
		return -1
	}
	open := len(s) - len(t)
	if c := closeOf[open]; c > open {
		return c + 1
	}
	return -1
}

// matchBraces maps the index of each '{' in s to the index of its closing
// '}' (or -1) in one pass; escaped braces \{ \} do not count.
func matchBraces(s string) map[int]int {
	m := map[int]int{}
	var stack []int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			stack = append(stack, i)
			m[i] = -1
		case '}':
			if len(stack) > 0 {
				m[stack[len(stack)-1]] = i
				stack = stack[:len(stack)-1]
			}
		}
	}
	return m
}

// boxedContent reads the argument of the \boxed whose name ends at pos.
func boxedContent(s string, pos int, closeOf map[int]int) (string, bool) {
	rest := s[pos:]
	t := strings.TrimLeft(rest, " \t")
	if t == "" {
		return "", false
	}
	if t[0] == '{' {
		open := pos + len(rest) - len(t)
		if c := closeOf[open]; c > open {
			return s[open+1 : c], true
		}
		return "", false
	}
	if len(t) < len(rest) { // "\boxed 5": up to a delimiter
		k := strings.IndexAny(t, "$\n ")
		if k < 0 {
			k = len(t)
		}
		return strings.TrimRight(t[:k], ".,;"), true
	}
	return "", false
}

// braceGroup returns the content of the brace group at the start of s and
// the remainder after its closing brace. Escaped braces \{ \} do not count.
func braceGroup(s string) (inner, rest string, ok bool) {
	if s == "" || s[0] != '{' {
		return "", s, false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], true
			}
		}
	}
	return "", s, false
}

// answerIsRE finds "the answer is", "Therefore, the answer (arabic numerals)
// is", "final answer:" and similar phrases.
var answerIsRE = regexp.MustCompile(`(?i)\b(?:answers?|correct option|correct choice)\b(?:\s+to\s+[^.\n:]{0,80}?)?(?:\s*\([^()\n]{0,40}\))?\s*(?:\*\*)?\s*(?:is|are|:|=|was|would be|should be)(?:\s*:)?[ \t*]*`)

// afterAnswerIs takes the answer after the last answer phrase: the math
// span if it opens with $ or \( ..., otherwise the first number (or the
// expression) up to the end of the sentence.
func afterAnswerIs(s string) (string, bool) {
	locs := answerIsRE.FindAllStringIndex(s, -1)
	// Only the last few phrases matter; the bound keeps hostile inputs linear.
	for k, tries := len(locs)-1, 0; k >= 0 && tries < 20; k, tries = k-1, tries+1 {
		rest := s[locs[k][1]:]
		line, next, _ := strings.Cut(rest, "\n")
		if strings.TrimSpace(strings.Trim(line, "*")) == "" {
			// "Final Answer:\n18": the answer is on the next non-empty line.
			line = firstNonEmptyLine(next)
		}
		if a := answerSpan(line); a != "" {
			return a, true
		}
	}
	return "", false
}

// firstNonEmptyLine returns the first line of s that is not blank.
func firstNonEmptyLine(s string) string {
	for s != "" {
		var l string
		l, s, _ = strings.Cut(s, "\n")
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

// leadNumberRE matches a number that opens an answer sentence, with optional
// currency sign, followed by words (units) or the end.
var leadNumberRE = regexp.MustCompile(`^(?:\\\$|\$)?\s*((?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)(?:\s*(?:\\%|%))?)(?:\s+[A-Za-z][A-Za-z\s'-]*)?[.!]?$`)

// reasonRE finds where an answer sentence turns into an explanation:
// "5, since ...", "18 because ...".
var reasonRE = regexp.MustCompile(`(?i)(?:,\s*|\s+)(?:because|since|as|which|so|where|when|given|for|from|by|after|due|i\.e\.|that)\b|,\s+(?:[a-z]{2,})\b`)

// multiSpanRE matches several inline math spans joined by "or", "and" or
// commas at the start of an answer sentence; spanRE picks out each one.
var (
	multiSpanRE = regexp.MustCompile(`^\$[^$]+\$(?:\s*(?:,|,?\s*or|,?\s*and)\s*\$[^$]+\$)+`)
	spanRE      = regexp.MustCompile(`\$([^$]+)\$`)
)

// answerSpan cuts the answer out of the text following an answer phrase.
func answerSpan(line string) string {
	t := strings.TrimSpace(line)
	t = strings.TrimLeft(t, "* ")
	t = unquote(t)
	if m := multiSpanRE.FindString(t); m != "" {
		// "$x=3$ or $x=-3$": every span is part of the answer.
		var parts []string
		for _, sm := range spanRE.FindAllStringSubmatch(m, -1) {
			parts = append(parts, strings.TrimSpace(sm[1]))
		}
		return strings.Join(parts, ", ")
	}
	for _, d := range [][2]string{{"$$", "$$"}, {`\[`, `\]`}, {`\(`, `\)`}, {"$", "$"}} {
		if strings.HasPrefix(t, d[0]) {
			if j := indexUnescaped(t[len(d[0]):], d[1]); j >= 0 {
				inner := strings.TrimSpace(t[len(d[0]) : len(d[0])+j])
				if inner != "" {
					return strings.TrimRight(inner, ".,; ")
				}
			}
			break
		}
	}
	t = trimSentence(t)
	if v, ok := sentenceValue(t); ok {
		return v
	}
	for _, loc := range reasonRE.FindAllStringIndex(t, 8) {
		w := strings.ToLower(strings.Trim(t[loc[0]:loc[1]], ", \t"))
		if w == "and" || w == "or" {
			continue // "1, 2, and 3" is still the answer
		}
		t = strings.TrimRight(strings.TrimSpace(t[:loc[0]]), ",;:")
		break
	}
	if m := leadNumberRE.FindStringSubmatch(t); m != nil {
		return m[1]
	}
	return t
}

var (
	// sentenceRE recognises a sentence: a word, then at least two more.
	sentenceRE = regexp.MustCompile(`^[A-Za-z][a-z]+\s+\S+\s+\S+`)
	// verbRE finds the verb that joins a sentence's subject to its value.
	verbRE = regexp.MustCompile(`\s(?:is|are|was|were|equals|=)\s+`)
	// becauseRE finds where a sentence starts giving reasons.
	becauseRE = regexp.MustCompile(`(?i)(?:,\s*|\s+)(?:because|since)\b`)
)

// sentenceValue reduces an answer written as a sentence ("Final Answer: The
// largest $n$ is 34.") to its value: what follows the last "is", or else the
// only number or math span in it ("Jane started growing Sphere 3 hours ago").
func sentenceValue(t string) (string, bool) {
	if !sentenceRE.MatchString(t) {
		return "", false
	}
	if loc := becauseRE.FindStringIndex(t); loc != nil {
		t = t[:loc[0]]
	}
	if locs := verbRE.FindAllStringIndex(t, -1); len(locs) > 0 {
		rest := strings.TrimSpace(t[locs[len(locs)-1][1]:])
		if rest != "" && !sentenceRE.MatchString(rest) {
			return answerSpan(rest), true
		}
	}
	spans := spanRE.FindAllStringSubmatch(t, 3)
	nums := numberRE.FindAllStringIndex(spanRE.ReplaceAllString(t, " "), 3)
	switch {
	case len(spans) == 1 && len(nums) == 0:
		return strings.TrimSpace(spans[0][1]), true
	case len(spans) == 0 && len(nums) == 1:
		m := spanRE.ReplaceAllString(t, " ")
		return m[nums[0][0]:nums[0][1]], true
	}
	return "", false
}

// unquote drops quotation marks around an answer: `"$12$ and $13$".`
// (also escaped, as \" in text copied out of a string literal).
func unquote(t string) string {
	for _, q := range [][2]string{{`\"`, `\"`}, {`"`, `"`}, {"“", "”"}} {
		if !strings.HasPrefix(t, q[0]) {
			continue
		}
		if j := strings.Index(t[len(q[0]):], q[1]); j > 0 {
			return strings.TrimSpace(t[len(q[0]) : len(q[0])+j])
		}
	}
	return t
}

// indexUnescaped finds sep in s, skipping "\$" when sep is "$".
func indexUnescaped(s, sep string) int {
	for off := 0; off < len(s); {
		j := strings.Index(s[off:], sep)
		if j < 0 {
			return -1
		}
		at := off + j
		if sep == "$" && at > 0 && s[at-1] == '\\' {
			off = at + 1
			continue
		}
		return at
	}
	return -1
}

// trimSentence keeps s up to the end of its first sentence (a period that is
// not a decimal point) and drops trailing punctuation and markup.
func trimSentence(s string) string {
	s = strings.TrimSpace(s)
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			depth--
		case '.':
			// A period before a space or the end closes the sentence; a
			// decimal point is followed by a digit.
			if depth <= 0 && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
				s = s[:i]
			}
		}
	}
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".,;:!* ")
	s = strings.TrimLeft(s, "* ")
	return strings.TrimSpace(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberRE finds numbers in running text: integers, thousands groups
// (commas or spaces), decimals and simple fractions.
var numberRE = regexp.MustCompile(`-?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|-?\.\d+`)

// mathDelims rewrites math delimiters to a single '$' so math spans can be
// found by counting; a currency "\$" is dropped first.
var mathDelims = strings.NewReplacer(`\$`, "", "$$", "$", `\(`, "$", `\)`, "$", `\[`, "$", `\]`, "$")

var (
	// wholeBeforeRE finds the whole part of a mixed number before its fraction.
	wholeBeforeRE = regexp.MustCompile(`(?:^|[^\d,./\w-])(-?\d{1,3}(?: \d{3})+|-?\d+)[ \t]+$`)
	// percentAfterRE finds a percent sign or word after a number.
	percentAfterRE = regexp.MustCompile(`^\s*(?:\\%|%|(?i:percentage|percent|pct)\b)`)
)

// lastNumber returns the last number in s, without thousands commas and
// without a sentence-final period. When that number sits inside a closed
// math span ("the probability is $\frac{1}{6}$"), the span's final value
// (after its last "=") is the answer rather than the bare digit; a span that
// states an inequality ("$x \le 2$") is the answer whole. A mixed number
// ("4 4/9") stays whole, a percent sign stays with its number, and a digit
// inside a word ("AZYUK2A") is not a number.
func lastNumber(s string) (string, bool) {
	m := mathDelims.Replace(s)
	locs := numberRE.FindAllStringIndex(m, -1)
	k := len(locs) - 1
	for k >= 0 && inWord(m, locs[k][0]) {
		k--
	}
	if k < 0 {
		return "", false
	}
	l := locs[k]
	n := m[l[0]:l[1]]
	if n[0] == '-' && l[0] > 0 {
		// "2016-2017" or "x-3": a minus after a word or digit is an operator.
		if p := m[l[0]-1]; isDigit(p) || p == ')' || p == '}' || isLetter(p) {
			n = n[1:]
			l[0]++
		}
	}
	if strings.Contains(n, "/") && n[0] != '-' {
		if g := wholeBeforeRE.FindStringSubmatchIndex(m[:l[0]]); g != nil {
			n = m[g[2]:g[3]] + " " + n // "1 000 4/9", kept whole for Equal
			l[0] = g[2]
		}
	}
	if !strings.Contains(n, " ") {
		n = strings.ReplaceAll(n, ",", "")
	}
	if f, ok := enclosingMacro(m, l[0], l[1]); ok {
		n = f // "we get \frac{1}{2}": the fraction, not its denominator
	}
	if strings.Count(m[:l[0]], "$")%2 == 1 {
		open := strings.LastIndexByte(m[:l[0]], '$')
		if k := strings.IndexByte(m[l[1]:], '$'); k >= 0 && !strings.Contains(m[open:l[1]+k], "\n") {
			span := m[open+1 : l[1]+k]
			if !isRelationText(span) {
				if parts := splitTop(span, "="); len(parts) > 1 {
					span = parts[len(parts)-1]
				}
			}
			span = strings.TrimRight(strings.TrimSpace(span), ".,;")
			if span != "" && len(span) <= 200 {
				if percentAfterRE.MatchString(m[l[1]+k+1:]) {
					span += "%" // "$28$ %"
				}
				return span, true
			}
		}
	}
	if percentAfterRE.MatchString(m[l[1]:]) {
		n += "%"
	}
	return n, true
}

// inWord reports whether the number at s[at:] continues a word ("AZYUK2A",
// "H2O", "x2"); a LaTeX command before it ("\frac12") does not count.
func inWord(s string, at int) bool {
	if at == 0 || !isLetter(s[at-1]) {
		return false
	}
	j := at - 1
	for j >= 0 && isLetter(s[j]) {
		j--
	}
	return j < 0 || s[j] != '\\'
}

// enclosingMacro returns the \frac or \sqrt expression that contains
// s[from:to], looking back a bounded distance; the outermost one wins
// (\frac{\sqrt{3}}{2}).
func enclosingMacro(s string, from, to int) (string, bool) {
	lo := from - 200
	if lo < 0 {
		lo = 0
	}
	start, end := -1, -1
	for _, cmd := range []string{`\frac`, `\dfrac`, `\tfrac`, `\sqrt`} {
		args := 2
		if cmd == `\sqrt` {
			args = 1
		}
		for off := lo; off < from; {
			j := strings.Index(s[off:from], cmd)
			if j < 0 {
				break
			}
			at := off + j
			if e := macroEnd(s, at+len(cmd), args); e >= to && (start < 0 || at < start) {
				start, end = at, e
			}
			off = at + len(cmd)
		}
	}
	if start < 0 {
		return "", false
	}
	if start > 0 && s[start-1] == '-' {
		start--
	}
	return s[start:end], true
}

// macroEnd returns where the args arguments of a macro whose name ends at
// pos end: brace groups or single characters (\frac12), or -1.
func macroEnd(s string, pos, args int) int {
	end := pos
	for arg := 0; arg < args; arg++ {
		for end < len(s) && s[end] == ' ' {
			end++
		}
		if end >= len(s) {
			return -1
		}
		if s[end] == '{' {
			_, rest, ok := braceGroup(s[end:])
			if !ok {
				return -1
			}
			end = len(s) - len(rest)
			continue
		}
		if s[end] == '\\' || s[end] == '}' || s[end] == '$' {
			return -1
		}
		end++
	}
	return end
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
