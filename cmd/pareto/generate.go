package main

import (
	"encoding/json"
	"fmt"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/models"
	"github.com/spf13/cobra"
)

// newGenerateCmd runs one prompt through a GGUF model with the embedded
// engine and prints the completion.
func newGenerateCmd() *cobra.Command {
	var (
		model, prompt string
		maxTokens     int
		temperature   float64
		seed          int64
		topK          int
		topP, minP    float64
		jsonOut       bool
	)
	cmd := &cobra.Command{
		Use:   "generate --model PATH --prompt TEXT",
		Short: "Generate a completion with the embedded pure-Go engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return fmt.Errorf("generate: --model is required")
			}
			path, err := models.Resolve(model)
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			b, err := embedded.Load(path, embedded.WithSampling(topK, minP), embedded.WithPrefixCache(0))
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			req := pareto.Request{Prompt: prompt, Params: pareto.Params{
				MaxTokens: maxTokens, Temperature: temperature, TopP: topP, Seed: &seed,
			}}
			out, err := b.Generate(cmd.Context(), req)
			if err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			c := out[0]
			w := cmd.OutOrStdout()
			if !jsonOut {
				_, err := fmt.Fprintln(w, c.Text)
				return err
			}
			var tps float64
			if s := c.Usage.Latency.Seconds(); s > 0 {
				tps = float64(c.Usage.CompletionTokens) / s
			}
			return json.NewEncoder(w).Encode(struct {
				Text         string  `json:"text"`
				Tokens       int     `json:"tokens"`
				PromptTokens int     `json:"prompt_tokens"`
				FLOPs        float64 `json:"flops"`
				TokensPerS   float64 `json:"tokens_per_s"`
			}{c.Text, c.Usage.CompletionTokens, c.Usage.PromptTokens, c.Usage.FLOPs(), tps})
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "GGUF model file (llama or qwen2; F32, F16 or Q8_0) or the name of a shipped model")
	f.StringVar(&prompt, "prompt", "", "prompt text")
	f.IntVar(&maxTokens, "max-tokens", 128, "maximum completion tokens")
	f.Float64Var(&temperature, "temperature", 0, "sampling temperature; 0 is greedy")
	f.Int64Var(&seed, "seed", 0, "sampling seed")
	f.IntVar(&topK, "top-k", 0, "keep the k most likely tokens (0: all)")
	f.Float64Var(&topP, "top-p", 0, "nucleus sampling mass (0: off)")
	f.Float64Var(&minP, "min-p", 0, "drop tokens below this fraction of the top probability (0: off)")
	f.BoolVar(&jsonOut, "json", false, `print {"text","tokens","prompt_tokens","flops","tokens_per_s"}`)
	return cmd
}
