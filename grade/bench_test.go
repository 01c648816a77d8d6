package grade

import (
	"strings"
	"testing"
)

// BenchmarkGradeMath500 measures grading throughput: every MATH-500 gold
// against predictions that state it in the usual ways, and against the
// same with a digit changed, so both verdicts and the slower mismatch paths
// are timed. It reports lines (Grade calls) per second.
func BenchmarkGradeMath500(b *testing.B) {
	rows := readJSONL(b, "../dataset/data/math500/test.jsonl")
	type line struct{ pred, ref string }
	var lines []line
	for _, row := range rows {
		gold, _ := row["answer"].(string)
		wrong := gold
		if k := strings.LastIndexAny(gold, "0123456789"); k >= 0 {
			wrong = gold[:k] + string('0'+(gold[k]-'0'+1)%10) + gold[k+1:]
		}
		for _, a := range []string{gold, wrong} {
			lines = append(lines,
				line{"We compute step by step, so the result is $\\boxed{" + a + "}$.", gold},
				line{"Final Answer: The final answer is $" + a + "$. I hope it is correct.", gold},
				line{"Working through it, we get " + a, gold},
			)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		Grade(l.pred, l.ref, "math")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
