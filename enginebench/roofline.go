package enginebench

import (
	"runtime"
	"sync"
	"time"

	"github.com/pareto-llm/pareto/engine"
	"github.com/pareto-llm/pareto/internal/vec"
)

// Roofline sets two measured speeds beside what the machine allows:
// batch-1 decode, which reads every weight once per token, against the
// memory bandwidth; and the search workload, which multiplies 16 rows by
// every weight, against the engine's own 512x512x512 matmul rate.
type Roofline struct {
	Bandwidth      Bandwidth `json:"bandwidth"`                 // GB/s, medians
	DecodeBytes    int       `json:"decode_bytes_per_token"`    // weight bytes a decoded token reads (every matrix, one embedding row)
	DecodeFraction float64   `json:"decode_bandwidth_fraction"` // decode tokens/s x DecodeBytes / Bandwidth.Max()
	SearchGFLOPs   float64   `json:"search_gflops"`             // search tokens/s x 2 x parameters
	SquareGFLOPs   float64   `json:"square_gflops"`             // the engine's 512x512x512 matmul
	SearchFraction float64   `json:"search_roofline_fraction"`  // SearchGFLOPs / SquareGFLOPs
}

// weightBytes is what decoding one token reads of m's weights: every
// matrix of every layer and the output, and one row of the embedding
// (norms and biases are too small to count).
func weightBytes(m *engine.Model) int {
	w := &m.Weights
	n := w.Embed.Bytes() / w.Embed.Rows
	if w.Output != nil {
		n += w.Output.Bytes()
	} else {
		n += w.Embed.Bytes() // tied: the logits read all of it
	}
	for _, l := range w.Layers {
		for _, x := range []*engine.Mat{l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down} {
			n += x.Bytes()
		}
	}
	return n
}

// bandwidthBuffer is the floats read per pass: 512 MiB, far beyond any
// cache, as a large model's weights are.
const bandwidthBuffer = 128 << 20

// Bandwidth is the machine's memory bandwidth as measured two ways, all
// GOMAXPROCS cores at once over buffers far larger than the caches.
type Bandwidth struct {
	Read float64 `json:"read_gbs"` // bytes read by the engine's dot-product kernel
	Copy float64 `json:"copy_gbs"` // bytes read plus bytes written by copy (STREAM's count)
}

// Max is the larger: what the memory moves at its best.
func (b Bandwidth) Max() float64 { return max(b.Read, b.Copy) }

// measureBandwidth is the median over runs of two rates: reading a 512 MiB
// buffer with the engine's dot-product kernel, each core a contiguous part
// as decoding reads weights; and copying 256 MiB, whose reads and writes
// both count. On this machine reads alone move about half what a copy
// does, so the honest bandwidth is the copy's (see Bandwidth.Max).
func measureBandwidth(runs int) Bandwidth {
	buf := make([]float32, bandwidthBuffer)
	for i := range buf { // touch every page before timing
		buf[i] = 1
	}
	procs := runtime.GOMAXPROCS(0)
	part := len(buf) / procs
	var sink float32
	parallel := func(f func(p int)) {
		var wg sync.WaitGroup
		for p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(p)
			}()
		}
		wg.Wait()
	}
	sums := make([]float32, procs)
	read := func() {
		parallel(func(p int) {
			const chunk = 1 << 16
			s := buf[p*part : (p+1)*part]
			for i := 0; i < len(s); i += chunk {
				c := s[i:min(i+chunk, len(s))]
				sums[p] += vec.Dot(c, c)
			}
		})
		sink += sums[0]
	}
	src, dst := buf[:len(buf)/2], buf[len(buf)/2:]
	half := len(src) / procs
	cp := func() {
		parallel(func(p int) { copy(dst[p*half:(p+1)*half], src[p*half:(p+1)*half]) })
	}
	rate := func(bytes int, f func()) float64 {
		f() // warm up
		rates := make([]float64, runs)
		for r := range rates {
			start := time.Now()
			f()
			rates[r] = float64(bytes) / time.Since(start).Seconds() / 1e9
		}
		return median(rates)
	}
	b := Bandwidth{Read: rate(len(buf)*4, read), Copy: rate(2*len(src)*4, cp)}
	_ = sink
	return b
}

// roofline computes the fractions from a report's workloads and kernels
// and a measured bandwidth; zero fields are those it lacks figures for.
func roofline(r *Report, m *engine.Model, bandwidth Bandwidth) *Roofline {
	rf := &Roofline{Bandwidth: bandwidth, DecodeBytes: weightBytes(m)}
	for _, w := range r.Workloads {
		switch w.Name {
		case Decode:
			if bw := bandwidth.Max(); bw > 0 {
				rf.DecodeFraction = w.Pareto.Median * float64(rf.DecodeBytes) / (bw * 1e9)
			}
		case Search:
			rf.SearchGFLOPs = w.Pareto.Median * 2 * float64(r.Model.Params) / 1e9
		}
	}
	for _, k := range r.Kernels {
		if k.Name == "square" {
			rf.SquareGFLOPs = k.Engine
		}
	}
	if rf.SquareGFLOPs > 0 {
		rf.SearchFraction = rf.SearchGFLOPs / rf.SquareGFLOPs
	}
	return rf
}
