package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/grade"
)

// errGradeLines reports that some input lines of "pareto grade" could not be
// graded; each was answered with an error line, so the caller exits 1.
var errGradeLines = errors.New("some lines had errors")

func newGradeCmd() *cobra.Command {
	var explain bool
	cmd := &cobra.Command{
		Use:   "grade",
		Short: "Grade predictions against references (JSON lines on stdin)",
		Long: `Reads JSON lines {"prediction": str, "reference": str, "format": "gsm8k"|"math"|"number"|"text"}
from stdin (format defaults to gsm8k) and writes one line per input, in order:
{"correct": bool, "predicted": str, "gold": str, "method": str}, or {"error": "line N: ..."}
for a line that cannot be graded. Blank lines are skipped. Exits 1 if any line had an error.

With --explain each result line also has "explain": {"candidates": [{"method", "answer"}...],
"chosen": str, "steps": [str...]}: the answers every extraction method found, which one
was taken and why, and how the comparison was decided (exact rational, numeric within
tolerance, symbolic at random points, set/tuple/interval, relation, text).`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := gradeStream(cmd.InOrStdin(), cmd.OutOrStdout(), explain)
			if err != nil {
				return err
			}
			if n > 0 {
				return errGradeLines
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&explain, "explain", false, "add to each result how the answer was found and how the comparison was decided")
	return cmd
}

// gradeInput is one input line of "pareto grade". Pointers tell a missing
// field from an empty one.
type gradeInput struct {
	Prediction *string `json:"prediction"`
	Reference  *string `json:"reference"`
	Format     *string `json:"format"`
}

// gradeOutput is one output line of "pareto grade".
type gradeOutput struct {
	Correct   bool          `json:"correct"`
	Predicted string        `json:"predicted"`
	Gold      string        `json:"gold"`
	Method    string        `json:"method"`
	Explain   *gradeExplain `json:"explain,omitempty"`
}

// gradeExplain is the "explain" object of a result line (--explain).
type gradeExplain struct {
	Candidates []grade.Candidate `json:"candidates"`
	Chosen     string            `json:"chosen"`
	Steps      []string          `json:"steps"`
}

// gradeStream grades every JSON line of r and writes one result line per
// non-blank input line to w, with an explanation if explain is set. It
// returns how many lines were answered with an error; err is set only when
// reading or writing fails.
func gradeStream(r io.Reader, w io.Writer, explain bool) (nErrors int, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			bw.Flush()
			return nErrors, fmt.Errorf("grade: read line %d: %w", lineNo, rerr)
		}
		if strings.TrimSpace(line) != "" {
			var out any
			res, gerr := gradeLine(line, explain)
			if gerr != nil {
				nErrors++
				out = map[string]string{"error": fmt.Sprintf("line %d: %v", lineNo, gerr)}
			} else {
				out = res
			}
			if err := enc.Encode(out); err != nil {
				return nErrors, fmt.Errorf("grade: write result of line %d: %w", lineNo, err)
			}
			// Flush whenever the input has nothing buffered, so a caller
			// feeding lines interactively sees each answer at once.
			if br.Buffered() == 0 {
				if err := bw.Flush(); err != nil {
					return nErrors, fmt.Errorf("grade: write result of line %d: %w", lineNo, err)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return nErrors, fmt.Errorf("grade: flush output: %w", err)
	}
	return nErrors, nil
}

// gradeLine decodes and grades one input line.
func gradeLine(line string, explain bool) (gradeOutput, error) {
	var in gradeInput
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&in); err != nil {
		return gradeOutput{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return gradeOutput{}, errors.New("invalid JSON: more than one value on the line")
	}
	if in.Prediction == nil {
		return gradeOutput{}, errors.New(`missing field "prediction"`)
	}
	if in.Reference == nil {
		return gradeOutput{}, errors.New(`missing field "reference"`)
	}
	format := pareto.FormatGSM8K
	if in.Format != nil && *in.Format != "" {
		format = *in.Format
	}
	switch format {
	case pareto.FormatGSM8K, pareto.FormatMath, pareto.FormatNumber, pareto.FormatText:
	default:
		return gradeOutput{}, fmt.Errorf("field \"format\": unknown format %q (want gsm8k, math, number or text)", format)
	}
	if explain {
		e := grade.Explain(*in.Prediction, *in.Reference, format)
		v := e.Verdict
		return gradeOutput{Correct: v.Correct, Predicted: v.Predicted, Gold: v.Gold, Method: v.Method.String(),
			Explain: &gradeExplain{Candidates: e.Candidates, Chosen: e.Chosen, Steps: e.Steps}}, nil
	}
	v := grade.Grade(*in.Prediction, *in.Reference, format)
	return gradeOutput{Correct: v.Correct, Predicted: v.Predicted, Gold: v.Gold, Method: v.Method.String()}, nil
}
