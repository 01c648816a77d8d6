package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltins(t *testing.T) {
	for name, want := range map[string]int{"gsm8k": 1319, "gsm8k-train": 7473, "math500": 500, "synth": 1000} {
		d, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Questions) != want {
			t.Errorf("%s: %d questions, want %d", name, len(d.Questions), want)
		}
		for _, q := range d.Questions {
			if q.Text == "" || q.Reference == "" {
				t.Fatalf("%s: empty question %+v", name, q)
			}
		}
	}
	d, _ := Load("math500")
	levels := map[int]int{}
	for _, q := range d.Questions {
		levels[q.Level]++
	}
	if levels[1] != 43 || levels[5] != 134 {
		t.Errorf("math500 levels %v", levels)
	}
	if lic, err := License("gsm8k"); err != nil || !strings.Contains(lic, "MIT") {
		t.Errorf("gsm8k licence missing: %v", err)
	}
}

func TestUnknown(t *testing.T) {
	if _, err := Load("nope"); err == nil || !strings.Contains(err.Error(), "gsm8k") {
		t.Fatalf("want error listing built-ins, got %v", err)
	}
}

func write(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "d.jsonl")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUserFile(t *testing.T) {
	p := write(t, `{"q":"1+1?","a":2}`+"\n\n"+`{"q":"2+2?","a":"4","id":"x"}`+"\n")
	d, err := LoadFile(p, Fields{Question: "q", Answer: "a", Format: "number"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Questions) != 2 || d.Questions[0].Reference != "2" || d.Questions[1].ID != "1" {
		t.Fatalf("%+v", d.Questions)
	}
}

func TestUserFileErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"q":"a","a":"1"}` + "\n" + `{"q":"b"}`, ":2: field \"a\": missing"},
		{`{"q":"a","a":"1"}` + "\n\n" + `not json`, ":3: not a JSON object"},
		{`{"q":"","a":"1"}`, ":1: field \"q\": empty"},
		{`{"q":["x"],"a":"1"}`, ":1: field \"q\": want a string"},
		{``, "no questions"},
	}
	for _, c := range cases {
		p := write(t, c.body)
		_, err := LoadFile(p, Fields{Question: "q", Answer: "a", Format: "text"})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("body %q: got %v, want %q with the path", c.body, err, c.want)
		}
	}
	if _, err := LoadFile(write(t, `{"q":"a","a":"1"}`), Fields{Question: "q", Answer: "a", Format: "latex"}); err == nil {
		t.Error("unknown format accepted")
	}
}
