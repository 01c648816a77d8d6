package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/think"
)

// thinkFlags are a run's reasoning options: budget forcing, reasoning
// effort, and whether the reasoning text is stored. Only run and bench
// register them; serve's backend reads thoughts with the default markers.
type thinkFlags struct {
	settings      think.Settings
	markers       think.Markers
	continueFinal bool
	// given reports whether a flag was given (nil: none was); a
	// --think-budget of 0 given means no thought.
	given func(flag string) bool
}

// set reports whether flag was given.
func (f *thinkFlags) set(flag string) bool { return f.given != nil && f.given(flag) }

func (f *thinkFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	f.given = fl.Changed
	fl.IntVar(&f.settings.Budget, "think-budget", 0, "budget forcing (s1): end the model's thought at T tokens and force the answer by appending the end-of-thinking marker (--think-close) and --think-cue; the answer then gets --max-tokens of its own (0 = no thought: the marker and the cue follow the prompt at once; unset = no budget)")
	fl.IntVar(&f.settings.Min, "think-min", 0, "budget forcing: replace an end of thinking before M thought tokens with --think-wait, until M thought tokens have been generated (0 = none)")
	fl.StringVar(&f.settings.Wait, "think-wait", think.DefaultWait, "what replaces an early end of thinking under --think-min (\\n is a newline)")
	fl.StringVar(&f.settings.Cue, "think-cue", "\n\nFinal Answer:", "answer cue appended after the end-of-thinking marker when budget forcing ends a thought (\\n is a newline)")
	fl.StringVar(&f.markers.Open, "think-open", think.Default.Open, "marker that opens a thought: read in server output, and written after the prompt to start a forced thought (empty when the prompt or the chat template opens it)")
	fl.StringVar(&f.markers.Close, "think-close", think.Default.Close, "marker that ends a thought: read in server output, and the stop string of a forced thought")
	fl.StringVar(&f.settings.At, "think-at", think.AtRoot, "where a tree search thinks under --think-budget or --think-min: root = once, after the question, then its steps after that thought; step = before every step, each step's call forced on its own (the study's REBASE + Quiet-STaR)")
	fl.BoolVar(&f.settings.Inline, "think-inline", false, "the model thinks inside its answer, opening a thought wherever it needs one (interleaved thinking): nothing is written after the prompt, --think-budget caps all the answer's thoughts together (a thought opened after it is closed at once) and a tree search forces each step's call on its own; --think-min is not taken")
	fl.StringVar(&f.settings.Effort, "reasoning-effort", "", "low, medium or high: sent as reasoning_effort to a --chat server that takes it (empty = the server's default)")
	fl.BoolVar(&f.settings.Show, "show-reasoning", false, "keep the model's reasoning text in the stored results (its tokens are counted as hidden either way)")
	fl.BoolVar(&f.continueFinal, "continue-final-message", false, "the --chat server continues a final assistant message when asked with continue_final_message (vLLM, SGLang): lets --think-budget and --think-min run on the chat API")
}

// check refuses settings that cannot work with the backend, naming the
// flag, before any work starts, and completes the settings.
func (f *thinkFlags) check(bf *backendFlags) error {
	s := &f.settings
	chat := bf.chat && !bf.inProcess()
	s.NoThought = s.Budget == 0 && f.set("think-budget")
	thinker := bf.inProcess() && bf.embeddedModel() == models.DefaultThinker
	if thinker {
		// How the shipped thinker was trained to think, unless told.
		if !f.set("think-cue") {
			s.Cue = models.ThinkerCue
		}
		if !f.set("think-inline") {
			s.Inline = models.ThinkerInline
		}
	}
	switch {
	case s.At != "" && s.At != think.AtRoot && s.At != think.AtStep:
		return fmt.Errorf("--think-at %q: want %s or %s", s.At, think.AtRoot, think.AtStep)
	case s.NoThought && s.Min > 0:
		return fmt.Errorf("--think-min %d with --think-budget 0: a thought of no tokens has no minimum", s.Min)
	case s.Budget < 0:
		return fmt.Errorf("--think-budget must not be negative, got %d", s.Budget)
	case s.Min < 0:
		return fmt.Errorf("--think-min must not be negative, got %d", s.Min)
	case s.Budget > 0 && s.Min > s.Budget:
		return fmt.Errorf("--think-min %d exceeds --think-budget %d: the thought is ended at the budget", s.Min, s.Budget)
	case s.Inline && s.Min > 0:
		why := ""
		if thinker && !f.set("think-inline") {
			why = fmt.Sprintf(" (%s thinks inline unless --think-inline=false)", models.DefaultThinker)
		}
		return fmt.Errorf("--think-min %d with --think-inline%s: a minimum is kept by writing --think-wait into one thought before the answer, not into thoughts inside it", s.Min, why)
	case s.Inline && s.Forcing() && f.markers.Open == "":
		return fmt.Errorf("--think-open must not be empty with --think-inline: it is how a thought inside the answer is seen to start")
	case s.Forcing() && f.markers.Close == "":
		return fmt.Errorf("--think-close must not be empty with --think-budget or --think-min: it is where a thought ends")
	case s.Forcing() && s.Wait == "":
		return fmt.Errorf("--think-wait must not be empty with --think-min")
	case s.Forcing() && chat && !f.continueFinal:
		return fmt.Errorf("--think-budget and --think-min continue the model's thought, which on --chat needs a server that continues a final assistant message: "+
			"pass --continue-final-message if %s is vLLM or SGLang; Ollama's and OpenAI's chat APIs cannot, so use the completions API (--chat=false), "+
			"which continues the raw text (Ollama's /v1/completions does)", bf.urls[0])
	case f.continueFinal && !chat:
		return fmt.Errorf("--continue-final-message is for a --chat server")
	}
	if err := think.CheckEffort(s.Effort); err != nil {
		return fmt.Errorf("--reasoning-effort: %w", err)
	}
	if s.Effort != "" && !chat {
		return fmt.Errorf("--reasoning-effort is sent as the chat API's reasoning_effort: add --chat (the completions API and the embedded engine take none)")
	}
	s.Wait, s.Cue = escapes.Replace(s.Wait), escapes.Replace(s.Cue)
	m := think.Markers{Open: escapes.Replace(f.markers.Open), Close: escapes.Replace(f.markers.Close)}
	f.markers, s.Markers = m, &m
	return nil
}

// escapes reads \n and \t typed in a flag's value as a newline and a tab,
// as a shell passes them through unread.
var escapes = strings.NewReplacer(`\n`, "\n", `\t`, "\t")
