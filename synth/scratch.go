package synth

import (
	"strconv"
	"strings"
)

// Scratch is the working of the step "x op y", digit by digit, as a pupil
// writes it in the margin: the thought a thinker writes before the step's
// result (train's "arithmetic" thoughts). A tiny model gets a many-digit
// sum wrong far more often than a one-digit one (the policy misses 16 % of
// its three-digit sums and 52 % of its three-digit divisions on levels
// 4-5, none of its one-digit ones); written this way every position of the
// working is a one-digit fact or a copy.
//
//   - x + y: columns from the units up, with the carry: 274 + 58 is
//     "4+8=12,7+5+1=13,2+0+1=3" (the result's digits are the last
//     column's sum, then each earlier column's units, last to first).
//   - x - y (x >= y): columns from the units up, with the borrow: 274 - 58
//     is "4-8+10=6,7-5-1=1,2-0=2".
//   - x * y with a one-digit factor: columns of the other factor from the
//     units up, with the carry: 274 * 3 is "4*3=12,7*3+1=22,2*3+2=8".
//   - x / y (exact, one-digit divisor): long division from the first
//     prefix at least y: 138 / 6 is "13/6=2r1,18/6=3r0" (the result's
//     digits are the quotients in order).
//
// A step whose operands are both one digit, and one this package never
// writes (a negative operand or result, an inexact division, no one-digit
// factor or divisor), has no working: Scratch returns "".
func Scratch(x int64, op byte, y int64) string {
	if x < 0 || y < 0 || (x < 10 && y < 10) {
		return ""
	}
	var cols []string
	switch op {
	case '+':
		xs, ys, carry := decimal(x), decimal(y), int64(0)
		for i := range max(len(xs), len(ys)) {
			a, b := at(xs, i), at(ys, i)
			c := itoa(a) + "+" + itoa(b)
			if carry > 0 {
				c += "+" + itoa(carry)
			}
			s := a + b + carry
			cols = append(cols, c+"="+itoa(s))
			carry = s / 10
		}
	case '-':
		if x < y {
			return ""
		}
		xs, ys, borrow := decimal(x), decimal(y), int64(0)
		for i := range len(xs) {
			a, b := at(xs, i), at(ys, i)
			c := itoa(a) + "-" + itoa(b)
			if borrow > 0 {
				c += "-" + itoa(borrow)
			}
			d := a - b - borrow
			borrow = 0
			if d < 0 {
				c += "+10"
				d += 10
				borrow = 1
			}
			cols = append(cols, c+"="+itoa(d))
		}
	case '*':
		if y >= 10 {
			x, y = y, x
		}
		if y >= 10 {
			return ""
		}
		carry := int64(0)
		for _, a := range decimal(x) {
			c := itoa(a) + "*" + itoa(y)
			if carry > 0 {
				c += "+" + itoa(carry)
			}
			p := a*y + carry
			cols = append(cols, c+"="+itoa(p))
			carry = p / 10
		}
		// The last column's product holds the carry out: nothing follows.
	case '/':
		if y <= 0 || y >= 10 || x%y != 0 || x < y {
			return ""
		}
		s := itoa(x)
		n := 1
		for n < len(s) && atoi(s[:n]) < y {
			n++
		}
		p := atoi(s[:n])
		for {
			q, r := p/y, p%y
			cols = append(cols, itoa(p)+"/"+itoa(y)+"="+itoa(q)+"r"+itoa(r))
			if n == len(s) {
				break
			}
			p = r*10 + int64(s[n]-'0')
			n++
		}
	default:
		return ""
	}
	return strings.Join(cols, ",")
}

// ScratchStep writes step ("x op y = z", as Solutions writes it) with its
// working between open and close before the result: "274 + 58 = " open
// "4+8=12,..." close "332". A step without working (Scratch) is returned
// as it is.
func ScratchStep(step, open, close string) string {
	lhs, z, ok := strings.Cut(step, " = ")
	if !ok {
		return step
	}
	f := strings.Fields(lhs)
	if len(f) != 3 || len(f[1]) != 1 {
		return step
	}
	x, err1 := strconv.ParseInt(f[0], 10, 64)
	y, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return step
	}
	w := Scratch(x, f[1][0], y)
	if w == "" {
		return step
	}
	return lhs + " = " + open + w + close + z
}

// decimal is v's decimal digits, units first.
func decimal(v int64) []int64 {
	if v == 0 {
		return []int64{0}
	}
	var d []int64
	for ; v > 0; v /= 10 {
		d = append(d, v%10)
	}
	return d
}

// at is d[i], or 0 past its end (a shorter operand's missing digits).
func at(d []int64, i int) int64 {
	if i < len(d) {
		return d[i]
	}
	return 0
}

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}
