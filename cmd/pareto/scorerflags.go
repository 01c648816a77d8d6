package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/reward"
)

// scorerFlags configure the remote step scorers, --scorer pooling and http.
type scorerFlags struct {
	url     string
	model   string
	format  string
	apiKey  string
	timeout time.Duration
}

func (f *scorerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "scorer-url", "", "server of --scorer pooling (its base URL, e.g. http://gpu1:8000: vLLM, or pareto serve --model PRM) or --scorer http (the endpoint, POST {question, steps} -> {scores})")
	fl.StringVar(&f.model, "scorer-model", "", "the PRM's name on the --scorer pooling server, e.g. Qwen/Qwen2.5-Math-PRM-7B")
	fl.StringVar(&f.format, "scorer-format", "", "how --scorer pooling's PRM reads a solution: qwen2.5-math-prm (<extra_0> after each step) or pareto (one step a line); default pareto for a model pareto ships, else qwen2.5-math-prm")
	fl.StringVar(&f.apiKey, "scorer-api-key", "", "API key of the scorer's server (default $PARETO_SCORER_API_KEY)")
	fl.DurationVar(&f.timeout, "scorer-timeout", reward.DefaultTimeout, "longest wait for one answer of the scorer's server; past it the question fails")
}

// check refuses remote-scorer flags that do not fit the scorer asked for,
// before any work starts.
func (f *scorerFlags) check(scorer string) error {
	if f.timeout <= 0 {
		return fmt.Errorf("--scorer-timeout must be positive, got %v", f.timeout)
	}
	if reward.NeedsURL(scorer) {
		if f.url == "" {
			return fmt.Errorf("--scorer %s needs --scorer-url", scorer)
		}
		if scorer == "pooling" && f.model == "" {
			return fmt.Errorf("--scorer pooling needs --scorer-model, the PRM's name on the server")
		}
		return nil
	}
	if f.url != "" || f.model != "" || f.format != "" {
		return fmt.Errorf("--scorer-url, --scorer-model and --scorer-format are for --scorer pooling or http, not %q", scorer)
	}
	return nil
}

// fill gives the Chooser the remote scorers' settings.
func (f *scorerFlags) fill(c *reward.Chooser) {
	c.ScorerURL, c.ScorerModel, c.ScorerFormat, c.ScorerTimeout = f.url, f.model, f.format, f.timeout
	c.ScorerAPIKey = f.apiKey
	if c.ScorerAPIKey == "" {
		c.ScorerAPIKey = os.Getenv("PARETO_SCORER_API_KEY")
	}
}
