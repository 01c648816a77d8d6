package synth

// rng is splitmix64. The package carries its own generator, rather than
// math/rand, so that the fixed test set and the training stream stay
// byte-identical across Go releases.
type rng struct{ s uint64 }

func newRNG(seed int64, salt uint64) *rng {
	r := &rng{s: uint64(seed)*0x9E3779B97F4A7C15 ^ salt*0xD1B54A32D192ED03}
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// intn returns a number in [0,n); the modulo bias is below 2^-50 for the
// small n used here.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo,hi]; hi < lo yields lo.
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.next()%uint64(hi-lo+1))
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }
