// Package think handles a model's hidden reasoning. It tells the thought a
// model writes between thinking markers (<think>...</think>, as
// DeepSeek-R1, Qwen3 and QwQ do) from the visible answer, so that backends
// count the thought as hidden compute and graders read the answer only; and
// it holds a model to a thinking budget on any raw-text Generator (Forcer,
// after s1's budget forcing, arXiv 2501.19393).
//
// Of pareto's packages it imports only the root one, so that every backend
// and the server can use it.
package think

import "strings"

// Markers are the strings that open and close a thought in generated text.
// An empty Open means the thought is never opened in the generated text
// (a chat template or the prompt opens it); an empty Close means thoughts
// cannot be told apart from the answer, and nothing is split.
type Markers struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// GGUF metadata keys under which a model file names its thought markers
// (a thinker pareto trains writes them; the embedded backend reads them).
const (
	KeyStart = "pareto.think.start"
	KeyEnd   = "pareto.think.end"
)

// Default are the markers of the open thinking models: DeepSeek-R1 and its
// distillations, Qwen3, QwQ.
var Default = Markers{Open: "<think>", Close: "</think>"}

// OrDefault is m, or Default when m is the zero Markers.
func (m Markers) OrDefault() Markers {
	if m == (Markers{}) {
		return Default
	}
	return m
}

// Inside reports whether text leaves a thought open: its last Open comes
// after its last Close. Text generated after such a prompt starts inside
// the thought.
func (m Markers) Inside(text string) bool {
	if m.Open == "" {
		return false
	}
	o := strings.LastIndex(text, m.Open)
	return o >= 0 && o > strings.LastIndex(text, m.Close)
}

// Split separates text, generated after prefix (the prompt, or the
// assistant message being continued), into the reasoning and the visible
// answer. The text starts inside a thought when prefix leaves one open
// (Inside), or when its first marker is a Close: the prompt or a chat
// template opened the thought, and the text holds only its end. A thought
// without its Close runs to the end of the text: an unfinished thought is
// all hidden. The markers belong to neither part; the reasoning is kept as
// written (several thoughts joined by a newline), and the visible part
// loses the blank space that follows a thought, so that it starts at the
// answer. Text without markers is returned whole as visible.
func (m Markers) Split(prefix, text string) (reasoning, visible string) {
	// One reading for whole texts and streamed ones: Stream is the parser.
	st := m.Stream(prefix)
	r1, v1 := st.Next(text)
	r2, v2 := st.End()
	return r1 + r2, v1 + v2
}

// StartsInside reports whether text, generated after prefix, starts inside
// a thought as Split reads it: prefix leaves one open (Inside), or text's
// first marker is a Close.
func (m Markers) StartsInside(prefix, text string) bool {
	return m.Close != "" && (m.Inside(prefix) || m.closesFirst(text))
}

// closesFirst reports whether text's first marker is a Close.
func (m Markers) closesFirst(text string) bool {
	c := strings.Index(text, m.Close)
	if c < 0 {
		return false
	}
	o := -1
	if m.Open != "" {
		o = strings.Index(text, m.Open)
	}
	return o < 0 || c < o
}
