// Package models ships pareto's own small models, embedded in the binary so
// the main job runs on a fresh machine with nothing downloaded: a policy
// trained on the synth task (configs/policy.yaml) and a process reward model
// that scores its steps (configs/prm.yaml). Each GGUF file has a model card
// beside it (NAME.md).
package models

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed *.gguf *.md
var files embed.FS

// Default is the model the embedded backend uses when none is named.
const Default = "pareto-synth-policy"

// DefaultPRM is the process reward model --scorer prm uses when none is
// named.
const DefaultPRM = "pareto-synth-prm"

// DefaultThinker is the shipped thinker: the policy extended with hidden
// thoughts between <think> and </think> (configs/thinker.yaml).
const DefaultThinker = "pareto-synth-thinker"

// ThinkerInline says that the shipped thinker thinks inside its answer:
// each step's working is a thought before the step's result, so budget
// forcing counts all of an answer's thoughts (think.Forcer.Inline).
const ThinkerInline = true

// ThinkerCue is what follows the end of a thought of the thinker that a
// budget cut, as it was trained: nothing, the step's result follows.
const ThinkerCue = ""

// Model describes one shipped model.
type Model struct {
	Name  string // e.g. "pareto-synth-policy"
	Bytes int64
	About string // the first line of its model card after the title
}

// List returns the shipped models in name order.
func List() ([]Model, error) {
	entries, err := fs.Glob(files, "*.gguf")
	if err != nil {
		return nil, err
	}
	sort.Strings(entries)
	var out []Model
	for _, e := range entries {
		info, err := fs.Stat(files, e)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(e, ".gguf")
		out = append(out, Model{Name: name, Bytes: info.Size(), About: about(name)})
	}
	return out, nil
}

func about(name string) string {
	card, err := files.ReadFile(name + ".md")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(card), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// Card returns a shipped model's card.
func Card(name string) (string, error) {
	b, err := files.ReadFile(name + ".md")
	if err != nil {
		return "", fmt.Errorf("no model card for %q", name)
	}
	return string(b), nil
}

// Path returns a file path for a shipped model, writing it once to the
// user's cache directory (the engine memory-maps files). A name that is not
// shipped is an error listing the shipped ones.
func Path(name string) (string, error) {
	data, err := files.ReadFile(name + ".gguf")
	if err != nil {
		ms, _ := List()
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		return "", fmt.Errorf("no shipped model %q (shipped: %s; or give a path to a .gguf file)", name, strings.Join(names, ", "))
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "pareto", "models")
	sum := sha256.Sum256(data)
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", name, hex.EncodeToString(sum[:6])))
	if st, err := os.Stat(path); err == nil && st.Size() == int64(len(data)) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return path, nil
}

// Resolve turns what a user passed as a model into a file path: a path to a
// GGUF file is returned as is, a bare name is looked up among the shipped
// models (see Path).
func Resolve(model string) (string, error) {
	if strings.HasSuffix(model, ".gguf") || strings.ContainsRune(model, os.PathSeparator) {
		return model, nil
	}
	return Path(model)
}

// Digest is the SHA-256 of the file at path, in hex: a model file's
// identity, as runs record it and as Ollama names its blobs.
func Digest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Open resolves what a user passed as a model (a GGUF path or a shipped
// model's name, see Resolve) and names it for a run's identity:
// "<name>@<first 12 hex digits of its digest>". The name holds the file's
// content, not its path, so a moved file resumes its runs and a retrained
// one starts afresh.
func Open(model string) (path, id string, err error) {
	path, err = Resolve(model)
	if err != nil {
		return "", "", err
	}
	sum, err := Digest(path)
	if err != nil {
		return "", "", err
	}
	return path, strings.TrimSuffix(filepath.Base(model), ".gguf") + "@" + sum[:12], nil
}
