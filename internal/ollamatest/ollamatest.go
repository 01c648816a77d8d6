// Package ollamatest starts a real Ollama server for integration tests and
// loads GGUF files into it. The server binary comes from $PARETO_OLLAMA,
// $PATH or $GOPATH/bin (.ci/run installs it with go install).
package ollamatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running `ollama serve` on a free loopback port.
type Server struct {
	Host    string // host:port
	bin     string
	cmd     *exec.Cmd
	logPath string
	env     []string

	mu      sync.Mutex
	created map[string]created // CreateOnce's work by model name
}

// URL is the OpenAI-compatible base URL.
func (s *Server) URL() string { return "http://" + s.Host + "/v1" }

// Binary finds the ollama executable.
func Binary() (string, error) {
	if p := os.Getenv("PARETO_OLLAMA"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "ollama")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("ollama not found in $PARETO_OLLAMA, $PATH or %s: .ci/run installs it (go install github.com/ollama/ollama@v0.6.5)", p)
	}
	return p, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start launches a server with its models in dir and waits until it answers.
func Start(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	host, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: host, bin: bin, logPath: filepath.Join(dir, "ollama.log")}
	s.env = append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"), "OLLAMA_NOHISTORY=1", "OLLAMA_KEEP_ALIVE=10m", "OLLAMA_NUM_PARALLEL=1")
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.env
	// Its own process group, so Stop also ends the model runners it spawns
	// (killing only the server leaves them running, busy, without a parent).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + host + "/api/version")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("ollama serve on %s did not answer in 60s; log in %s", host, s.logPath)
}

// Stop ends the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_, _ = s.cmd.Process.Wait()
	}
}

// Log returns the server's output so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Create loads a GGUF file under a model name, with a template that passes
// the prompt through unchanged so both sides see the same tokens.
func (s *Server) Create(ctx context.Context, name, ggufPath string) error {
	return s.create(ctx, name, ggufPath)
}

// create runs `ollama create` for ggufPath with the pass-through template
// and any further flags.
func (s *Server) create(ctx context.Context, name, ggufPath string, flags ...string) error {
	mf := filepath.Join(filepath.Dir(ggufPath), name+".Modelfile")
	// One thread: ggml's workers wait for each other spinning, and two
	// of them on two cores shared with a test binary, pareto and a
	// second package's server lose their cores for whole time slices
	// (a tiny model's call took 0.7 s, not 50 ms). A row of a matmul is
	// summed by one thread either way, so the numbers do not change.
	body := fmt.Sprintf("FROM %s\nTEMPLATE \"{{ .Prompt }}\"\nPARAMETER num_thread 1\n", ggufPath)
	if err := os.WriteFile(mf, []byte(body), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"create", name, "-f", mf}, flags...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ollama create %s: %w: %s", strings.Join(append([]string{name}, flags...), " "), err, out)
	}
	return nil
}

// Generate calls Ollama's native API with raw prompt and greedy or seeded
// sampling, returning the text and the server's token counts.
func (s *Server) Generate(ctx context.Context, model, prompt string, opts map[string]any) (text string, promptTokens, evalTokens int, err error) {
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "raw": true, "stream": false, "options": opts})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.Host+"/api/generate", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Response        string `json:"response"`
		PromptEvalCount int    `json:"prompt_eval_count"`
		EvalCount       int    `json:"eval_count"`
		Error           string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", 0, 0, err
	}
	if out.Error != "" {
		return "", 0, 0, fmt.Errorf("ollama: %s", out.Error)
	}
	return out.Response, out.PromptEvalCount, out.EvalCount, nil
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Shared starts one server per test binary (stopped by StopShared in
// TestMain) and fails the test with the reason when it cannot.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pareto-ollama-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = Start(dir)
	})
	if sharedErr != nil {
		t.Fatalf("integration tests need a real Ollama: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Main runs a package's tests and then stops the shared server; call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
