package reward_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/reward"
)

func TestChooserRemoteScorers(t *testing.T) {
	for _, c := range []struct {
		name   string
		ch     *reward.Chooser
		id     string
		errStr string
	}{
		{"pooling", &reward.Chooser{ScorerURL: "http://gpu1:8000/v1", ScorerModel: "Qwen/Qwen2.5-Math-PRM-7B"},
			"pooling:Qwen/Qwen2.5-Math-PRM-7B@gpu1:8000/qwen2.5-math-prm", ""},
		{"pooling", &reward.Chooser{ScorerURL: "http://box:8080", ScorerModel: "pareto-synth-prm"},
			"pooling:pareto-synth-prm@box:8080/pareto", ""},
		{"pooling", &reward.Chooser{ScorerURL: "http://box:8080", ScorerModel: "my-prm", ScorerFormat: "pareto"},
			"pooling:my-prm@box:8080/pareto", ""},
		{"http", &reward.Chooser{ScorerURL: "https://rm.example/score"}, "http:https://rm.example/score", ""},
		{"pooling", &reward.Chooser{ScorerModel: "m"}, "", "scorer pooling needs the URL of its server (--scorer-url)"},
		{"http", &reward.Chooser{}, "", "scorer http needs the URL of its server (--scorer-url)"},
		{"http", &reward.Chooser{ScorerURL: "gpu1:8000"}, "", "is not an http(s) URL"},
		{"pooling", &reward.Chooser{ScorerURL: "http://gpu1:8000"}, "", "(--scorer-model)"},
		{"pooling", &reward.Chooser{ScorerURL: "http://gpu1:8000", ScorerModel: "m", ScorerFormat: "nope"}, "", `unknown PRM input format "nope"`},
	} {
		s, id, err := c.ch.Scorer(c.name)
		switch {
		case c.errStr != "":
			if err == nil || !strings.Contains(err.Error(), c.errStr) {
				t.Errorf("%s %+v: error %v, want %q", c.name, c.ch, err, c.errStr)
			}
		case err != nil:
			t.Errorf("%s %+v: %v", c.name, c.ch, err)
		case id != c.id || s == nil:
			t.Errorf("%s %+v: id %q, want %q", c.name, c.ch, id, c.id)
		}
	}
	ch := &reward.Chooser{ScorerURL: "http://gpu1:8000", ScorerModel: "m", ScorerTimeout: 3 * time.Second}
	s, _, err := ch.Scorer("pooling")
	if p, ok := s.(*reward.Pooling); err != nil || !ok || p.Timeout != 3*time.Second || p.Endpoint() != "http://gpu1:8000/pooling" {
		t.Errorf("pooling scorer %#v, %v", s, err)
	}
	for url, want := range map[string]string{"http://h:1/v1/": "http://h:1/pooling", "http://h:1/pooling": "http://h:1/pooling", "https://h/x": "https://h/x/pooling"} {
		if got := (&reward.Pooling{URL: url}).Endpoint(); got != want {
			t.Errorf("Endpoint of %s = %s, want %s", url, got, want)
		}
	}
	if err := reward.Check("pooling"); err != nil {
		t.Error(err)
	}
}

// Each run gets a PRM of its own, so that no run's scores come free from
// another's caches; all of them carry the file's one name.
func TestChooserLoadsAPRMPerRun(t *testing.T) {
	ch := &reward.Chooser{PRM: "pareto-synth-prm", Default: "prm"}
	a, ida, err := ch.Scorer("")
	if err != nil {
		t.Fatal(err)
	}
	b, idb, err := ch.Scorer("prm")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || ida != idb || !strings.HasPrefix(ida, "prm:pareto-synth-prm@") {
		t.Errorf("two runs got scorers %p and %p named %q and %q: want two PRMs of one name", a, b, ida, idb)
	}
}
