package strategy

import (
	"errors"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/dataset"
)

// TestGSM8KShotsShared checks that prompts reuse one prepared copy of the
// GSM8K training split instead of loading it per prompt.
func TestGSM8KShotsShared(t *testing.T) {
	for _, reasoning := range []bool{true, false} {
		a, err := gsm8kShots(3, reasoning)
		if err != nil {
			t.Fatal(err)
		}
		b, err := gsm8kShots(5, reasoning)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 3 || len(b) != 5 {
			t.Fatalf("reasoning=%v: %d and %d shots, want 3 and 5", reasoning, len(a), len(b))
		}
		if &a[0] != &b[0] {
			t.Errorf("reasoning=%v: two calls returned separately built shots", reasoning)
		}
		for _, ex := range b {
			if strings.Contains(ex[1], "<<") || !strings.Contains(ex[1], "####") {
				t.Errorf("reasoning=%v: solution %q", reasoning, ex[1])
			}
			if !reasoning && !strings.HasPrefix(ex[1], "####") {
				t.Errorf("direct answer %q is more than the #### line", ex[1])
			}
		}
	}
	if shots, err := gsm8kShots(0, true); shots != nil || err != nil {
		t.Errorf("0 shots: %v, %v", shots, err)
	}
}

func TestWorkedExamplesOnce(t *testing.T) {
	calls := 0
	examples := workedExamplesOnce(func() (*dataset.Dataset, error) {
		calls++
		return &dataset.Dataset{Questions: []pareto.Question{
			{Text: "Q1", Reference: "2+3=<<2+3=5>>5\n#### 5"},
			{Text: "Q2", Reference: "no final line"},
		}}, nil
	})
	for range 3 {
		ex, err := examples()
		if err != nil {
			t.Fatal(err)
		}
		if got := ex.reasoning[0]; got != [2]string{"Q1", "2+3=5\n#### 5"} {
			t.Errorf("reasoning example %q", got)
		}
		if got := ex.direct[0]; got != [2]string{"Q1", "#### 5"} {
			t.Errorf("direct example %q", got)
		}
		if got := ex.direct[1]; got != [2]string{"Q2", "no final line"} {
			t.Errorf("direct example without ####: %q", got)
		}
	}
	if calls != 1 {
		t.Errorf("loaded %d times, want once", calls)
	}

	calls = 0
	boom := errors.New("boom")
	failing := workedExamplesOnce(func() (*dataset.Dataset, error) { calls++; return nil, boom })
	for range 2 {
		if _, err := failing(); !errors.Is(err, boom) {
			t.Errorf("error %v, want %v", err, boom)
		}
	}
	if calls != 1 {
		t.Errorf("failing load tried %d times, want once", calls)
	}
}
