// Package shepherd labels the steps of sampled solutions the way
// Math-Shepherd does, without humans: a step is good when some continuation
// sampled from the solution up to and including it reaches the right answer.
// The labels train pareto's process reward model; the exact verifier's
// labels are kept beside them only to evaluate.
package shepherd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/step"
	"github.com/pareto-llm/pareto/synth"
)

// Config says how many problems to label and how hard to look.
type Config struct {
	// Policy is the model that writes the solutions and rollouts: a GGUF
	// path or a shipped model's name.
	Policy   string `yaml:"policy" json:"policy"`
	Problems int    `yaml:"problems" json:"problems"` // training problems to sample solutions for
	Levels   []int  `yaml:"levels" json:"levels"`     // levels drawn uniformly
	Samples  int    `yaml:"samples" json:"samples"`   // solutions sampled per problem
	Rollouts int    `yaml:"rollouts" json:"rollouts"` // continuations per step of a wrong solution
	// Perturbed is how many extra solutions per problem are made from right
	// ones by changing one step's result (a negative proposal, as in
	// perturbation-based negative mining); rollouts label them like any
	// other, so arithmetic slips, rare in samples, get their share of
	// labels.
	Perturbed int `yaml:"perturbed" json:"perturbed,omitempty"`
	// Misread is how many extra solutions per problem are made from right
	// ones by swapping one operand of a step for another number of the
	// question or an earlier result, the arithmetic redone: a reading
	// error, the mistake the policy makes most. Rollouts label them too.
	Misread     int     `yaml:"misread" json:"misread,omitempty"`
	Temperature float64 `yaml:"temperature" json:"temperature"` // for solutions and rollouts
	MaxTokens   int     `yaml:"max_tokens" json:"max_tokens"`
	Seed        int64   `yaml:"seed" json:"seed"`
	// Search is how the steps of a wrong solution are visited: "every"
	// (the default) rolls out from each step, as Math-Shepherd does;
	// "first-error" binary-searches for the first bad step, as OmegaPRM
	// does, labelling the steps before it good and the rest bad: about
	// log2(steps) rollout batches instead of one per step, so the same time
	// labels several times more solutions.
	Search string `yaml:"search" json:"search,omitempty"`
}

// The values of Config.Search.
const (
	SearchEvery      = "every"
	SearchFirstError = "first-error"
)

// Validate reports the first out-of-range field by its name under prefix.
func (c Config) Validate(prefix string) error {
	switch {
	case c.Policy == "":
		return fmt.Errorf("field %spolicy: must name the policy model", prefix)
	case c.Problems <= 0:
		return fmt.Errorf("field %sproblems: %d must be positive", prefix, c.Problems)
	case len(c.Levels) == 0:
		return fmt.Errorf("field %slevels: must list at least one level", prefix)
	case c.Samples <= 0 || c.Samples > 64:
		return fmt.Errorf("field %ssamples: %d must be in [1, 64]", prefix, c.Samples)
	case c.Perturbed < 0 || c.Perturbed > 64:
		return fmt.Errorf("field %sperturbed: %d must be in [0, 64]", prefix, c.Perturbed)
	case c.Misread < 0 || c.Misread > 64:
		return fmt.Errorf("field %smisread: %d must be in [0, 64]", prefix, c.Misread)
	case c.Rollouts <= 0 || c.Rollouts > 64:
		return fmt.Errorf("field %srollouts: %d must be in [1, 64]", prefix, c.Rollouts)
	case !(c.Temperature > 0 && c.Temperature <= 2):
		return fmt.Errorf("field %stemperature: %g must be in (0, 2]", prefix, c.Temperature)
	case c.MaxTokens <= 0:
		return fmt.Errorf("field %smax_tokens: %d must be positive", prefix, c.MaxTokens)
	case c.Seed < 0:
		return fmt.Errorf("field %sseed: %d must be >= 0", prefix, c.Seed)
	case c.Search != "" && c.Search != SearchEvery && c.Search != SearchFirstError:
		return fmt.Errorf("field %ssearch: %q must be %q or %q", prefix, c.Search, SearchEvery, SearchFirstError)
	}
	for i, l := range c.Levels {
		if l < 1 || l > 5 {
			return fmt.Errorf("field %slevels[%d]: level %d must be in [1, 5]", prefix, i, l)
		}
	}
	return nil
}

// Record is one labelled solution, a line of the labels file.
type Record struct {
	Problem  int      `json:"problem"` // index in the labelling stream
	Sample   int      `json:"sample"`
	Level    int      `json:"level"`
	Question string   `json:"question"`
	Answer   int64    `json:"answer"`
	Steps    []string `json:"steps"` // the solution's steps (step.Split), the "#### n" one last when present
	// Labels are Math-Shepherd's: Labels[i] says some rollout from steps
	// [0..i] reached the answer (for the "####" line: the answer is right).
	Labels []bool `json:"labels"`
	// Oracle are the exact verifier's cumulative verdicts, for evaluation.
	Oracle  []bool `json:"oracle"`
	Correct bool   `json:"correct"`
}

// Problem returns the i-th problem of the labelling stream: a training
// problem (never one of the held-out test set) at a level drawn from cfg.
func (c Config) Problem(i int) synth.Problem {
	h := mix(uint64(c.Seed)*0x9E3779B97F4A7C15 ^ uint64(i))
	level := c.Levels[h%uint64(len(c.Levels))]
	// Offset the seeds so they differ from the policy's training stream's.
	return synth.Generate(synth.TrainSeed(int64(mix(h^0x73686570)>>2)), level)
}

var mix = synth.Mix

// Label labels the solutions of one problem: it samples cfg.Samples
// solutions, and for each wrong one rolls out cfg.Rollouts continuations
// from every step.
func Label(ctx context.Context, gen pareto.Generator, cfg Config, i int) ([]Record, error) {
	p := cfg.Problem(i)
	prompt := synth.Prompt(p, true)
	seed := cfg.Seed*1_000_003 + int64(i)*131
	sols, err := sample(ctx, gen, prompt, cfg.Samples, cfg, seed)
	if err != nil {
		return nil, fmt.Errorf("problem %d: %w", i, err)
	}
	recs := make([]Record, len(sols))
	seen := make(map[string][]bool) // a solution sampled twice is labelled once
	for s, sol := range sols {
		steps := step.Split(sol)
		r := Record{Problem: i, Sample: s, Level: p.Level, Question: p.Question, Answer: p.Answer,
			Steps: steps, Correct: synth.CheckAnswer(p, sol)}
		r.Oracle = oracle(p, steps)
		key := strings.Join(steps, "\n")
		if l, ok := seen[key]; ok {
			r.Labels = slices.Clone(l)
			recs[s] = r
			continue
		}
		// good reports whether a rollout from steps[:k+1] reaches the answer.
		good := func(k int) (bool, error) {
			prefix := prompt + strings.Join(steps[:k+1], "\n") + "\n"
			outs, err := sample(ctx, gen, prefix, cfg.Rollouts, cfg, seed+int64(1+s*64+k)*7919)
			if err != nil {
				return false, fmt.Errorf("problem %d sample %d step %d: %w", i, s, k, err)
			}
			return reaches(p, outs), nil
		}
		var err error
		if r.Labels, err = labelSteps(steps, r.Correct, cfg.Search, good); err != nil {
			return nil, err
		}
		seen[key] = r.Labels
		recs[s] = r
	}
	return addPerturbed(ctx, gen, cfg, i, recs)
}

// addPerturbed appends to the sampled records of problem i the solutions
// perturbed from its right ones, cfg.Perturbed arithmetic slips then
// cfg.Misread reading errors.
func addPerturbed(ctx context.Context, gen pareto.Generator, cfg Config, i int, recs []Record) ([]Record, error) {
	p := cfg.Problem(i)
	prompt := synth.Prompt(p, true)
	seed := cfg.Seed*1_000_003 + int64(i)*131
	var right [][]string
	for _, r := range recs {
		if r.Correct {
			right = append(right, r.Steps)
		}
	}
	for j := 0; j < cfg.Perturbed+cfg.Misread && len(right) > 0; j++ {
		h := mix(uint64(seed) ^ uint64(j+1)*0xA24BAED4963EE407)
		change := changeResult
		if j >= cfg.Perturbed {
			change = misread(p.Question)
		}
		r, err := perturbed(ctx, gen, cfg, p, prompt, right[h%uint64(len(right))], change, h, seed+int64(1+(cfg.Samples+j)*64)*7919)
		if err != nil {
			return nil, fmt.Errorf("problem %d perturbed %d: %w", i, j, err)
		}
		if r != nil {
			r.Problem, r.Sample = i, cfg.Samples+j
			recs = append(recs, *r)
		}
	}
	return recs, nil
}

// labelSteps labels the steps of one solution, asking good for the steps
// that need rollouts. The steps of a right solution are all good (the
// solution itself is a rollout that gets there); the "#### n" line of a
// wrong one is bad.
func labelSteps(steps []string, correct bool, search string, good func(k int) (bool, error)) ([]bool, error) {
	labels := make([]bool, len(steps))
	if correct {
		for k := range labels {
			labels[k] = true
		}
		return labels, nil
	}
	calc := len(steps) // the steps before the "####" line
	if calc > 0 && step.HasAnswer(steps[calc-1]) {
		calc--
	}
	if search == SearchFirstError {
		// The first bad step in [0, calc], calc meaning none before "####".
		lo, hi := 0, calc
		for lo < hi {
			mid := (lo + hi) / 2
			ok, err := good(mid)
			if err != nil {
				return nil, err
			}
			if ok {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		for k := range lo {
			labels[k] = true
		}
		return labels, nil
	}
	for k := range calc {
		ok, err := good(k)
		if err != nil {
			return nil, err
		}
		labels[k] = ok
	}
	return labels, nil
}

// A stepChange rewrites step k of a right solution into a wrong one, or
// reports false when it cannot.
type stepChange func(steps []string, k int, h uint64) (string, bool)

// perturbed rewrites one step of a right solution with change and labels
// the new step by rollouts. The steps before it are good (the right
// solution went on from them to the answer). When no rollout recovers,
// the first rollout's lines are appended as the rest of a wrong solution,
// all bad: nothing continued from a bad step reached the answer. It
// returns nil when the solution has no step to change.
func perturbed(ctx context.Context, gen pareto.Generator, cfg Config, p synth.Problem, prompt string, steps []string, change stepChange, h uint64, seed int64) (*Record, error) {
	var calc []int
	for k, st := range steps {
		if !step.HasAnswer(st) && strings.LastIndex(st, "= ") > 0 {
			calc = append(calc, k)
		}
	}
	// Try each step once, from a hashed start, until one can be changed.
	var k int
	var st string
	ok := false
	for t := range calc {
		k = calc[(int(mix(h^1)%uint64(len(calc)))+t)%len(calc)]
		if st, ok = change(steps, k, h); ok {
			break
		}
	}
	if !ok {
		return nil, nil
	}
	out := append(append([]string(nil), steps[:k]...), st)
	labels := make([]bool, len(out))
	for j := range k {
		labels[j] = true
	}
	outs, err := sample(ctx, gen, prompt+strings.Join(out, "\n")+"\n", cfg.Rollouts, cfg, seed)
	if err != nil {
		return nil, err
	}
	labels[k] = reaches(p, outs)
	if !labels[k] && len(outs) > 0 {
		rest := step.Split(outs[0])
		out = append(out, rest...)
		labels = append(labels, make([]bool, len(rest))...)
	}
	r := &Record{Level: p.Level, Question: p.Question, Answer: p.Answer, Steps: out, Labels: labels,
		Correct: synth.CheckAnswer(p, strings.Join(out, "\n"))}
	r.Oracle = oracle(p, out)
	return r, nil
}

// changeResult changes the result of step k by ±1, ±2 or ±10: an
// arithmetic slip.
func changeResult(steps []string, k int, h uint64) (string, bool) {
	st := steps[k]
	at := strings.LastIndex(st, "= ") + 2
	v, err := strconv.ParseInt(strings.TrimSpace(st[at:]), 10, 64)
	if err != nil {
		return "", false
	}
	deltas := []int64{-10, -2, -1, 1, 2, 10}
	d := deltas[mix(h^2)%uint64(len(deltas))]
	if v+d < 0 {
		d = -d
	}
	return st[:at] + strconv.FormatInt(v+d, 10), true
}

// misread returns a change that swaps one operand of a step "a op b = c"
// (keeping any label and names before it, so a symbolic step uses the
// wrong value under the right name) for another number that the question
// states or an earlier step computed, and redoes the arithmetic, so the
// step is right arithmetic on the wrong quantity. Swaps that leave the
// result the same, or make it negative or fractional, are passed over.
func misread(question string) stepChange {
	var qnums []int64
	for _, f := range strings.FieldsFunc(question, func(r rune) bool { return r < '0' || r > '9' }) {
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			qnums = append(qnums, v)
		}
	}
	return func(steps []string, k int, h uint64) (string, bool) {
		prefix, a, op, b, c, ok := binaryStep(steps[k])
		if !ok {
			return "", false
		}
		pool := slices.Clone(qnums)
		for _, st := range steps[:k] {
			if _, _, _, _, r, ok := binaryStep(st); ok {
				pool = append(pool, r)
			}
		}
		slices.Sort(pool)
		pool = slices.Compact(pool)
		for t := range 2 * len(pool) {
			side := (int(mix(h^3)%2) + t/len(pool)) % 2
			x := pool[(int(mix(h^4)%uint64(len(pool)))+t)%len(pool)]
			na, nb := a, b
			if side == 0 {
				na = x
			} else {
				nb = x
			}
			// Every quantity of a synth problem is a whole number >= 0.
			v, ok := synth.Apply(na, op[0], nb)
			if !ok || v < 0 || v == c || (na == a && nb == b) {
				continue
			}
			return fmt.Sprintf("%s%d %s %d = %d", renameOperand(prefix, side, a, b, x), na, op, nb, v), true
		}
		return "", false
	}
}

// renameOperand keeps a symbolic step's names consistent with a swapped
// operand: in "Lea = Tom + 12 = " with 12 (side 1) swapped for x, the
// stated number 12 becomes x, as a model that misread the constant would
// write it; a name (Tom) stays, the right name on the wrong value.
func renameOperand(prefix string, side int, a, b, x int64) string {
	f := strings.Fields(prefix) // label = x op y =
	if len(f) != 6 || f[1] != "=" || f[5] != "=" {
		return prefix
	}
	at, old := 2, a
	if side == 1 {
		at, old = 4, b
	}
	if f[at] == strconv.FormatInt(old, 10) {
		f[at] = strconv.FormatInt(x, 10)
	}
	return strings.Join(f, " ") + " "
}

// binaryStep parses a step written "a op b = c", after an optional label
// and names ("Lea = Tom + 12 = 26 + 12 = 38"), which come back as prefix
// (with its trailing " = ").
func binaryStep(st string) (prefix string, a int64, op string, b, c int64, ok bool) {
	f := strings.Fields(st)
	if len(f) < 5 {
		return "", 0, "", 0, 0, false
	}
	if len(f) > 5 {
		if f[len(f)-6] != "=" {
			return "", 0, "", 0, 0, false
		}
		prefix = strings.Join(f[:len(f)-5], " ") + " "
		f = f[len(f)-5:]
	}
	if f[3] != "=" || !strings.Contains("+-*/", f[1]) || len(f[1]) != 1 {
		return "", 0, "", 0, 0, false
	}
	var err [3]error
	a, err[0] = strconv.ParseInt(f[0], 10, 64)
	b, err[1] = strconv.ParseInt(f[2], 10, 64)
	c, err[2] = strconv.ParseInt(f[4], 10, 64)
	return prefix, a, f[1], b, c, err[0] == nil && err[1] == nil && err[2] == nil
}

// Balance weighs the records of each problem so that its right and wrong
// solutions count equally, each kind sharing half the problem's weight
// (the number of its distinct solutions), and leaves out repeated
// solutions and the problems whose solutions are all right or all wrong.
// Then how hard a question is says nothing about its labels: a PRM
// trained on them must read the steps to rank one question's candidates,
// which is what best-of-n asks of it. It returns the records kept and
// their weights.
func Balance(recs []Record) ([]Record, []float64) {
	type group struct {
		recs       []Record
		seen       map[string]bool
		right, all int
	}
	var order []int
	groups := map[int]*group{}
	for _, r := range recs {
		g := groups[r.Problem]
		if g == nil {
			g = &group{seen: map[string]bool{}}
			groups[r.Problem] = g
			order = append(order, r.Problem)
		}
		key := strings.Join(r.Steps, "\n")
		if g.seen[key] {
			continue
		}
		g.seen[key] = true
		g.recs = append(g.recs, r)
		g.all++
		if r.Correct {
			g.right++
		}
	}
	var kept []Record
	var weights []float64
	for _, p := range order {
		g := groups[p]
		wrong := g.all - g.right
		if g.right == 0 || wrong == 0 {
			continue
		}
		for _, r := range g.recs {
			n := wrong
			if r.Correct {
				n = g.right
			}
			kept = append(kept, r)
			weights = append(weights, float64(g.all)/float64(2*n))
		}
	}
	return kept, weights
}

// reaches reports whether one of the rollouts gets p's answer: the test
// that makes the step they continue good.
func reaches(p synth.Problem, rollouts []string) bool {
	return slices.ContainsFunc(rollouts, func(o string) bool { return synth.CheckAnswer(p, o) })
}

// oracle is the exact verifier's cumulative verdict on steps (all wrong
// when the question cannot be parsed), kept for evaluation only.
func oracle(p synth.Problem, steps []string) []bool {
	ok, err := synth.VerifyQuestion(p.Question, steps)
	if err != nil {
		return make([]bool, len(steps))
	}
	return synth.Cumulative(ok)
}

func sample(ctx context.Context, gen pareto.Generator, prompt string, n int, cfg Config, seed int64) ([]string, error) {
	cs, err := gen.Generate(ctx, pareto.Request{Prompt: prompt, Params: pareto.Params{
		N: n, MaxTokens: cfg.MaxTokens, Temperature: cfg.Temperature, Seed: &seed,
		Stop: []string{"\nQuestion:"},
	}})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cs))
	for j, c := range cs {
		out[j] = c.Text
	}
	return out, nil
}

// Run labels problems 0..cfg.Problems-1 into the JSON-lines file at path,
// appending: problems already in the file are skipped, so a killed run
// resumes where it stopped (a half-written last line is dropped). Each
// problem's records are written together. done, if not nil, is called
// first with the number already finished and no records, then after each
// problem with the number finished and its records.
func Run(ctx context.Context, gen pareto.Generator, cfg Config, path string, workers int, done func(n int, recs []Record)) error {
	if err := checkConfig(path, cfg); err != nil {
		return err
	}
	have, err := finished(path, cfg.Samples)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("shepherd: %w", err)
	}
	defer f.Close()
	var mu sync.Mutex
	n := len(have)
	if done != nil {
		done(n, nil)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := 0; i < cfg.Problems && gctx.Err() == nil; i++ {
		if have[i] {
			continue
		}
		g.Go(func() error {
			recs, err := Label(gctx, gen, cfg, i)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			for _, r := range recs {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("shepherd: write %s: %w", path, err)
			}
			n++
			if done != nil {
				done(n, recs)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("shepherd: %w", err)
	}
	return ctx.Err()
}

// checkConfig keeps the config a labels file was made with beside it
// (path + ".config.json") and refuses to extend a file made with another:
// mixed labels would be neither run's. Only the number of problems may
// change.
func checkConfig(path string, cfg Config) error {
	side := path + ".config.json"
	cfg.Problems = 0 // labelling more problems extends the same file
	want, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	have, err := os.ReadFile(side)
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("shepherd: %s exists but %s, the config it was made with, does not: move it away to relabel", path, side)
		}
		return os.WriteFile(side, append(want, '\n'), 0o644)
	}
	if err != nil {
		return fmt.Errorf("shepherd: %w", err)
	}
	if !bytes.Equal(bytes.TrimSpace(have), want) {
		return fmt.Errorf("shepherd: %s was made with another config (%s), not %s: move it away or name another labels file", path, bytes.TrimSpace(have), want)
	}
	return nil
}

// finished returns the problems whose records are all in the file, cutting
// off a half-written last line.
func finished(path string, samples int) (map[int]bool, error) {
	recs, err := Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	count := map[int]int{}
	for _, r := range recs {
		count[r.Problem]++
	}
	out := map[int]bool{}
	for p, c := range count {
		out[p] = c >= samples
	}
	return out, nil
}

// Read loads a labels file. A half-written last line (a killed run) is cut
// off the file; any other bad line is an error naming it. A record written
// twice (a problem labelled again after a torn write) counts once.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shepherd: %w", err)
	}
	defer f.Close()
	var out []Record
	seen := map[[2]int]int{}
	r := bufio.NewReader(f)
	var good int64
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(bytes.TrimSpace(b)) > 0 {
				// A torn write: keep what is whole.
				if err := os.Truncate(path, good); err != nil {
					return nil, fmt.Errorf("shepherd: %s:%d: cut half-written line: %w", path, line, err)
				}
			}
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("shepherd: %s:%d: %w", path, line, err)
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("shepherd: %s:%d: %w", path, line, err)
		}
		if len(rec.Labels) != len(rec.Steps) || len(rec.Oracle) != len(rec.Steps) {
			return nil, fmt.Errorf("shepherd: %s:%d: %d steps but %d labels and %d oracle labels", path, line, len(rec.Steps), len(rec.Labels), len(rec.Oracle))
		}
		key := [2]int{rec.Problem, rec.Sample}
		if j, ok := seen[key]; ok {
			out[j] = rec
		} else {
			seen[key] = len(out)
			out = append(out, rec)
		}
		good += int64(len(b))
	}
}
