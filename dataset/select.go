package dataset

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/pareto-llm/pareto"
)

// Open returns a built-in dataset by name, or reads a user's JSONL file
// when name is a path (ends in .jsonl or holds a path separator).
func Open(name string, f Fields) (*Dataset, error) {
	if strings.HasSuffix(name, ".jsonl") || strings.ContainsRune(name, os.PathSeparator) {
		return LoadFile(name, f)
	}
	return Load(name)
}

// Slice says which questions of a dataset a run takes: skip Offset, then
// the first PerLevel of each difficulty level (when > 0), then Limit (when
// > 0) of them. On a dataset with several levels, Limit alone takes a
// sample spread evenly over the levels (the same sample every time), as the
// first questions are often all of the easiest level; Exact (or an Offset
// or PerLevel) takes the first Limit instead.
type Slice struct {
	Offset, Limit, PerLevel int
	Exact                   bool
}

// Select returns the questions s picks from d, in dataset order, so a small
// PerLevel sample still spans every difficulty.
func (d *Dataset) Select(s Slice) ([]pareto.Question, error) {
	if s.Limit < 0 || s.Offset < 0 || s.PerLevel < 0 {
		return nil, fmt.Errorf("dataset %s: limit, offset and per-level must not be negative", d.Name)
	}
	qs := d.Questions
	if s.Offset >= len(qs) {
		return nil, fmt.Errorf("offset %d: dataset %s has only %d questions", s.Offset, d.Name, len(qs))
	}
	qs = qs[s.Offset:]
	if s.PerLevel > 0 {
		seen := map[int]int{}
		var out []pareto.Question
		for _, q := range qs {
			if seen[q.Level] < s.PerLevel {
				seen[q.Level]++
				out = append(out, q)
			}
		}
		qs = out
	}
	if s.Limit > 0 && s.Limit < len(qs) {
		if s.Exact || s.Offset > 0 || s.PerLevel > 0 {
			return qs[:s.Limit], nil
		}
		return spread(qs, s.Limit), nil
	}
	return qs, nil
}

// spread takes n questions, the levels in turn, each level's in an order
// shuffled with a fixed seed, and returns them in dataset order. A dataset
// without levels gives its first n.
func spread(qs []pareto.Question, n int) []pareto.Question {
	byLevel := map[int][]int{}
	for i, q := range qs {
		byLevel[q.Level] = append(byLevel[q.Level], i)
	}
	if len(byLevel) < 2 {
		return qs[:n]
	}
	levels := slices.Sorted(maps.Keys(byLevel))
	for _, l := range levels {
		rng := rand.New(rand.NewPCG(1, uint64(l)))
		rng.Shuffle(len(byLevel[l]), func(i, j int) { byLevel[l][i], byLevel[l][j] = byLevel[l][j], byLevel[l][i] })
	}
	var take []int
	for k := 0; len(take) < n; k++ {
		for _, l := range levels {
			if k < len(byLevel[l]) && len(take) < n {
				take = append(take, byLevel[l][k])
			}
		}
	}
	slices.Sort(take)
	out := make([]pareto.Question, len(take))
	for i, j := range take {
		out[i] = qs[j]
	}
	return out
}
