package grade

import (
	"fmt"
	"math"
	"math/big"
	"math/cmplx"
	"math/rand"
	"regexp"
	"sort"
	"strings"
)

// trace records the steps that decided a comparison, for Explain. Every
// method works on a nil *trace, which records nothing, so Equal pays only
// for the nil checks.
type trace struct{ steps []string }

// note records one step.
func (t *trace) note(format string, args ...any) {
	if t != nil && len(t.steps) < maxSteps {
		t.steps = append(t.steps, fmt.Sprintf(format, args...))
	}
}

// maxSteps bounds a trace, so explaining a hostile input stays small.
const maxSteps = 40

// equalText compares answers as normalised text, falling back to numbers.
func (t *trace) equalText(pred, gold string) bool {
	a, b := textKey(pred), textKey(gold)
	if a != "" && a == b {
		t.note("text: both read %q", a)
		return true
	}
	x, okx := numberValue(pred)
	y, oky := numberValue(gold)
	if okx && oky {
		t.note("text: different words; as numbers %s vs %s (exact rational)", x.RatString(), y.RatString())
		return x.Cmp(y) == 0
	}
	t.note("text: %q differs from %q", a, b)
	return false
}

var articleRE = regexp.MustCompile(`^(?:the|a|an)\s+`)

// textKey lower-cases s, drops \text wrappers, math delimiters, articles,
// punctuation at the ends and all spaces.
func textKey(s string) string {
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	t := strings.TrimSpace(unicodeRepl.Replace(s))
	t = unwrapAll(t)
	t = strings.ReplaceAll(t, "$", "")
	t = strings.ToLower(strings.TrimSpace(t))
	t = articleRE.ReplaceAllString(t, "")
	t = strings.Trim(t, ".,;:!\"' ")
	return strings.Join(strings.Fields(t), "")
}

// unwrapAll replaces every \text-like group by its content.
func unwrapAll(s string) string {
	for iter := 0; iter < 200; iter++ {
		found := false
		for _, c := range textCmds {
			i := indexCmd(s, c)
			if i < 0 {
				continue
			}
			rest := strings.TrimLeft(s[i+len(c):], " ")
			inner, after, ok := braceGroup(rest)
			if !ok {
				s = s[:i] + s[i+len(c):]
			} else {
				s = s[:i] + inner + after
			}
			found = true
			break
		}
		if !found {
			return s
		}
	}
	return s
}

// equalNumber compares two answers as exact numbers (GSM8K and "number").
func (t *trace) equalNumber(pred, gold string) bool {
	g, ok := numberValue(gold)
	if !ok {
		t.note("number: the gold is not a number; compared as text %q vs %q", textKey(pred), textKey(gold))
		return textKey(pred) == textKey(gold)
	}
	p, ok := numberValue(pred)
	if !ok {
		t.note("number: no number in the prediction")
		return false
	}
	t.note("number: exact rational %s vs %s", p.RatString(), g.RatString())
	return p.Cmp(g) == 0
}

var (
	plainNumRE = regexp.MustCompile(`^[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d*)?$|^[+-]?\.\d+$`)
	firstNumRE = regexp.MustCompile(`[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|[+-]?\.\d+`)
	numJunkRE  = strings.NewReplacer(`\$`, "", "$", "", `\%`, "", "%", "", `\!`, "", `\,`, "", "**", "", "€", "", "£", "")
)

// numberValue reads the number an answer states: the whole answer when it is
// a number or exact expression, else the first number in it.
func numberValue(s string) (*big.Rat, bool) {
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	t := strings.TrimSpace(numJunkRE.Replace(unicodeRepl.Replace(s)))
	t = strings.TrimRight(t, ".;:! ")
	if plainNumRE.MatchString(t) {
		r, ok := new(big.Rat).SetString(strings.TrimSuffix(strings.NewReplacer(",", "", " ", "").Replace(strings.TrimPrefix(t, "+")), "."))
		return r, ok
	}
	if i := strings.LastIndexByte(t, '='); i >= 0 && firstNumRE.MatchString(t[i+1:]) {
		// "2 × 9 = 18": the value stated last is the answer.
		return numberValue(t[i+1:])
	}
	c := clean(s)
	if n, err := parseExpr(c); err == nil {
		if r, ok := exact(n); ok {
			return r, true
		}
	}
	m := firstNumRE.FindString(t)
	if m == "" {
		return nil, false
	}
	m = strings.ReplaceAll(strings.TrimPrefix(m, "+"), ",", "")
	if num, den, ok := strings.Cut(m, "/"); ok {
		a, ok1 := new(big.Rat).SetString(num)
		b, ok2 := new(big.Rat).SetString(den)
		if !ok1 || !ok2 || b.Sign() == 0 {
			return nil, false
		}
		return a.Quo(a, b), true
	}
	return new(big.Rat).SetString(m)
}

// equalMath decides mathematical equivalence of two LaTeX answers.
func equalMath(pred, gold string) bool { return (*trace)(nil).equalMath(pred, gold) }

// equalMath is the package function equalMath, recording its steps in t.
func (t *trace) equalMath(pred, gold string) bool {
	a, b := clean(pred), clean(gold)
	t.note("normalised: %q vs %q", a, b)
	if a == "" || b == "" {
		return false
	}
	if squash(a) == squash(b) {
		t.note("identical after normalisation")
		return true
	}
	if ra, ok := parseRelation(a); ok {
		if rb, ok := parseRelation(b); ok && t.equalRelation(ra, rb) {
			return true
		}
	}
	if t.equalStruct(parseStruct(a, 0), parseStruct(b, 0)) {
		return true
	}
	return t.equalPercent(pred, gold, a, b)
}

// percentRE finds a percent sign or word after a value.
var percentRE = regexp.MustCompile(`%|[\d}]\s*(?i:percentage|percent|pct)\b`)

// equalPercent gives a percentage its second reading: "28\%" states 28 (how
// MATH writes the gold of a "what percent" question) and also 0.28, the
// value a fraction or decimal gold states.
func (t *trace) equalPercent(pred, gold, a, b string) bool {
	pp, gp := percentRE.MatchString(pred), percentRE.MatchString(gold)
	switch {
	case pp == gp:
		return false // neither, or both already compared as percentages
	case pp && len(splitTop(a, ",")) == 1:
		a = "(" + a + ")/100"
		t.note("percent: reading the prediction as %s", a)
	case gp && len(splitTop(b, ",")) == 1:
		b = "(" + b + ")/100"
		t.note("percent: reading the gold as %s", b)
	default:
		return false
	}
	return t.equalStruct(parseStruct(a, 0), parseStruct(b, 0))
}

// kind is the shape of an answer.
type kind int

const (
	kScalar kind = iota
	kList        // unordered: "1, 2", \{1,2\}, a \pm b
	kTuple       // ordered with brackets: (1,2), [0,1)
	kMatrix      // rows of cells
	kUnion       // A \cup B
)

// shape is a parsed answer structure.
type shape struct {
	k           kind
	text        string // kScalar
	open, close byte   // kTuple
	bare        bool   // kList written without brackets: "1, 3" or "{1, 3}"
	items       []shape
	rows        [][]shape // kMatrix
}

const maxItems = 64

// parseStruct splits an answer into its structure; leaves are scalars.
func parseStruct(s string, depth int) shape {
	s = strings.TrimSpace(s)
	if depth > 8 {
		return shape{k: kScalar, text: s}
	}
	if m, ok := matrixExpr(s, depth); ok {
		return m
	}
	if m, ok := parseMatrix(s, depth); ok {
		return m
	}
	if len(s) >= 2 && s[0] == '{' && matchEnd(s) == len(s)-1 {
		// Bare braces only group in LaTeX: "{-2021, 2021}" shows "-2021, 2021".
		return parseStruct(s[1:len(s)-1], depth+1)
	}
	if parts := splitTop(s, `\cup`); len(parts) > 1 {
		sh := shape{k: kUnion}
		for _, p := range parts {
			sh.items = append(sh.items, parseStruct(p, depth+1))
		}
		return sh
	}
	if strings.HasPrefix(s, `\{`) && strings.HasSuffix(s, `\}`) && len(s) >= 4 {
		inner := s[2 : len(s)-2]
		return listOf(splitTop(inner, ","), depth)
	}
	if len(s) >= 2 && (s[0] == '(' || s[0] == '[') && (s[len(s)-1] == ')' || s[len(s)-1] == ']') && matchEnd(s) == len(s)-1 {
		parts := splitTop(s[1:len(s)-1], ",")
		if len(parts) > 1 {
			sh := shape{k: kTuple, open: s[0], close: s[len(s)-1]}
			for _, p := range parts {
				sh.items = append(sh.items, parseStruct(p, depth+1))
			}
			return sh
		}
	}
	if parts := splitTop(s, ","); len(parts) > 1 {
		sh := listOf(parts, depth)
		sh.bare = sh.k == kList
		return sh
	}
	if alts := expandPM(s); len(alts) > 1 {
		return listOf(alts, depth)
	}
	if iv, ok := inequalityInterval(s); ok {
		return parseStruct(iv, depth+1)
	}
	return shape{k: kScalar, text: s}
}

func listOf(parts []string, depth int) shape {
	sh := shape{k: kList}
	for _, p := range parts {
		for _, q := range expandPM(p) {
			sub := parseStruct(q, depth+1)
			if sub.k == kList {
				sh.items = append(sh.items, sub.items...)
			} else {
				sh.items = append(sh.items, sub)
			}
		}
	}
	if len(sh.items) == 1 {
		return sh.items[0]
	}
	return sh
}

// expandPM turns "a \pm b" into "a + b" and "a - b".
func expandPM(s string) []string {
	out := []string{s}
	for round := 0; round < 3; round++ {
		var next []string
		changed := false
		for _, t := range out {
			i := strings.Index(t, `\pm`)
			if i < 0 || (i+3 < len(t) && isLetter(t[i+3])) {
				i = strings.Index(t, `\mp`)
				if i < 0 || (i+3 < len(t) && isLetter(t[i+3])) {
					next = append(next, t)
					continue
				}
			}
			changed = true
			next = append(next, t[:i]+"+"+t[i+3:], t[:i]+"-"+t[i+3:])
		}
		out = next
		if !changed {
			break
		}
	}
	return out
}

// matchEnd returns the index of the bracket closing the one at s[0].
func matchEnd(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTop splits s at sep where no bracket is open.
func splitTop(s, sep string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], sep) && depth == 0 && (sep[0] != '\\' || i+len(sep) >= len(s) || !isLetter(s[i+len(sep)])):
			parts = append(parts, strings.TrimSpace(s[start:i]))
			i += len(sep) - 1
			start = i + 1
			if len(parts) > maxItems {
				return []string{s}
			}
		case c == '\\' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '}'):
			if s[i+1] == '{' {
				depth++
			} else {
				depth--
			}
			i++
		case c == '\\':
			// skip command names so "\cup" inside them is not split
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// matrixEnvRE finds where a matrix environment begins.
var matrixEnvRE = regexp.MustCompile(`^\\begin\{([pbBvV]?matrix|array)\}`)

// matrixExpr evaluates a sum, difference or product of literal matrices
// ("A + B", "A \cdot B", "AB"). Cells become expressions such as
// "(1)*(5)+(2)*(7)", which the scalar comparison evaluates.
func matrixExpr(s string, depth int) (shape, bool) {
	if strings.Count(s, `\begin{`) < 2 {
		return shape{}, false
	}
	var mats []shape
	var ops []string
	rest := strings.TrimSpace(s)
	for len(mats) < 8 {
		m := matrixEnvRE.FindStringSubmatch(rest)
		if m == nil {
			return shape{}, false
		}
		end := strings.Index(rest, `\end{`+m[1]+`}`)
		if end < 0 {
			return shape{}, false
		}
		end += len(`\end{` + m[1] + `}`)
		mat, ok := parseMatrix(rest[:end], depth)
		if !ok {
			return shape{}, false
		}
		mats = append(mats, mat)
		rest = strings.TrimSpace(rest[end:])
		if rest == "" {
			break
		}
		op := "*"
		switch {
		case rest[0] == '+' || rest[0] == '-':
			op = rest[:1]
			rest = rest[1:]
		case strings.HasPrefix(rest, `\cdot`):
			rest = rest[len(`\cdot`):]
		case strings.HasPrefix(rest, `\times`):
			rest = rest[len(`\times`):]
		}
		ops = append(ops, op)
		rest = strings.TrimSpace(rest)
	}
	if len(mats) < 2 || len(ops) != len(mats)-1 {
		return shape{}, false
	}
	// Products bind tighter than sums.
	terms, signs := []shape{mats[0]}, []string{"+"}
	for i, op := range ops {
		if op == "*" {
			p, ok := matMul(terms[len(terms)-1], mats[i+1])
			if !ok {
				return shape{}, false
			}
			terms[len(terms)-1] = p
			continue
		}
		terms, signs = append(terms, mats[i+1]), append(signs, op)
	}
	sum := terms[0]
	for i := 1; i < len(terms); i++ {
		var ok bool
		if sum, ok = matAdd(sum, terms[i], signs[i]); !ok {
			return shape{}, false
		}
	}
	return sum, true
}

// matMul multiplies two matrices of expression cells.
func matMul(a, b shape) (shape, bool) {
	if len(a.rows) == 0 || len(b.rows) == 0 || len(a.rows[0]) != len(b.rows) {
		return shape{}, false
	}
	out := shape{k: kMatrix}
	for _, row := range a.rows {
		if len(row) != len(b.rows) {
			return shape{}, false
		}
		var cells []shape
		for j := range b.rows[0] {
			var terms []string
			for k := range row {
				if j >= len(b.rows[k]) {
					return shape{}, false
				}
				terms = append(terms, "("+row[k].text+")*("+b.rows[k][j].text+")")
			}
			cell := strings.Join(terms, "+")
			if len(cell) > maxLen {
				return shape{}, false // a long product of matrices: too big to compare
			}
			cells = append(cells, shape{k: kScalar, text: cell})
		}
		out.rows = append(out.rows, cells)
	}
	return out, true
}

// matAdd adds (sign "+") or subtracts (sign "-") two matrices of the same size.
func matAdd(a, b shape, sign string) (shape, bool) {
	if len(a.rows) != len(b.rows) {
		return shape{}, false
	}
	out := shape{k: kMatrix}
	for i := range a.rows {
		if len(a.rows[i]) != len(b.rows[i]) {
			return shape{}, false
		}
		var cells []shape
		for j := range a.rows[i] {
			cells = append(cells, shape{k: kScalar, text: "(" + a.rows[i][j].text + ")" + sign + "(" + b.rows[i][j].text + ")"})
		}
		out.rows = append(out.rows, cells)
	}
	return out, true
}

var matrixRE = regexp.MustCompile(`^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{([pbBvV]?matrix|array)\}$`)

func parseMatrix(s string, depth int) (shape, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[0] == '[' || s[0] == '(') && matchEnd(s) == len(s)-1 && matrixEnvRE.MatchString(strings.TrimSpace(s[1:len(s)-1])) {
		// "\left[\begin{array}{cc}...\end{array}\right]": the brackets
		// are the array's delimiters, as pmatrix draws its own.
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	m := matrixRE.FindStringSubmatch(s)
	if m == nil {
		return shape{}, false
	}
	sh := shape{k: kMatrix}
	for _, row := range strings.Split(m[2], `\\`) {
		if strings.TrimSpace(row) == "" {
			continue
		}
		var cells []shape
		for _, c := range strings.Split(row, "&") {
			cells = append(cells, shape{k: kScalar, text: strings.TrimSpace(c)})
		}
		sh.rows = append(sh.rows, cells)
	}
	return sh, len(sh.rows) > 0
}

// vectorItems returns the cells of a one-row or one-column matrix.
func vectorItems(m shape) ([]shape, bool) {
	if len(m.rows) == 1 {
		return m.rows[0], true
	}
	var out []shape
	for _, r := range m.rows {
		if len(r) != 1 {
			return nil, false
		}
		out = append(out, r[0])
	}
	return out, true
}

func (t *trace) equalStruct(a, b shape) bool {
	switch {
	case a.k == kMatrix && b.k == kMatrix:
		if len(a.rows) != len(b.rows) {
			t.note("matrix: %d rows vs %d", len(a.rows), len(b.rows))
			return false
		}
		t.note("matrix: %d rows compared cell by cell", len(a.rows))
		for i := range a.rows {
			if !(*trace)(nil).equalSeq(a.rows[i], b.rows[i]) {
				t.note("matrix: row %d differs", i+1)
				return false
			}
		}
		return true
	case a.k == kMatrix && b.k == kTuple && b.open == '(' && b.close == ')':
		v, ok := vectorItems(a)
		t.note("vector: a one-row or one-column matrix against a tuple, in order")
		return ok && t.equalSeq(v, b.items)
	case a.k == kTuple && b.k == kMatrix && a.open == '(' && a.close == ')':
		v, ok := vectorItems(b)
		t.note("vector: a tuple against a one-row or one-column matrix, in order")
		return ok && t.equalSeq(a.items, v)
	case a.k == kTuple && b.k == kTuple:
		if a.open != b.open || a.close != b.close {
			t.note("tuple/interval: brackets %c%c vs %c%c differ", a.open, a.close, b.open, b.close)
			return false
		}
		t.note("tuple/interval %c...%c: %d items compared in order", a.open, a.close, len(a.items))
		return t.equalSeq(a.items, b.items)
	case a.k == kList && a.bare && b.k == kTuple && b.open == '(' && b.close == ')',
		a.k == kTuple && a.open == '(' && a.close == ')' && b.k == kList && b.bare:
		// "1, 3" against the pair (1,3): brackets left off, order kept.
		t.note("tuple: a list without brackets against a pair in parentheses, in order")
		return t.equalSeq(a.items, b.items)
	case a.k == kList && b.k == kList, a.k == kUnion && b.k == kUnion:
		ok := t.equalBag(a.items, b.items)
		t.note("set: %d vs %d items matched one to one without order: %v", len(a.items), len(b.items), ok)
		return ok
	case a.k == kScalar && b.k == kScalar:
		return t.equalScalar(a.text, b.text)
	}
	t.note("shape: %s vs %s", a.k, b.k)
	return false
}

// String names a kind for explanations.
func (k kind) String() string {
	return [...]string{"a single value", "a set or list", "a tuple or interval", "a matrix", "a union"}[k]
}

func (t *trace) equalSeq(a, b []shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !t.equalStruct(a[i], b[i]) {
			return false
		}
	}
	return true
}

// equalBag matches two unordered collections one to one.
func (t *trace) equalBag(a, b []shape) bool {
	if len(a) != len(b) || len(a) > maxItems {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			// Trial matches are not traced: only the outcome tells.
			if !used[j] && (*trace)(nil).equalStruct(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

var (
	choiceRE   = regexp.MustCompile(`^\(?([A-Ea-e])\)?$`)
	choiceLead = regexp.MustCompile(`^\(([A-E])\)|^([A-E])[):.]|^([A-E])$`)
	baseNumRE  = regexp.MustCompile(`^([0-9A-Fa-f]+)_\{?(\d+)\}?$`)
	digitsRE   = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
	wordRE     = regexp.MustCompile(`[A-Za-z]{2,}`)
	eqLHSRE    = regexp.MustCompile(`^(?:[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+|[a-zA-Z]\([a-zA-Z]\)|[A-Za-z][A-Za-z ]+)$`)
)

// equalScalar compares two single answers (no top-level commas).
func (t *trace) equalScalar(a, b string) bool {
	sa, sb := squash(a), squash(b)
	if sa == "" || sb == "" {
		return false
	}
	if sa == sb {
		t.note("%q: identical", sa)
		return true
	}
	// Letter choices: (B) = B = \text{(B)}.
	// A lone lower-case gold letter is a variable, not a choice.
	if gm := choiceRE.FindStringSubmatch(sb); gm != nil && (len(sb) > 1 || gm[1] >= "A" && gm[1] <= "E") {
		if pm := choiceLead.FindStringSubmatch(strings.TrimSpace(a)); pm != nil {
			t.note("choice: letter %s vs %s", pm[1]+pm[2]+pm[3], gm[1])
			return strings.EqualFold(pm[1]+pm[2]+pm[3], gm[1])
		}
		if pm := choiceRE.FindStringSubmatch(sa); pm != nil {
			t.note("choice: letter %s vs %s", pm[1], gm[1])
			return strings.EqualFold(pm[1], gm[1])
		}
	}
	// Numbers in a base: 204_5 = 204_{5}; bare digits accepted for the gold base.
	if gm := baseNumRE.FindStringSubmatch(sb); gm != nil {
		t.note("base: %q vs the gold %q", sa, sb)
		if pm := baseNumRE.FindStringSubmatch(sa); pm != nil {
			return strings.EqualFold(pm[1], gm[1]) && strings.TrimLeft(pm[2], "0") == strings.TrimLeft(gm[2], "0")
		}
		return digitsRE.MatchString(sa) && strings.EqualFold(sa, gm[1])
	}
	if pm := baseNumRE.FindStringSubmatch(sa); pm != nil {
		// 40_9 is 36, not the decimal 40; 40_{10} is 40.
		return strings.TrimLeft(pm[2], "0") == "10" && t.equalExpr(pm[1], b)
	}
	// Words: compare as text.
	if isTextual(a) || isTextual(b) {
		t.note("text: %q vs %q", textKey(a), textKey(b))
		return textKey(a) == textKey(b)
	}
	return t.equalEquation(a, b)
}

// isTextual reports whether s reads as words rather than mathematics.
func isTextual(s string) bool {
	if strings.ContainsAny(s, `0123456789\^_=+*/`) {
		return false
	}
	return wordRE.MatchString(s)
}

// equalEquation handles "x = 5" against "5" and equations against equations.
func (t *trace) equalEquation(a, b string) bool {
	a, b = chainEnds(a), chainEnds(b)
	al, ar, aEq := splitEq(a)
	bl, br, bEq := splitEq(b)
	switch {
	case aEq && bEq:
		if squash(al) == squash(bl) && eqLHSRE.MatchString(squash(al)) {
			t.note("equation: both name %s; right sides compared", squash(al))
			if t.equalExpr(ar, br) {
				return true
			}
		}
		ok := proportional(al+"-("+ar+")", bl+"-("+br+")")
		t.note("equation: %s = %s and %s = %s compared up to a constant factor at random points: %v", al, ar, bl, br, ok)
		return ok
	case aEq:
		// "x = 5" names the value and "\frac{6}{12} = \frac12" states it on
		// the right; "5x - 7y + 4 = 0" is not the answer 0.
		if !eqLHSRE.MatchString(squash(al)) && !isConstant(al) {
			t.note("equation: the prediction %q is not a value", a)
			return false
		}
		t.note("equation: the value of the prediction is its right side %q", ar)
		return t.equalExpr(ar, b)
	case bEq:
		if !eqLHSRE.MatchString(squash(bl)) {
			t.note("equation: the gold %q is not a value", b)
			return false
		}
		t.note("equation: the value of the gold is its right side %q", br)
		return t.equalExpr(a, br)
	}
	return t.equalExpr(a, b)
}

// chainEnds reduces a chain "x = 5+5+1 = 11" to "x = 11", and a chain of
// values "\frac{6}{12} = \frac{2}{4} = \frac12" to its last value: a
// chain states its answer last, as a marker reading only the answer would
// take it.
func chainEnds(s string) string {
	parts := splitTop(s, "=")
	if len(parts) < 3 || parts[len(parts)-1] == "" {
		return s
	}
	last := parts[len(parts)-1]
	if eqLHSRE.MatchString(squash(parts[0])) {
		return parts[0] + "=" + last
	}
	return last
}

// isConstant reports whether s parses as an expression without variables.
func isConstant(s string) bool {
	n, err := parseExpr(s)
	if err != nil {
		return false
	}
	vs := map[string]bool{}
	vars(n, vs)
	return len(vs) == 0
}

// splitEq splits s at a single top-level "=".
func splitEq(s string) (l, r string, ok bool) {
	parts := splitTop(s, "=")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// evalPoints are the variable values at which expressions are compared.
var evalPoints = func() [][]float64 {
	rng := rand.New(rand.NewSource(20240611))
	pts := make([][]float64, 6)
	for i := range pts {
		pts[i] = make([]float64, 26*2+40)
		for j := range pts[i] {
			pts[i][j] = 0.3 + 1.9*rng.Float64()
		}
	}
	return pts
}()

// envs assigns each variable of the two trees a value per evaluation point.
func envs(x, y *node) ([]map[string]complex128, bool) {
	vs := map[string]bool{}
	vars(x, vs)
	vars(y, vs)
	if len(vs) == 0 {
		return nil, false
	}
	names := make([]string, 0, len(vs))
	for v := range vs {
		names = append(names, v)
	}
	sort.Strings(names)
	out := make([]map[string]complex128, len(evalPoints))
	for i, pt := range evalPoints {
		out[i] = map[string]complex128{}
		for j, v := range names {
			out[i][v] = complex(pt[j%len(pt)], 0)
		}
	}
	return out, true
}

// parsePair parses both sides of a comparison; ok is false if either fails.
func parsePair(a, b string) (x, y *node, ok bool) {
	x, err := parseExpr(a)
	if err != nil {
		return nil, nil, false
	}
	y, err = parseExpr(b)
	if err != nil {
		return nil, nil, false
	}
	return x, y, true
}

// equalExpr compares two expressions: exactly when both are rational
// numbers, else numerically at sample points.
func (t *trace) equalExpr(a, b string) bool {
	x, y, ok := parsePair(a, b)
	if !ok {
		t.note("expression: cannot parse %q or %q", a, b)
		return false
	}
	rx, okx := exact(x)
	ry, oky := exact(y)
	if okx && oky && rx.Cmp(ry) == 0 {
		t.note("exact rational: both are %s", rx.RatString())
		return true
	}
	if k := longDecimal(a, b); k > 0 {
		return t.nearDecimal(x, y, fracDigits(a) == k, k)
	}
	if okx && oky {
		t.note("exact rational: %s vs %s", rx.RatString(), ry.RatString())
		return false
	}
	inf := hasInf(x) || hasInf(y)
	es, hasVars := envs(x, y)
	if !hasVars {
		fx, fy := approx(x, nil), approx(y, nil)
		ok := near(fx, fy, 1e-9, inf)
		t.note("numeric within relative tolerance 1e-9: %s vs %s: %v", fmtC(fx), fmtC(fy), ok)
		return ok
	}
	good := 0
	for _, env := range es {
		fx, fy := approx(x, env), approx(y, env)
		if !finite(fx) && !finite(fy) {
			continue
		}
		if !near(fx, fy, 1e-8, inf) {
			t.note("symbolic at random points: %s vs %s at point %d", fmtC(fx), fmtC(fy), good+1)
			return false
		}
		good++
	}
	if good < 3 {
		t.note("symbolic at random points: only %d points where either side is defined", good)
		return false
	}
	// Positive points cannot tell |x| from x or \sqrt{x^2} from x; at
	// negative points, where both sides are real, they must agree too.
	for _, env := range es {
		neg := make(map[string]complex128, len(env))
		for k, v := range env {
			neg[k] = -v
		}
		if !realEverywhere(x, neg) || !realEverywhere(y, neg) {
			continue
		}
		if fx, fy := approx(x, neg), approx(y, neg); !near(fx, fy, 1e-8, false) {
			t.note("symbolic at random points: agree at %d positive points, differ at a negative one (%s vs %s)", good, fmtC(fx), fmtC(fy))
			return false
		}
	}
	t.note("symbolic at random points: agree within 1e-8 at %d points", good)
	return true
}

// fmtC formats a value for an explanation, dropping a zero imaginary part.
func fmtC(z complex128) string {
	if imag(z) == 0 {
		return fmt.Sprintf("%.10g", real(z))
	}
	return fmt.Sprintf("%.10g", z)
}

// minDigits is how many decimals a decimal must have to be read as the
// rounding of a value that has no finite decimal form: 0.0833333333333333
// states 1/12, but 0.33 is not 1/3.
const minDigits = 6

var decimalRE = regexp.MustCompile(`^[+-]?\d*\.(\d+)$`)

// longDecimal returns k when exactly one of a and b is a decimal with k >=
// minDigits decimals and the other is not a decimal (two decimals compare
// exactly); otherwise 0.
func longDecimal(a, b string) int {
	ka, kb := fracDigits(a), fracDigits(b)
	switch {
	case ka >= minDigits && kb == 0:
		return ka
	case kb >= minDigits && ka == 0:
		return kb
	}
	return 0
}

// fracDigits returns the number of decimals of s if s is a decimal literal.
func fracDigits(s string) int {
	m := decimalRE.FindStringSubmatch(squash(s))
	if m == nil {
		return 0
	}
	return len(m[1])
}

// nearDecimal reports whether the decimal among x and y is the other value
// rounded or truncated to k places: within half a unit of the last place,
// or short of the value by less than one unit (toward zero).
func (t *trace) nearDecimal(x, y *node, xIsDecimal bool, k int) bool {
	dec, val := x, y
	if !xIsDecimal {
		dec, val = y, x
	}
	unit := math.Pow(10, -float64(k))
	var diff, v float64 // val - dec, and val
	rd, okd := exact(dec)
	rv, okv := exact(val)
	if okd && okv {
		d := new(big.Rat).Sub(rv, rd)
		diff, _ = d.Float64()
		v, _ = rv.Float64()
	} else {
		fd, fv := approx(dec, nil), approx(val, nil)
		if !finite(fd) || !finite(fv) || imag(fd) != 0 || imag(fv) != 0 {
			return false
		}
		diff, v = real(fv)-real(fd), real(fv)
	}
	slack := 4e-16 * math.Abs(v)
	rounded := math.Abs(diff) <= unit/2+slack
	truncated := diff*math.Copysign(1, v) >= -slack && math.Abs(diff) < unit+slack
	ok := rounded || truncated
	t.note("decimal to %d places: off the value by %.3g (rounding allows %.1g, truncation %.1g): %v", k, diff, unit/2, unit, ok)
	return ok
}

// realEverywhere reports whether every subexpression of n is finite and
// real at env, so real identities (not complex branch effects such as
// √-1·√-1 = -1) decide the comparison. Large trees are not checked.
func realEverywhere(n *node, env map[string]complex128) bool {
	budget := 400
	var walk func(*node) bool
	walk = func(n *node) bool {
		budget--
		if budget < 0 {
			return false
		}
		v := approx(n, env)
		if !finite(v) || math.Abs(imag(v)) > 1e-12 {
			return false
		}
		for _, k := range n.kids {
			if !walk(k) {
				return false
			}
		}
		return true
	}
	return walk(n)
}

// proportional reports whether two expressions differ by a constant
// non-zero factor (the same equation written twice).
func proportional(a, b string) bool {
	_, ok := ratio(a, b)
	return ok
}

// ratio returns the constant real factor r with a = r·b at every sample
// point, if there is one; both expressions must have variables.
func ratio(a, b string) (float64, bool) {
	x, y, ok := parsePair(a, b)
	if !ok {
		return 0, false
	}
	es, ok := envs(x, y)
	if !ok {
		return 0, false
	}
	var r0 complex128
	good := 0
	for _, env := range es {
		fx, fy := approx(x, env), approx(y, env)
		if !finite(fx) || !finite(fy) {
			continue
		}
		if cmplx.Abs(fy) < 1e-12 || cmplx.Abs(fx) < 1e-12 {
			if cmplx.Abs(fy) < 1e-12 && cmplx.Abs(fx) < 1e-12 {
				continue
			}
			return 0, false
		}
		r := fx / fy
		if good == 0 {
			r0 = r
		} else if !near(r, r0, 1e-8, false) {
			return 0, false
		}
		good++
	}
	if good < 3 || math.Abs(imag(r0)) > 1e-9*cmplx.Abs(r0) {
		return 0, false
	}
	return real(r0), true
}

func finite(z complex128) bool {
	return !math.IsNaN(real(z)) && !math.IsNaN(imag(z)) && !math.IsInf(real(z), 0) && !math.IsInf(imag(z), 0)
}

// close compares two values with a relative tolerance; infinities are only
// equal when an answer really mentions \infty (not after an overflow).
func near(a, b complex128, tol float64, infOK bool) bool {
	if !finite(a) || !finite(b) {
		return infOK && !cmplx.IsNaN(a) && !cmplx.IsNaN(b) && a == b
	}
	d := cmplx.Abs(a - b)
	scale := math.Max(cmplx.Abs(a), cmplx.Abs(b))
	return d <= tol*scale || d < 1e-12
}
