package grade

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/cmplx"
	"strings"
)

// Limits that keep parsing and exact arithmetic bounded on hostile input.
const (
	maxDepth   = 100   // nesting depth of the parser
	maxBits    = 20000 // bits in a numerator or denominator
	maxExp     = 10000 // |integer exponent| tried exactly
	maxNodes   = 5000  // nodes in one expression tree
	maxFactArg = 300   // largest n! computed exactly
)

// opKind is the kind of an expression node.
type opKind int

const (
	opNum opKind = iota
	opVar
	opConst // pi, e, i, infinity
	opAdd
	opSub
	opMul
	opDiv
	opPow
	opNeg
	opFunc  // sin, cos, log, ...
	opRoot  // kids: index, radicand
	opFact  // n!
	opBinom // kids: n, k
	opAbs
	opSum // \sum or \prod; name says which, kids: lower, upper, summand
)

// node is one node of a parsed expression.
type node struct {
	op   opKind
	val  *big.Rat // opNum
	name string   // opVar, opConst, opFunc
	kids []*node
}

var errParse = errors.New("cannot parse expression")

// parser is a recursive-descent parser for the LaTeX and plain-text
// arithmetic that appears in final answers.
type parser struct {
	s     string
	pos   int
	depth int
	nodes int
}

// parseExpr parses s completely into an expression tree.
func parseExpr(s string) (*node, error) {
	if len(s) > maxLen {
		return nil, fmt.Errorf("expression of %d bytes: %w", len(s), errParse)
	}
	p := &parser{s: s}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d: %w", p.s[p.pos:], p.pos, errParse)
	}
	return n, nil
}

func (p *parser) mk(op opKind, kids ...*node) (*node, error) {
	p.nodes++
	if p.nodes > maxNodes {
		return nil, fmt.Errorf("more than %d nodes: %w", maxNodes, errParse)
	}
	return &node{op: op, kids: kids}, nil
}

func (p *parser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) peek() byte {
	p.space()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// cmdAt returns the command name (without backslash) at the cursor, if any.
func (p *parser) cmdAt() string {
	p.space()
	if p.pos >= len(p.s) || p.s[p.pos] != '\\' {
		return ""
	}
	j := p.pos + 1
	for j < len(p.s) && isLetter(p.s[j]) {
		j++
	}
	return p.s[p.pos+1 : j]
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d: %w", maxDepth, errParse)
	}
	return nil
}

func (p *parser) expr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return left, nil
		}
		p.pos++
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		op := opAdd
		if c == '-' {
			op = opSub
		}
		if left, err = p.mk(op, left, right); err != nil {
			return nil, err
		}
	}
}

var mulCmds = map[string]opKind{"cdot": opMul, "times": opMul, "div": opDiv, "ast": opMul}

func (p *parser) term() (*node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		op := opMul
		switch {
		case c == '*' || c == '/':
			p.pos++
			if c == '/' {
				op = opDiv
			}
		case c == '\\' && mulCmds[p.cmdAt()] != 0:
			op = mulCmds[p.cmdAt()]
			p.pos += 1 + len(p.cmdAt())
		case p.startsAtom():
			// implicit multiplication: 2x, 2\sqrt{3}, (a+5)(b+2)
		default:
			return left, nil
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		if left, err = p.mk(op, left, right); err != nil {
			return nil, err
		}
	}
}

// startsAtom reports whether the cursor is at something that can begin a
// factor of an implicit product.
func (p *parser) startsAtom() bool {
	c := p.peek()
	switch {
	case c == 0:
		return false
	case isDigit(c) || c == '.':
		// "2 3" is not 6: a number never multiplies implicitly from the right.
		return false
	case isLetter(c) || c == '(' || c == '{':
		return true
	case c == '\\':
		cmd := p.cmdAt()
		if cmd == "" {
			return p.pos+1 < len(p.s) && p.s[p.pos+1] == '{'
		}
		_, isMul := mulCmds[cmd]
		return !isMul
	}
	return false
}

func (p *parser) unary() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch p.peek() {
	case '-':
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return p.mk(opNeg, x)
	case '+':
		p.pos++
		return p.unary()
	}
	return p.power()
}

func (p *parser) power() (*node, error) {
	base, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if p.peek() != '^' {
		return base, nil
	}
	p.pos++
	exp, err := p.exponent()
	if err != nil {
		return nil, err
	}
	return p.mk(opPow, base, exp)
}

// exponent reads what follows ^: a group, a signed atom, or a digit run.
func (p *parser) exponent() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch c := p.peek(); {
	case c == '-' || c == '+':
		p.pos++
		x, err := p.exponent()
		if err != nil || c == '+' {
			return x, err
		}
		return p.mk(opNeg, x)
	case isLetter(c):
		// x^n: a single letter, as LaTeX reads it.
		p.pos++
		return p.letter(c)
	}
	return p.power()
}

func (p *parser) postfix() (*node, error) {
	x, err := p.atom()
	if err != nil {
		return nil, err
	}
	for p.peek() == '!' {
		p.pos++
		if x, err = p.mk(opFact, x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// funcs maps the functions the parser knows to their complex evaluation;
// one table, so a name the parser accepts always has a value.
var funcs = map[string]func(complex128) complex128{
	"sin":    cmplx.Sin,
	"cos":    cmplx.Cos,
	"tan":    cmplx.Tan,
	"cot":    func(x complex128) complex128 { return 1 / cmplx.Tan(x) },
	"sec":    func(x complex128) complex128 { return 1 / cmplx.Cos(x) },
	"csc":    func(x complex128) complex128 { return 1 / cmplx.Sin(x) },
	"arcsin": cmplx.Asin,
	"arccos": cmplx.Acos,
	"arctan": cmplx.Atan,
	"sinh":   cmplx.Sinh,
	"cosh":   cmplx.Cosh,
	"tanh":   cmplx.Tanh,
	"ln":     cmplx.Log,
	// Unqualified log: base 10, as school problems use it.
	"log": cmplx.Log10,
	"lg":  cmplx.Log10,
	"exp": cmplx.Exp,
}

func isFuncName(s string) bool { return funcs[strings.TrimSpace(s)] != nil }

var greek = map[string]bool{
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "varepsilon": true,
	"zeta": true, "eta": true, "theta": true, "vartheta": true, "kappa": true, "lambda": true,
	"mu": true, "nu": true, "xi": true, "rho": true, "sigma": true, "tau": true, "phi": true,
	"varphi": true, "chi": true, "psi": true, "omega": true, "Gamma": true, "Delta": true,
	"Theta": true, "Lambda": true, "Sigma": true, "Phi": true, "Psi": true, "Omega": true,
}

func (p *parser) atom() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	c := p.peek()
	switch {
	case c == 0:
		return nil, fmt.Errorf("unexpected end at offset %d: %w", p.pos, errParse)
	case isDigit(c) || c == '.':
		return p.number()
	case c == '(' || c == '{' || c == '[':
		return p.group(map[byte]byte{'(': ')', '{': '}', '[': ']'}[c])
	case c == '|':
		x, err := p.group('|')
		if err != nil {
			return nil, err
		}
		return p.mk(opAbs, x)
	case isLetter(c):
		p.pos++
		return p.letter(c)
	case c == '\\':
		return p.command()
	}
	return nil, fmt.Errorf("unexpected %q at offset %d: %w", c, p.pos, errParse)
}

// letter turns a letter (already consumed) into a variable or constant; a
// subscript makes it part of the name (x_1).
func (p *parser) letter(c byte) (*node, error) {
	name := string(c)
	if p.pos < len(p.s) && p.s[p.pos] == '_' {
		p.pos++
		sub, err := p.rawArg()
		if err != nil {
			return nil, err
		}
		name += "_" + sub
	}
	n, err := p.mk(opVar)
	if err != nil {
		return nil, err
	}
	n.name = name
	if name == "e" || name == "i" {
		n.op = opConst
	}
	return n, nil
}

// rawArg reads a brace group or one character verbatim.
func (p *parser) rawArg() (string, error) {
	p.space()
	if p.pos >= len(p.s) {
		return "", fmt.Errorf("missing argument at offset %d: %w", p.pos, errParse)
	}
	if p.s[p.pos] == '{' {
		inner, rest, ok := braceGroup(p.s[p.pos:])
		if !ok {
			return "", fmt.Errorf("unbalanced brace at offset %d: %w", p.pos, errParse)
		}
		p.pos = len(p.s) - len(rest)
		return strings.TrimSpace(inner), nil
	}
	p.pos++
	return p.s[p.pos-1 : p.pos], nil
}

func (p *parser) number() (*node, error) {
	start := p.pos
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
			p.pos++
		}
	}
	lit := p.s[start:p.pos]
	if lit == "." {
		return nil, fmt.Errorf("lone '.' at offset %d: %w", start, errParse)
	}
	r, ok := new(big.Rat).SetString(strings.TrimSuffix(lit, "."))
	if !ok {
		return nil, fmt.Errorf("bad number %q at offset %d: %w", lit, start, errParse)
	}
	n, err := p.mk(opNum)
	if err != nil {
		return nil, err
	}
	n.val = r
	return n, nil
}

// twoArgs reads a macro's two arguments (\frac{a}{b}, \binom{n}{k}) into op.
func (p *parser) twoArgs(op opKind) (*node, error) {
	a, err := p.arg()
	if err != nil {
		return nil, err
	}
	b, err := p.arg()
	if err != nil {
		return nil, err
	}
	return p.mk(op, a, b)
}

// group reads an expression after an opening bracket up to its closer.
func (p *parser) group(closer byte) (*node, error) {
	p.pos++
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek() != closer {
		return nil, fmt.Errorf("missing %q at offset %d: %w", closer, p.pos, errParse)
	}
	p.pos++
	return x, nil
}

// arg reads a LaTeX macro argument: a brace group parsed as an expression,
// or a single token (\frac12, \sqrt2, \frac\pi4).
func (p *parser) arg() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	c := p.peek()
	switch {
	case c == '{':
		return p.group('}')
	case isDigit(c):
		n, err := p.mk(opNum)
		if err != nil {
			return nil, err
		}
		n.val = big.NewRat(int64(c-'0'), 1)
		p.pos++
		return n, nil
	case isLetter(c):
		p.pos++
		return p.letter(c)
	case c == '\\':
		return p.command()
	}
	return nil, fmt.Errorf("missing argument at offset %d: %w", p.pos, errParse)
}

func (p *parser) command() (*node, error) {
	cmd := p.cmdAt()
	if cmd == "" {
		return nil, fmt.Errorf("bad command at offset %d: %w", p.pos, errParse)
	}
	p.pos += 1 + len(cmd)
	switch {
	case cmd == "frac" || cmd == "cfrac":
		return p.twoArgs(opDiv)
	case cmd == "binom":
		return p.twoArgs(opBinom)
	case cmd == "sqrt":
		idx := &node{op: opNum, val: big.NewRat(2, 1)}
		if p.peek() == '[' {
			p.pos++
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.peek() != ']' {
				return nil, fmt.Errorf("missing ']' at offset %d: %w", p.pos, errParse)
			}
			p.pos++
			idx = x
		}
		x, err := p.arg()
		if err != nil {
			return nil, err
		}
		return p.mk(opRoot, idx, x)
	case cmd == "pi" || cmd == "infty":
		n, err := p.mk(opConst)
		if err != nil {
			return nil, err
		}
		n.name = cmd
		return n, nil
	case greek[cmd]:
		n, err := p.mk(opVar)
		if err != nil {
			return nil, err
		}
		n.name = `\` + cmd
		return n, nil
	case funcs[cmd] != nil:
		return p.function(cmd)
	case cmd == "sum" || cmd == "prod":
		return p.bigOp(cmd)
	}
	return nil, fmt.Errorf("unknown command \\%s at offset %d: %w", cmd, p.pos, errParse)
}

// function parses \sin x, \sin^2 x, \log_2 8, \ln(x+1).
func (p *parser) function(name string) (*node, error) {
	var pow, base *node
	var err error
	for i := 0; i < 2; i++ {
		switch p.peek() {
		case '^':
			p.pos++
			if pow, err = p.exponent(); err != nil {
				return nil, err
			}
		case '_':
			p.pos++
			if base, err = p.arg(); err != nil {
				return nil, err
			}
		}
	}
	var x *node
	if c := p.peek(); c == '(' {
		x, err = p.atom()
	} else {
		// \sin 2x reads as sin(2x): a product of factors without + or -.
		x, err = p.factors()
	}
	if err != nil {
		return nil, err
	}
	f, err := p.mk(opFunc, x)
	if err != nil {
		return nil, err
	}
	f.name = name
	if base != nil {
		// log_b x = ln x / ln b
		lb, err := p.mk(opFunc, base)
		if err != nil {
			return nil, err
		}
		lb.name = "ln"
		f.name = "ln"
		if f, err = p.mk(opDiv, f, lb); err != nil {
			return nil, err
		}
	}
	if pow != nil {
		return p.mk(opPow, f, pow)
	}
	return f, nil
}

// bigOp parses \sum_{k=a}^{b} f and \prod_{k=a}^{b} f. The sum is not
// evaluated: approx gives it a fingerprint of its bounds and summand, so two
// sums compare equal when they have the same bounds and equal summands (the
// factors of "F_k F_{n-k-1}" may come in any order).
func (p *parser) bigOp(name string) (*node, error) {
	zero := &node{op: opNum, val: new(big.Rat)}
	lo, hi := zero, zero
	for i := 0; i < 2; i++ {
		switch p.peek() {
		case '_':
			p.pos++
			raw, err := p.rawArg()
			if err != nil {
				return nil, err
			}
			if _, v, ok := strings.Cut(raw, "="); ok {
				raw = v // the index name is bound: only the bound counts
			}
			sub := &parser{s: raw, depth: p.depth, nodes: p.nodes}
			if lo, err = sub.expr(); err != nil {
				return nil, err
			}
			if sub.space(); sub.pos != len(sub.s) {
				return nil, fmt.Errorf("bad lower bound %q: %w", raw, errParse)
			}
			p.nodes = sub.nodes
		case '^':
			p.pos++
			var err error
			if hi, err = p.exponent(); err != nil {
				return nil, err
			}
		}
	}
	// The summand is a product of factors, as for \sin 2x.
	x, err := p.factors()
	if err != nil {
		return nil, err
	}
	n, err := p.mk(opSum, lo, hi, x)
	if err != nil {
		return nil, err
	}
	n.name = name
	return n, nil
}

// vars collects the variable names in n.
func vars(n *node, into map[string]bool) {
	if n == nil {
		return
	}
	if n.op == opVar {
		into[n.name] = true
	}
	for _, k := range n.kids {
		vars(k, into)
	}
}

// hasInf reports whether n mentions \infty.
func hasInf(n *node) bool {
	if n == nil {
		return false
	}
	if n.op == opConst && n.name == "infty" {
		return true
	}
	for _, k := range n.kids {
		if hasInf(k) {
			return true
		}
	}
	return false
}

// exact evaluates n as an exact rational; ok is false when n has variables,
// irrational parts, or would exceed the size limits.
func exact(n *node) (*big.Rat, bool) {
	if n == nil {
		return nil, false
	}
	var r *big.Rat
	switch n.op {
	case opNum:
		return n.val, true
	case opNeg:
		x, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		r = new(big.Rat).Neg(x)
	case opAdd, opSub, opMul, opDiv:
		a, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		b, ok := exact(n.kids[1])
		if !ok {
			return nil, false
		}
		r = new(big.Rat)
		switch n.op {
		case opAdd:
			r.Add(a, b)
		case opSub:
			r.Sub(a, b)
		case opMul:
			r.Mul(a, b)
		case opDiv:
			if b.Sign() == 0 {
				return nil, false
			}
			r.Quo(a, b)
		}
	case opPow:
		a, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		b, ok := exact(n.kids[1])
		if !ok {
			return nil, false
		}
		r, ok = ratPow(a, b)
		if !ok {
			return nil, false
		}
	case opRoot:
		k, ok := exact(n.kids[0])
		if !ok || !k.IsInt() || k.Sign() <= 0 {
			return nil, false
		}
		x, ok := exact(n.kids[1])
		if !ok {
			return nil, false
		}
		r, ok = ratPow(x, new(big.Rat).Inv(k))
		if !ok {
			return nil, false
		}
	case opAbs:
		x, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		r = new(big.Rat).Abs(x)
	case opFact:
		x, ok := exact(n.kids[0])
		if !ok || !x.IsInt() || x.Sign() < 0 || x.Num().Cmp(big.NewInt(maxFactArg)) > 0 {
			return nil, false
		}
		f := new(big.Int).MulRange(1, x.Num().Int64())
		r = new(big.Rat).SetInt(f)
	case opBinom:
		a, ok := exact(n.kids[0])
		if !ok || !a.IsInt() || a.Sign() < 0 || a.Num().Cmp(big.NewInt(10000)) > 0 {
			return nil, false
		}
		b, ok := exact(n.kids[1])
		if !ok || !b.IsInt() || b.Sign() < 0 || b.Cmp(a) > 0 {
			return nil, false
		}
		r = new(big.Rat).SetInt(new(big.Int).Binomial(a.Num().Int64(), b.Num().Int64()))
	default:
		return nil, false
	}
	if r.Num().BitLen() > maxBits || r.Denom().BitLen() > maxBits {
		return nil, false
	}
	return r, true
}

// ratPow computes a^b exactly when b is an integer or a is a perfect power
// for b's denominator.
func ratPow(a, b *big.Rat) (*big.Rat, bool) {
	if !b.Num().IsInt64() || !b.Denom().IsInt64() {
		return nil, false
	}
	p, q := b.Num().Int64(), b.Denom().Int64()
	if q > 64 || p > maxExp || p < -maxExp {
		return nil, false
	}
	if a.Sign() == 0 {
		if p <= 0 {
			return nil, false
		}
		return new(big.Rat), true
	}
	neg := p < 0
	if neg {
		p = -p
	}
	bits := int64(a.Num().BitLen() + a.Denom().BitLen())
	if bits*p/q > 2*maxBits {
		return nil, false
	}
	base := a
	if q > 1 {
		if a.Sign() < 0 && q%2 == 0 {
			return nil, false
		}
		num, ok := intRoot(new(big.Int).Abs(a.Num()), q)
		if !ok {
			return nil, false
		}
		den, ok := intRoot(a.Denom(), q)
		if !ok {
			return nil, false
		}
		base = new(big.Rat).SetFrac(num, den)
		if a.Sign() < 0 {
			base.Neg(base)
		}
	}
	num := new(big.Int).Exp(base.Num(), big.NewInt(p), nil)
	den := new(big.Int).Exp(base.Denom(), big.NewInt(p), nil)
	r := new(big.Rat).SetFrac(num, den)
	if neg {
		r.Inv(r)
	}
	return r, true
}

// intRoot returns the exact q-th root of x >= 0, if it is an integer.
func intRoot(x *big.Int, q int64) (*big.Int, bool) {
	if q == 1 {
		return x, true
	}
	if q == 2 {
		s := new(big.Int).Sqrt(x)
		return s, new(big.Int).Mul(s, s).Cmp(x) == 0
	}
	// Binary search over [0, 2^(bits/q+1)].
	lo, hi := big.NewInt(0), new(big.Int).Lsh(big.NewInt(1), uint(x.BitLen())/uint(q)+1)
	one := big.NewInt(1)
	for lo.Cmp(hi) <= 0 {
		mid := new(big.Int).Add(lo, hi)
		mid.Rsh(mid, 1)
		pw := new(big.Int).Exp(mid, big.NewInt(q), nil)
		switch pw.Cmp(x) {
		case 0:
			return mid, true
		case -1:
			lo = mid.Add(mid, one)
		default:
			hi = mid.Sub(mid, one)
		}
	}
	return nil, false
}

// approx evaluates n in complex floating point with the given values for
// its variables.
func approx(n *node, env map[string]complex128) complex128 {
	switch n.op {
	case opNum:
		f, _ := n.val.Float64()
		return complex(f, 0)
	case opVar:
		return env[n.name]
	case opConst:
		switch n.name {
		case "pi":
			return complex(math.Pi, 0)
		case "e":
			return complex(math.E, 0)
		case "i":
			return complex(0, 1)
		default:
			return complex(math.Inf(1), 0)
		}
	case opNeg:
		x := approx(n.kids[0], env)
		if imag(x) == 0 {
			return complex(-real(x), 0) // keep +0 imaginary: ln(-1) = iπ
		}
		return -x
	case opAdd:
		return approx(n.kids[0], env) + approx(n.kids[1], env)
	case opSub:
		return approx(n.kids[0], env) - approx(n.kids[1], env)
	case opMul:
		return approx(n.kids[0], env) * approx(n.kids[1], env)
	case opDiv:
		b := approx(n.kids[1], env)
		if b == 0 {
			return cmplx.NaN()
		}
		return approx(n.kids[0], env) / b
	case opPow:
		return cpow(approx(n.kids[0], env), approx(n.kids[1], env))
	case opRoot:
		k := approx(n.kids[0], env)
		x := approx(n.kids[1], env)
		if k == 0 {
			return cmplx.NaN()
		}
		if imag(x) == 0 && real(x) < 0 && imag(k) == 0 && math.Mod(real(k), 2) == 1 {
			// odd root of a negative real is the real root
			return complex(-math.Pow(-real(x), 1/real(k)), 0)
		}
		return cpow(x, 1/k)
	case opAbs:
		return complex(cmplx.Abs(approx(n.kids[0], env)), 0)
	case opFact:
		x := approx(n.kids[0], env)
		g, _ := math.Lgamma(real(x) + 1)
		return complex(math.Round(math.Exp(g)), 0)
	case opBinom:
		a, b := real(approx(n.kids[0], env)), real(approx(n.kids[1], env))
		ga, _ := math.Lgamma(a + 1)
		gb, _ := math.Lgamma(b + 1)
		gc, _ := math.Lgamma(a - b + 1)
		return complex(math.Round(math.Exp(ga-gb-gc)), 0)
	case opFunc:
		if f := funcs[n.name]; f != nil {
			return f(approx(n.kids[0], env))
		}
	case opSum:
		// A fingerprint, not the value (see bigOp).
		lo, hi, body := approx(n.kids[0], env), approx(n.kids[1], env), approx(n.kids[2], env)
		if n.name == "prod" {
			return cmplx.Exp(body/7) + 0.5772156649*lo + 0.9189385332*hi
		}
		return body + 0.5772156649*lo + 0.9189385332*hi
	}
	return cmplx.NaN()
}

// cpow is a^b that stays real for real bases with integer exponents.
func cpow(a, b complex128) complex128 {
	// -0 imaginary parts (from negation) would pick the wrong branch: √-1 = -i.
	if imag(a) == 0 {
		a = complex(real(a), 0)
	}
	if imag(b) == 0 {
		b = complex(real(b), 0)
	}
	if imag(a) == 0 && imag(b) == 0 && (real(a) >= 0 || real(b) == math.Trunc(real(b))) {
		return complex(math.Pow(real(a), real(b)), 0)
	}
	if a == 0 {
		if real(b) > 0 {
			return 0
		}
		return cmplx.NaN()
	}
	return cmplx.Pow(a, b)
}

// factors parses a product of factors written side by side, without + or
// -: the argument of \sin 2x, the summand of a \sum.
func (p *parser) factors() (*node, error) {
	x, err := p.unary()
	for err == nil && p.startsAtom() {
		var y *node
		if y, err = p.unary(); err == nil {
			x, err = p.mk(opMul, x, y)
		}
	}
	return x, err
}
