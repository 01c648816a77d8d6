package think

import "strings"

// Stream is Split for text that arrives in pieces, as a streaming server
// sends it: Next takes each piece and End the end of the text, and the
// reasoning and visible parts they return concatenate to exactly what
// Split(prefix, text) returns for the whole text (Split is one Next and
// End). It holds text back while
// it cannot yet tell where the text goes: a tail that may be the start of
// a marker, blank space after a Close (Split drops it before an answer
// but not within one), and, when prefix leaves no thought open,
// everything before the text's first marker (a Close first makes all of
// it thought). A thinking model opens its thought with its first token,
// so in practice only a marker's length is ever held.
type Stream struct {
	m       Markers
	state   int    // undecided, inside or outside
	buf     string // text taken but not yet placed
	thought bool   // inside: the current thought has been started
	started int    // thoughts started, for Split's "\n" between them
	trim    bool   // outside: blank space after a Close is still dropped
}

const (
	undecided = iota
	inside
	outside
)

// Stream returns a Stream for text generated after prefix.
func (m Markers) Stream(prefix string) *Stream {
	s := &Stream{m: m, state: undecided}
	switch {
	case m.Close == "":
		s.state = outside // nothing is split: Split returns the text whole
	case m.Inside(prefix):
		s.state = inside
	}
	return s
}

// Next takes the next piece of the text and returns what can now be
// placed of it and of the text held back before it.
func (s *Stream) Next(text string) (reasoning, visible string) {
	s.buf += text
	return s.place(false)
}

// End places everything held back: the text is complete.
func (s *Stream) End() (reasoning, visible string) { return s.place(true) }

// place moves what can be placed from buf into the two parts; at the end
// of the text (final) everything can.
func (s *Stream) place(final bool) (reasoning, visible string) {
	if s.state == undecided && !s.decide(final) {
		return "", ""
	}
	var r, v strings.Builder
	for s.buf != "" {
		if s.state == inside {
			if !s.thought {
				// Split starts a thought wherever text follows its
				// opening, even just its Close.
				s.thought = true
				if s.started > 0 {
					r.WriteString("\n")
				}
				s.started++
			}
			if end := strings.Index(s.buf, s.m.Close); end >= 0 {
				r.WriteString(s.buf[:end])
				s.buf = s.buf[end+len(s.m.Close):]
				s.state, s.trim = outside, true
				continue
			}
			n := len(s.buf)
			if !final {
				n -= partial(s.buf, s.m.Close)
			}
			r.WriteString(s.buf[:n])
			s.buf = s.buf[n:]
			break
		}
		if s.trim {
			s.buf = strings.TrimLeft(s.buf, " \t\r\n")
			if s.buf == "" {
				break // more blank space may follow
			}
			s.trim = false
		}
		if s.m.Open == "" || s.m.Close == "" {
			v.WriteString(s.buf)
			s.buf = ""
			break
		}
		if start := strings.Index(s.buf, s.m.Open); start >= 0 {
			v.WriteString(s.buf[:start])
			s.buf = s.buf[start+len(s.m.Open):]
			s.state, s.thought = inside, false
			continue
		}
		n := len(s.buf)
		if !final {
			n -= partial(s.buf, s.m.Open)
		}
		v.WriteString(s.buf[:n])
		s.buf = s.buf[n:]
		break
	}
	return r.String(), v.String()
}

// decide settles whether the text starts inside a thought, as Split's
// closesFirst does, once the first marker of the whole text is known: the
// first one complete in buf, unless one that could start before it is
// still incomplete. At the end of the text it always can.
func (s *Stream) decide(final bool) bool {
	c := strings.Index(s.buf, s.m.Close)
	o := -1
	if s.m.Open != "" {
		o = strings.Index(s.buf, s.m.Open)
	}
	if !final {
		first := c
		if first < 0 || (o >= 0 && o < first) {
			first = o
		}
		if first < 0 || startsBefore(s.buf, s.m.Close, first) || startsBefore(s.buf, s.m.Open, first) {
			return false
		}
	}
	s.state = outside
	if s.m.closesFirst(s.buf) {
		s.state = inside
	}
	return true
}

// partial is the length of the longest tail of text that is a proper
// prefix of marker: text that may yet become it.
func partial(text, marker string) int {
	for k := min(len(marker)-1, len(text)); k > 0; k-- {
		if strings.HasSuffix(text, marker[:k]) {
			return k
		}
	}
	return 0
}

// startsBefore reports whether an incomplete marker (a tail of text that
// is a proper prefix of it) starts before position p.
func startsBefore(text, marker string, p int) bool {
	if marker == "" {
		return false
	}
	for j := max(0, len(text)-len(marker)+1); j < p; j++ {
		if strings.HasPrefix(marker, text[j:]) {
			return true
		}
	}
	return false
}
