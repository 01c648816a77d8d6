package reward_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/scorertest"
)

// fakeHTTPScorer answers the generic scorer protocol with answer(req).
func fakeHTTPScorer(t *testing.T, answer func(question string, steps []string) any) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Question string   `json:"question"`
			Steps    []string `json:"steps"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(answer(req.Question, req.Steps))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// prefixScores scores step k by the question and steps[:k+1] alone.
func prefixScores(question string, steps []string) any {
	scores := make([]float64, len(steps))
	for k := range steps {
		scores[k] = tagScore(question + "\x00" + strings.Join(steps[:k+1], "\x00"))
	}
	return map[string]any{"scores": scores, "usage": map[string]int{"prompt_tokens": 7}}
}

func TestHTTPScorer(t *testing.T) {
	srv := fakeHTTPScorer(t, prefixScores)
	h := &reward.HTTP{URL: srv.URL + "/score"}
	steps := []string{"10 / 2 = 5", "#### 5"}
	scores, u, err := h.Score(t.Context(), "Zoe has 10 cards.", steps)
	if err != nil {
		t.Fatal(err)
	}
	if want := prefixScores("Zoe has 10 cards.", steps).(map[string]any)["scores"]; fmt.Sprint(scores) != fmt.Sprint(want) {
		t.Errorf("scores %v, want %v", scores, want)
	}
	if u.Calls != 1 || u.PromptTokens != 7 || u.Unreported != 0 {
		t.Errorf("usage %+v", u)
	}
	// Without usage the call is counted as unreported, not guessed.
	bare := fakeHTTPScorer(t, func(string, []string) any { return map[string]any{"scores": []float64{0.5}} })
	if _, u, err := (&reward.HTTP{URL: bare.URL}).Score(t.Context(), "q", []string{"a"}); err != nil || u.Unreported != 1 || u.Calls != 1 {
		t.Errorf("usage %+v, error %v: want one unreported call", u, err)
	}
}

func TestHTTPScorerConformance(t *testing.T) {
	scorertest.Run(t, &reward.HTTP{URL: fakeHTTPScorer(t, prefixScores).URL})
}

func TestHTTPScorerErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer any
		wants  []string
	}{
		{"too few scores", map[string]any{"scores": []float64{0.9}}, []string{"returned 1 scores for 2 steps"}},
		{"too many scores", map[string]any{"scores": []float64{0.9, 0.8, 0.7}}, []string{"returned 3 scores for 2 steps"}},
		{"no scores", map[string]any{"score": 0.9}, []string{"returned 0 scores for 2 steps"}},
		{"null score", map[string]any{"scores": []any{0.9, nil}}, []string{"step 2's score is null"}},
		{"not a probability", map[string]any{"scores": []float64{0.9, 4.2}}, []string{"step 2's score is 4.2", "[0,1]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeHTTPScorer(t, func(string, []string) any { return c.answer })
			scores, _, err := (&reward.HTTP{URL: srv.URL}).Score(t.Context(), "q", []string{"a", "b"})
			if err == nil {
				t.Fatalf("scores %v and no error", scores)
			}
			for _, w := range append(c.wants, "http scorer: ", srv.URL) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"model not loaded"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if _, _, err := (&reward.HTTP{URL: srv.URL}).Score(t.Context(), "q", []string{"a"}); err == nil ||
		!strings.Contains(err.Error(), "503 Service Unavailable: model not loaded") {
		t.Errorf("error %v, want the status and the server's message", err)
	}
}

func TestHTTPScorerTimesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	h := &reward.HTTP{URL: srv.URL, Timeout: 30 * time.Millisecond}
	if _, _, err := h.Score(t.Context(), "q", []string{"a"}); err == nil || !strings.Contains(err.Error(), "no answer within 30ms (the scorer timeout)") {
		t.Fatalf("error %v, want a timeout naming the limit", err)
	}
}
