package progress

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Off a terminal, progress is log lines: the first step, the last, and
// what the question bar counted.
func TestLogLinesOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))

	tr := NewTrain(f, log, 3, 0)
	for i, loss := range []float64{4, 2, 1} {
		tr.Step(TrainStep{Step: i + 1, Tokens: 100, Loss: loss, LR: 1e-3, GradNorm: 0.5})
	}
	tr.Finish()
	out := buf.String()
	if !strings.Contains(out, "step=1 total=3 loss=4.0000") || !strings.Contains(out, "step=3 total=3 loss=1.0000") {
		t.Errorf("training log lacks the first or last step:\n%s", out)
	}
	if got, want := tr.Loss(), 0.95*(0.95*4+0.05*2)+0.05*1; math.Abs(got-want) > 1e-12 {
		t.Errorf("moving average loss %v", got)
	}

	buf.Reset()
	b := New(f, "greedy", log)
	b.Start(4, 1)
	b.Step(true)
	b.Step(false)
	b.Step(true)
	b.Finish()
	if out := buf.String(); !strings.Contains(out, "job=greedy done=4 total=4") || !strings.Contains(out, `accuracy="acc 66.7%"`) {
		t.Errorf("question bar logged nothing useful:\n%s", out)
	}
}
