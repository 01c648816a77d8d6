package main

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/serve"
)

// shutdownGrace is how long requests in flight may finish after SIGINT or
// SIGTERM before their connections are closed.
const shutdownGrace = 10 * time.Second

// newServeCmd serves a model over the OpenAI API: by default the shipped
// model in the embedded engine, or any --backend-url server (a proxy).
func newServeCmd() *cobra.Command {
	var (
		bf   backendFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions)",
		Long: `Serve a model over the OpenAI API, streaming included. Without flags it serves
the shipped model ` + models.Default + ` with the embedded engine; --model FILE.gguf
serves another GGUF file, named by its file name without .gguf.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			gen, _, err := bf.generator(ctx)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			name := servedName(&bf)
			h := serve.New(map[string]serve.Model{name: gen})
			return serve.ListenAndServe(ctx, addr, h, shutdownGrace, func(a net.Addr) {
				slog.Info("serving", "model", name, "url", "http://"+a.String()+"/v1")
			})
		},
	}
	bf.register(cmd)
	// Compute accounting is for runs; a server has no use for it.
	for _, name := range []string{"params", "layers", "d-model", "context", "arch-gguf", "price-in", "price-out"} {
		_ = cmd.Flags().MarkHidden(name) // the flags exist: register made them
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	return cmd
}

// servedName is the model name clients ask for: the --model name given to
// an upstream server, else the GGUF file's or shipped model's name.
func servedName(bf *backendFlags) string {
	if len(bf.urls) > 0 {
		return bf.model
	}
	if bf.model == "" {
		return models.Default
	}
	return strings.TrimSuffix(filepath.Base(bf.model), ".gguf")
}
