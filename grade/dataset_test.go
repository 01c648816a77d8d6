package grade

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// readJSONL decodes every line of a dataset file into rows.
func readJSONL(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", path)
	}
	return rows
}

func TestMath500RoundTrip(t *testing.T) {
	rows := readJSONL(t, "../dataset/data/math500/test.jsonl")
	for i, row := range rows {
		answer, _ := row["answer"].(string)
		solution, _ := row["solution"].(string)
		if !Equal(answer, answer, "math") {
			t.Errorf("row %d: Equal(gold, gold) false for %q (clean %q)", i+1, answer, clean(answer))
		}
		boxed, ok := lastBoxed(solution)
		if !ok {
			t.Errorf("row %d: no \\boxed in solution", i+1)
			continue
		}
		if !Equal(boxed, answer, "math") {
			t.Errorf("row %d: Equal(%q, %q) false", i+1, boxed, answer)
		}
		v := Grade(solution, answer, "math")
		if !v.Correct || v.Method != MethodBoxed {
			t.Errorf("row %d: Grade(solution) = %+v, want correct via boxed", i+1, v)
		}
	}
}

func TestGSM8KRoundTrip(t *testing.T) {
	rows := readJSONL(t, "../dataset/data/gsm8k/test.jsonl")
	for i, row := range rows {
		answer, _ := row["answer"].(string)
		v := Grade(answer, answer, "gsm8k")
		if !v.Correct || v.Method != MethodHashes {
			t.Errorf("row %d: Grade(answer, answer) = %+v", i+1, v)
		}
		// A plain CoT ending without "####" must still be read right.
		gold := Gold(answer, "gsm8k")
		v = Grade("So the total is "+gold+".\n", answer, "gsm8k")
		if !v.Correct {
			t.Errorf("row %d: last-number grade of %q = %+v", i+1, gold, v)
		}
		// And a wrong digit must be wrong, however it is dressed.
		k := strings.LastIndexAny(gold, "0123456789")
		wrong := gold[:k] + string('0'+(gold[k]-'0'+1)%10) + gold[k+1:]
		for _, out := range []string{"#### " + wrong, "The answer is $" + wrong + ".", `\boxed{` + wrong + "}"} {
			if v := Grade(out, answer, "gsm8k"); v.Correct {
				t.Errorf("row %d: Grade(%q) against %q = %+v, want incorrect", i+1, out, gold, v)
			}
		}
	}
}

// TestMath500Perturbed checks for false positives: every MATH-500 gold with
// a digit changed, a bracket swapped or a sign flipped must stop matching.
func TestMath500Perturbed(t *testing.T) {
	rows := readJSONL(t, "../dataset/data/math500/test.jsonl")
	checked := 0
	for i, row := range rows {
		a, _ := row["answer"].(string)
		for k := len(a) - 1; k >= 0; k-- {
			if isDigit(a[k]) {
				if strings.HasSuffix(a[:k], `}^`) {
					break // a unit's power ("15\mbox{ cm}^2") is not part of the value
				}
				b := a[:k] + string('0'+(a[k]-'0'+1)%10) + a[k+1:]
				checked++
				if Equal(b, a, "math") {
					t.Errorf("row %d: Equal(%q, %q) true after a digit change", i+1, b, a)
				}
				break
			}
		}
		for k := 0; k < len(a); k++ {
			swap := map[byte]string{'(': "[", '[': "(", ')': "]", ']': ")"}[a[k]]
			if swap == "" || k > 0 && a[k-1] == '\\' {
				continue
			}
			b := a[:k] + swap + a[k+1:]
			checked++
			if Equal(b, a, "math") {
				t.Errorf("row %d: Equal(%q, %q) true after a bracket swap", i+1, b, a)
			}
		}
		if !Equal("0", a, "math") && !strings.Contains(a, `\pm`) {
			checked++
			if Equal("-("+a+")", a, "math") {
				t.Errorf("row %d: Equal(-(%q), %q) true", i+1, a, a)
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d perturbations checked", checked)
	}
}
