package synth

import (
	"fmt"
	"strings"
)

// A graph is the arithmetic of one problem. Leaves are numbers stated in the
// question; every other node is an n-ary sum of signed terms, an n-ary
// product, or an exact division. A sum or product of t terms takes t-1 binary
// steps in any order, and independent nodes can be worked in any order: these
// are the many valid decompositions of one problem.
type graph struct {
	nodes []node
	root  int
	// style says how a step is written: bare, named or symbolic.
	style stepStyle
}

// stepStyle is how a solution line is written.
type stepStyle int

const (
	// bare: "26 + 12 = 38".
	bare stepStyle = iota
	// named: labelled by the quantity it computes, "Lea = 26 + 12 = 38", so
	// that a step says what it computes.
	named
	// symbolic: named, and each operand that is a computed quantity named
	// too before its value, "Lea = Tom + 12 = 26 + 12 = 38". The relation
	// is copied from the question's sentence ("Lea has 12 more than Tom")
	// and the value from the line that computed Tom, so each part of a step
	// is one lookup for a model writing it and for one checking it.
	symbolic
)

type nodeKind int

const (
	leaf nodeKind = iota
	sum
	prod
	div
)

type node struct {
	kind  nodeKind
	val   int64
	terms []term // sum, prod: operands; div: numerator, denominator
	// label is what the quantity is: a person's name, "total", "more" or
	// "each"; a leaf has one only when it is a person's stated count.
	label string
}

type term struct {
	node int
	neg  bool // sum only: subtracted
}

func (g *graph) add(n node) int {
	g.nodes = append(g.nodes, n)
	return len(g.nodes) - 1
}

func (g *graph) leaf(v int64) int { return g.add(node{kind: leaf, val: v}) }

// compose adds an inner node and computes its value.
func (g *graph) compose(k nodeKind, terms ...term) (int, error) {
	n := node{kind: k, terms: terms}
	switch k {
	case sum:
		for _, t := range terms {
			if t.neg {
				n.val -= g.nodes[t.node].val
			} else {
				n.val += g.nodes[t.node].val
			}
		}
	case prod:
		n.val = 1
		for _, t := range terms {
			n.val *= g.nodes[t.node].val
		}
	case div:
		a, b := g.nodes[terms[0].node].val, g.nodes[terms[1].node].val
		if b == 0 || a%b != 0 {
			return 0, fmt.Errorf("%d does not divide %d exactly", b, a)
		}
		n.val = a / b
	}
	if n.val < 0 {
		return 0, fmt.Errorf("negative count %d", n.val)
	}
	return g.add(n), nil
}

// name labels node n and the inner nodes only it uses that have no label
// yet (a person's bags, counted before their purchases).
func (g *graph) name(n int, label string) {
	if n < 0 || n >= len(g.nodes) || g.nodes[n].kind == leaf || g.nodes[n].label != "" {
		return
	}
	g.nodes[n].label = label
	for _, t := range g.nodes[n].terms {
		g.name(t.node, label)
	}
}

func plus(n int) term  { return term{node: n} }
func minus(n int) term { return term{node: n, neg: true} }

// build turns a spec into its graph, nested as the story tells it: each
// person's count is its own node. Children are always added before parents.
func (sp *spec) build() (*graph, error) {
	g := &graph{}
	at := make([]int, len(sp.people))
	for i, p := range sp.people {
		var err error
		switch p.kind {
		case kindGiven, kindBags:
			at[i] = g.leaf(p.n)
			if p.kind == kindBags {
				at[i], err = g.compose(prod, plus(at[i]), plus(g.leaf(p.each)))
			}
			if err == nil && len(p.events) > 0 {
				terms := []term{plus(at[i])}
				cur := g.nodes[at[i]].val
				for _, e := range p.events {
					if e.gain() {
						terms, cur = append(terms, plus(g.leaf(e.k))), cur+e.k
					} else {
						terms, cur = append(terms, minus(g.leaf(e.k))), cur-e.k
					}
					if cur < 0 {
						return nil, fmt.Errorf("synth: %s: %s %d leaves a negative count", p.name, e.verb, e.k)
					}
				}
				at[i], err = g.compose(sum, terms...)
			}
		case kindMore:
			at[i], err = g.compose(sum, plus(at[p.ref]), plus(g.leaf(p.n)))
		case kindFewer:
			at[i], err = g.compose(sum, plus(at[p.ref]), minus(g.leaf(p.n)))
		case kindTimes:
			at[i], err = g.compose(prod, plus(at[p.ref]), plus(g.leaf(p.n)))
		case kindHalf:
			at[i], err = g.compose(div, plus(at[p.ref]), plus(g.leaf(2)))
		}
		if err != nil {
			return nil, fmt.Errorf("synth: %s: %w", p.name, err)
		}
		if p.kind == kindGiven && len(p.events) == 0 {
			// A stated count is a leaf; its name lets a symbolic step say
			// "Jay = Rob + 14" rather than "7 + 14".
			g.nodes[at[i]].label = p.name
		}
		g.name(at[i], p.name)
	}
	var err error
	who := sp.targets()
	switch sp.ask {
	case askOne:
		g.root = at[who[0]]
	case askTotal:
		terms := make([]term, len(who))
		for i, w := range who {
			terms[i] = plus(at[w])
		}
		g.root, err = g.compose(sum, terms...)
		g.name(g.root, "total")
	case askDiff:
		g.root, err = g.compose(sum, plus(at[who[0]]), minus(at[who[1]]))
		g.name(g.root, "more")
	case askShare:
		x := at[who[0]]
		if len(who) > 1 {
			terms := make([]term, len(who))
			for i, w := range who {
				terms[i] = plus(at[w])
			}
			if x, err = g.compose(sum, terms...); err != nil {
				break
			}
			g.name(x, "total")
		}
		g.root, err = g.compose(div, plus(x), plus(g.leaf(sp.k)))
		g.name(g.root, "each")
	}
	if err != nil {
		return nil, fmt.Errorf("synth: question: %w", err)
	}
	return g, nil
}

// targets lists the persons the question is about.
func (sp *spec) targets() []int {
	if !sp.all {
		return sp.who
	}
	all := make([]int, len(sp.people))
	for i := range all {
		all[i] = i
	}
	return all
}

// flatten merges a product into the product that uses it, and with sums set
// a sum into the sum that uses it, when that is its only use. The merged
// node's steps then mix freely with its parent's ("12 + 8, then + 5 - 3" for
// a total of "had 12, bought 5, sold 3" and 8; "4 * 2, then * 3" for twice
// 3 bags of 4). Every order valid in the nested graph stays valid in the
// flat one. The generator merges products only, which reads naturally; the
// verifier merges both.
func (g *graph) flatten(sums bool) *graph {
	h := &graph{nodes: make([]node, len(g.nodes)), root: g.root}
	uses := make([]int, len(g.nodes))
	for i, n := range g.nodes {
		h.nodes[i] = n
		h.nodes[i].terms = append([]term(nil), n.terms...)
		for _, t := range n.terms {
			uses[t.node]++
		}
	}
	// Children come before parents, so one pass in index order flattens
	// chains completely.
	for i := range h.nodes {
		n := &h.nodes[i]
		if n.kind != prod && (n.kind != sum || !sums) {
			continue
		}
		var out []term
		for _, t := range n.terms {
			c := h.nodes[t.node]
			if c.kind != n.kind || uses[t.node] != 1 {
				out = append(out, t)
				continue
			}
			for _, ct := range c.terms {
				out = append(out, term{node: ct.node, neg: ct.neg != t.neg})
			}
		}
		n.terms = out
	}
	return h
}

// steps is the number of binary steps a full solution takes.
func (g *graph) steps() int {
	total := 0
	for _, i := range g.reachable() {
		switch n := g.nodes[i]; n.kind {
		case sum, prod:
			total += len(n.terms) - 1
		case div:
			total++
		}
	}
	return total
}

// reachable lists the nodes the root depends on, root included.
func (g *graph) reachable() []int {
	seen := make([]bool, len(g.nodes))
	var out []int
	var walk func(int)
	walk = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		out = append(out, i)
		for _, t := range g.nodes[i].terms {
			walk(t.node)
		}
	}
	walk(g.root)
	return out
}

// state is how far a solution has got: which nodes are finished and what
// terms each unfinished node has left. A term either waits for a child node
// (src >= 0, usable once the child is done) or is a value computed by an
// earlier step (src < 0).
type state struct {
	done  []bool
	terms [][]tv
}

type tv struct {
	src int
	val int64
	neg bool
}

func (g *graph) start() *state {
	st := &state{done: make([]bool, len(g.nodes)), terms: make([][]tv, len(g.nodes))}
	for i, n := range g.nodes {
		if n.kind == leaf {
			st.done[i] = true
		}
	}
	for _, i := range g.reachable() {
		n := g.nodes[i]
		if n.kind == leaf {
			continue
		}
		for _, t := range n.terms {
			st.terms[i] = append(st.terms[i], tv{src: t.node, val: g.nodes[t.node].val, neg: t.neg})
		}
	}
	return st
}

func (st *state) usable(t tv) bool { return t.src < 0 || st.done[t.src] }

func (st *state) clone() *state {
	c := &state{done: append([]bool(nil), st.done...), terms: make([][]tv, len(st.terms))}
	for i, ts := range st.terms {
		if ts != nil {
			c.terms[i] = append([]tv(nil), ts...)
		}
	}
	return c
}

func (st *state) key() string {
	var b strings.Builder
	for i, ts := range st.terms {
		if len(ts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%d:", i)
		for _, t := range ts {
			fmt.Fprintf(&b, "%d/%d/%t,", t.src, t.val, t.neg)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// move is one binary step "x op y = z" on node n, combining its terms i and
// j (i < j) into one term of sign neg. Unnatural moves are valid algebra the
// generator does not write, such as "15 - 12 = 3" for "+12 ... -15", or
// "8 + 8" for "8 * 2".
type move struct {
	n, i, j int
	xi, yi  int // the terms x and y came from (indexes into the state's terms[n])
	op      byte
	x, y, z int64
	neg     bool
	natural bool
}

func (m move) String() string { return fmt.Sprintf("%d %c %d = %d", m.x, m.op, m.y, m.z) }

// step writes move m, made in state st after the lines prev, as a solution
// line in g's style.
func (g *graph) step(st *state, prev []string, m move) string {
	label := g.nodes[m.n].label
	if g.style == bare || label == "" {
		return m.String()
	}
	if g.style == symbolic {
		ts := st.terms[m.n]
		x, y := g.symbol(m.n, ts[m.xi], prev), g.symbol(m.n, ts[m.yi], prev)
		if x != "" || y != "" {
			if x == "" {
				x = itoa(m.x)
			}
			if y == "" {
				y = itoa(m.y)
			}
			return fmt.Sprintf("%s = %s %c %s = %s", label, x, m.op, y, m)
		}
	}
	return label + " = " + m.String()
}

// symbol names term t of node n by the quantity its value is: the node's
// own label for a partial result, the label of a finished inner node, the
// person whose count the question states. It returns "" for other numbers
// stated in the question, and for a value that is not the latest line of
// its label (two partial totals added together): those are written as
// numbers, so that a name always means the last line that computed it.
func (g *graph) symbol(n int, t tv, prev []string) string {
	label := g.nodes[n].label
	if t.src >= 0 {
		if g.nodes[t.src].kind == leaf {
			return g.nodes[t.src].label // a person's stated count, or ""
		}
		label = g.nodes[t.src].label
	}
	for i := len(prev) - 1; i >= 0; i-- {
		if strings.HasPrefix(prev[i], label+" = ") {
			if strings.HasSuffix(prev[i], " = "+itoa(t.val)) {
				return label
			}
			break
		}
	}
	return ""
}

// moves lists the steps possible in state st; with natural set, only those
// the generator writes.
func (g *graph) moves(st *state, natural bool) []move {
	var out []move
	for n, ts := range st.terms {
		if len(ts) < 2 || st.done[n] {
			continue
		}
		if g.nodes[n].kind == div {
			if st.usable(ts[0]) && st.usable(ts[1]) {
				out = append(out, move{n: n, i: 0, j: 1, xi: 0, yi: 1, op: '/', x: ts[0].val, y: ts[1].val, z: ts[0].val / ts[1].val, natural: true})
			}
			continue
		}
		for i := range ts {
			if !st.usable(ts[i]) {
				continue
			}
			for j := i + 1; j < len(ts); j++ {
				if !st.usable(ts[j]) {
					continue
				}
				a, b := ts[i], ts[j]
				m := move{n: n, i: i, j: j, xi: i, yi: j, natural: true}
				if g.nodes[n].kind == prod {
					m.op, m.x, m.y, m.z = '*', a.val, b.val, a.val*b.val
					out = append(out, m)
					if !natural {
						for _, p := range [][2]int64{{a.val, b.val}, {b.val, a.val}} {
							if p[1] == 2 {
								out = append(out, move{n: n, i: i, j: j, op: '+', x: p[0], y: p[0], z: 2 * p[0]})
							}
						}
					}
					continue
				}
				switch {
				case a.neg == b.neg:
					m.op, m.x, m.y, m.z, m.neg = '+', a.val, b.val, a.val+b.val, a.neg
				default:
					p, q := a, b
					if p.neg {
						p, q = q, p
						m.xi, m.yi = j, i
					}
					m.op = '-'
					if p.val >= q.val {
						m.x, m.y, m.z = p.val, q.val, p.val-q.val
					} else {
						m.x, m.y, m.z, m.neg, m.natural = q.val, p.val, q.val-p.val, true, false
						m.xi, m.yi = m.yi, m.xi
					}
				}
				if m.natural || !natural {
					out = append(out, m)
				}
				if !natural && m.op == '-' && m.z == 0 {
					// A zero may stand for "+0" or "-0": in a sum merged
					// under a minus the generator's "+0" is a "-0", and the
					// sign decides whether it is later added or subtracted.
					m.neg, m.natural = !m.neg, false
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// apply returns the state after move m.
func (g *graph) apply(st *state, m move) *state {
	c := st.clone()
	ts := c.terms[m.n]
	ts[m.i] = tv{src: -1, val: m.z, neg: m.neg}
	ts = append(ts[:m.j], ts[m.j+1:]...)
	c.terms[m.n] = ts
	if len(ts) == 1 && (!ts[0].neg || ts[0].val == 0) {
		c.done[m.n] = true
	}
	return c
}

// walk writes one solution, choosing uniformly among the natural moves.
func (g *graph) walk(r *rng) []string {
	var steps []string
	for st := g.start(); !st.done[g.root]; {
		ms := g.moves(st, true)
		if len(ms) == 0 {
			panic("synth: walk: no move before the root is done") // natural moves never dead-end; see moves
		}
		m := ms[r.intn(len(ms))]
		steps = append(steps, g.step(st, steps, m))
		st = g.apply(st, m)
	}
	return steps
}

// orders enumerates solutions depth first, stopping after limit; complete
// says whether all were found.
func (g *graph) orders(limit int) (out [][]string, complete bool) {
	seen := map[string]bool{}
	var path []string
	budget := 20 * limit // leaves visited, duplicates included
	var rec func(st *state) bool
	rec = func(st *state) bool {
		if st.done[g.root] {
			budget--
			k := strings.Join(path, "\n")
			if !seen[k] {
				seen[k] = true
				out = append(out, append([]string(nil), path...))
			}
			return len(out) < limit && budget > 0
		}
		for _, m := range g.moves(st, true) {
			path = append(path, g.step(st, path, m))
			ok := rec(g.apply(st, m))
			path = path[:len(path)-1]
			if !ok {
				return false
			}
		}
		return true
	}
	complete = rec(g.start())
	return out, complete
}
