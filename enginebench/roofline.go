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
	Bandwidth      Bandwidth `json:"bandwidth"`                 // GB/s, medians over the runs
	DecodeBytes    int       `json:"decode_bytes_per_token"`    // weight bytes a decoded token reads (every matrix, one embedding row)
	DecodeFraction float64   `json:"decode_bandwidth_fraction"` // median over runs of decode tokens/s x DecodeBytes / that run's Bandwidth.Max()
	SearchGFLOPs   float64   `json:"search_gflops"`             // search tokens/s x 2 x parameters
	SquareGFLOPs   float64   `json:"square_gflops"`             // the engine's 512x512x512 matmul
	SearchFraction float64   `json:"search_roofline_fraction"`  // SearchGFLOPs / SquareGFLOPs
	// StreamGFLOPs is the search's matrix products alone: 16 rows times
	// every matrix of the model in forward order, the weights coming from
	// memory as in a forward pass. StreamGFLOPs / SquareGFLOPs is the most
	// SearchFraction can be with attention, sampling and prefill free.
	StreamGFLOPs   float64 `json:"search_matmul_gflops,omitempty"`
	StreamFraction float64 `json:"search_matmul_fraction,omitempty"`
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

// measureStream is the GFLOP/s of the search's matrix products alone (see
// Roofline.StreamGFLOPs): the median of runs, each at least minTime long.
func measureStream(m *engine.Model, rows, runs int, minTime time.Duration) float64 {
	w := &m.Weights
	var mats []*engine.Mat
	for _, l := range w.Layers {
		mats = append(mats, l.Wq, l.Wk, l.Wv, l.Wo, l.Gate, l.Up, l.Down)
	}
	if w.Output != nil {
		mats = append(mats, w.Output)
	} else {
		mats = append(mats, w.Embed)
	}
	wide := 0
	for _, x := range mats {
		wide = max(wide, x.Rows, x.Cols)
	}
	x, y := make([]float32, rows*wide), make([]float32, rows*wide)
	for i := range x {
		x[i] = float32(i%7) * 0.1
	}
	var flops float64
	for _, a := range mats {
		flops += 2 * float64(rows) * float64(a.Rows) * float64(a.Cols)
	}
	return gflops(flops, runs, minTime, func() {
		for _, a := range mats {
			engine.MatMul(a, x, y, rows)
		}
	})
}

// roofline computes the fractions from a report's workloads and kernels,
// the bandwidth measured beside each run's decode (bw[i] with decode[i],
// the run's decode tokens/s, so that a machine whose bandwidth drifts
// compares each decode with the bandwidth of its moment) and the search's
// matmuls alone; zero fields are those it lacks figures for.
func roofline(r *Report, m *engine.Model, bw []Bandwidth, decode []float64, stream float64) *Roofline {
	rf := &Roofline{DecodeBytes: weightBytes(m), StreamGFLOPs: stream}
	var reads, copies, fractions []float64
	for i, b := range bw {
		reads, copies = append(reads, b.Read), append(copies, b.Copy)
		if i < len(decode) && b.Max() > 0 {
			fractions = append(fractions, decode[i]*float64(rf.DecodeBytes)/(b.Max()*1e9))
		}
	}
	if len(bw) > 0 {
		rf.Bandwidth = Bandwidth{Read: median(reads), Copy: median(copies)}
	}
	if len(fractions) > 0 {
		rf.DecodeFraction = median(fractions)
	}
	for _, w := range r.Workloads {
		if w.Name == Search {
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
		rf.StreamFraction = rf.StreamGFLOPs / rf.SquareGFLOPs
	}
	return rf
}
