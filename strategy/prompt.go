package strategy

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/dataset"
)

// Style says what kind of answer a prompt asks for.
type Style struct {
	Reasoning bool // step by step (true) or the answer directly (false)
	Shots     int  // worked examples before the question
}

// Prompter builds the prompt for a question and the stop strings that end
// an answer.
type Prompter interface {
	Prompt(q pareto.Question, s Style) (prompt string, stop []string, err error)
}

// PrompterFunc adapts a function to Prompter.
type PrompterFunc func(q pareto.Question, s Style) (string, []string, error)

// Prompt calls f.
func (f PrompterFunc) Prompt(q pareto.Question, s Style) (string, []string, error) { return f(q, s) }

var (
	datasetPromptsMu sync.RWMutex
	datasetPrompts   = map[string]Prompter{}
)

// RegisterPrompts makes p the prompt builder for questions of a dataset
// (used by datasets whose models expect their own format, like synth).
func RegisterPrompts(datasetName string, p Prompter) {
	datasetPromptsMu.Lock()
	defer datasetPromptsMu.Unlock()
	datasetPrompts[datasetName] = p
}

// prompt builds q's prompt and stop strings with e's prompter (or
// DefaultPrompts).
func (e Env) prompt(q pareto.Question, s Style) (string, []string, error) {
	p := e.Prompts
	if p == nil {
		p = DefaultPrompts
	}
	prompt, stop, err := p.Prompt(q, s)
	if err != nil {
		return "", nil, fmt.Errorf("prompt for question %s: %w", q.ID, err)
	}
	return prompt, stop, nil
}

// DefaultPrompts picks a dataset's registered prompter, or the generic
// question/answer format for the question's answer format.
var DefaultPrompts Prompter = PrompterFunc(defaultPrompt)

// stopNext ends an answer where a few-shot model would start the next
// question.
var stopNext = []string{"\nQuestion:", "\n\nQuestion"}

func defaultPrompt(q pareto.Question, s Style) (string, []string, error) {
	datasetPromptsMu.RLock()
	p, ok := datasetPrompts[q.Dataset]
	datasetPromptsMu.RUnlock()
	if ok {
		return p.Prompt(q, s)
	}
	var b strings.Builder
	if q.Format == pareto.FormatMath {
		if s.Reasoning {
			b.WriteString("Solve the problem step by step. Put the final answer in \\boxed{}.\n\n")
		} else {
			b.WriteString("Give only the final answer, in \\boxed{}.\n\n")
		}
		shots, err := mathShots(s.Shots)
		if err != nil {
			return "", nil, err
		}
		for _, ex := range shots {
			fmt.Fprintf(&b, "Question: %s\nAnswer: %s\n\n", ex[0], ex[1])
		}
	} else {
		if s.Reasoning {
			b.WriteString("Solve the problem step by step. End with a line \"#### <answer>\".\n\n")
		} else {
			b.WriteString("Give only the final answer, as a line \"#### <answer>\".\n\n")
		}
		shots, err := gsm8kShots(s.Shots, s.Reasoning)
		if err != nil {
			return "", nil, err
		}
		for _, ex := range shots {
			fmt.Fprintf(&b, "Question: %s\nAnswer: %s\n\n", ex[0], ex[1])
		}
	}
	fmt.Fprintf(&b, "Question: %s\nAnswer:", strings.TrimSpace(q.Text))
	if s.Reasoning && s.Shots == 0 {
		b.WriteString(" Let's think step by step.")
	}
	return b.String(), stopNext, nil
}

var calcAnnotation = regexp.MustCompile(`<<[^>]*>>`)

// gsm8kShots takes worked examples from the GSM8K training split, with the
// calculator annotations removed, so they never overlap the test set. The
// slice is shared: callers must not modify it.
func gsm8kShots(n int, reasoning bool) ([][2]string, error) {
	if n <= 0 {
		return nil, nil
	}
	ex, err := gsm8kExamples()
	if err != nil {
		return nil, err
	}
	shots := ex.direct
	if reasoning {
		shots = ex.reasoning
	}
	n = min(n, len(shots))
	return shots[:n:n], nil // full capacity: an append copies instead of overwriting
}

// gsm8kExamples loads and prepares the GSM8K training split once, on first
// use: every few-shot prompt of a run asks for the same examples, and each
// would otherwise parse all 7,473 problems again.
var gsm8kExamples = workedExamplesOnce(func() (*dataset.Dataset, error) { return dataset.Load("gsm8k-train") })

// workedExamples are a split's questions paired with their solutions
// (reasoning) or with the solutions' final "####" line alone (direct).
type workedExamples struct {
	reasoning, direct [][2]string
}

// workedExamplesOnce returns a function that calls load and prepares its
// questions the first time, then returns the same examples, or the same
// error, every time.
func workedExamplesOnce(load func() (*dataset.Dataset, error)) func() (*workedExamples, error) {
	return sync.OnceValues(func() (*workedExamples, error) {
		d, err := load()
		if err != nil {
			return nil, err
		}
		ex := &workedExamples{reasoning: make([][2]string, len(d.Questions)), direct: make([][2]string, len(d.Questions))}
		for i, q := range d.Questions {
			sol := calcAnnotation.ReplaceAllString(q.Reference, "")
			answer := sol
			if k := strings.LastIndex(sol, "####"); k >= 0 {
				answer = sol[k:]
			}
			ex.reasoning[i] = [2]string{q.Text, sol}
			ex.direct[i] = [2]string{q.Text, answer}
		}
		return ex, nil
	})
}

// mathExamples are written for pareto (MATH-500 has no training split of
// its own here); they show the \boxed{} convention.
var mathExamples = [][2]string{
	{"What is the value of $\\sqrt{36} + 2^3$?", "$\\sqrt{36} = 6$ and $2^3 = 8$, so the sum is $6 + 8 = 14$. The answer is $\\boxed{14}$."},
	{"Solve for $x$: $3x - 7 = 11$.", "Adding 7 to both sides gives $3x = 18$, so $x = 6$. The answer is $\\boxed{6}$."},
	{"Simplify $\\frac{6}{8} + \\frac{1}{4}$.", "$\\frac{6}{8} = \\frac{3}{4}$, and $\\frac{3}{4} + \\frac{1}{4} = 1$. The answer is $\\boxed{1}$."},
	{"What is the sum of the roots of $x^2 - 5x + 6 = 0$?", "The roots are $2$ and $3$ since $x^2-5x+6=(x-2)(x-3)$; their sum is $5$. The answer is $\\boxed{5}$."},
}

func mathShots(n int) ([][2]string, error) {
	if n > len(mathExamples) {
		return nil, fmt.Errorf("at most %d worked examples for math prompts, asked for %d", len(mathExamples), n)
	}
	return mathExamples[:n], nil
}
