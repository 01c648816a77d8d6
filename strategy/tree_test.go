package strategy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pareto-llm/pareto"
)

// stepper is a policy that writes a solution one line at a time: two steps,
// each "good" or "bad" at even odds, then "#### 7" when both were good and
// "#### 9" otherwise. Three in four of its solutions are wrong, so voting over
// independent samples answers 9; a search guided by a scorer that sees the
// good steps answers 7.
type stepper struct {
	mu    sync.Mutex
	calls int
	steps int // completions asked for
}

const stepperPrompt = "Q: seven?\n"

func (s *stepper) Generate(_ context.Context, req pareto.Request) ([]pareto.Completion, error) {
	s.mu.Lock()
	s.calls++
	s.steps += max(req.N, 1)
	s.mu.Unlock()
	so := strings.TrimPrefix(req.Prompt, stepperPrompt)
	depth := strings.Count(so, "\n")
	rng := rand.New(rand.NewPCG(uint64(*req.Seed), uint64(len(so))))
	out := make([]pareto.Completion, max(req.N, 1))
	for i := range out {
		c := pareto.Completion{FinishReason: "stop", Usage: pareto.Usage{CompletionTokens: 2}}
		if i == 0 {
			c.Usage.Calls = 1
		}
		switch {
		case depth < 2 && rng.IntN(2) == 0:
			c.Text, c.Stop = "good", "\n"
		case depth < 2:
			c.Text, c.Stop = "bad", "\n"
		case strings.Contains(so, "bad"):
			c.Text = "#### 9" // ends at the end of text: no stop string
		default:
			c.Text = "#### 7"
		}
		out[i] = c
	}
	return out, nil
}

// goodSteps scores good steps and the right answer 0.9, the rest 0.1.
type goodSteps struct{}

func (goodSteps) Score(_ context.Context, _ string, steps []string) ([]float64, pareto.Usage, error) {
	out := make([]float64, len(steps))
	for i, st := range steps {
		out[i] = 0.1
		if st == "good" || st == "#### 7" {
			out[i] = 0.9
		}
	}
	return out, pareto.Usage{Calls: 1}, nil
}

func init() { RegisterStepSeparator("tree-test", "\n") }

var treeQ = pareto.Question{ID: "t1", Dataset: "tree-test", Text: "seven?", Reference: "#### 7", Format: pareto.FormatGSM8K}

func solveTree(t *testing.T, name string, o Options) (Result, *stepper) {
	t.Helper()
	gen := &stepper{}
	s, err := New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Gen: gen, Scorer: goodSteps{}, Seed: 3, Prompts: PrompterFunc(func(pareto.Question, Style) (string, []string, error) {
		return stepperPrompt, nil, nil
	})}
	res, err := s.Solve(context.Background(), env, treeQ)
	if err != nil {
		t.Fatal(err)
	}
	return res, gen
}

func TestTreeSearchesFollowTheScorer(t *testing.T) {
	for _, name := range []string{"beam", "dvts", "rebase", "particle-filter"} {
		t.Run(name, func(t *testing.T) {
			const n = 8
			res, gen := solveTree(t, name, Options{N: n, MaxTokens: 100, Width: 2})
			if res.Answer != "7" {
				t.Errorf("answer %q, want 7 (votes %+v)", res.Answer, res.Votes)
			}
			// At most N expansions a depth, and no more than N finished
			// solutions (dvts keeps N/M subtrees but may finish more).
			perDepth := map[int]int{}
			depth := map[int]int{}
			finished, selected := 0, 0
			for _, nd := range res.Tree {
				if nd.Parent == nil {
					if nd.ID != 0 || nd.Children != n {
						t.Errorf("root %+v: want id 0 with %d children", nd, n)
					}
					continue
				}
				if *nd.Parent >= nd.ID {
					t.Fatalf("node %d comes before its parent %d", nd.ID, *nd.Parent)
				}
				depth[nd.ID] = depth[*nd.Parent] + 1
				perDepth[depth[nd.ID]]++
				if nd.Finished {
					finished++
					if nd.Answer == "" || nd.Children != 0 {
						t.Errorf("finished node %+v has no answer or has children", nd)
					}
				}
				if nd.Selected {
					selected++
					if !res.Tree[*nd.Parent].Selected {
						t.Errorf("selected node %d's parent is not selected", nd.ID)
					}
				}
				if nd.Pruned && (nd.Finished || nd.Children > 0) {
					t.Errorf("node %+v is pruned but finished or expanded", nd)
				}
			}
			for d, c := range perDepth {
				if c > n {
					t.Errorf("depth %d has %d nodes, more than the budget %d", d, c, n)
				}
			}
			if len(res.Candidates) != finished || finished == 0 || (name != "dvts" && finished > n) {
				t.Errorf("%d candidates, %d finished nodes, budget %d", len(res.Candidates), finished, n)
			}
			if selected != 3 {
				t.Errorf("%d nodes selected, want the 3 steps of the winning solution", selected)
			}
			// Usage adds the generation calls and one scoring per node.
			if res.Usage.Calls != gen.calls+len(res.Tree)-1 || res.Usage.CompletionTokens != 2*gen.steps {
				t.Errorf("usage %+v: %d generation calls, %d nodes", res.Usage, gen.calls, len(res.Tree)-1)
			}
		})
	}
}

// Without the scorer's guidance the same policy answers 9 by majority: the
// searches above won by following it, not by luck of the draw.
func TestStepperMisleadsVoting(t *testing.T) {
	res, _ := solveTree(t, "rebase", Options{N: 8, MaxTokens: 100, Select: "majority", RebaseTemperature: 1e3})
	if res.Answer != "9" {
		t.Errorf("rebase with a flat softmax and majority answered %q, want the policy's usual 9 (votes %+v)", res.Answer, res.Votes)
	}
}

func TestBeamWidthAboveBudget(t *testing.T) {
	for _, name := range []string{"beam", "dvts"} {
		if _, err := New(name, Options{N: 2, Width: 4}); err == nil || !strings.Contains(err.Error(), "beam width 4 is more than the budget --n 2") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := New("rebase", Options{N: 2, Select: "best"}); err == nil || !strings.Contains(err.Error(), `unknown selection "best"`) {
		t.Errorf("bad --select: error %v", err)
	}
}

// REBASE's allocation: the children sum to the budget, and a higher reward
// never gets fewer.
func TestAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		k := 1 + rng.IntN(12)
		budget := rng.IntN(70)
		temp := []float64{0.05, 0.2, 1, 10}[trial%4]
		rewards := make([]float64, k)
		for i := range rewards {
			rewards[i] = rng.Float64()
			if rng.IntN(4) == 0 && i > 0 {
				rewards[i] = rewards[i-1] // ties
			}
		}
		c := allocate(budget, rewards, temp)
		sum := 0
		for i := range c {
			sum += c[i]
			for j := range c {
				if rewards[i] > rewards[j] && c[i] < c[j] {
					t.Fatalf("allocate(%d, %v, %g) = %v: reward %g got fewer than %g", budget, rewards, temp, c, rewards[i], rewards[j])
				}
			}
		}
		if sum != budget {
			t.Fatalf("allocate(%d, %v, %g) = %v sums to %d", budget, rewards, temp, c, sum)
		}
	}
	if c := allocate(10, []float64{0.9, 0.1}, 0.2); c[0] != 10 {
		t.Errorf("a reward 0.8 higher at T 0.2 should take all 10: %v", c)
	}
}

// Systematic resampling draws each particle floor(k w) or ceil(k w) times,
// k in all, and never a particle of weight zero.
func TestResample(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := 1 + rng.IntN(10)
		k := rng.IntN(40)
		w := make([]float64, n)
		var sum float64
		for i := range w {
			if rng.IntN(3) > 0 {
				w[i] = rng.Float64()
			}
			sum += w[i]
		}
		c := resample(rng, w, k)
		total := 0
		for i := range c {
			total += c[i]
			p := 1 / float64(n)
			if sum > 0 {
				p = w[i] / sum
			}
			if e := float64(k) * p; float64(c[i]) < math.Floor(e)-1e-9 || float64(c[i]) > math.Ceil(e)+1e-9 {
				t.Fatalf("resample(%v, %d) = %v: particle %d drawn %d times, expected %.2f", w, k, c, i, c[i], e)
			}
			if sum > 0 && w[i] == 0 && c[i] > 0 {
				t.Fatalf("resample(%v, %d) = %v drew a particle of weight 0", w, k, c)
			}
		}
		if total != k {
			t.Fatalf("resample(%v, %d) = %v draws %d", w, k, c, total)
		}
	}
}

func ExampleSpec_Canonical() {
	s, _ := Lookup("rebase")
	fmt.Printf("%+v\n", s.Canonical(Options{N: 16, MaxTokens: 384, Width: 3}))
	// Output: {N:16 MaxTokens:384 Temperature:0 TopP:0 Shots:0 Aggregate: Width:0 RebaseTemperature:0.2 Select:weighted-vote StepTokens:96 MaxDepth:32}
}

// Beam pruning keeps the best ceil(left/M) distinct nodes, never a node
// scored below one it drops, and deals out exactly the left children, as
// evenly as it can.
func TestPrune(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		n, m, left := 1+rng.IntN(12), 1+rng.IntN(5), 1+rng.IntN(40)
		alive := make([]*node, n)
		for i := range alive {
			// Few texts and scores, so that duplicates and ties happen.
			alive[i] = &node{text: fmt.Sprint(rng.IntN(6)), score: float64(rng.IntN(4)) / 4}
		}
		live, counts := prune(slices.Clone(alive), left, m)
		d := distinct(alive)
		if want := min((left+m-1)/m, len(d)); len(live) != want {
			t.Fatalf("kept %d of %d distinct nodes for %d children at width %d, want %d", len(live), len(d), left, m, want)
		}
		seen := map[string]bool{}
		low := math.Inf(1)
		for _, k := range live {
			if seen[k.text] {
				t.Fatalf("kept %q twice", k.text)
			}
			seen[k.text] = true
			low = min(low, k.score)
		}
		for _, x := range d {
			if !seen[x.text] && x.score > low {
				t.Fatalf("dropped a node scored %g but kept one scored %g", x.score, low)
			}
		}
		total, lo, hi := 0, left, 0
		for _, c := range counts {
			total += c
			lo, hi = min(lo, c), max(hi, c)
		}
		if total != left || hi-lo > 1 {
			t.Fatalf("counts %v for %d children", counts, left)
		}
	}
}

// scopes records the cache scope of every request it passes on.
type scopes struct {
	pareto.Generator
	mu  sync.Mutex
	got map[string]int
}

func (s *scopes) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	s.mu.Lock()
	s.got[req.CacheScope]++
	s.mu.Unlock()
	return s.Generator.Generate(ctx, req)
}

// A tree search's calls are cached in its own scope: its root call is the
// same request as another search's, but answered from that one's cache it
// would leave the backend's KV cold for the continuations.
func TestTreeSearchCallsAreScoped(t *testing.T) {
	for _, name := range []string{"beam", "dvts", "rebase", "particle-filter"} {
		gen := &scopes{Generator: &stepper{}, got: map[string]int{}}
		s, err := New(name, Options{N: 4, Width: 2})
		if err != nil {
			t.Fatal(err)
		}
		env := Env{Gen: gen, Scorer: goodSteps{}, Seed: 3, Prompts: PrompterFunc(func(pareto.Question, Style) (string, []string, error) {
			return stepperPrompt, nil, nil
		})}
		if _, err := s.Solve(context.Background(), env, treeQ); err != nil {
			t.Fatal(err)
		}
		if len(gen.got) != 1 || gen.got[name] == 0 {
			t.Errorf("%s: requests by scope %v, want all in %q", name, gen.got, name)
		}
	}
}

// rootThinker is a Thinker whose thought is fixed; its steps go to gen.
type rootThinker struct {
	gen   pareto.Generator
	calls int
	req   pareto.Request
}

const rootThought = "<think>plan</think>"

func (r *rootThinker) Think(_ context.Context, req pareto.Request) (string, pareto.Usage, error) {
	r.calls++
	r.req = req
	return rootThought, pareto.Usage{Calls: 1, HiddenTokens: 5}, nil
}

func (r *rootThinker) Steps() pareto.Generator { return r.gen }

// thoughtful passes on requests whose prompt starts with the thought,
// counting those that do not.
type thoughtful struct {
	pareto.Generator
	mu      sync.Mutex
	without int
}

func (g *thoughtful) Generate(ctx context.Context, req pareto.Request) ([]pareto.Completion, error) {
	if !strings.HasPrefix(req.Prompt, stepperPrompt+rootThought) {
		g.mu.Lock()
		g.without++
		g.mu.Unlock()
	}
	req.Prompt = stepperPrompt + strings.TrimPrefix(req.Prompt, stepperPrompt+rootThought)
	return g.Generator.Generate(ctx, req)
}

type refuse struct{}

func (refuse) Generate(context.Context, pareto.Request) ([]pareto.Completion, error) {
	return nil, errors.New("Gen called: a search that thinks at its root writes its steps with the Thinker's Steps")
}

// A search with a Thinker thinks once, before its first step, grows every
// step after that thought with the Thinker's generator, and counts the
// thought's cost.
func TestTreeSearchThinksAtItsRoot(t *testing.T) {
	for _, name := range []string{"beam", "dvts", "rebase", "particle-filter"} {
		steps := &thoughtful{Generator: &stepper{}}
		th := &rootThinker{gen: steps}
		s, err := New(name, Options{N: 4, Width: 2})
		if err != nil {
			t.Fatal(err)
		}
		env := Env{Gen: refuse{}, Scorer: goodSteps{}, Seed: 3, Thinker: th, Prompts: PrompterFunc(func(pareto.Question, Style) (string, []string, error) {
			return stepperPrompt, nil, nil
		})}
		res, err := s.Solve(context.Background(), env, treeQ)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if th.calls != 1 || th.req.Prompt != stepperPrompt || th.req.N != 1 || th.req.CacheScope != name {
			t.Errorf("%s: %d thoughts, the last asked %+v", name, th.calls, th.req)
		}
		if steps.without > 0 {
			t.Errorf("%s: %d step calls without the thought in their prompt", name, steps.without)
		}
		if res.Usage.HiddenTokens != 5 || len(res.Candidates) == 0 {
			t.Errorf("%s: %d hidden tokens, %d candidates", name, res.Usage.HiddenTokens, len(res.Candidates))
		}
	}
}
