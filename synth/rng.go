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
	z := Mix(r.s)
	r.s += 0x9E3779B97F4A7C15
	return z
}

// Mix is splitmix64's step and finaliser: a well-spread 64-bit hash of x.
// Data streams use it to derive independent draws from (seed, index,
// purpose) without sequential state.
func Mix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
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
