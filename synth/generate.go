// Package synth generates pareto's synthetic reasoning task: short templated
// word problems about people counting objects, solved in 1 to 6 binary
// arithmetic steps, with a word-level vocabulary in which every digit is one
// token. It is built for tiny self-trained models: sums and products can be
// worked in any order and independent quantities in any interleaving, so a
// problem has many valid solutions and sampling explores different paths.
//
// Besides the generator it holds the exact step verifier (an oracle process
// reward), the answer checker, the fixed test set and the tokenisation rule.
package synth

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	"github.com/pareto-llm/pareto"
)

// Problem is one generated word problem with a worked solution.
type Problem struct {
	ID       string
	Level    int      // 1..5 difficulty
	Question string   // the word problem
	Steps    []string // one worked solution, one binary step per line: "5 + 3 = 8"
	Answer   int64    // final answer
	Solution string   // Steps joined by "\n" plus "\n#### <answer>" (GSM8K style)
}

// Dataset is the dataset name AsQuestion stamps on questions.
const Dataset = "synth"

// AsQuestion converts p into the shared question type, with the worked
// solution as a GSM8K-style reference.
func (p Problem) AsQuestion() pareto.Question {
	return pareto.Question{ID: p.ID, Dataset: Dataset, Text: p.Question, Reference: p.Solution,
		Format: pareto.FormatGSM8K, Level: p.Level}
}

// Difficulty by level (index 1..5): the largest stated number, the largest
// single-digit factor or divisor, and the largest other factor of a product.
var (
	maxNum    = [...]int64{0, 10, 20, 30, 50, 99}
	maxFactor = [...]int64{0, 3, 4, 5, 6, 9}
	maxMulArg = [...]int64{0, 10, 12, 15, 20, 25}
)

const (
	maxValue = 999 // every count and every intermediate result stays below 1000
	maxWords = 70  // words (whitespace-separated) in a question
	// heldoutMod splits the question space: a question whose FNV-1a hash is
	// 0 mod heldoutMod belongs to the test set and is never generated from
	// a training seed. This makes train and test disjoint by construction,
	// however long the training stream.
	heldoutMod = 50
	// testSeedBase starts the test seeds: seeds in [0, 2^62) are training
	// seeds, seeds in [2^62, 2^63) are test seeds. TestSet uses seed
	// 2^62 + level<<32 + j for its j-th draw at a level.
	testSeedBase = int64(1) << 62
)

// Heldout reports whether a question text belongs to the held-out (test)
// part of the question space; training seeds never produce such a question.
func Heldout(question string) bool {
	h := fnv.New64a()
	h.Write([]byte(question))
	return h.Sum64()%heldoutMod == 0
}

// TrainSeed maps i to the i-th training seed, i mod 2^62. Training seeds
// ([0, 2^62)) and test seeds ([2^62, 2^63)) never overlap.
func TrainSeed(i int64) int64 { return i & (testSeedBase - 1) }

// StepsFor is the number of steps a level's solutions take: the level
// itself, and 5 or 6 at level 5.
func StepsFor(level int) (lo, hi int) {
	if level >= 5 {
		return 5, 6
	}
	return level, level
}

// Generate returns the problem for (seed, level); the same pair always gives
// the same problem. level is clamped to 1..5. Seeds at or above 2^62 give
// held-out (test) questions, all others training questions (see Heldout).
// The reference solution is one valid step order drawn at random.
func Generate(seed int64, level int) Problem {
	level = min(max(level, 1), 5)
	r := newRNG(seed, uint64(level))
	test := seed >= testSeedBase
	for {
		lo, hi := StepsFor(level)
		steps := lo + r.intn(hi-lo+1)
		sp, g := randomSpec(r, level, steps)
		q := sp.render()
		if Heldout(q) != test || len(strings.Fields(q)) > maxWords {
			continue
		}
		sol := g.walk(r)
		ans := g.nodes[g.root].val
		return Problem{
			ID:       fmt.Sprintf("L%d-%d", level, seed),
			Level:    level,
			Question: q,
			Steps:    sol,
			Answer:   ans,
			Solution: solution(sol, ans),
		}
	}
}

func solution(steps []string, ans int64) string {
	return strings.Join(steps, "\n") + "\n#### " + itoa(ans)
}

// Gen is a stream of training problems.
type Gen struct{ r *rng }

// Generator starts a stream of training problems; the same seed gives the
// same stream. Every problem comes from a training seed.
func Generator(seed int64) *Gen { return &Gen{r: newRNG(seed, 0x67656e)} }

// Next returns the next problem at level (clamped to 5); a level of 0 or
// less draws the level uniformly from 1..5.
func (g *Gen) Next(level int) Problem {
	seed := TrainSeed(int64(g.r.next() >> 1))
	if level <= 0 {
		level = 1 + g.r.intn(5)
	}
	return Generate(seed, level)
}

var (
	testOnce sync.Once
	testSet  []Problem
)

// TestSetPerLevel is the number of test problems at each level.
const TestSetPerLevel = 200

// TestSet returns the fixed test set: 200 problems at each level 1..5, in
// level order, with IDs "test-L<level>-<nnn>". Problem j of a level comes
// from the test seeds 2^62 + level<<32 + 0, 1, 2, ..., skipping a question
// already taken. It is computed on first use and the same on every machine.
func TestSet() []Problem {
	testOnce.Do(func() {
		seen := map[string]bool{}
		for level := 1; level <= 5; level++ {
			for j, n := int64(0), 0; n < TestSetPerLevel; j++ {
				p := Generate(testSeedBase+int64(level)<<32+j, level)
				if seen[p.Question] {
					continue
				}
				seen[p.Question] = true
				p.ID = fmt.Sprintf("test-L%d-%03d", level, n)
				testSet = append(testSet, p)
				n++
			}
		}
	})
	out := make([]Problem, len(testSet))
	for i, p := range testSet {
		p.Steps = append([]string(nil), p.Steps...)
		out[i] = p
	}
	return out
}

// Solutions returns up to k distinct valid solutions of p (each in the
// Solution format: steps, then "#### answer"), in an order drawn from seed.
// Fewer than k come back only when the problem has fewer orderings; none
// when p's question is not one this package generates.
func Solutions(p Problem, k int, seed int64) []string { return solutions(p, k, seed, bare) }

// NamedSolutions is Solutions with every step labelled by the quantity it
// works on: the person whose count it is, "total", "more" (a difference)
// or "each" (a share), as in "Lea = 26 + 12 = 38". The label ties a step to
// the sentence its numbers come from, for a model writing it and for one
// checking it; the verifier accepts labelled and bare steps alike.
func NamedSolutions(p Problem, k int, seed int64) []string { return solutions(p, k, seed, named) }

// SymbolicSolutions is NamedSolutions with each operand that is a computed
// quantity named before its value: "Lea = Tom + 12 = 26 + 12 = 38" for
// "Lea has 12 more than Tom", "total = total + Eva = 64 + 18 = 82" for a
// running total. Numbers stated in the question stand for themselves; a
// step of two stated numbers is written as in NamedSolutions. The verifier
// judges the numbers ("26 + 12 = 38") and ignores the names.
func SymbolicSolutions(p Problem, k int, seed int64) []string {
	return solutions(p, k, seed, symbolic)
}

func solutions(p Problem, k int, seed int64, style stepStyle) []string {
	sp, err := parseSpec(p.Question)
	if err != nil || k <= 0 {
		return nil
	}
	g, err := sp.generatorGraph()
	if err != nil {
		return nil
	}
	g.style = style
	ans := g.nodes[g.root].val
	r := newRNG(seed, 0x736f6c)
	var out []string
	seen := map[string]bool{}
	// Random walks find k distinct orders fast when there are many; a
	// problem with few orders is enumerated instead.
	for try := 0; try < 8*k && len(out) < k; try++ {
		s := solution(g.walk(r), ans)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == k {
		return out
	}
	all, _ := g.orders(4 * k)
	for i := len(all) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		all[i], all[j] = all[j], all[i]
	}
	out = out[:0]
	for _, steps := range all {
		if len(out) == k {
			break
		}
		out = append(out, solution(steps, ans))
	}
	return out
}

// generatorGraph is the graph solutions are written from: products merged,
// sums nested as the story tells them.
func (sp *spec) generatorGraph() (*graph, error) {
	g, err := sp.build()
	if err != nil {
		return nil, err
	}
	return g.flatten(false), nil
}

// randomSpec draws a problem of the given level with exactly steps steps,
// and its nested graph.
func randomSpec(r *rng, level, steps int) (*spec, *graph) {
	for {
		sp := structure(r, steps)
		if sp == nil {
			continue
		}
		for try := 0; try < 20; try++ {
			if !sp.fill(r, level) {
				continue
			}
			g, err := sp.generatorGraph()
			if err != nil || !g.bounded() || g.steps() != steps {
				continue
			}
			// Two in three problems with a single step order are redrawn,
			// so most problems can be solved along several paths.
			if all, _ := g.orders(2); len(all) == 1 && steps > 1 && r.intn(3) != 0 {
				break
			}
			return sp, g
		}
	}
}

// structure draws who is in the story and how each count is stated, without
// numbers; nil when the draw does not take exactly steps steps or has a
// person the answer does not need.
func structure(r *rng, steps int) *spec {
	np := 1 + r.intn(min(4, steps+1))
	sp := &spec{obj: pick(r, objects)}
	sp.people = make([]person, 0, np)
	var refsBuf [4]int
	for i := 0; i < np; i++ {
		p := person{name: pick(r, names)}
		for sp.named(p.name) {
			p.name = pick(r, names)
		}
		refs := refsBuf[:0] // a count that changes over time is never compared with
		for j := 0; j < i; j++ {
			if len(sp.people[j].events) == 0 {
				refs = append(refs, j)
			}
		}
		switch x := r.intn(10); {
		case len(refs) > 0 && x < 6:
			p.kind = []kind{kindMore, kindFewer, kindTimes, kindHalf}[r.intn(4)]
			p.ref = pick(r, refs)
		case x < 8:
			p.kind = kindGiven
		default:
			p.kind, p.cont = kindBags, pick(r, containers)
		}
		if p.kind <= kindBags && r.intn(4) == 0 {
			p.events = make([]event, 1+r.intn(2))
		}
		sp.people = append(sp.people, p)
	}
	last := np - 1
	switch x := r.intn(10); {
	case x < 3:
		sp.ask, sp.who = askOne, []int{last}
	case x < 6:
		if np < 2 {
			return nil
		}
		sp.ask, sp.all = askTotal, true
		if np > 2 && r.intn(3) == 0 {
			var who []int
			for i := range np {
				if r.intn(2) == 0 {
					who = append(who, i)
				}
			}
			if len(who) < 2 {
				return nil
			}
			if len(who) < np {
				sp.all, sp.who = false, who
			}
		}
	case x < 8:
		if np < 2 {
			return nil
		}
		a := r.intn(np)
		b := (a + 1 + r.intn(np-1)) % np
		sp.ask, sp.who = askDiff, []int{a, b}
		if direct(sp.people[a], b) || direct(sp.people[b], a) {
			return nil // the answer would just be a number in the question
		}
	default:
		sp.ask, sp.who = askShare, []int{last}
		if np > 1 && r.intn(2) == 0 {
			sp.all, sp.who = true, nil
		}
	}
	// Count the steps and check every person is needed.
	cost := 0
	for _, p := range sp.people {
		if p.kind != kindGiven {
			cost++
		}
		cost += len(p.events)
	}
	who := sp.targets()
	switch sp.ask {
	case askTotal:
		cost += len(who) - 1
	case askDiff:
		cost++
	case askShare:
		cost += len(who)
	}
	if cost != steps {
		return nil
	}
	need := make([]bool, np)
	for _, w := range who {
		need[w] = true
	}
	for i := np - 1; i >= 0; i-- {
		if p := sp.people[i]; need[i] && p.kind >= kindMore {
			need[p.ref] = true
		}
	}
	for _, n := range need {
		if !n {
			return nil
		}
	}
	return sp
}

func (sp *spec) named(name string) bool {
	for _, p := range sp.people {
		if p.name == name {
			return true
		}
	}
	return false
}

func direct(p person, ref int) bool {
	return (p.kind == kindMore || p.kind == kindFewer) && p.ref == ref
}

// fill draws the numbers of a structure for a level; false when the draw
// breaks a constraint (odd count halved, factor too large, no exact share).
func (sp *spec) fill(r *rng, level int) bool {
	m, f, c := maxNum[level], maxFactor[level], maxMulArg[level]
	vals := make([]int64, len(sp.people))
	for i := range sp.people {
		p := &sp.people[i]
		var v int64
		switch p.kind {
		case kindGiven:
			p.n = r.between(2, m)
			v = p.n
		case kindBags:
			p.n, p.each = r.between(2, f), r.between(2, min(m, c))
			v = p.n * p.each
		case kindMore:
			p.n = r.between(2, m)
			v = vals[p.ref] + p.n
		case kindFewer:
			rv := vals[p.ref]
			if rv < 4 {
				return false
			}
			p.n = r.between(2, min(m, rv-2))
			v = rv - p.n
		case kindTimes:
			rv := vals[p.ref]
			if rv > c {
				return false
			}
			p.n = r.between(2, f)
			v = rv * p.n
		case kindHalf:
			if vals[p.ref]%2 != 0 {
				return false
			}
			p.n = 2
			v = vals[p.ref] / 2
		}
		for j := range p.events {
			if v < 4 || r.intn(2) == 0 {
				k := r.between(2, m)
				p.events[j] = event{pick(r, gainVerbs), k}
				v += k
			} else {
				k := r.between(2, min(m, v-2))
				p.events[j] = event{pick(r, lossVerbs), k}
				v -= k
			}
		}
		if v < 1 || v > maxValue {
			return false
		}
		vals[i] = v
	}
	switch sp.ask {
	case askDiff:
		a, b := sp.who[0], sp.who[1]
		if vals[a] == vals[b] {
			return false
		}
		if vals[a] < vals[b] {
			sp.who[0], sp.who[1] = b, a
		}
	case askShare:
		var x int64
		for _, w := range sp.targets() {
			x += vals[w]
		}
		var ks []int64
		for k := int64(2); k <= f; k++ {
			if x%k == 0 && x/k >= 2 {
				ks = append(ks, k)
			}
		}
		if len(ks) == 0 {
			return false
		}
		sp.k = pick(r, ks)
	}
	return true
}

// bounded reports whether every intermediate result of every natural order
// stays in 1..999: node values, and for sums the total of added terms (which
// bounds every partial sum), products being bounded by their value. A sum
// adding and subtracting the same number is refused too, so no step yields 0.
func (g *graph) bounded() bool {
	for _, i := range g.reachable() {
		n := g.nodes[i]
		if n.val > maxValue {
			return false
		}
		if n.kind == sum {
			var pos int64
			for _, t := range n.terms {
				if !t.neg {
					pos += g.nodes[t.node].val
				}
				for _, u := range n.terms {
					if t.neg != u.neg && g.nodes[t.node].val == g.nodes[u.node].val {
						return false // "6 - 6 = 0" steps teach nothing
					}
				}
			}
			if pos > maxValue {
				return false
			}
		}
	}
	return true
}

// Planned is a solution in two parts, as a model that thinks before it
// writes would give it: the plan, one line per step naming what the step
// combines ("Eva = Mia / 2", "total = total + Eva", "Mia = 3 * 4"), and the
// steps in the bare style of Solutions ("12 / 2 = 6"), plan line i for step
// i. The plan is what a step will use, named before it is written: the
// supervised thought of a thinker (train's "think" data).
type Planned struct {
	Plan   []string
	Steps  []string
	Answer int64
}

// Solution is the steps and the answer line, as Solutions writes them.
func (pl Planned) Solution() string { return solution(pl.Steps, pl.Answer) }

// PlannedSolutions is SymbolicSolutions with each line split into its plan
// and its bare step. A line "Eva = Mia / 2 = 12 / 2 = 6" gives the plan
// "Eva = Mia / 2" and the step "12 / 2 = 6"; an unlabelled line "3 * 4 =
// 12" plans "3 * 4".
func PlannedSolutions(p Problem, k int, seed int64) []Planned {
	var out []Planned
	for _, s := range SymbolicSolutions(p, k, seed) {
		lines := strings.Split(s, "\n")
		last := lines[len(lines)-1]
		ans, err := strconv.ParseInt(strings.TrimPrefix(last, "#### "), 10, 64)
		if err != nil || !strings.HasPrefix(last, "#### ") {
			continue // not a solution this package writes
		}
		pl := Planned{Answer: ans}
		for _, l := range lines[:len(lines)-1] {
			parts := strings.Split(l, " = ")
			n := len(parts)
			if n < 2 {
				pl = Planned{}
				break
			}
			pl.Steps = append(pl.Steps, parts[n-2]+" = "+parts[n-1])
			plan := parts[0]
			if n > 2 {
				plan += " = " + parts[1]
			}
			pl.Plan = append(pl.Plan, plan)
		}
		if len(pl.Steps) > 0 {
			out = append(out, pl)
		}
	}
	return out
}
