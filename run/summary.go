package run

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/pareto-llm/pareto/compute"
	"github.com/pareto-llm/pareto/think"
)

// Tokens are token totals over a run.
type Tokens struct {
	Prompt     int `json:"prompt"`
	Completion int `json:"completion"` // visible generated tokens
	Hidden     int `json:"hidden"`     // reasoning tokens generated but not shown
	Cached     int `json:"cached"`     // prompt tokens served from a prefix cache
}

// Latency holds percentiles of per-question latency in seconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
}

// PerQuestion holds means per answered question (one question under one
// seed).
type PerQuestion struct {
	Tokens  float64 `json:"tokens"`
	FLOPs   float64 `json:"flops"`
	CostUSD float64 `json:"cost_usd"`
	Seconds float64 `json:"latency_s"`
}

// Summary is the one-object report of a run (the `--json` output).
//
// Accuracy is a fraction in [0,1]. AccPerTFLOP, AccPerS and
// EfficiencyScore follow the study (arXiv 2412.16260) exactly: accuracy in
// percent per TFLOP and per second spent on one question, and their
// product x 100, so they can be set beside the paper's table.
type Summary struct {
	RunID           string          `json:"run_id"`
	Model           string          `json:"model"`
	Dataset         string          `json:"dataset"`
	Strategy        string          `json:"strategy"`
	Params          json.RawMessage `json:"params"`
	Think           *think.Settings `json:"think,omitempty"` // the run's reasoning options
	Questions       int             `json:"questions"`
	Seeds           int             `json:"seeds"`
	Answered        int             `json:"answered"`
	Accuracy        float64         `json:"accuracy"`
	AccuracyStd     float64         `json:"accuracy_std"`
	AccuracyCI95    [2]float64      `json:"accuracy_ci95"`
	Tokens          Tokens          `json:"tokens"`
	FLOPs           float64         `json:"flops"`
	PrefillFLOPs    float64         `json:"prefill_flops"`
	DecodeFLOPs     float64         `json:"decode_flops"`
	SavedFLOPs      float64         `json:"saved_flops"` // prefill spared by prefix caches and shared prompts
	Calls           int             `json:"calls"`
	UsageUnreported int             `json:"usage_unreported_calls"`
	// CacheUnreported counts calls whose server did not say how many prompt
	// tokens it served from a prefix cache; their prefill is charged in full.
	CacheUnreported int             `json:"cache_unreported_calls,omitempty"`
	LatencyS        Latency         `json:"latency_s"`
	WallS           float64         `json:"wall_s"`
	CostUSD         float64         `json:"cost_usd"`
	PerQuestion     PerQuestion     `json:"per_question"`
	AccPerTFLOP     float64         `json:"acc_per_tflop"`
	AccPerS         float64         `json:"acc_per_s"`
	EfficiencyScore float64         `json:"efficiency_score"`
	ByLevel         map[int]float64 `json:"accuracy_by_level,omitempty"`
	// StepAUROC is how well the scorer's step scores rank the steps an
	// exact verifier calls right above the wrong ones (0.5 is chance), over
	// StepsLabelled scored steps; only where the dataset has a verifier.
	StepAUROC     float64 `json:"prm_step_auroc,omitempty"`
	StepsLabelled int     `json:"prm_steps_labelled,omitempty"`
}

// Summarize computes a run's summary from its stored results.
func Summarize(ctx context.Context, st Store, runID string) (Summary, error) {
	rec, ok, err := st.Run(ctx, runID)
	if err != nil {
		return Summary{}, err
	}
	if !ok {
		return Summary{}, fmt.Errorf("no run %q in the store", runID)
	}
	results, err := st.Results(ctx, runID)
	if err != nil {
		return Summary{}, err
	}
	var cfg Config
	if err := json.Unmarshal(rec.Config, &cfg); err != nil {
		return Summary{}, fmt.Errorf("run %s: stored config: %w", runID, err)
	}
	params, _ := json.Marshal(cfg.Options)
	s := Summary{
		RunID: rec.ID, Model: rec.Model, Dataset: rec.Dataset, Strategy: rec.Strategy, Params: params, Think: cfg.Think,
		Questions: rec.Questions, Seeds: rec.Seeds, Answered: len(results), WallS: rec.Wall.Seconds(),
	}
	if len(results) == 0 {
		return s, nil
	}
	// Per seed accuracy, per question correctness across seeds.
	bySeed := map[int64][2]int{}
	byQuestion := map[string][2]int{}
	byLevel := map[int][2]int{}
	var lat []float64
	var steps []Scored
	for _, r := range results {
		c := 0
		if r.Correct {
			c = 1
		}
		add := func(m [2]int) [2]int { return [2]int{m[0] + c, m[1] + 1} }
		bySeed[r.Seed] = add(bySeed[r.Seed])
		byQuestion[r.QuestionID] = add(byQuestion[r.QuestionID])
		if r.Level > 0 {
			byLevel[r.Level] = add(byLevel[r.Level])
		}
		u := r.Usage
		s.Tokens.Prompt += u.PromptTokens
		s.Tokens.Completion += u.CompletionTokens
		s.Tokens.Hidden += u.HiddenTokens
		s.Tokens.Cached += u.CachedTokens
		s.PrefillFLOPs += u.PrefillFLOPs
		s.DecodeFLOPs += u.DecodeFLOPs
		s.SavedFLOPs += u.SavedFLOPs
		s.CostUSD += u.CostUSD
		s.Calls += u.Calls
		s.UsageUnreported += u.Unreported
		s.CacheUnreported += u.CacheUnreported
		lat = append(lat, r.Wall.Seconds())
		steps = labelledSteps(r.Detail, steps)
	}
	if len(steps) > 0 {
		s.StepAUROC, s.StepsLabelled = AUROC(steps), len(steps)
	}
	s.FLOPs = s.PrefillFLOPs + s.DecodeFLOPs
	var correct int
	var seedAcc []float64
	for _, v := range bySeed {
		correct += v[0]
		seedAcc = append(seedAcc, float64(v[0])/float64(v[1]))
	}
	n := float64(len(results))
	s.Accuracy = float64(correct) / n
	s.AccuracyStd = StdDev(seedAcc)
	s.AccuracyCI95 = bootstrapCI(byQuestion, 2000, 0.95)
	if len(byLevel) > 0 {
		s.ByLevel = map[int]float64{}
		for l, v := range byLevel {
			s.ByLevel[l] = float64(v[0]) / float64(v[1])
		}
	}
	sort.Float64s(lat)
	s.LatencyS = Latency{P50: percentile(lat, 0.50), P95: percentile(lat, 0.95)}
	var sumLat float64
	for _, l := range lat {
		sumLat += l
	}
	s.PerQuestion = PerQuestion{
		Tokens:  float64(s.Tokens.Prompt+s.Tokens.Completion+s.Tokens.Hidden) / n,
		FLOPs:   s.FLOPs / n,
		CostUSD: s.CostUSD / n,
		Seconds: sumLat / n,
	}
	pct := 100 * s.Accuracy
	s.AccPerTFLOP = compute.AccPerTFLOP(pct, s.PerQuestion.FLOPs)
	s.AccPerS = compute.AccPerSecond(pct, s.PerQuestion.Seconds)
	s.EfficiencyScore = compute.EfficiencyScore(s.AccPerTFLOP, s.AccPerS)
	return s, nil
}

// StdDev is the sample standard deviation, 0 for fewer than two values.
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)-1))
}

// percentile of sorted xs by linear interpolation.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := p * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// bootstrapCI resamples questions with replacement (each question keeps its
// accuracy over seeds) and returns the central interval of the mean. The
// generator is seeded so the same results give the same interval.
func bootstrapCI(byQuestion map[string][2]int, rounds int, level float64) [2]float64 {
	ids := slices.Sorted(maps.Keys(byQuestion))
	acc := make([]float64, len(ids))
	for i, id := range ids {
		v := byQuestion[id]
		acc[i] = float64(v[0]) / float64(v[1])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	means := make([]float64, rounds)
	for r := range means {
		var t float64
		for range acc {
			t += acc[rng.IntN(len(acc))]
		}
		means[r] = t / float64(len(acc))
	}
	sort.Float64s(means)
	a := (1 - level) / 2
	return [2]float64{percentile(means, a), percentile(means, 1-a)}
}

// Scored is one scored step and whether it is right.
type Scored struct {
	Score float64
	Right bool
}

// labelledSteps appends the steps of a result's candidates that carry both
// a score and a verifier's label.
func labelledSteps(detail json.RawMessage, out []Scored) []Scored {
	var d struct {
		Candidates []struct {
			StepScores []float64 `json:"step_scores"`
			StepLabels []bool    `json:"step_labels"`
		} `json:"candidates"`
	}
	if json.Unmarshal(detail, &d) != nil {
		return out
	}
	for _, c := range d.Candidates {
		if len(c.StepLabels) != len(c.StepScores) {
			continue
		}
		for i, sc := range c.StepScores {
			out = append(out, Scored{sc, c.StepLabels[i]})
		}
	}
	return out
}

// AUROC is the probability that a random right step scores above a random
// wrong one, ties counting half (the Mann-Whitney statistic). It is 0.5
// when either class is empty.
func AUROC(xs []Scored) float64 {
	xs = append([]Scored(nil), xs...)
	sort.Slice(xs, func(i, j int) bool { return xs[i].Score < xs[j].Score })
	var pos, neg int
	var rankSum float64 // sum of the right steps' ranks, ties averaged
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j].Score == xs[i].Score {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j averaged
		for k := i; k < j; k++ {
			if xs[k].Right {
				pos++
				rankSum += rank
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}
