// Command pareto measures and serves compute-optimal LLM problem solving:
// run any inference strategy at any budget on a benchmark or your data and
// compare accuracy, tokens, FLOPs, latency and money side by side.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var quiet *quietError
		if !errors.As(err, &quiet) {
			fmt.Fprintln(os.Stderr, "pareto:", err)
		}
		os.Exit(1)
	}
}

// quietError makes pareto exit 1 without printing: the command already
// reported what went wrong in its own output.
type quietError struct{ err error }

func (e *quietError) Error() string { return e.err.Error() }
func (e *quietError) Unwrap() error { return e.err }
