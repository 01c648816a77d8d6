// Package dataset loads benchmark questions: the built-in GSM8K and
// MATH-500 files (embedded in the binary with their licences) and a user's
// own JSONL.
package dataset

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/pareto-llm/pareto"
)

//go:embed data/gsm8k/test.jsonl data/gsm8k/train.jsonl data/gsm8k/LICENSE data/math500/test.jsonl data/math500/LICENSE data/README.md
var files embed.FS

// Dataset is a named list of questions.
type Dataset struct {
	Name      string
	Questions []pareto.Question
	// Verify, where the dataset has an exact step verifier, says for each
	// step of a solution whether the solution is right up to and including
	// it (see run.Runner.Verify). Nil for most datasets.
	Verify func(question string, steps []string) ([]bool, error)
}

// builtin describes one embedded dataset.
type builtin struct {
	path, qField, aField, format string
	about                        string
}

var builtins = map[string]builtin{
	"gsm8k":       {"data/gsm8k/test.jsonl", "question", "answer", pareto.FormatGSM8K, "GSM8K test, 1319 grade-school math word problems (MIT)"},
	"gsm8k-train": {"data/gsm8k/train.jsonl", "question", "answer", pareto.FormatGSM8K, "GSM8K train, 7473 problems (MIT)"},
	"math500":     {"data/math500/test.jsonl", "problem", "answer", pareto.FormatMath, "MATH-500, 500 competition problems, levels 1-5 (MIT)"},
}

// generated is a built-in dataset made by code rather than read from a file.
type generated struct {
	about string
	load  func() *Dataset
}

// extra holds generated datasets (the synthetic task).
var extra = map[string]generated{}

// Register adds a built-in dataset produced by a function; about is a
// one-line description for listings.
func Register(name, about string, load func() *Dataset) {
	extra[name] = generated{about, load}
}

// Names lists the built-in datasets with a one-line description each.
func Names() map[string]string {
	out := map[string]string{}
	for n, b := range builtins {
		out[n] = b.about
	}
	for n, g := range extra {
		out[n] = g.about
	}
	return out
}

// SortedNames lists built-in dataset names in order.
func SortedNames() []string {
	var names []string
	for n := range Names() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load returns a built-in dataset by name.
func Load(name string) (*Dataset, error) {
	if b, ok := builtins[name]; ok {
		data, err := files.ReadFile(b.path)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
		qs, err := parse(bytes.NewReader(data), name, "embedded "+b.path, Fields{Question: b.qField, Answer: b.aField, Format: b.format})
		if err != nil {
			return nil, err
		}
		return &Dataset{Name: name, Questions: qs}, nil
	}
	if g, ok := extra[name]; ok {
		return g.load(), nil
	}
	return nil, fmt.Errorf("unknown dataset %q (built-in: %s; or give a path to a .jsonl file)", name, strings.Join(SortedNames(), ", "))
}

// Fields names the JSON fields of a user's JSONL file and its answer format.
type Fields struct {
	Question string // field holding the question text
	Answer   string // field holding the reference answer
	Format   string // gsm8k, math, number or text
	ID       string // optional field holding a stable id; default: line number
}

// LoadFile reads a user's JSONL file. Every row is checked before any is
// returned: one malformed row fails the whole load with file:line and field,
// so a run never starts on half a dataset.
func LoadFile(path string, f Fields) (*Dataset, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer fh.Close()
	qs, err := parse(fh, path, path, f)
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: path, Questions: qs}, nil
}

func validFormat(f string) bool {
	switch f {
	case pareto.FormatGSM8K, pareto.FormatMath, pareto.FormatNumber, pareto.FormatText:
		return true
	}
	return false
}

func parse(r io.Reader, name, where string, f Fields) ([]pareto.Question, error) {
	if f.Question == "" {
		f.Question = "question"
	}
	if f.Answer == "" {
		f.Answer = "answer"
	}
	if f.Format == "" {
		f.Format = pareto.FormatGSM8K
	}
	if !validFormat(f.Format) {
		return nil, fmt.Errorf("dataset %s: unknown format %q (want gsm8k, math, number or text)", where, f.Format)
	}
	br := bufio.NewReader(r)
	var qs []pareto.Question
	seen := map[string]int{}
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			q, perr := parseRow(raw, f)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: %w", where, line, perr)
			}
			if q.ID == "" {
				q.ID = strconv.Itoa(len(qs))
			}
			if prev, dup := seen[q.ID]; dup {
				return nil, fmt.Errorf("%s:%d: field %q: id %q already used on line %d", where, line, f.ID, q.ID, prev)
			}
			seen[q.ID] = line
			q.Dataset = name
			q.Format = f.Format
			qs = append(qs, q)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", where, line, err)
		}
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("dataset %s: no questions", where)
	}
	return qs, nil
}

func parseRow(raw []byte, f Fields) (pareto.Question, error) {
	var row map[string]json.RawMessage
	if err := json.Unmarshal(raw, &row); err != nil {
		return pareto.Question{}, fmt.Errorf("not a JSON object: %v", err)
	}
	text, err := stringField(row, f.Question)
	if err != nil {
		return pareto.Question{}, err
	}
	ref, err := stringField(row, f.Answer)
	if err != nil {
		return pareto.Question{}, err
	}
	if f.Format == pareto.FormatGSM8K && !strings.Contains(ref, "####") {
		// A bare number is a fine GSM8K reference too: make it look like one.
		ref = "#### " + ref
	}
	q := pareto.Question{Text: text, Reference: ref}
	if f.ID != "" {
		if q.ID, err = stringField(row, f.ID); err != nil {
			return q, err
		}
	}
	if v, ok := row["level"]; ok {
		var level int
		if json.Unmarshal(v, &level) == nil {
			q.Level = level
		}
	}
	if v, ok := row["subject"]; ok {
		_ = json.Unmarshal(v, &q.Subject)
	}
	return q, nil
}

// stringField reads a field that must be a non-empty string or a number.
func stringField(row map[string]json.RawMessage, name string) (string, error) {
	v, ok := row[name]
	if !ok {
		return "", fmt.Errorf("field %q: missing", name)
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("field %q: empty", name)
		}
		return s, nil
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("field %q: want a string or number, got %s", name, truncate(string(v), 40))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// License returns the licence text of a built-in dataset.
func License(name string) (string, error) {
	b, ok := builtins[name]
	if !ok {
		return "", fmt.Errorf("no licence file for dataset %q", name)
	}
	dir := b.path[:strings.LastIndex(b.path, "/")]
	data, err := files.ReadFile(dir + "/LICENSE")
	return string(data), err
}
