package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestGradeStream(t *testing.T) {
	long := strings.Repeat("x", 200000) + " #### 7"
	in := strings.Join([]string{
		`{"prediction": "2+2=4\n#### 4", "reference": "so 4\n#### 4"}`,
		``,
		`{"prediction": "The answer is $\\frac{1}{2}$.", "reference": "0.5", "format": "math"}`,
		`not json`,
		`{"prediction": 5, "reference": "5"}`,
		`{"prediction": "5", "reference": "5", "format": "poetry"}`,
		`   `,
		`{"prediction": "#### 6", "reference": "#### 7", "format": "gsm8k"}`,
		`{"reference": "5"}`,
		`{"prediction": "` + long + `", "reference": "#### 7"}`,
		`{"prediction": "Paris", "reference": "paris", "format": "text"}`,
	}, "\n") // no final newline: the last line must still be read
	var out bytes.Buffer
	n, err := gradeStream(strings.NewReader(in), &out)
	if err != nil {
		t.Fatalf("gradeStream: %v", err)
	}
	if n != 4 {
		t.Errorf("nErrors = %d, want 4", n)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	type row struct {
		Correct   *bool  `json:"correct"`
		Predicted string `json:"predicted"`
		Gold      string `json:"gold"`
		Method    string `json:"method"`
		Error     string `json:"error"`
	}
	want := []struct {
		correct bool
		errLine string // prefix of the error, or "" for a graded line
	}{
		{true, ""}, {true, ""}, {false, "line 4: "}, {false, "line 5: "}, {false, "line 6: "},
		{false, ""}, {false, "line 9: "}, {true, ""}, {true, ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d output lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, l, err)
		}
		if want[i].errLine != "" {
			if !strings.HasPrefix(r.Error, want[i].errLine) || r.Correct != nil {
				t.Errorf("output line %d = %s, want an error starting %q", i+1, l, want[i].errLine)
			}
			continue
		}
		if r.Error != "" || r.Correct == nil || *r.Correct != want[i].correct {
			t.Errorf("output line %d = %s, want correct=%v", i+1, l, want[i].correct)
		}
	}
	if !strings.Contains(lines[1], `"gold":"0.5"`) || !strings.Contains(lines[1], `"method":"answer_is"`) {
		t.Errorf("math line = %s, want gold 0.5 via answer_is", lines[1])
	}
	if !strings.Contains(lines[5], `"predicted":"6"`) {
		t.Errorf("gsm8k line = %s, want predicted 6", lines[5])
	}
}

func TestGradeStreamClean(t *testing.T) {
	var out bytes.Buffer
	n, err := gradeStream(strings.NewReader("\n\n"), &out)
	if err != nil || n != 0 || out.Len() != 0 {
		t.Fatalf("blank input: n=%d err=%v out=%q, want nothing", n, err, out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestGradeStreamWriteError(t *testing.T) {
	_, err := gradeStream(strings.NewReader(`{"prediction":"4","reference":"4"}`+"\n"), failWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the write error", err)
	}
}

func TestGradeCmdExitStatus(t *testing.T) {
	cmd := newGradeCmd()
	cmd.SetIn(strings.NewReader(`{"prediction":"4","reference":"4"}` + "\nbad\n"))
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); !errors.Is(err, errGradeLines) {
		t.Fatalf("Execute = %v, want errGradeLines", err)
	}
	if got := strings.Count(out.String(), "\n"); got != 2 {
		t.Errorf("got %d output lines, want 2: %q", got, out.String())
	}
	cmd = newGradeCmd()
	cmd.SetIn(strings.NewReader(`{"prediction":"4","reference":"4"}` + "\n"))
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("Execute on good input = %v", err)
	}
}
