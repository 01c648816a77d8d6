package dataset

import (
	"fmt"
	"os"
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
// the first PerLevel of each difficulty level (when > 0), then the first
// Limit (when > 0).
type Slice struct {
	Offset, Limit, PerLevel int
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
		qs = qs[:s.Limit]
	}
	return qs, nil
}
