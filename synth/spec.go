package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// The word lists. Every word a question can contain comes from here or from
// the literal templates in personText and askText; Vocabulary lists them.
var (
	names = []string{"Mia", "Tom", "Ben", "Ava", "Sam", "Leo", "Eva", "Max", "Zoe", "Ian",
		"Amy", "Dan", "Kim", "Joe", "Liz", "Ray", "Ann", "Bob", "Eli", "Ivy",
		"Jay", "Kai", "Lea", "Ned", "Pam", "Rob", "Sue", "Ted", "Una", "Vic"}
	objects = []string{"apples", "pears", "plums", "eggs", "cards", "books", "pens", "coins",
		"shells", "stamps", "marbles", "stickers", "cookies", "cakes", "balls", "toys",
		"flowers", "rocks", "beads", "candies"}
	containers = []string{"bags", "boxes", "packs", "jars", "baskets"}
	gainVerbs  = []string{"bought", "found", "got"}
	lossVerbs  = []string{"sold", "lost", "used"}
	// templateWords are the fixed words of the sentence and prompt templates.
	templateWords = strings.Fields("has had more fewer than times as many half with each " +
		"How does do have now they They in total and shares share them equally among " +
		"friends friend get Question Answer step by directly")
)

// kind says how a person's count is stated.
type kind int

const (
	kindGiven kind = iota // "N has n OBJ."
	kindBags              // "N has a CONT with b OBJ each."
	kindMore              // "N has k more than M."
	kindFewer             // "N has k fewer than M."
	kindTimes             // "N has k times as many as M."
	kindHalf              // "N has half as many as M."
)

// event is one change to a count told in the past tense ("bought 5").
type event struct {
	verb string
	k    int64
}

func (e event) gain() bool { return contains(gainVerbs, e.verb) }

// person is one sentence introducing a person's count.
type person struct {
	name   string
	kind   kind
	n      int64 // given count, number of containers, or the relative constant
	each   int64 // kindBags: objects per container
	cont   string
	ref    int     // relative kinds: the person compared with (an earlier one)
	events []event // kindGiven and kindBags only; the sentence then says "had"
}

// ask is the kind of question asked at the end.
type ask int

const (
	askOne   ask = iota // how many does N have
	askTotal            // how many do they (or N, M and K) have in total
	askDiff             // how many more does N have than M
	askShare            // N (or they) share them among k friends; how many each
)

// spec is the meaning of one problem: the people, their counts and the
// question. Questions are rendered from it and parsed back into it, so the
// verifier needs nothing but the question text.
type spec struct {
	obj    string
	people []person
	ask    ask
	who    []int // askOne, askShare: [i]; askDiff: [more, less]; askTotal: the persons summed
	all    bool  // askTotal, askShare: over every person ("they")
	k      int64 // askShare: number of friends
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (sp *spec) personText(p person) string {
	switch p.kind {
	case kindMore:
		return fmt.Sprintf("%s has %d more than %s.", p.name, p.n, sp.people[p.ref].name)
	case kindFewer:
		return fmt.Sprintf("%s has %d fewer than %s.", p.name, p.n, sp.people[p.ref].name)
	case kindTimes:
		return fmt.Sprintf("%s has %d times as many as %s.", p.name, p.n, sp.people[p.ref].name)
	case kindHalf:
		return fmt.Sprintf("%s has half as many as %s.", p.name, sp.people[p.ref].name)
	}
	base := itoa(p.n) + " " + sp.obj
	if p.kind == kindBags {
		base = fmt.Sprintf("%d %s with %d %s each", p.n, p.cont, p.each, sp.obj)
	}
	if len(p.events) == 0 {
		return p.name + " has " + base + "."
	}
	var b strings.Builder
	b.WriteString(p.name + " had " + base)
	for i, e := range p.events {
		if i == len(p.events)-1 {
			b.WriteString(" and ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(e.verb + " " + itoa(e.k))
	}
	b.WriteString(".")
	return b.String()
}

func (sp *spec) hasEvents(who ...int) bool {
	for _, i := range who {
		if len(sp.people[i].events) > 0 {
			return true
		}
	}
	return false
}

func (sp *spec) askText() string {
	now := ""
	switch sp.ask {
	case askOne:
		if sp.hasEvents(sp.who...) {
			now = " now"
		}
		return fmt.Sprintf("How many %s does %s have%s?", sp.obj, sp.people[sp.who[0]].name, now)
	case askTotal:
		if sp.all {
			return fmt.Sprintf("How many %s do they have in total?", sp.obj)
		}
		return fmt.Sprintf("How many %s do %s have in total?", sp.obj, sp.nameList(sp.who))
	case askDiff:
		if sp.hasEvents(sp.who...) {
			now = " now"
		}
		return fmt.Sprintf("How many more %s does %s have than %s%s?", sp.obj,
			sp.people[sp.who[0]].name, sp.people[sp.who[1]].name, now)
	default:
		subj := "They share"
		if !sp.all {
			subj = sp.people[sp.who[0]].name + " shares"
		}
		return fmt.Sprintf("%s them equally among %d friends. How many %s does each friend get?", subj, sp.k, sp.obj)
	}
}

// nameList writes "A and B" or "A, B and C".
func (sp *spec) nameList(who []int) string {
	var b strings.Builder
	for i, w := range who {
		switch {
		case i == 0:
		case i == len(who)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(sp.people[w].name)
	}
	return b.String()
}

func (sp *spec) render() string {
	parts := make([]string, 0, len(sp.people)+1)
	for _, p := range sp.people {
		parts = append(parts, sp.personText(p))
	}
	return strings.Join(append(parts, sp.askText()), " ")
}

// lex splits text into words, whole numbers and single punctuation marks.
func lex(s string) []string {
	return splitRuns(s, func(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }, isLetter, isDigit)
}

// splitRuns splits s into tokens: a longest run of bytes of one of the
// classes (the first that takes the token's first byte), or else a single
// byte. The bytes skip reports only separate tokens.
func splitRuns(s string, skip func(byte) bool, classes ...func(byte) bool) []string {
	var out []string
	for i := 0; i < len(s); {
		if skip(s[i]) {
			i++
			continue
		}
		j := i + 1
		for _, in := range classes {
			if in(s[i]) {
				for j < len(s) && in(s[j]) {
					j++
				}
				break
			}
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// parser turns a question back into its spec. Sentences are matched against
// the templates exactly; anything else is an error naming the sentence.
type parser struct {
	sp     spec
	byName map[string]int
	shared bool // a share sentence was read
}

// parseSpec parses a question produced by render. A "Question:" prefix and
// anything from an "Answer" line on are ignored, so a whole prompt parses too.
func parseSpec(text string) (*spec, error) {
	text = strings.TrimSpace(text)
	text = strings.TrimPrefix(text, "Question:")
	if i := strings.Index(text, "\nAnswer"); i >= 0 {
		text = text[:i]
	}
	toks := lex(text)
	var sents [][]string
	start := 0
	for i, t := range toks {
		if t == "." || t == "?" {
			sents = append(sents, toks[start:i+1])
			start = i + 1
		}
	}
	if start != len(toks) {
		return nil, fmt.Errorf("synth: parse question: text after the last sentence: %q", strings.Join(toks[start:], " "))
	}
	if len(sents) < 2 {
		return nil, fmt.Errorf("synth: parse question: %d sentences, want a statement and a question", len(sents))
	}
	p := &parser{byName: map[string]int{}}
	for i, s := range sents {
		last := i == len(sents)-1
		if s[len(s)-1] == "?" != last {
			return nil, fmt.Errorf("synth: parse question: sentence %d: only the last sentence may be a question", i+1)
		}
		var err error
		if last {
			err = p.question(s[:len(s)-1])
		} else {
			err = p.statement(s[:len(s)-1])
		}
		if err != nil {
			return nil, fmt.Errorf("synth: parse question: sentence %d %q: %w", i+1, strings.Join(s, " "), err)
		}
	}
	return &p.sp, nil
}

func isName(t string) bool {
	return len(t) > 0 && t[0] >= 'A' && t[0] <= 'Z' && t != "They" && t != "How"
}

func number(t string) (int64, error) {
	if t == "" || !isDigit(t[0]) {
		return 0, fmt.Errorf("want a number, got %q", t)
	}
	return strconv.ParseInt(t, 10, 64)
}

// object checks an object word against the problem's one object type.
func (p *parser) object(t string) error {
	if t == "" || !isLetter(t[0]) {
		return fmt.Errorf("want an object word, got %q", t)
	}
	if p.sp.obj == "" {
		p.sp.obj = t
	} else if p.sp.obj != t {
		return fmt.Errorf("object %q differs from %q", t, p.sp.obj)
	}
	return nil
}

func (p *parser) lookup(name string) (int, error) {
	i, ok := p.byName[name]
	if !ok {
		return 0, fmt.Errorf("%q is not introduced before", name)
	}
	return i, nil
}

func eq(s []string, pat ...string) bool {
	if len(s) != len(pat) {
		return false
	}
	for i, w := range pat {
		if w != "" && s[i] != w {
			return false
		}
	}
	return true
}

func (p *parser) statement(s []string) error {
	if p.shared {
		return fmt.Errorf("statement after the share sentence")
	}
	if len(s) == 7 && eq(s[1:6], "", "them", "equally", "among", "") && eq(s[6:], "friends") {
		k, err := number(s[5])
		if err != nil {
			return err
		}
		p.sp.ask, p.sp.k, p.shared = askShare, k, true
		switch {
		case s[0] == "They" && s[1] == "share":
			p.sp.all = true
			return nil
		case isName(s[0]) && s[1] == "shares":
			i, err := p.lookup(s[0])
			p.sp.who = []int{i}
			return err
		}
		return fmt.Errorf("unknown share sentence")
	}
	if len(s) < 3 || !isName(s[0]) {
		return fmt.Errorf("want a sentence starting with a name")
	}
	if _, dup := p.byName[s[0]]; dup {
		return fmt.Errorf("%q is introduced twice", s[0])
	}
	per := person{name: s[0]}
	var err error
	switch {
	case s[1] == "has" && eq(s[2:], "half", "as", "many", "as", ""):
		per.kind, per.n = kindHalf, 2
		per.ref, err = p.lookup(s[6])
	case s[1] == "has" && len(s) == 6 && (s[3] == "more" || s[3] == "fewer") && s[4] == "than":
		per.kind = kindMore
		if s[3] == "fewer" {
			per.kind = kindFewer
		}
		if per.n, err = number(s[2]); err == nil {
			per.ref, err = p.lookup(s[5])
		}
	case s[1] == "has" && eq(s[3:], "times", "as", "many", "as", ""):
		per.kind = kindTimes
		if per.n, err = number(s[2]); err == nil {
			per.ref, err = p.lookup(s[7])
		}
	case s[1] == "has":
		var rest []string
		rest, err = p.base(&per, s[2:])
		if err == nil && len(rest) > 0 {
			err = fmt.Errorf("unexpected %q", strings.Join(rest, " "))
		}
	case s[1] == "had":
		var rest []string
		if rest, err = p.base(&per, s[2:]); err == nil {
			per.events, err = p.events(rest)
		}
	default:
		err = fmt.Errorf("unknown verb %q", s[1])
	}
	if err != nil {
		return err
	}
	if per.kind >= kindMore && len(p.sp.people[per.ref].events) > 0 {
		return fmt.Errorf("compares with %q whose count changes over time", p.sp.people[per.ref].name)
	}
	p.byName[per.name] = len(p.sp.people)
	p.sp.people = append(p.sp.people, per)
	return nil
}

// base reads "n OBJ" or "a CONT with b OBJ each" and returns what follows.
func (p *parser) base(per *person, s []string) ([]string, error) {
	if len(s) < 2 {
		return nil, fmt.Errorf("want a count")
	}
	n, err := number(s[0])
	if err != nil {
		return nil, err
	}
	per.n = n
	if len(s) >= 6 && s[2] == "with" && s[5] == "each" {
		per.kind, per.cont = kindBags, s[1]
		if per.each, err = number(s[3]); err != nil {
			return nil, err
		}
		return s[6:], p.object(s[4])
	}
	per.kind = kindGiven
	return s[2:], p.object(s[1])
}

// events reads ", v1 k1, v2 k2 and v3 k3".
func (p *parser) events(s []string) ([]event, error) {
	var out []event
	for len(s) > 0 {
		if len(s) < 3 || (s[0] != "," && s[0] != "and") {
			return nil, fmt.Errorf("want \", verb n\" or \"and verb n\", got %q", strings.Join(s, " "))
		}
		if !contains(gainVerbs, s[1]) && !contains(lossVerbs, s[1]) {
			return nil, fmt.Errorf("unknown verb %q", s[1])
		}
		k, err := number(s[2])
		if err != nil {
			return nil, err
		}
		if (s[0] == "and") != (len(s) == 3) {
			return nil, fmt.Errorf("\"and\" must come before the last change only")
		}
		out = append(out, event{s[1], k})
		s = s[3:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("\"had\" without a change")
	}
	return out, nil
}

func (p *parser) question(s []string) error {
	if len(s) < 6 || s[0] != "How" || s[1] != "many" {
		return fmt.Errorf("want \"How many ...?\"")
	}
	if p.shared {
		if !eq(s[2:], "", "does", "each", "friend", "get") {
			return fmt.Errorf("want \"How many OBJ does each friend get?\" after sharing")
		}
		return p.object(s[2])
	}
	if s[len(s)-1] == "now" {
		s = s[:len(s)-1]
	}
	if s[2] == "more" {
		if !eq(s[3:], "", "does", "", "have", "than", "") {
			return fmt.Errorf("want \"How many more OBJ does N have than M?\"")
		}
		a, err := p.lookup(s[5])
		if err != nil {
			return err
		}
		b, err := p.lookup(s[8])
		if err != nil {
			return err
		}
		p.sp.ask, p.sp.who = askDiff, []int{a, b}
		return p.object(s[3])
	}
	if err := p.object(s[2]); err != nil {
		return err
	}
	if eq(s[3:], "does", "", "have") {
		i, err := p.lookup(s[4])
		p.sp.ask, p.sp.who = askOne, []int{i}
		return err
	}
	if s[3] != "do" || !eq(s[len(s)-3:], "have", "in", "total") {
		return fmt.Errorf("unknown question")
	}
	p.sp.ask = askTotal
	list := s[4 : len(s)-3]
	if eq(list, "they") {
		p.sp.all = true
		return nil
	}
	// "A and B", "A, B and C": names at even positions, separators between.
	for i, t := range list {
		if i%2 == 1 {
			sep := ","
			if i == len(list)-2 {
				sep = "and"
			}
			if t != sep {
				return fmt.Errorf("bad name list %q", strings.Join(list, " "))
			}
			continue
		}
		w, err := p.lookup(t)
		if err != nil {
			return err
		}
		p.sp.who = append(p.sp.who, w)
	}
	if len(p.sp.who) < 2 || len(list)%2 == 0 {
		return fmt.Errorf("bad name list %q", strings.Join(list, " "))
	}
	return nil
}
