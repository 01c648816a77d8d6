package reward

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/synth"
)

// names are the step scorers a run can ask for by name.
var names = []string{"prm", "judge", "oracle", "pooling", "http"}

// Names lists the step scorers a run can ask for by name: prm (a process
// reward model run in-process), judge (the policy's backend asked Yes/No),
// oracle (synth's exact step verifier), pooling (a PRM served by vLLM's
// Pooling API, or by `pareto serve`) and http (a generic remote scorer).
func Names() []string { return slices.Clone(names) }

// NeedsURL reports whether the scorer called name runs on a server, whose
// URL the Chooser must be given (ScorerURL).
func NeedsURL(name string) bool { return name == "pooling" || name == "http" }

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

// Chooser builds the scorers runs ask for by name. Each call loads the PRM
// afresh (the file is memory-mapped: cheap), so that no run's scores come
// free from another run's prefix cache and step-score memory: a run's
// compute is what it would spend alone. It is safe for concurrent use.
type Chooser struct {
	Gen     pareto.Generator // the backend a judge asks
	PRM     string           // the model "prm" loads: a GGUF file or a shipped model's name
	Default string           // the scorer "" means

	// The remote scorers': the server's URL (for "pooling" its base URL,
	// for "http" the endpoint), the PRM's name on a pooling server, its
	// input format (a PoolingFormat's name; "" means "pareto" for a
	// shipped pareto model, else QwenMathPRM's), the API key and the
	// timeout of one request (0 means DefaultTimeout).
	ScorerURL     string
	ScorerModel   string
	ScorerFormat  string
	ScorerAPIKey  string
	ScorerTimeout time.Duration

	mu          sync.Mutex
	path, prmID string // the PRM's file and run name, resolved once
}

// Scorer returns the scorer called name and the name a run records for it;
// a PRM's names its file's content, so a retrained PRM makes new runs. A
// remote scorer's names where it runs, since pareto cannot see its
// weights: "pooling:MODEL@HOST/FORMAT" (the URL's host and port, so the
// same PRM moved to another machine makes new runs) and "http:URL".
func (c *Chooser) Scorer(name string) (pareto.Scorer, string, error) {
	if name == "" {
		name = c.Default
	}
	if NeedsURL(name) {
		if c.ScorerURL == "" {
			return nil, "", fmt.Errorf("scorer %s needs the URL of its server (--scorer-url)", name)
		}
		if err := validURL(c.ScorerURL); err != nil {
			return nil, "", fmt.Errorf("scorer %s: --scorer-url: %w", name, err)
		}
	}
	switch name {
	case "http":
		return &HTTP{URL: c.ScorerURL, APIKey: c.ScorerAPIKey, Timeout: c.ScorerTimeout}, "http:" + c.ScorerURL, nil
	case "pooling":
		if c.ScorerModel == "" {
			return nil, "", fmt.Errorf("scorer pooling needs the PRM's name on its server (--scorer-model)")
		}
		f, err := c.poolingFormat()
		if err != nil {
			return nil, "", fmt.Errorf("scorer pooling: %w", err)
		}
		p := &Pooling{URL: c.ScorerURL, Model: c.ScorerModel, Format: f, APIKey: c.ScorerAPIKey, Timeout: c.ScorerTimeout}
		return p, "pooling:" + c.ScorerModel + "@" + hostOf(c.ScorerURL) + "/" + f.Name, nil
	case "judge":
		return Judge{Gen: c.Gen}, "judge", nil
	case "oracle":
		return synth.Oracle{}, "oracle", nil
	case "prm":
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.path == "" {
			path, id, err := models.Open(c.PRM)
			if err != nil {
				return nil, "", fmt.Errorf("prm: %w", err)
			}
			c.path, c.prmID = path, "prm:"+id
		}
		p, err := LoadPRM(c.path)
		if err != nil {
			return nil, "", err
		}
		return p, c.prmID, nil
	}
	return nil, "", Check(name)
}

// poolingFormat is the input format of the pooling scorer's PRM: the one
// named, else pareto's for a model pareto ships (as `pareto serve` names
// it), else Qwen2.5-Math-PRM's.
func (c *Chooser) poolingFormat() (PoolingFormat, error) {
	if c.ScorerFormat != "" {
		return LookupPoolingFormat(c.ScorerFormat)
	}
	shipped, err := models.List()
	if err != nil {
		return PoolingFormat{}, err
	}
	if slices.ContainsFunc(shipped, func(m models.Model) bool { return m.Name == c.ScorerModel }) {
		return ParetoPRM, nil
	}
	return QwenMathPRM, nil
}
