package think

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pareto-llm/pareto"
)

// Efforts are the values of Settings.Effort (and of
// pareto.Params.ReasoningEffort) that servers take.
var Efforts = []string{"low", "medium", "high"}

// CheckEffort refuses an effort servers do not take; empty is the
// server's default.
func CheckEffort(effort string) error {
	if effort != "" && !slices.Contains(Efforts, effort) {
		return fmt.Errorf("reasoning effort %q: want low, medium or high", effort)
	}
	return nil
}

// Settings are a run's reasoning options. They are part of a run's
// identity (see Canonical): runs with different budgets are different
// runs.
type Settings struct {
	// Budget and Min are the Forcer's thought budget and minimum in
	// tokens; both zero means no forcing.
	Budget int `json:"budget,omitempty"`
	Min    int `json:"min,omitempty"`
	// NoThought is a budget of zero: the Forcer's NoThought.
	NoThought bool `json:"no_thought,omitempty"`
	// Wait and Cue are the Forcer's (Wait defaults to DefaultWait).
	Wait string `json:"wait,omitempty"`
	Cue  string `json:"cue,omitempty"`
	// Markers delimit thoughts, for the Forcer and for the backends that
	// read thoughts out of text; nil means Default.
	Markers *Markers `json:"markers,omitempty"`
	// At is where a tree search thinks: AtRoot (also when empty) once,
	// after the question, before its first step; AtStep before every
	// step, each step's call forced on its own (the study's REBASE +
	// Quiet-STaR, whose model thinks as it writes every step).
	At string `json:"at,omitempty"`
	// Inline is the Forcer's Inline: the model thinks inside its answer,
	// and the budget counts all its thoughts. A tree search then forces
	// each step's call on its own, as with AtStep.
	Inline bool `json:"inline,omitempty"`
	// Effort is sent to the server as every request's reasoning effort.
	Effort string `json:"effort,omitempty"`
	// Show keeps the reasoning text in the completions the strategies
	// see, and so in the stored results. It changes no result, so it is
	// no part of a run's identity.
	Show bool `json:"-"`
}

// Where a tree search thinks (Settings.At).
const (
	AtRoot = "root"
	AtStep = "step"
)

// Forcing reports whether the settings force a thinking budget.
func (s Settings) Forcing() bool { return s.Budget > 0 || s.Min > 0 || s.NoThought }

// Label names the settings briefly, for plots and tables: the thinking
// budget or no thought, the minimum, where a search thinks when not at its
// root, the effort; "" when there is nothing to name.
func (s Settings) Label() string {
	var parts []string
	switch {
	case s.NoThought:
		parts = append(parts, "no thought")
	case s.Budget > 0:
		parts = append(parts, fmt.Sprintf("think<=%d", s.Budget))
	}
	if s.Min > 0 {
		parts = append(parts, fmt.Sprintf("think>=%d", s.Min))
	}
	if s.Inline {
		parts = append(parts, "inline")
	} else if s.At == AtStep {
		parts = append(parts, "each step")
	}
	if s.Effort != "" {
		parts = append(parts, "effort="+s.Effort)
	}
	return strings.Join(parts, " ")
}

// Marks are the settings' markers, Default unless set.
func (s Settings) Marks() Markers {
	if s.Markers == nil {
		return Default
	}
	return *s.Markers
}

// Canonical returns s with what cannot change a run's results left out
// (Wait and Cue without forcing, Default markers, Show), or nil when
// nothing is left: a run without reasoning options keeps the identity it
// had before they existed.
func (s Settings) Canonical() *Settings {
	if !s.Forcing() {
		s.Wait, s.Cue = "", ""
	} else if s.Wait == "" {
		s.Wait = DefaultWait
	}
	if !s.Forcing() || s.At == AtRoot {
		s.At = "" // the default
	}
	if !s.Forcing() {
		s.Inline = false // without a Forcer the backends read inline thoughts anyway
	}
	if s.Inline {
		s.Wait = "" // never written inside an answer
	}
	if s.Markers != nil && *s.Markers == Default {
		s.Markers = nil
	}
	s.Show = false
	if s == (Settings{}) {
		return nil
	}
	return &s
}

// Wrap returns g made to reason as s says. Every request gets s.Effort;
// with a budget or a minimum a Forcer (continuing an assistant message
// when chat) makes each completion from several requests to g; without
// Show the completions lose their reasoning text. Wrap the run's cached
// generator, so each of these requests is cached on its own.
func (s Settings) Wrap(g pareto.Generator, chat bool) pareto.Generator {
	if s.Effort != "" {
		g = withEffort{g, s.Effort}
	}
	if s.Forcing() {
		g = s.forcer(g, chat)
	}
	if !s.Show {
		g = hidden{g}
	}
	return g
}

// forcer is the Forcer of the settings over g.
func (s Settings) forcer(g pareto.Generator, chat bool) *Forcer {
	return &Forcer{Inner: g, Markers: s.Marks(), Budget: s.Budget, Min: s.Min, NoThought: s.NoThought, Wait: s.Wait, Cue: s.Cue, Chat: chat, Inline: s.Inline}
}

// Thinker returns what makes a tree search think once at its root (see
// Settings.At), or nil when the settings force no thought or a search
// thinks at every step (AtStep, or Inline). g is the generator Wrap
// wraps; the search's steps go to it with the settings' effort and Show,
// unforced.
func (s Settings) Thinker(g pareto.Generator, chat bool) *Root {
	if !s.Forcing() || s.At == AtStep || s.Inline {
		return nil
	}
	plain := s
	plain.Budget, plain.Min, plain.NoThought = 0, 0, false
	return &Root{
		Forcer: s.forcer(g, chat),
		Plain:  plain.Wrap(g, chat),
	}
}

// Root is a tree search's one thought: the Forcer writes it, Plain the
// steps after it (strategy.Thinker).
type Root struct {
	Forcer *Forcer
	Plain  pareto.Generator
}

// Think writes the thought (Forcer.Think).
func (r *Root) Think(ctx context.Context, req pareto.Request) (string, pareto.Usage, error) {
	return r.Forcer.Think(ctx, req)
}

// Steps is the generator of the steps after the thought.
func (r *Root) Steps() pareto.Generator { return r.Plain }

// withEffort sets the reasoning effort of every request.
type withEffort struct {
	inner  pareto.Generator
	effort string
}

func (w withEffort) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	req.ReasoningEffort = w.effort
	return w.inner.Generate(ctx, req)
}

// hidden drops the reasoning text of every completion; its tokens stay
// counted.
type hidden struct{ inner pareto.Generator }

func (h hidden) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	cs, err := h.inner.Generate(ctx, req)
	if err != nil {
		return nil, err
	}
	cs = slices.Clone(cs) // the inner generator may keep its slice
	for i := range cs {
		cs[i].Reasoning = ""
	}
	return cs, nil
}
