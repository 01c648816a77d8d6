package serve

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/reward"
	"github.com/pareto-llm/pareto/scorertest"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

// loadPRM loads the shipped PRM, a fresh one each call.
func loadPRM(t *testing.T) *reward.PRM {
	t.Helper()
	return modelstest.Open(t, models.DefaultPRM, reward.LoadPRM)
}

// prmServer serves the shipped PRM beside the shipped policy.
func prmServer(t *testing.T) (url string) {
	t.Helper()
	return newServer(t, map[string]Model{models.DefaultPRM: PRM{Scorer: loadPRM(t)}, modelName: backend}).URL
}

// The pooling scorer through `pareto serve` scores as the PRM does in
// process. To float precision it is the PRM's ScoreTags, what the server
// computes: the wire and the client's choice of rows add nothing. Beside
// the PRM's Score it differs only as the engine's sums do with where a
// prefill call starts (the server's calls end at the prompt's line breaks
// too): about 1e-5. Each question gets a server and reference PRMs of
// their own, fresh, so that no score comes from a cache another filled
// and all reach the question with the same, empty, prefix cache.
func TestPoolingThroughServeMatchesPRM(t *testing.T) {
	var n int
	for i, prob := range synth.TestSet() {
		if i%193 != 0 {
			continue
		}
		remote := &reward.Pooling{URL: prmServer(t) + "/v1", Model: models.DefaultPRM, Format: reward.ParetoPRM}
		tags, local := loadPRM(t), loadPRM(t)
		steps := step.Split(prob.Solution)
		cands := [][]string{steps, steps[:1], append(append([]string(nil), steps[:len(steps)-1]...), "#### 0")}
		got, u, err := pareto.ScoreAll(t.Context(), remote, prob.Question, cands)
		if err != nil {
			t.Fatal(err)
		}
		if u.Calls != 1 || u.PromptTokens == 0 || u.Unreported != 0 {
			t.Errorf("usage %+v: want one call with the server's prompt tokens", u)
		}
		for c, sol := range cands {
			text := reward.Prompt(reward.PromptTemplate, prob.Question) + strings.Join(sol, "\n") + "\n"
			exact, _, err := tags.ScoreTags(t.Context(), text)
			if err != nil {
				t.Fatal(err)
			}
			exact = exact[len(exact)-len(sol):] // the prompt's line breaks come first
			want, _, err := local.Score(t.Context(), prob.Question, sol)
			if err != nil {
				t.Fatal(err)
			}
			for k := range want {
				n++
				if d := math.Abs(got[c][k] - exact[k]); d > 1e-6 {
					t.Errorf("problem %d candidate %d step %d: through serve %v, ScoreTags in process %v", i, c, k+1, got[c][k], exact[k])
				}
				if d := math.Abs(got[c][k] - want[k]); d > 1e-4 {
					t.Errorf("problem %d candidate %d step %d: through serve %v, Score in process %v", i, c, k+1, got[c][k], want[k])
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("compared %d scores only", n)
	}
}

func TestPoolingThroughServeConformance(t *testing.T) {
	scorertest.Run(t, &reward.Pooling{URL: prmServer(t), Model: models.DefaultPRM, Format: reward.ParetoPRM})
}

// post sends body to url+path and returns the status and body.
func post(t *testing.T, url, path, body string) (int, []byte) {
	t.Helper()
	resp, b := postJSON(t, url+path, body)
	return resp.StatusCode, b
}

// The wire shape is vLLM's PoolingResponse, a row [P(bad), P(good)] at
// each line break.
func TestPoolingWire(t *testing.T) {
	url := prmServer(t)
	status, body := post(t, url, "/pooling", `{"model":"pareto-synth-prm","input":"Question: Zoe has 10 cards.\nAnswer (step by step):\n10 / 2 = 5\n","task":"token_classify","user":"x"}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp struct {
		ID, Object, Model string
		Created           int64
		Data              []struct {
			Index  int
			Object string
			Data   [][]float64
		}
		Usage map[string]any
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "pool-") || resp.Object != "list" || resp.Model != models.DefaultPRM || resp.Created == 0 ||
		len(resp.Data) != 1 || resp.Data[0].Object != "pooling" || len(resp.Data[0].Data) != 3 {
		t.Fatalf("response %s", body)
	}
	for _, row := range resp.Data[0].Data {
		if len(row) != 2 || math.Abs(row[0]+row[1]-1) > 1e-9 || row[1] < 0 || row[1] > 1 {
			t.Errorf("row %v is not [P(bad), P(good)]", row)
		}
	}
	if pt, _ := resp.Usage["prompt_tokens"].(float64); pt == 0 || resp.Usage["total_tokens"] != resp.Usage["prompt_tokens"] {
		t.Errorf("usage %v", resp.Usage)
	}
	// Without a model name the one model that pools answers.
	if status, body := post(t, url, "/pooling", `{"input":["a\n","b\nc\n"]}`); status != http.StatusOK || !strings.Contains(string(body), `"index":1`) {
		t.Errorf("no model named: %d %s", status, body)
	}
}

func TestPoolingErrors(t *testing.T) {
	url := prmServer(t)
	for _, c := range []struct {
		path, body string
		status     int
		param      string
		says       string
	}{
		{"/v1/completions", `{"model":"pareto-synth-prm","prompt":"Question: 1 + 1?\n"}`, 400, "model", "process reward model"},
		{"/v1/chat/completions", `{"model":"pareto-synth-prm","messages":[{"role":"user","content":"hi"}],"stream":true}`, 400, "model", "does not generate"},
		{"/pooling", `{"model":"` + modelName + `","input":"a\n"}`, 400, "model", "does not support the Pooling API"},
		{"/pooling", `{"model":"nope","input":"a\n"}`, 404, "model", "does not exist"},
		{"/pooling", `{"model":"pareto-synth-prm","input":[1,2,3]}`, 400, "input", "no token ids"},
		{"/pooling", `{"model":"pareto-synth-prm","input":[]}`, 400, "input", "1 to 2048 texts"},
		{"/pooling", `{"model":"pareto-synth-prm"}`, 400, "input", "required"},
		{"/pooling", `{"model":"pareto-synth-prm","input":"a\n","task":"embed"}`, 400, "task", "token_classify only"},
		{"/pooling", `{"model":"pareto-synth-prm","input":"a\n","use_activation":false}`, 400, "use_activation", "true only"},
		{"/pooling", `{"model":"pareto-synth-prm","input":"a\n","dimensions":4}`, 400, "dimensions", "Unrecognized request argument"},
	} {
		status, body := post(t, url, c.path, c.body)
		if status != c.status {
			t.Errorf("%s %.60s: status %d, want %d: %s", c.path, c.body, status, c.status, body)
			continue
		}
		e := errorOf(t, body)
		if p, _ := e["param"].(string); p != c.param || !strings.Contains(e["message"].(string), c.says) {
			t.Errorf("%s %.60s: error %v, want param %q and a message saying %q", c.path, c.body, e, c.param, c.says)
		}
	}
}

// An input longer than the PRM's context is the client's error, a 400 as
// vLLM's, naming its length and the limit, whichever input of the list it
// is; the inputs before it are not answered either.
func TestPoolingTooLong(t *testing.T) {
	url := prmServer(t)
	long := strings.Repeat("1 + 1 = 2\\n", 100)
	said := regexp.MustCompile(`maximum context length is 256 tokens\. However, you requested (\d+) tokens in input (\d+) for pooling`)
	for _, c := range []struct {
		input string
		index string
	}{
		{`"` + long + `"`, "0"},
		{`["a\n","` + long + `"]`, "1"},
	} {
		status, body := post(t, url, "/pooling", `{"model":"pareto-synth-prm","input":`+c.input+`}`)
		if status != http.StatusBadRequest {
			t.Fatalf("input %.40s: status %d, want 400: %s", c.input, status, body)
		}
		e := errorOf(t, body)
		m := said.FindStringSubmatch(e["message"].(string))
		if e["type"] != "invalid_request_error" || e["param"] != "input" || m == nil || m[2] != c.index {
			t.Fatalf("input %.40s: error %v, want an invalid_request_error on input %s naming its length and the context", c.input, e, c.index)
		}
		if n, _ := strconv.Atoi(m[1]); n <= 256 || n > 2000 {
			t.Errorf("input %.40s: %d tokens, want more than the context of 256 (1000 characters)", c.input, n)
		}
	}
}

// failingScorer fails every input, as a broken model would.
type failingScorer struct{}

func (failingScorer) ScoreTags(context.Context, string) ([]float64, pareto.Usage, error) {
	return nil, pareto.Usage{}, errors.New("the model's weights are NaN")
}

// Any other failure of the scorer is the server's: a 500.
func TestPoolingScorerFails(t *testing.T) {
	url := newServer(t, map[string]Model{"prm": PRM{Scorer: failingScorer{}}}).URL
	status, body := post(t, url, "/pooling", `{"model":"prm","input":"a\n"}`)
	if status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", status, body)
	}
	if e := errorOf(t, body); e["type"] != "server_error" || !strings.Contains(e["message"].(string), "input 0: the model's weights are NaN") {
		t.Errorf("error %v", e)
	}
}
