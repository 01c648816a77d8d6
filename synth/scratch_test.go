package synth

import (
	"strconv"
	"strings"
	"testing"
)

func TestScratchExamples(t *testing.T) {
	for _, c := range []struct {
		x    int64
		op   byte
		y    int64
		want string
	}{
		{274, '+', 58, "4+8=12,7+5+1=13,2+0+1=3"},
		{274, '-', 58, "4-8+10=6,7-5-1=1,2-0=2"},
		{274, '*', 3, "4*3=12,7*3+1=22,2*3+2=8"},
		{3, '*', 274, "4*3=12,7*3+1=22,2*3+2=8"},
		{138, '/', 6, "13/6=2r1,18/6=3r0"},
		{120, '/', 6, "12/6=2r0,0/6=0r0"},
		{104, '-', 98, "4-8+10=6,0-9-1+10=0,1-0-1=0"},
		{3, '+', 4, ""},   // one-digit facts need no working
		{12, '*', 15, ""}, // no one-digit factor
		{13, '/', 4, ""},  // inexact
		{5, '-', 12, ""},  // negative
		{-3, '+', 40, ""}, // negative operand
		{30, '%', 4, ""},  // not an operation
	} {
		if got := Scratch(c.x, c.op, c.y); got != c.want {
			t.Errorf("Scratch(%d %c %d) = %q, want %q", c.x, c.op, c.y, got, c.want)
		}
	}
}

// TestScratchReadsBack: for every step synth can write, the working's
// columns give the exact result the way the doc comment says they are read,
// and each column is a true one-step fact.
func TestScratchReadsBack(t *testing.T) {
	for x := int64(0); x <= 999; x++ {
		for _, y := range []int64{0, 1, 7, 9, 10, 58, 99, 100, 483, 999} {
			for _, op := range []byte{'+', '-', '*', '/'} {
				w := Scratch(x, op, y)
				if w == "" {
					continue
				}
				var want int64
				switch op {
				case '+':
					want = x + y
				case '-':
					want = x - y
				case '*':
					want = x * y
				case '/':
					want = x / y
				}
				if got := readBack(t, w, op); got != want {
					t.Fatalf("%d %c %d: working %q reads %d, want %d", x, op, y, w, got, want)
				}
			}
		}
	}
}

// readBack evaluates each column of working w and assembles the result.
func readBack(t *testing.T, w string, op byte) int64 {
	t.Helper()
	cols := strings.Split(w, ",")
	vals := make([]string, len(cols))
	for i, c := range cols {
		lhs, rhs, ok := strings.Cut(c, "=")
		if !ok {
			t.Fatalf("column %q has no '='", c)
		}
		if op == '/' {
			q, r, _ := strings.Cut(rhs, "r")
			num, den, _ := strings.Cut(lhs, "/")
			n, d := atoi(num), atoi(den)
			if n/d != atoi(q) || n%d != atoi(r) {
				t.Fatalf("column %q is false", c)
			}
			vals[i] = q
			continue
		}
		if ev := evalColumn(t, lhs); ev != atoi(rhs) {
			t.Fatalf("column %q is false (%d)", c, ev)
		}
		vals[i] = rhs
	}
	var s string
	switch op {
	case '/':
		s = strings.Join(vals, "")
	case '-':
		for i := len(vals) - 1; i >= 0; i-- {
			s += vals[i]
		}
	default:
		s = vals[len(vals)-1]
		for i := len(vals) - 2; i >= 0; i-- {
			s += vals[i][len(vals[i])-1:]
		}
	}
	v, err := strconv.ParseInt(strings.TrimLeft(s, "0")+"0", 10, 64)
	if err != nil {
		t.Fatalf("working %q: result %q: %v", w, s, err)
	}
	return v / 10
}

// evalColumn evaluates "a+b+c", "a-b-c+10" or "a*b+c" left to right, with *
// first.
func evalColumn(t *testing.T, s string) int64 {
	var total int64
	sign := int64(1)
	term := ""
	flush := func() {
		f := strings.Split(term, "*")
		v := atoi(f[0])
		for _, g := range f[1:] {
			v *= atoi(g)
		}
		total += sign * v
	}
	for _, r := range s {
		switch r {
		case '+', '-':
			flush()
			sign, term = 1, ""
			if r == '-' {
				sign = -1
			}
		default:
			term += string(r)
		}
	}
	flush()
	return total
}

func TestScratchStep(t *testing.T) {
	if got, want := ScratchStep("274 + 58 = 332", "<think>", "</think>"), "274 + 58 = <think>4+8=12,7+5+1=13,2+0+1=3</think>332"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, s := range []string{"3 * 4 = 12", "#### 12", "no step"} {
		if got := ScratchStep(s, "<", ">"); got != s {
			t.Errorf("ScratchStep(%q) = %q, want it unchanged", s, got)
		}
	}
}
