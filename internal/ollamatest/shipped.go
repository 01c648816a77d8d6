package ollamatest

import (
	"context"
	"testing"

	"github.com/pareto-llm/pareto/models"
)

// created is what CreateOnce did for one model name.
type created struct {
	path string
	err  error
}

// CreateOnce loads the GGUF file that file returns into s under name and
// returns the file's path. Tests in one binary share the server, so it
// does this once per name; it fails t with the server's log when file or
// Ollama fails.
func (s *Server) CreateOnce(t testing.TB, name string, file func() (string, error)) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, done := s.created[name]
	if !done {
		if c.path, c.err = file(); c.err == nil {
			c.err = s.Create(context.Background(), name, c.path)
		}
		if s.created == nil {
			s.created = map[string]created{}
		}
		s.created[name] = c
	}
	if c.err != nil {
		t.Fatalf("loading %s into Ollama: %v\n%s", name, c.err, s.Log())
	}
	return c.path
}

// CreateShipped loads the shipped model name into s under the same name,
// once, and returns its file.
func (s *Server) CreateShipped(t testing.TB, name string) string {
	t.Helper()
	return s.CreateOnce(t, name, func() (string, error) { return models.Path(name) })
}
