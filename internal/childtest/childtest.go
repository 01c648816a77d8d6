// Package childtest checks that a test fails: it reruns the test in a child
// process, since a failing *testing.T cannot be faked, and reads the
// child's output. The conformance suites' own tests use it to show that a
// broken implementation fails them.
package childtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const env = "CHILDTEST_RUN"

// Fails runs body in a child process as the current test, and wants that
// test to fail with output holding every one of wants (e.g. "--- FAIL:
// TestX/Rule " and the message). In the child, Fails just runs body.
func Fails(t *testing.T, body func(t *testing.T), wants ...string) {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		body(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("%s in a child process: %v, want a failing test\n%s", t.Name(), err, out)
	}
	for _, want := range wants {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s in a child process: output lacks %q:\n%s", t.Name(), want, out)
		}
	}
}
