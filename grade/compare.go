package grade

import (
	"math"
	"math/big"
	"math/cmplx"
	"math/rand"
	"regexp"
	"sort"
	"strings"
)

// equalText compares answers as normalised text, falling back to numbers.
func equalText(pred, gold string) bool {
	a, b := textKey(pred), textKey(gold)
	if a != "" && a == b {
		return true
	}
	x, okx := numberValue(pred)
	y, oky := numberValue(gold)
	return okx && oky && x.Cmp(y) == 0
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
func equalNumber(pred, gold string) bool {
	g, ok := numberValue(gold)
	if !ok {
		return textKey(pred) == textKey(gold)
	}
	p, ok := numberValue(pred)
	return ok && p.Cmp(g) == 0
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
func equalMath(pred, gold string) bool {
	a, b := clean(pred), clean(gold)
	if a == "" || b == "" {
		return false
	}
	if squash(a) == squash(b) {
		return true
	}
	return equalStruct(parseStruct(a, 0), parseStruct(b, 0))
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
	if m, ok := parseMatrix(s, depth); ok {
		return m
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
		return listOf(parts, depth)
	}
	if alts := expandPM(s); len(alts) > 1 {
		return listOf(alts, depth)
	}
	if iv, ok := inequalityInterval(s); ok {
		return parseStruct(iv, depth+1)
	}
	return shape{k: kScalar, text: s}
}

var (
	ineqRepl = strings.NewReplacer(`\leq`, "<=", `\geq`, ">=", `\le`, "<=", `\ge`, ">=", `\lt`, "<", `\gt`, ">", "≤", "<=", "≥", ">=")
	// a < x < b, a <= x <= b (one variable in the middle)
	ineq2RE = regexp.MustCompile(`^([^<>=]+?)\s*(<=?)\s*[a-zA-Z]\s*(<=?)\s*([^<>=]+)$`)
	// x < b, x >= a
	ineq1RE = regexp.MustCompile(`^[a-zA-Z]\s*(<=?|>=?)\s*([^<>=]+)$`)
)

// inequalityInterval rewrites "-2 \le x \le 7" as "[-2,7]" and "x > 3" as
// "(3,\infty)", so inequalities compare with interval answers.
func inequalityInterval(s string) (string, bool) {
	t := ineqRepl.Replace(s)
	if !strings.ContainsAny(t, "<>") {
		return "", false
	}
	if m := ineq2RE.FindStringSubmatch(t); m != nil {
		open, close := "(", ")"
		if m[2] == "<=" {
			open = "["
		}
		if m[3] == "<=" {
			close = "]"
		}
		return open + strings.TrimSpace(m[1]) + "," + strings.TrimSpace(m[4]) + close, true
	}
	if m := ineq1RE.FindStringSubmatch(t); m != nil {
		v := strings.TrimSpace(m[2])
		switch m[1] {
		case "<":
			return `(-\infty,` + v + ")", true
		case "<=":
			return `(-\infty,` + v + "]", true
		case ">":
			return "(" + v + `,\infty)`, true
		case ">=":
			return "[" + v + `,\infty)`, true
		}
	}
	return "", false
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

var matrixRE = regexp.MustCompile(`^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{([pbBvV]?matrix|array)\}$`)

func parseMatrix(s string, depth int) (shape, bool) {
	m := matrixRE.FindStringSubmatch(strings.TrimSpace(s))
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

func equalStruct(a, b shape) bool {
	switch {
	case a.k == kMatrix && b.k == kMatrix:
		if len(a.rows) != len(b.rows) {
			return false
		}
		for i := range a.rows {
			if !equalSeq(a.rows[i], b.rows[i]) {
				return false
			}
		}
		return true
	case a.k == kMatrix && b.k == kTuple && b.open == '(' && b.close == ')':
		v, ok := vectorItems(a)
		return ok && equalSeq(v, b.items)
	case a.k == kTuple && b.k == kMatrix && a.open == '(' && a.close == ')':
		v, ok := vectorItems(b)
		return ok && equalSeq(a.items, v)
	case a.k == kTuple && b.k == kTuple:
		return a.open == b.open && a.close == b.close && equalSeq(a.items, b.items)
	case a.k == kList && b.k == kList, a.k == kUnion && b.k == kUnion:
		return equalBag(a.items, b.items)
	case a.k == kScalar && b.k == kScalar:
		return equalScalar(a.text, b.text)
	}
	return false
}

func equalSeq(a, b []shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalStruct(a[i], b[i]) {
			return false
		}
	}
	return true
}

// equalBag matches two unordered collections one to one.
func equalBag(a, b []shape) bool {
	if len(a) != len(b) || len(a) > maxItems {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && equalStruct(x, y) {
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
func equalScalar(a, b string) bool {
	sa, sb := squash(a), squash(b)
	if sa == "" || sb == "" {
		return false
	}
	if sa == sb {
		return true
	}
	// Letter choices: (B) = B = \text{(B)}.
	// A lone lower-case gold letter is a variable, not a choice.
	if gm := choiceRE.FindStringSubmatch(sb); gm != nil && (len(sb) > 1 || gm[1] >= "A" && gm[1] <= "E") {
		if pm := choiceLead.FindStringSubmatch(strings.TrimSpace(a)); pm != nil {
			return strings.EqualFold(pm[1]+pm[2]+pm[3], gm[1])
		}
		if pm := choiceRE.FindStringSubmatch(sa); pm != nil {
			return strings.EqualFold(pm[1], gm[1])
		}
	}
	// Numbers in a base: 204_5 = 204_{5}; bare digits accepted for the gold base.
	if gm := baseNumRE.FindStringSubmatch(sb); gm != nil {
		if pm := baseNumRE.FindStringSubmatch(sa); pm != nil {
			return strings.EqualFold(pm[1], gm[1]) && strings.TrimLeft(pm[2], "0") == strings.TrimLeft(gm[2], "0")
		}
		return digitsRE.MatchString(sa) && strings.EqualFold(sa, gm[1])
	}
	if pm := baseNumRE.FindStringSubmatch(sa); pm != nil {
		// 40_9 is 36, not the decimal 40; 40_{10} is 40.
		return strings.TrimLeft(pm[2], "0") == "10" && equalExpr(pm[1], b)
	}
	// Words: compare as text.
	if isTextual(a) || isTextual(b) {
		return textKey(a) == textKey(b)
	}
	return equalEquation(a, b)
}

// isTextual reports whether s reads as words rather than mathematics.
func isTextual(s string) bool {
	if strings.ContainsAny(s, `0123456789\^_=+*/`) {
		return false
	}
	return wordRE.MatchString(s)
}

// equalEquation handles "x = 5" against "5" and equations against equations.
func equalEquation(a, b string) bool {
	al, ar, aEq := splitEq(a)
	bl, br, bEq := splitEq(b)
	switch {
	case aEq && bEq:
		if squash(al) == squash(bl) && eqLHSRE.MatchString(squash(al)) && equalExpr(ar, br) {
			return true
		}
		return proportional(al+"-("+ar+")", bl+"-("+br+")")
	case aEq:
		// "x = 5" names the value and "\frac{6}{12} = \frac12" states it on
		// the right; "5x - 7y + 4 = 0" is not the answer 0.
		return (eqLHSRE.MatchString(squash(al)) || isConstant(al)) && equalExpr(ar, b)
	case !bEq && len(splitTop(a, "=")) > 2:
		// A chain "\frac{6}{12} = \frac{2}{4} = \frac{1}{2}" states its value last.
		parts := splitTop(a, "=")
		return equalExpr(parts[len(parts)-1], b)
	case bEq:
		return eqLHSRE.MatchString(squash(bl)) && equalExpr(a, br)
	}
	return equalExpr(a, b)
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
func equalExpr(a, b string) bool {
	x, y, ok := parsePair(a, b)
	if !ok {
		return false
	}
	rx, okx := exact(x)
	ry, oky := exact(y)
	if okx && oky {
		return rx.Cmp(ry) == 0
	}
	inf := hasInf(x) || hasInf(y)
	es, hasVars := envs(x, y)
	if !hasVars {
		if okx && oky {
			return false
		}
		return near(approx(x, nil), approx(y, nil), 1e-9, inf)
	}
	good := 0
	for _, env := range es {
		fx, fy := approx(x, env), approx(y, env)
		if !finite(fx) && !finite(fy) {
			continue
		}
		if !near(fx, fy, 1e-8, inf) {
			return false
		}
		good++
	}
	if good < 3 {
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
			return false
		}
	}
	return true
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
	x, y, ok := parsePair(a, b)
	if !ok {
		return false
	}
	es, ok := envs(x, y)
	if !ok {
		return false
	}
	var ratio complex128
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
			return false
		}
		r := fx / fy
		if good == 0 {
			ratio = r
		} else if !near(r, ratio, 1e-8, false) {
			return false
		}
		good++
	}
	return good >= 3
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
