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
	n, err := gradeStream(strings.NewReader(in), &out, false)
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
	n, err := gradeStream(strings.NewReader("\n\n"), &out, false)
	if err != nil || n != 0 || out.Len() != 0 {
		t.Fatalf("blank input: n=%d err=%v out=%q, want nothing", n, err, out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestGradeStreamWriteError(t *testing.T) {
	_, err := gradeStream(strings.NewReader(`{"prediction":"4","reference":"4"}`+"\n"), failWriter{}, false)
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

func TestGradeExplain(t *testing.T) {
	in := strings.Join([]string{
		`{"prediction": "so $\\boxed{255}$ first. Final Answer: The final answer is $10,455$. I hope it is correct.", "reference": "10455", "format": "math"}`,
		`{"prediction": "Therefore $5 \\geq x$.", "reference": "$x \\leq 5$", "format": "math"}`,
		`{"prediction": "The answer is 4", "reference": "#### 5"}`,
	}, "\n")
	cmd := newGradeCmd()
	cmd.SetIn(strings.NewReader(in))
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--explain"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	type row struct {
		Correct bool `json:"correct"`
		Explain *struct {
			Candidates []struct{ Method, Answer string } `json:"candidates"`
			Chosen     string                            `json:"chosen"`
			Steps      []string                          `json:"steps"`
		} `json:"explain"`
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
	}
	want := []struct {
		correct    bool
		candidates []string // method:answer
		chosen     string   // substring
		step       string   // substring of some step
	}{
		{true, []string{"boxed:255", "answer_is:10,455", "last_number:10,455"}, "final answer", "identical after normalisation"},
		{true, []string{"last_number:5 \\geq x"}, "last number", "relation:"},
		{false, []string{"answer_is:4", "last_number:4"}, "answer is", "number: exact rational 4 vs 5"},
	}
	for i, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		w := want[i]
		if r.Correct != w.correct || r.Explain == nil {
			t.Errorf("line %d = %s, want correct=%v with an explanation", i+1, l, w.correct)
			continue
		}
		var got []string
		for _, c := range r.Explain.Candidates {
			got = append(got, c.Method+":"+c.Answer)
		}
		if strings.Join(got, "|") != strings.Join(w.candidates, "|") {
			t.Errorf("line %d candidates = %q, want %q", i+1, got, w.candidates)
		}
		if !strings.Contains(r.Explain.Chosen, w.chosen) {
			t.Errorf("line %d chosen = %q, want it to mention %q", i+1, r.Explain.Chosen, w.chosen)
		}
		if !strings.Contains(strings.Join(r.Explain.Steps, "\n"), w.step) {
			t.Errorf("line %d steps = %q, want one mentioning %q", i+1, r.Explain.Steps, w.step)
		}
	}
	// Without the flag the output has no explanation.
	cmd = newGradeCmd()
	cmd.SetIn(strings.NewReader(`{"prediction":"4","reference":"4"}`))
	out.Reset()
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || strings.Contains(out.String(), "explain") {
		t.Errorf("without --explain: %v, %s", err, out.String())
	}
}
