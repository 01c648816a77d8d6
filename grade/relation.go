package grade

import (
	"regexp"
	"strings"
)

// relCmds are the LaTeX relation commands and the ASCII operators they mean.
// indexCmd matches whole command names, so \le is never found inside \left
// or \leq.
var relCmds = []struct{ cmd, op string }{
	{`\leqslant`, "<="}, {`\geqslant`, ">="}, {`\leqq`, "<="}, {`\geqq`, ">="},
	{`\leq`, "<="}, {`\geq`, ">="}, {`\le`, "<="}, {`\ge`, ">="},
	{`\lt`, "<"}, {`\gt`, ">"}, {`\neq`, "!="}, {`\ne`, "!="}, {`\not=`, "!="},
}

// relRunes maps Unicode relation signs to ASCII operators.
var relRunes = strings.NewReplacer("≤", "<=", "≥", ">=", "≠", "!=", "⩽", "<=", "⩾", ">=")

// normRel rewrites every relation sign in s as one of <, <=, >, >=, !=.
func normRel(s string) string {
	s = relRunes.Replace(s)
	if !strings.Contains(s, `\`) {
		return s
	}
	for _, r := range relCmds {
		for n := 0; n < maxItems; n++ {
			i := indexCmd(s, r.cmd)
			if i < 0 {
				break
			}
			s = s[:i] + r.op + s[i+len(r.cmd):]
		}
	}
	return s
}

// relation is "lhs op rhs" with op one of <, <=, != (> and >= are stored
// with their sides swapped, so "5 >= x" and "x <= 5" read the same).
type relation struct{ lhs, op, rhs string }

// parseRelation reads s as a single inequality or "!=" relation. Chains
// ("a < x < b"), lists and equations are not relations here.
func parseRelation(s string) (relation, bool) {
	t := normRel(s)
	if !strings.ContainsAny(t, "<>!") {
		return relation{}, false
	}
	depth, at, op := 0, -1, ""
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '\\':
			i++
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth != 0:
		case c == ',' || c == '=':
			return relation{}, false // a list or an equation
		case c == '<' || c == '>' || c == '!' && i+1 < len(t) && t[i+1] == '=':
			if at >= 0 {
				return relation{}, false // a chain
			}
			at, op = i, string(c)
			if i+1 < len(t) && t[i+1] == '=' {
				op += "="
				i++
			}
		}
	}
	if at < 0 {
		return relation{}, false
	}
	l, r := strings.TrimSpace(t[:at]), strings.TrimSpace(t[at+len(op):])
	if l == "" || r == "" {
		return relation{}, false
	}
	switch op {
	case ">":
		return relation{r, "<", l}, true
	case ">=":
		return relation{r, "<=", l}, true
	}
	return relation{l, op, r}, true
}

// isRelationText reports whether s states an inequality or "!=".
func isRelationText(s string) bool {
	t := normRel(s)
	return strings.ContainsAny(t, "<>") || strings.Contains(t, "!=")
}

// equalRelation decides whether two relations say the same thing: the same
// operator and sides whose differences are proportional, with a positive
// factor for inequalities (multiplying by a negative number flips them).
func (t *trace) equalRelation(a, b relation) bool {
	if a.op != b.op {
		t.note("relation: operators %s and %s differ", a.op, b.op)
		return false
	}
	fa := "(" + a.lhs + ")-(" + a.rhs + ")"
	fb := "(" + b.lhs + ")-(" + b.rhs + ")"
	r, ok := ratio(fa, fb)
	if !ok {
		t.note("relation: %s %s 0 and %s %s 0 are not multiples of each other at random points", fa, a.op, fb, b.op)
		return false
	}
	if a.op != "!=" && r <= 0 {
		t.note("relation: the sides differ by the negative factor %.6g, which flips the inequality", r)
		return false
	}
	t.note("relation: %s %s 0 is %.6g times %s %s 0 at random points", fa, a.op, r, fb, b.op)
	return true
}

var (
	// a < x < b, a <= x <= b (one variable in the middle)
	ineq2RE = regexp.MustCompile(`^([^<>=!]+?)\s*(<=?)\s*[a-zA-Z]\s*(<=?)\s*([^<>=!]+)$`)
	// b > x > a, b >= x >= a
	ineq2GtRE = regexp.MustCompile(`^([^<>=!]+?)\s*(>=?)\s*[a-zA-Z]\s*(>=?)\s*([^<>=!]+)$`)
	// x < b, x >= a
	ineq1RE = regexp.MustCompile(`^[a-zA-Z]\s*(<=?|>=?)\s*([^<>=!]+)$`)
	// b > x, a <= x
	ineq1RevRE = regexp.MustCompile(`^([^<>=!]+?)\s*(<=?|>=?)\s*[a-zA-Z]$`)
	// x != a
	ineqNeRE = regexp.MustCompile(`^[a-zA-Z]\s*!=\s*([^<>=!]+)$`)
)

// flipOp turns "b > x" into "x < b".
var flipOp = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}

// inequalityInterval rewrites "-2 \le x \le 7" as "[-2,7]", "x > 3" and
// "3 < x" as "(3,\infty)" and "x \ne 3" as a union of two rays, so
// inequalities compare with interval answers.
func inequalityInterval(s string) (string, bool) {
	t := normRel(s)
	if !strings.ContainsAny(t, "<>!") {
		return "", false
	}
	bounds := func(lo, opLo, opHi, hi string) string {
		open, close := "(", ")"
		if opLo == "<=" {
			open = "["
		}
		if opHi == "<=" {
			close = "]"
		}
		return open + strings.TrimSpace(lo) + "," + strings.TrimSpace(hi) + close
	}
	if m := ineq2RE.FindStringSubmatch(t); m != nil {
		return bounds(m[1], m[2], m[3], m[4]), true
	}
	if m := ineq2GtRE.FindStringSubmatch(t); m != nil {
		return bounds(m[4], flipOp[m[3]], flipOp[m[2]], m[1]), true
	}
	op, v := "", ""
	if m := ineq1RE.FindStringSubmatch(t); m != nil {
		op, v = m[1], m[2]
	} else if m := ineq1RevRE.FindStringSubmatch(t); m != nil {
		op, v = flipOp[m[2]], m[1]
	} else if m := ineqNeRE.FindStringSubmatch(t); m != nil {
		v = strings.TrimSpace(m[1])
		return `(-\infty,` + v + `)\cup(` + v + `,\infty)`, true
	}
	v = strings.TrimSpace(v)
	switch op {
	case "<":
		return `(-\infty,` + v + ")", true
	case "<=":
		return `(-\infty,` + v + "]", true
	case ">":
		return "(" + v + `,\infty)`, true
	case ">=":
		return "[" + v + `,\infty)`, true
	}
	return "", false
}
