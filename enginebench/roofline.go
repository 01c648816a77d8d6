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
	Bandwidth      float64 `json:"bandwidth_gbs"`             // streaming read of a buffer far larger than the caches, all cores, GB/s (median)
	DecodeBytes    int     `json:"decode_bytes_per_token"`    // weight bytes a decoded token reads (every matrix, one embedding row)
	DecodeFraction float64 `json:"decode_bandwidth_fraction"` // decode tokens/s x DecodeBytes / Bandwidth
	SearchGFLOPs   float64 `json:"search_gflops"`             // search tokens/s x 2 x parameters
	SquareGFLOPs   float64 `json:"square_gflops"`             // the engine's 512x512x512 matmul
	SearchFraction float64 `json:"search_roofline_fraction"`  // SearchGFLOPs / SquareGFLOPs
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

// measureBandwidth is the median over runs of the rate at which all
// GOMAXPROCS cores together read a 512 MiB buffer, each a contiguous part
// of it with the engine's dot-product kernel, as decoding reads weights.
func measureBandwidth(runs int) float64 {
	buf := make([]float32, bandwidthBuffer)
	for i := range buf { // touch every page before timing
		buf[i] = 1
	}
	procs := runtime.GOMAXPROCS(0)
	part := len(buf) / procs
	var sink float32
	pass := func() {
		var wg sync.WaitGroup
		sums := make([]float32, procs)
		for p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				const chunk = 1 << 16
				s := buf[p*part : (p+1)*part]
				for i := 0; i < len(s); i += chunk {
					c := s[i:min(i+chunk, len(s))]
					sums[p] += vec.Dot(c, c)
				}
			}()
		}
		wg.Wait()
		sink += sums[0]
	}
	pass() // warm up
	rates := make([]float64, runs)
	for r := range rates {
		start := time.Now()
		pass()
		rates[r] = float64(len(buf)*4) / time.Since(start).Seconds() / 1e9
	}
	_ = sink
	return median(rates)
}

// roofline computes the fractions from a report's workloads and kernels
// and a measured bandwidth; zero fields are those it lacks figures for.
func roofline(r *Report, m *engine.Model, bandwidth float64) *Roofline {
	rf := &Roofline{Bandwidth: bandwidth, DecodeBytes: weightBytes(m)}
	for _, w := range r.Workloads {
		switch w.Name {
		case Decode:
			if bandwidth > 0 {
				rf.DecodeFraction = w.Pareto.Median * float64(rf.DecodeBytes) / (bandwidth * 1e9)
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
