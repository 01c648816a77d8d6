package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/reward"
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
serves another GGUF file, named by its file name without .gguf.

A process reward model (` + models.DefaultPRM + `, or a GGUF file with pareto.prm
metadata) is served on vLLM's Pooling API instead, POST /pooling (and /v1/pooling):
a row [P(bad), P(good)] at every line break of each input, for --scorer pooling
on another machine. It refuses completions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := servedName(&bf)
			m, api, err := servedModel(ctx, &bf)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			h := serve.New(map[string]serve.Model{name: m})
			return serve.ListenAndServe(ctx, addr, h, shutdownGrace, func(a net.Addr) {
				slog.Info("serving", "model", name, "url", "http://"+a.String()+api)
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

// servedModel loads what serve serves and says where: a PRM for the
// embedded engine on /pooling, anything else on /v1.
func servedModel(ctx context.Context, bf *backendFlags) (serve.Model, string, error) {
	if bf.inProcess() {
		path, err := models.Resolve(bf.embeddedModel())
		if err != nil {
			return nil, "", err
		}
		if isPRM, err := reward.IsPRM(path); err != nil {
			return nil, "", err
		} else if isPRM {
			p, err := reward.LoadPRM(path)
			if err != nil {
				return nil, "", err
			}
			return serve.PRM{Scorer: p}, "/pooling", nil
		}
	}
	gen, _, err := bf.generator(ctx)
	if err != nil {
		return nil, "", err
	}
	return gen, "/v1", nil
}

// servedName is the model name clients ask for: the --model name given to
// an upstream server, else the GGUF file's or shipped model's name.
func servedName(bf *backendFlags) string {
	if !bf.inProcess() {
		return bf.model
	}
	return strings.TrimSuffix(filepath.Base(bf.embeddedModel()), ".gguf")
}
