package reward

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/synth"
)

// names are the step scorers a run can ask for by name.
var names = []string{"prm", "judge", "oracle"}

// Names lists the step scorers a run can ask for by name: prm (a process
// reward model run in-process), judge (the policy's backend asked Yes/No)
// and oracle (synth's exact step verifier).
func Names() []string { return slices.Clone(names) }

// Check refuses an unknown scorer name before any work starts; "" is the
// default and always allowed.
func Check(name string) error {
	if name == "" || slices.Contains(names, name) {
		return nil
	}
	return fmt.Errorf("unknown scorer %q (known: %s)", name, strings.Join(names, ", "))
}

// Default is the scorer a run gets when it names none: the shipped PRM
// beside the in-process engine, the judge on a server (whose PRM, if it has
// one, pareto cannot run).
func Default(inProcess bool) string {
	if inProcess {
		return "prm"
	}
	return "judge"
}

// Chooser builds the scorers runs ask for by name. It loads a PRM once for
// all the runs that use it. It is safe for concurrent use.
type Chooser struct {
	Gen     pareto.Generator // the backend a judge asks
	PRM     string           // the model "prm" loads: a GGUF file or a shipped model's name
	Default string           // the scorer "" means

	mu    sync.Mutex
	prm   *PRM
	prmID string
}

// Scorer returns the scorer called name and the name a run records for it;
// a PRM's names its file's content, so a retrained PRM makes new runs.
func (c *Chooser) Scorer(name string) (pareto.Scorer, string, error) {
	if name == "" {
		name = c.Default
	}
	switch name {
	case "judge":
		return Judge{Gen: c.Gen}, "judge", nil
	case "oracle":
		return synth.Oracle{}, "oracle", nil
	case "prm":
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.prm == nil {
			path, id, err := models.Open(c.PRM)
			if err != nil {
				return nil, "", fmt.Errorf("prm: %w", err)
			}
			if c.prm, err = LoadPRM(path); err != nil {
				return nil, "", err
			}
			c.prmID = "prm:" + id
		}
		return c.prm, c.prmID, nil
	}
	return nil, "", Check(name)
}
