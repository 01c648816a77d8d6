package openai

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/pareto-llm/pareto"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{nil, 0},
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After": {"junk"}}, 0},
		{http.Header{"Retry-After": {"99999"}}, maxRetryAfter},
		{http.Header{"Retry-After": {now.Add(7 * time.Second).Format(http.TimeFormat)}}, 7 * time.Second},
		{http.Header{"Retry-After-Ms": {"150"}, "Retry-After": {"9"}}, 150 * time.Millisecond},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := &Backend{cfg: Config{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	err := errors.New("x")
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		full *= time.Millisecond
		for range 20 {
			d := b.backoff(attempt, err)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	se := &StatusError{StatusCode: 429, RetryAfter: 3 * time.Second}
	if d := b.backoff(0, fmt.Errorf("wrapped: %w", se)); d != 3*time.Second {
		t.Errorf("backoff with Retry-After = %v, want 3s", d)
	}
}

func TestClassification(t *testing.T) {
	te := func(err error) error { return fmt.Errorf("ctx: %w", &transportError{err: err}) }
	for _, tc := range []struct {
		err              error
		retry, fault, rf bool
	}{
		{&StatusError{StatusCode: 429}, true, false, false},
		{&StatusError{StatusCode: 500}, true, true, false},
		{&StatusError{StatusCode: 503}, true, true, false},
		{&StatusError{StatusCode: 501}, false, true, false},
		{&StatusError{StatusCode: 400}, false, false, false},
		{&StatusError{StatusCode: 404}, false, false, false},
		{te(syscall.ECONNREFUSED), true, true, true},
		{te(syscall.ECONNRESET), true, true, false},
		{te(io.ErrUnexpectedEOF), true, true, false},
		{fmt.Errorf("x: %w", ErrMalformed), false, false, false},
	} {
		if got := retryable(tc.err); got != tc.retry {
			t.Errorf("retryable(%v) = %v", tc.err, got)
		}
		if got := serverFault(tc.err); got != tc.fault {
			t.Errorf("serverFault(%v) = %v", tc.err, got)
		}
		if got := refused(tc.err); got != tc.rf {
			t.Errorf("refused(%v) = %v", tc.err, got)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ total, k int }{{10, 3}, {0, 4}, {7, 1}, {2, 5}, {11, 3}} {
		s := split(tc.total, tc.k)
		sum := 0
		for i, v := range s {
			sum += v
			if v < tc.total/tc.k || v > (tc.total+tc.k-1)/tc.k || i > 0 && v > s[i-1] {
				t.Errorf("split(%d,%d)[%d] = %d: want even shares, larger first", tc.total, tc.k, i, v)
			}
		}
		if sum != tc.total || len(s) != tc.k {
			t.Errorf("split(%d,%d) = %v", tc.total, tc.k, s)
		}
	}
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		total   int
		weights []int
		want    []int
	}{
		{7, []int{5, 7, 9}, []int{2, 2, 3}}, // 1.67, 2.33, 3: the largest remainder gets the unit
		{2, []int{1, 1, 1}, []int{1, 1, 0}}, // ties go to the earlier shares
		{3, []int{1, 1, 1}, []int{1, 1, 1}}, // total = sum: the weights themselves
		{9, []int{2, 0, 7}, []int{2, 0, 7}},
		{0, []int{4, 4}, []int{0, 0}},
		{5, []int{0, 0}, []int{3, 2}}, // no weight: split evenly
		{4, nil, []int{}},
	} {
		got := apportion(tc.total, tc.weights)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
		}
	}
	// Exhaustively over small cases: exact sums, no share above its weight.
	for total := 0; total <= 12; total++ {
		for a := range 5 {
			for b := range 5 {
				for c := range 5 {
					w := []int{a, b, c}
					if a+b+c < total {
						continue
					}
					sum := 0
					for i, v := range apportion(total, w) {
						sum += v
						if v < 0 || v > w[i] {
							t.Fatalf("apportion(%d, %v)[%d] = %d, outside [0, %d]", total, w, i, v, w[i])
						}
					}
					if sum != total {
						t.Fatalf("apportion(%d, %v) sums to %d", total, w, sum)
					}
				}
			}
		}
	}
}

func TestTooManyChoicesKeepsSums(t *testing.T) {
	a := &answer{reported: true, prompt: 5, complete: 9, hidden: 3, choices: []choice{{index: 2, text: "c"}, {index: 0, text: "a"}, {index: 1, text: "b"}}}
	cs := a.completions(2, time.Second)
	if len(cs) != 2 || cs[0].Text != "a" || cs[1].Text != "b" {
		t.Fatalf("completions = %+v", cs)
	}
	// Of the server's 9 completion tokens 3 are reasoning: 6 visible.
	if got := cs[0].Usage.CompletionTokens + cs[1].Usage.CompletionTokens; got != 6 {
		t.Errorf("visible tokens sum = %d, want 6", got)
	}
	if got := cs[0].Usage.HiddenTokens + cs[1].Usage.HiddenTokens; got != 3 {
		t.Errorf("hidden tokens sum = %d, want 3", got)
	}
	if cs[0].Usage.Latency != time.Second || cs[1].Usage.Latency != 0 {
		t.Errorf("latency charged %v/%v, want all to the first", cs[0].Usage.Latency, cs[1].Usage.Latency)
	}
}

func TestChoiceTokens(t *testing.T) {
	f := newFake(t, &fake{script: func(hit int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[{"index":0,"text":"a","usage":null,"completion_tokens":null},{"index":1,"text":"b","completion_tokens":2}],"usage":{"prompt_tokens":1,"completion_tokens":9}}`)
		return true
	}})
	b := mustNew(t, quick(f.url()))
	got, err := b.Generate(t.Context(), pareto.Request{Prompt: "x", Params: pareto.Params{N: 2}})
	if err != nil {
		t.Fatal(err)
	}
	// Choice 0 has no count (null), so the total is split: 5 + 4.
	if got[0].Usage.CompletionTokens != 5 || got[1].Usage.CompletionTokens != 4 {
		t.Errorf("tokens = %d/%d, want 5/4 from an even split", got[0].Usage.CompletionTokens, got[1].Usage.CompletionTokens)
	}
}
