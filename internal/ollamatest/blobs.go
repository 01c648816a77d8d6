package ollamatest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CreateQuantized is Create with Ollama quantizing the weights to quant
// (e.g. "q8_0") through llama.cpp's llama_model_quantize, so the model
// Ollama stores is a GGUF file written by llama.cpp, not by pareto.
// Ollama v0.6.5 quantizes only files whose general.file_type says F16: it
// reads file type 0 (F32) as unknown and refuses it.
func (s *Server) CreateQuantized(ctx context.Context, name, ggufPath, quant string) error {
	return s.create(ctx, name, ggufPath, "-q", quant)
}

// modelsDir is the server's OLLAMA_MODELS directory.
func (s *Server) modelsDir() (string, error) {
	for _, kv := range s.env {
		if dir, ok := strings.CutPrefix(kv, "OLLAMA_MODELS="); ok {
			return dir, nil
		}
	}
	return "", fmt.Errorf("ollamatest: server has no OLLAMA_MODELS")
}

// ModelBlob returns the path of the GGUF file Ollama stores for a model it
// created: its manifest's layer of type application/vnd.ollama.image.model,
// found under blobs/ by digest.
func (s *Server) ModelBlob(name string) (string, error) {
	dir, err := s.modelsDir()
	if err != nil {
		return "", err
	}
	model, tag, ok := strings.Cut(name, ":")
	if !ok {
		tag = "latest"
	}
	mpath := filepath.Join(dir, "manifests", "registry.ollama.ai", "library", model, tag)
	raw, err := os.ReadFile(mpath)
	if err != nil {
		return "", fmt.Errorf("ollamatest: manifest of %s: %w", name, err)
	}
	var m struct {
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("ollamatest: manifest %s: %w", mpath, err)
	}
	for _, l := range m.Layers {
		if l.MediaType != "application/vnd.ollama.image.model" {
			continue
		}
		// Digests are "sha256:<hex>"; blob files are named "sha256-<hex>".
		blob := filepath.Join(dir, "blobs", strings.Replace(l.Digest, ":", "-", 1))
		if _, err := os.Stat(blob); err != nil {
			return "", fmt.Errorf("ollamatest: model layer of %s: %w", name, err)
		}
		return blob, nil
	}
	return "", fmt.Errorf("ollamatest: manifest %s has no application/vnd.ollama.image.model layer", mpath)
}
